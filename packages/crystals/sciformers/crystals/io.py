"""Reading the structure files materials people have, with errors that name the file.

- CIF (``*.cif``) and VASP POSCAR/CONTCAR (``POSCAR*``, ``CONTCAR*``, ``*.vasp``, ``*.poscar``),
  one file or a folder of them (:func:`read_structures`);
- a table of ``{structure or file, target}`` as JSON (a list of records) or CSV, where
  ``structure`` is a pymatgen ``Structure.as_dict()`` or CIF text and ``file`` a path relative to
  the table (:func:`read_table`);
- a Matbench-style ``json.gz`` (pandas ``orient="split"``: ``columns``, ``index``, ``data`` with
  rows ``[structure_dict, target]``) (:func:`read_matbench`, :func:`write_matbench`).

Every structure is checked (:func:`validate_structure`) before any training: a malformed file,
an element without features (Z > 94, dummy species), partial occupancy or overlapping atoms is a
:class:`StructureError` naming the source and the problem. With ``skip_invalid=True`` the bad
entries are reported as warnings and the rest load.
"""

from __future__ import annotations

import csv
import gzip
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from sciformers.crystals.features import MAX_Z

if TYPE_CHECKING:
    from pymatgen.core import Structure

MIN_DISTANCE = 0.5
"""Angstrom: atoms closer than this (including periodic images) are overlapping."""

STRUCTURE_SUFFIXES = (".cif", ".vasp", ".poscar")
STRUCTURE_PREFIXES = ("POSCAR", "CONTCAR")


class StructureError(ValueError):
    """A structure or structure file that cannot be used; the message names its source."""


@dataclass
class LabelledStructures:
    """Structures with their sources (file names or ids) and, when known, targets."""

    structures: list[Structure]
    names: list[str]
    targets: np.ndarray | None = None


def validate_structure(structure: Any, source: str) -> Structure:
    """Check that ``structure`` can become a crystal graph; returns it unchanged.

    Raises:
        StructureError: not a Structure, empty, disordered, an unsupported element or
            overlapping atoms, with ``source`` in the message.
    """
    from pymatgen.core import Element, Structure

    if not isinstance(structure, Structure):
        raise StructureError(f"{source}: expected a pymatgen Structure, got {type(structure).__name__}")
    if len(structure) == 0:
        raise StructureError(f"{source}: structure has no atoms")
    if not structure.is_ordered:
        raise StructureError(f"{source}: partial occupancies are not supported (order the structure first)")
    for i, site in enumerate(structure):
        specie = site.specie
        element = getattr(specie, "element", specie)
        if not isinstance(element, Element) or not 1 <= element.Z <= MAX_Z:
            raise StructureError(f"{source}: site {i} has unknown element {str(specie)!r} "
                                 f"(expected an element from H to Pu)")
    if structure.volume <= 1e-6:
        raise StructureError(f"{source}: lattice has zero volume")
    dist = structure.distance_matrix + np.diag(np.full(len(structure), np.inf))
    self_images = min(structure.lattice.abc)  # an atom's nearest image is at least the shortest cell length away
    bad = np.argwhere(dist < MIN_DISTANCE)
    if len(bad) or self_images < MIN_DISTANCE:
        i, j = (bad[0] if len(bad) else (0, 0))
        d = dist[i, j] if len(bad) else self_images
        raise StructureError(f"{source}: overlapping atoms: sites {i} and {j} are {d:.3f} A apart "
                             f"(minimum {MIN_DISTANCE} A)")
    return structure


def is_structure_file(path: Path) -> bool:
    """Whether ``path``'s name marks a CIF or POSCAR file."""
    return path.suffix.lower() in STRUCTURE_SUFFIXES or path.name.upper().startswith(STRUCTURE_PREFIXES)


def read_structure(path: str | Path) -> Structure:
    """Read and check one CIF or POSCAR file.

    Raises:
        FileNotFoundError: no such file.
        StructureError: unreadable file or invalid structure, naming the file.
    """
    from pymatgen.core import Structure

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such structure file")
    kind = "CIF" if path.suffix.lower() == ".cif" else "POSCAR"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "CIF":
                from pymatgen.io.cif import CifParser

                structures = CifParser(str(path)).parse_structures(primitive=False)
                if not structures:
                    raise ValueError("no structure in file")
                structure = structures[0]
            else:
                structure = Structure.from_file(str(path))
    except StructureError:
        raise
    except Exception as err:  # pymatgen raises many types for malformed input
        raise StructureError(f"{path}: malformed {kind}: {err}") from None
    return validate_structure(structure, str(path))


