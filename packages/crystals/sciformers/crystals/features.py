"""Node and edge encodings: CGCNN-style atom features and radial basis expansions.

Atom features follow CGCNN (Xie & Grossman, PRL 2018, https://arxiv.org/abs/1710.10324,
Table S2): each element is a concatenation of one-hot bins of group, period,
electronegativity, atomic radius, valence electrons, first ionisation energy, electron
affinity, block and atomic volume. ComFormer reads CGCNN's 92-dimensional ``atom_init.json``
from jarvis-tools; that package is not a dependency here, so the same recipe is recomputed
from pymatgen's element data (92 dims: 91 bins plus a "property missing" flag). The values
differ slightly from CGCNN's file (other data sources), not the encoding.

The RBF expansion is the one ComFormer inherits from Matformer/ALIGNN: Gaussians on evenly
spaced centres with ``gamma = 1 / spacing``.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor, nn

MAX_Z = 94
"""Elements 1 (H) to 94 (Pu) have the data the features need."""

# (name, number of bins, low, high, log scale) for the binned continuous properties (Table S2).
_CONTINUOUS = (
    ("electronegativity", 10, 0.5, 4.0, False),
    ("atomic_radius", 10, 0.25, 2.6, False),
    ("ionization_energy", 10, 3.5, 25.0, True),
    ("electron_affinity", 10, -3.0, 3.7, False),
    ("molar_volume", 10, 4.0, 75.0, True),
)
_BLOCKS = ("s", "p", "d", "f")
ATOM_FEATURE_DIM = 18 + 7 + 12 + len(_BLOCKS) + sum(c[1] for c in _CONTINUOUS) + 1


def _one_hot(index: int, size: int) -> np.ndarray:
    v = np.zeros(size)
    v[min(max(index, 0), size - 1)] = 1.0
    return v


def _binned(value: float | None, bins: int, low: float, high: float, log: bool) -> tuple[np.ndarray, bool]:
    if value is None or not math.isfinite(value) or (log and value <= 0):
        return np.zeros(bins), True
    x, lo, hi = (math.log(value), math.log(low), math.log(high)) if log else (value, low, high)
    return _one_hot(int((x - lo) / (hi - lo) * bins), bins), False


def _valence_electrons(group: int, block: str) -> int:
    """Outer-shell electrons: the group number, minus 10 in the p block; 3 for the f block."""
    if block == "f":
        return 3
    return group - 10 if block == "p" else group


def _element_row(z: int) -> np.ndarray:
    from pymatgen.core import Element

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        el = Element.from_Z(z)
        ionisation = el.ionization_energies
        props = {
            "electronegativity": float(el.X) if el.X and not math.isnan(float(el.X)) else None,
            "atomic_radius": float(el.atomic_radius) if el.atomic_radius is not None else None,
            "ionization_energy": float(ionisation[0]) if ionisation and ionisation[0] else None,
            "electron_affinity": float(el.electron_affinity) if el.electron_affinity is not None else None,
            "molar_volume": float(el.molar_volume) if el.molar_volume is not None else None,
        }
        group, row, block = int(el.group), int(el.row), str(el.block)
    parts = [_one_hot(group - 1, 18), _one_hot(row - 1, 7), _one_hot(_valence_electrons(group, block) - 1, 12),
             _one_hot(_BLOCKS.index(block), len(_BLOCKS))]
    missing = False
    for name, bins, low, high, log in _CONTINUOUS:
        vec, gap = _binned(props[name], bins, low, high, log)
        parts.append(vec)
        missing |= gap
    parts.append(np.array([1.0 if missing else 0.0]))
    return np.concatenate(parts)


@lru_cache(maxsize=1)
def atom_feature_table() -> Tensor:
    """``(MAX_Z + 1, ATOM_FEATURE_DIM)`` float32 table; row ``Z`` encodes element ``Z`` (row 0 is zero)."""
    table = np.zeros((MAX_Z + 1, ATOM_FEATURE_DIM))
    for z in range(1, MAX_Z + 1):
        table[z] = _element_row(z)
    return torch.tensor(table, dtype=torch.float32)


class RBFExpansion(nn.Module):
    """Gaussian radial basis: ``exp(-gamma (x - mu_k)^2)`` on ``bins`` centres in ``[vmin, vmax]``.

    Args:
        vmin: first centre.
        vmax: last centre.
        bins: number of centres.
    """

    def __init__(self, vmin: float, vmax: float, bins: int) -> None:
        super().__init__()
        centers = torch.linspace(vmin, vmax, bins)
        self.register_buffer("centers", centers)
        self.gamma = 1.0 / float(centers[1] - centers[0]) if bins > 1 else 1.0

    def forward(self, x: Tensor) -> Tensor:
        """``x (...)`` -> ``(..., bins)``."""
        return torch.exp(-self.gamma * (x.unsqueeze(-1) - self.centers.to(x.dtype)) ** 2)
