"""Seeded alloy crystals labelled with ASE's effective-medium theory (the ``emt_eform`` data).

Effective-medium theory (Jacobsen, Stoltze & Norskov, Surf. Sci. 366, 394 (1996)) is a
many-body embedded-atom-like potential for the fcc metals Al, Ni, Cu, Pd, Ag, Pt and Au,
implemented in ``ase.calculators.emt.EMT``. It is not DFT, but it is a real, smooth,
many-body energy whose value depends on composition, volume and the arrangement of atoms.

Each structure:

1. a lattice type (fcc, bcc or hcp) and a cell of 2-16 atoms: a random supercell of the
   primitive cell given by a random Hermite-normal-form matrix (every sublattice of that index
   is reachable, so the cells are generally non-diagonal);
2. 1-3 elements, each site drawn uniformly from them;
3. the lattice constant from Vegard's law over the elements' EMT fcc equilibrium constants, at
   the fcc volume per atom for bcc and hcp (ideal c/a);
4. a random symmetric strain (each component uniform in +-``strain``) and a Gaussian rattle
   of ``rattle`` Angstrom per coordinate.

The label is the formation energy per atom against the pure elements in their EMT ground
state (fcc at the EMT equilibrium lattice constant)::

    E_form = E_EMT(structure) / N - sum_x c_x E_EMT(fcc x) / atom            (eV/atom)
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

import numpy as np

from sciformers.crystals.io import LabelledStructures, as_structure

if TYPE_CHECKING:
    from ase import Atoms
    from pymatgen.core import Structure

ELEMENTS = ("Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au")
LATTICES = ("fcc", "bcc", "hcp")


def _emt():
    try:
        from ase.calculators.emt import EMT
    except ImportError as err:  # pragma: no cover - the extra is installed in CI
        raise ImportError("the EMT generator needs ase: pip install 'sciformers[crystals]'") from err
    return EMT()


def emt_energy(atoms: Atoms) -> float:
    """Total EMT energy (eV) of ``atoms`` (a copy gets the calculator)."""
    atoms = atoms.copy()
    atoms.calc = _emt()
    return float(atoms.get_potential_energy())


@lru_cache(maxsize=None)
def fcc_equilibrium(element: str) -> tuple[float, float]:
    """``(a, energy per atom)`` of pure fcc ``element`` at its EMT equilibrium lattice constant.

    Golden-section search of the energy over ``a`` within +-8% of ASE's reference constant.
    """
    from ase.build import bulk
    from ase.data import atomic_numbers, reference_states

    if element not in ELEMENTS:
        raise ValueError(f"EMT has no parameters for {element!r}; expected one of {ELEMENTS}")
    a_ref = float(reference_states[atomic_numbers[element]]["a"])

    def energy(a: float) -> float:
        return emt_energy(bulk(element, "fcc", a=a))

    lo, hi = 0.92 * a_ref, 1.08 * a_ref
    ratio = (math.sqrt(5) - 1) / 2
    x1, x2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    f1, f2 = energy(x1), energy(x2)
    while hi - lo > 1e-6:
        if f1 < f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - ratio * (hi - lo)
            f1 = energy(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + ratio * (hi - lo)
            f2 = energy(x2)
    a = (lo + hi) / 2
    return a, energy(a)


def formation_energy(atoms: Atoms) -> float:
    """EMT formation energy per atom (eV/atom) against the pure fcc elements."""
    symbols = atoms.get_chemical_symbols()
    reference = sum(fcc_equilibrium(s)[1] for s in symbols)
    return (emt_energy(atoms) - reference) / len(symbols)


def _hnf(det: int, rng: np.random.Generator) -> np.ndarray:
    """A random lower-triangular Hermite normal form matrix of determinant ``det``."""
    divisors = [d for d in range(1, det + 1) if det % d == 0]
    a = int(rng.choice(divisors))
    rest = det // a
    c = int(rng.choice([d for d in range(1, rest + 1) if rest % d == 0]))
    f = rest // c
    return np.array([[a, 0, 0], [rng.integers(0, c), c, 0], [rng.integers(0, f), rng.integers(0, f), f]])


def _primitive(lattice: str, a_fcc: float) -> tuple[np.ndarray, np.ndarray]:
    """Primitive cell rows and fractional positions at the fcc volume per atom ``a_fcc^3 / 4``."""
    if lattice == "fcc":
        return a_fcc / 2 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], float), np.zeros((1, 3))
    if lattice == "bcc":
        a = (a_fcc**3 / 2) ** (1 / 3)
        return a / 2 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]], float), np.zeros((1, 3))
    if lattice == "hcp":
        a = a_fcc / math.sqrt(2)
        cell = np.array([[a, 0, 0], [-a / 2, a * math.sqrt(3) / 2, 0], [0, 0, a * math.sqrt(8 / 3)]])
        return cell, np.array([[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]])
    raise ValueError(f"unknown lattice {lattice!r}; expected one of {LATTICES}")


def random_alloy(rng: np.random.Generator, min_atoms: int = 2, max_atoms: int = 16, strain: float = 0.02,
                 rattle: float = 0.04, elements: Sequence[str] = ELEMENTS,
                 lattices: Sequence[str] = LATTICES) -> Atoms:
    """One random alloy crystal (see the module docstring for the recipe)."""
    from ase import Atoms

    lattice = str(rng.choice(list(lattices)))
    n_prim = 2 if lattice == "hcp" else 1
    det = max(1, int(rng.integers(min_atoms, max_atoms + 1)) // n_prim)
    n_species = min(len(elements), int(rng.choice([1, 2, 2, 3])))
    chosen = list(rng.choice(list(elements), size=n_species, replace=False))
    n_atoms = det * n_prim
    symbols = [str(s) for s in rng.choice(chosen, size=n_atoms)]
    a_fcc = float(np.mean([fcc_equilibrium(s)[0] for s in symbols]))  # Vegard's law
    prim, frac = _primitive(lattice, a_fcc)
    hnf = _hnf(det, rng)
    cell = hnf @ prim
    # lattice points of the sublattice's cell: integer combinations inside the supercell
    # coset representatives of the primitive lattice in the supercell: the box below diag(hnf)
    inv = np.linalg.inv(hnf)
    shifts = np.mod(np.array(list(np.ndindex(*np.diag(hnf))), float) @ inv, 1.0)
    positions = np.array([(shift + f @ inv) @ cell for shift in shifts for f in frac])
    eps = rng.uniform(-strain, strain, size=(3, 3))
    deform = np.eye(3) + (eps + eps.T) / 2
    atoms = Atoms(symbols=symbols, positions=positions @ deform, cell=cell @ deform, pbc=True)
    atoms.positions += rng.normal(0.0, rattle, size=(n_atoms, 3))
    atoms.wrap()
    return atoms


def to_structure(atoms: Atoms) -> Structure:
    """The pymatgen ``Structure`` of an ASE ``Atoms``."""
    return as_structure(atoms, "EMT cell")


def generate(n: int, seed: int, min_atoms: int = 2, max_atoms: int = 16, strain: float = 0.02, rattle: float = 0.04,
             elements: Sequence[str] = ELEMENTS, lattices: Sequence[str] = LATTICES) -> LabelledStructures:
    """``n`` labelled alloy crystals from one seeded stream (targets in eV/atom).

    Args:
        n: number of structures.
        seed: seeds the whole stream (same seed, same structures and labels).
        min_atoms, max_atoms: cell sizes (hcp cells have an even count).
        strain: largest strain component.
        rattle: standard deviation of the atomic displacements (Angstrom).
        elements: EMT elements to draw from.
        lattices: lattice types to draw from.
    """
    if not 1 <= min_atoms <= max_atoms:
        raise ValueError(f"need 1 <= min_atoms <= max_atoms, got {min_atoms}, {max_atoms}")
    rng = np.random.default_rng(seed)
    structures, targets = [], []
    for _ in range(n):
        atoms = random_alloy(rng, min_atoms, max_atoms, strain, rattle, elements, lattices)
        structures.append(to_structure(atoms))
        targets.append(formation_energy(atoms))
    return LabelledStructures(structures, [f"emt-{seed}-{i}" for i in range(n)], np.asarray(targets))