def collect_structure_files(paths: Iterable[str | Path]) -> list[Path]:
    """The structure files named in ``paths``: files as given, folders' CIF/POSCAR files in sorted order."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and is_structure_file(f))
            if not found:
                raise FileNotFoundError(f"{p}: no CIF or POSCAR files (expected *.cif, POSCAR*, CONTCAR*, *.vasp)")
            files += found
        else:
            files.append(p)
    return files


def read_structures(paths: str | Path | Iterable[str | Path], skip_invalid: bool = False) -> LabelledStructures:
    """Read CIF/POSCAR files and folders of them (folders in sorted file order).

    Args:
        paths: a file, a folder, or several of either.
        skip_invalid: warn about bad files and keep the rest, instead of raising.
    """
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    structures, names = [], []
    for f in collect_structure_files(items):
        try:
            structures.append(read_structure(f))
            names.append(str(f))
        except (StructureError, FileNotFoundError) as err:
            if not skip_invalid:
                raise
            warnings.warn(f"skipped: {err}", stacklevel=2)
    return LabelledStructures(structures, names)


def _structure_from_field(value: Any, where: str) -> Structure:
    from pymatgen.core import Structure

    if isinstance(value, dict):
        try:
            return validate_structure(Structure.from_dict(value), where)
        except StructureError:
            raise
        except Exception as err:
            raise StructureError(f"{where}: not a pymatgen Structure dict: {err}") from None
    if isinstance(value, str) and "_cell_length_a" in value:
        try:
            return validate_structure(Structure.from_str(value, fmt="cif"), where)
        except StructureError:
            raise
        except Exception as err:
            raise StructureError(f"{where}: malformed CIF text: {err}") from None
    raise StructureError(f"{where}: 'structure' must be a Structure dict or CIF text")


def read_table(path: str | Path, target: str | None = None, skip_invalid: bool = False) -> LabelledStructures:
    """Read a JSON or CSV table of structures and targets.

    Each record has ``structure`` (Structure dict or CIF text) or ``file`` (a CIF/POSCAR path,
    relative to the table), and a numeric target column.

    Args:
        path: ``*.json`` (a list of objects) or ``*.csv`` (a header row).
        target: the target column; ``None``: the only column besides ``structure``/``file``/``id``.
        skip_invalid: warn about bad rows and keep the rest.

    Raises:
        StructureError / ValueError: naming the table, the row and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such table")
    if path.suffix.lower() == ".json":
        rows = json.loads(path.read_text())
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError(f"{path}: expected a JSON list of objects with 'structure' or 'file' and a target")
    elif path.suffix.lower() == ".csv":
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    else:
        raise ValueError(f"{path}: expected a .json or .csv table")
    if not rows:
        raise ValueError(f"{path}: table is empty")
    columns = [c for c in rows[0] if c not in ("structure", "file", "id")]
    column = target or (columns[0] if len(columns) == 1 else None)
    if column is None or column not in rows[0]:
        raise ValueError(f"{path}: cannot tell the target column; pass target= one of {columns}")
    structures, names, ys = [], [], []
    for line, row in enumerate(rows, start=2 if path.suffix.lower() == ".csv" else 1):
        where = f"{path}: {'line' if path.suffix.lower() == '.csv' else 'record'} {line}"
        try:
            try:
                y = float(row[column])
            except (TypeError, ValueError, KeyError):
                raise ValueError(f"{where}: field {column!r} must be a number, got {row.get(column)!r}") from None
            if not np.isfinite(y):
                raise ValueError(f"{where}: field {column!r} is {y}")
            if row.get("file"):
                file = Path(row["file"])
                structure = read_structure(file if file.is_absolute() else path.parent / file)
            elif row.get("structure") is not None:
                value = row["structure"]
                structure = _structure_from_field(json.loads(value) if isinstance(value, str) and value.startswith("{")
                                                  else value, where)
            else:
                raise ValueError(f"{where}: needs a 'structure' or a 'file' field")
        except (ValueError, FileNotFoundError) as err:
            if not skip_invalid:
                raise
            warnings.warn(f"skipped: {err}", stacklevel=2)
            continue
        structures.append(structure)
        names.append(str(row.get("id") or row.get("file") or f"{path.name}:{line}"))
        ys.append(y)
    return LabelledStructures(structures, names, np.asarray(ys, dtype=np.float64))


def read_matbench(path: str | Path, skip_invalid: bool = False) -> LabelledStructures:
    """Read a Matbench-style ``json.gz`` (``{"index", "columns": ["structure", T], "data"}``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with gzip.open(path, "rt") as fh:
            payload = json.load(fh)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a gzipped JSON file: {err}") from None
    missing = [k for k in ("columns", "data") if k not in payload]
    if missing or "structure" not in payload.get("columns", []) or len(payload["columns"]) != 2:
        raise ValueError(f"{path}: expected Matbench layout {{'index', 'columns': ['structure', TARGET], 'data'}}")
    s_col = payload["columns"].index("structure")
    index = payload.get("index") or list(range(len(payload["data"])))
    structures, names, ys = [], [], []
    for name, row in zip(index, payload["data"]):
        where = f"{path}: entry {name}"
        try:
            structure = _structure_from_field(row[s_col], where)
            try:
                y = float(row[1 - s_col])
            except (TypeError, ValueError):
                raise ValueError(f"{where}: target must be a number, got {row[1 - s_col]!r}") from None
        except ValueError as err:
            if not skip_invalid:
                raise
            warnings.warn(f"skipped: {err}", stacklevel=2)
            continue
        structures.append(structure)
        names.append(str(name))
        ys.append(y)
    return LabelledStructures(structures, names, np.asarray(ys, dtype=np.float64))


def write_matbench(path: str | Path, data: LabelledStructures, target: str) -> Path:
    """Write structures and targets as a Matbench-style ``json.gz`` (atomically)."""
    if data.targets is None:
        raise ValueError("write_matbench needs targets")
    path = Path(path)
    payload = {"index": data.names, "columns": ["structure", target],
               "data": [[s.as_dict(), float(y)] for s, y in zip(data.structures, data.targets)]}
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt") as fh:
        json.dump(payload, fh)
    tmp.replace(path)
    return path


def read_any(path: str | Path, target: str | None = None, skip_invalid: bool = False) -> LabelledStructures:
    """Dispatch on the name: ``*.json.gz`` Matbench, ``*.json``/``*.csv`` table, else structure files."""
    p = Path(path)
    if p.name.endswith(".json.gz"):
        return read_matbench(p, skip_invalid)
    if p.suffix.lower() in (".json", ".csv"):
        return read_table(p, target, skip_invalid)
    return read_structures(p, skip_invalid)
