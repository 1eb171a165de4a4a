import numpy as np
import pytest

pytest.importorskip("pymatgen.core")


def random_structure(seed: int, n_atoms: int = 4, species=("Cu", "Au", "Ni", "Al")):
    """A generic triclinic crystal (no symmetry, no ties) with atoms at least 1.8 A apart."""
    from pymatgen.core import Lattice, Structure

    rng = np.random.default_rng(seed)
    while True:
        matrix = np.diag(rng.uniform(3.2, 4.2, 3)) + rng.uniform(-0.6, 0.6, (3, 3))
        s = Structure(Lattice(matrix), [species[i % len(species)] for i in range(n_atoms)], rng.random((n_atoms, 3)))
        dist = s.distance_matrix + np.eye(n_atoms) * 9
        if dist.min() > 1.8 and min(s.lattice.abc) > 2.5:
            return s


def random_rotation(seed: int) -> np.ndarray:
    """A random proper rotation (det +1)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q
