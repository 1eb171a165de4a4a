"""The EMT alloy generator: its labels are ASE's EMT energies, and its cells are what it says."""

import numpy as np
import pytest

ase = pytest.importorskip("ase")
from ase import Atoms  # noqa: E402
from ase.build import bulk  # noqa: E402
from ase.calculators.emt import EMT  # noqa: E402

from sciformers.crystals import emt  # noqa: E402


def _energy(atoms):
    atoms = atoms.copy()
    atoms.calc = EMT()
    return atoms.get_potential_energy()


def test_formation_energy_of_hand_built_cu3au_matches_ase():
    a = 0.75 * emt.fcc_equilibrium("Cu")[0] + 0.25 * emt.fcc_equilibrium("Au")[0]
    l12 = Atoms("AuCu3", scaled_positions=[[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]],
                cell=[a, a, a], pbc=True)
    refs = {el: _energy(bulk(el, "fcc", a=emt.fcc_equilibrium(el)[0])) for el in ("Cu", "Au")}
    expected = (_energy(l12) - 3 * refs["Cu"] - refs["Au"]) / 4
    assert emt.formation_energy(l12) == pytest.approx(expected, abs=1e-12)
    assert expected < 0  # L1_2 Cu3Au is an ordered compound: it binds in EMT as in nature


def test_reference_is_the_emt_minimum_and_pure_elements_have_zero_formation_energy():
    for el in ("Al", "Pt"):
        a, e0 = emt.fcc_equilibrium(el)
        assert e0 < _energy(bulk(el, "fcc", a=1.02 * a)) and e0 < _energy(bulk(el, "fcc", a=0.98 * a))
        assert emt.formation_energy(bulk(el, "fcc", a=a)) == pytest.approx(0.0, abs=1e-9)
        assert emt.formation_energy(bulk(el, "bcc", a=(a**3 / 2) ** (1 / 3))) > 0  # fcc is EMT's ground state


def test_generated_cells_have_the_right_sizes_and_fcc_volume_per_atom():
    rng = np.random.default_rng(0)
    for _ in range(40):
        atoms = emt.random_alloy(rng, min_atoms=2, max_atoms=16, strain=0.0, rattle=0.0)
        assert 1 <= len(atoms) <= 16
        a_fcc = np.mean([emt.fcc_equilibrium(s)[0] for s in atoms.get_chemical_symbols()])
        assert atoms.get_volume() / len(atoms) == pytest.approx(a_fcc**3 / 4, rel=1e-9)
        dist = atoms.get_all_distances(mic=True) + np.eye(len(atoms)) * 9
        assert dist.min() > 0.85 * a_fcc / np.sqrt(2)  # no two atoms on one lattice site


def test_generator_is_seeded_and_labels_are_ase_energies():
    d1, d2 = emt.generate(6, seed=3), emt.generate(6, seed=3)
    assert np.array_equal(d1.targets, d2.targets)
    assert not np.array_equal(d1.targets, emt.generate(6, seed=4).targets)
    from pymatgen.io.ase import AseAtomsAdaptor

    for s, y in zip(d1.structures, d1.targets):
        atoms = AseAtomsAdaptor.get_atoms(s)
        refs = sum(emt.fcc_equilibrium(x)[1] for x in atoms.get_chemical_symbols())
        assert y == pytest.approx((_energy(atoms) - refs) / len(atoms), abs=1e-9)
