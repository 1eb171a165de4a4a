"""Reading the structure files materials people have, with errors that name the file.

- CIF (``*.cif``) and VASP POSCAR/CONTCAR (``POSCAR*``, ``CONTCAR*``, ``*.vasp``, ``*.poscar``),
  one file or a folder of them (:func:`read_structures`); every data block of a CIF that holds
  a structure is read (:func:`read_cif`), and a malformed block is named with what it lacks;
- a table of ``{structure or file, target}`` as JSON (a list of records) or CSV, where
  ``structure`` is a pymatgen ``Structure.as_dict()`` or CIF text and ``file`` a path relative to
  the table (:func:`read_table`);
- a Matbench-style ``json.gz`` (pandas ``orient="split"``: ``columns``, ``index``, ``data`` with
  rows ``[structure_dict, target]``) (:func:`read_matbench`, :func:`write_matbench`).

Every structure (a pymatgen ``Structure`` or an ASE ``Atoms``) is checked
(:func:`validate_structure`) before any training: a malformed file, an element without features
(Z > 94, dummy species), partial occupancy, overlapping atoms or an atom closer than 0.5 A to its
own periodic image is a :class:`StructureError` naming the source and the problem. With
``skip_invalid=True`` the bad entries are reported as warnings and the rest load.
:func:`target_unit_warnings` flags targets that look like meV/atom or per-cell totals where
eV/atom is expected.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from sciformers.crystals.features import MAX_Z
from sciformers.crystals.graph import shortest_lattice_vector

if TYPE_CHECKING:
    from ase import Atoms
    from pymatgen.core import Structure

MIN_DISTANCE = 0.5
"""Angstrom: atoms closer than this (including periodic images) are overlapping."""

STRUCTURE_SUFFIXES = (".cif", ".vasp", ".poscar")
STRUCTURE_PREFIXES = ("POSCAR", "CONTCAR")

CIF_CELL_TAGS = ("_cell_length_a", "_cell_length_b", "_cell_length_c", "_cell_angle_alpha", "_cell_angle_beta",
                 "_cell_angle_gamma")
CIF_POSITION_TAGS = ("_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z")
CIF_SPECIES_TAGS = ("_atom_site_type_symbol", "_atom_site_label")

MEV_LIKE = 20.0
"""eV/atom: a median |target| above this looks like meV/atom (formation energies are a few eV/atom at most)."""


class StructureError(ValueError):
    """A structure or structure file that cannot be used; the message names its source."""


@dataclass
class LabelledStructures:
    """Structures with their sources (file names or ids) and, when known, targets."""

    structures: list[Structure]
    names: list[str]
    targets: np.ndarray | None = None


def is_atoms(obj: Any) -> bool:
    """Whether ``obj`` is an ASE ``Atoms`` (without importing ASE when it is not installed)."""
    try:
        from ase import Atoms
    except ImportError:  # pragma: no cover - ase is part of the crystals extra
        return False
    return isinstance(obj, Atoms)


def as_structure(obj: Structure | Atoms, source: str) -> Structure:
    """A pymatgen ``Structure`` from a ``Structure`` (returned as is) or a periodic ASE ``Atoms``.

    Raises:
        StructureError: another type, or an ``Atoms`` that is not periodic along all three cell vectors.
    """
    from pymatgen.core import Lattice, Structure

    if isinstance(obj, Structure):
        return obj
    if is_atoms(obj):
        if not all(obj.pbc) or obj.cell.rank < 3:
            raise StructureError(f"{source}: an ASE Atoms must be a crystal: periodic along three cell vectors "
                                 f"(got pbc={[bool(p) for p in obj.pbc]}, cell rank {obj.cell.rank})")
        return Structure(Lattice(np.asarray(obj.cell[:], dtype=np.float64)), obj.get_chemical_symbols(),
                         obj.positions, coords_are_cartesian=True)
    raise StructureError(f"{source}: expected a pymatgen Structure or an ASE Atoms, got {type(obj).__name__}")


def validate_structure(structure: Structure | Atoms, source: str) -> Structure:
    """Check that ``structure`` can become a crystal graph; returns it (an ASE ``Atoms`` converted).

    Raises:
        StructureError: not a Structure or periodic Atoms, empty, disordered, an unsupported
            element, overlapping atoms or an atom near its own image, with ``source`` in the message.
    """
    from pymatgen.core import Element

    structure = as_structure(structure, source)
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
    self_image = shortest_lattice_vector(structure.lattice.matrix)  # every atom's distance to its own image
    if self_image < MIN_DISTANCE:
        raise StructureError(f"{source}: each atom is {self_image:.3f} A from its own periodic image (the shortest "
                             f"lattice vector; minimum {MIN_DISTANCE} A): the cell is too thin or degenerate")
    dist = structure.distance_matrix + np.diag(np.full(len(structure), np.inf))
    bad = np.argwhere(dist < MIN_DISTANCE)
    if len(bad):
        i, j = bad[0]
        raise StructureError(f"{source}: overlapping atoms: sites {i} and {j} are {dist[i, j]:.3f} A apart "
                             f"(minimum {MIN_DISTANCE} A)")
    return structure


def is_structure_file(path: Path) -> bool:
    """Whether ``path``'s name marks a CIF or POSCAR file."""
    return path.suffix.lower() in STRUCTURE_SUFFIXES or path.name.upper().startswith(STRUCTURE_PREFIXES)


def _cif_tags(block: str) -> set[str]:
    """The (lower-case) data names a CIF block's lines start with."""
    return {tag.lower() for tag in re.findall(r"^[ \t]*(_\S+)", block, flags=re.MULTILINE)}


def _cif_block_problem(block: str) -> str | None:
    """What a CIF data block lacks to describe a crystal, or ``None``."""
    tags = _cif_tags(block)
    missing = []
    if cell := [t for t in CIF_CELL_TAGS if t not in tags]:
        missing.append(f"{', '.join(cell)} (the cell)")
    if positions := [t for t in CIF_POSITION_TAGS if t not in tags]:
        missing.append(f"{', '.join(positions)} (the fractional atom positions)")
    if not tags & set(CIF_SPECIES_TAGS):
        missing.append(f"{' or '.join(CIF_SPECIES_TAGS)} (the elements)")
    return "lacks " + " and ".join(missing) if missing else None


def _parse_cif_block(name: str, block: str, source: str) -> Structure:
    """One CIF data block as a structure (not yet validated)."""
    from pymatgen.io.cif import CifParser

    error: Exception | None = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structures = CifParser.from_str(block).parse_structures(primitive=False, on_error="raise")
    except Exception as err:  # pymatgen raises many types for malformed input
        structures, error = [], err
    if structures:
        return structures[0]
    if isinstance(error, ZeroDivisionError):  # pymatgen's loop parser on a loop_ without values
        detail = "has a loop_ with column names but no values"
    else:
        detail = f"cannot be read ({error or 'pymatgen finds no structure in it'})"
    raise StructureError(f"{source}: malformed CIF: data block {name!r} {_cif_block_problem(block) or detail}")


def parse_cif(text: str, source: str) -> list[tuple[str, Structure]]:
    """Every data block of CIF ``text`` that describes a structure, as ``(block name, structure)``.

    Blocks without any ``_cell_`` or ``_atom_site_`` field (publication details, a ``global``
    block) are passed over.

    Raises:
        StructureError: naming ``source``, the block and the fields it lacks.
    """
    blocks = [("data_" + part).split(maxsplit=1) for part in re.split(r"^[ \t]*data_", text, flags=re.MULTILINE)[1:]]
    if not blocks:
        raise StructureError(f"{source}: malformed CIF: no data_ block (each structure starts with data_NAME)")
    found = []
    for header, *body in blocks:
        block = f"{header}\n{body[0] if body else ''}"
        if any(t.startswith(("_cell_", "_atom_site_")) for t in _cif_tags(block)):
            found.append((header[5:], _parse_cif_block(header[5:], block, source)))
    if not found:
        raise StructureError(f"{source}: malformed CIF: no data block has _cell_ or _atom_site_ fields")
    return found


def read_cif(path: str | Path) -> list[tuple[str, Structure]]:
    """Every structure of a CIF file, ``(block name, structure)`` in file order, each checked.

    Raises:
        FileNotFoundError: no such file.
        StructureError: a malformed block or an invalid structure, naming the file and the block.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such structure file")
    blocks = parse_cif(path.read_text(errors="replace"), str(path))
    return [(name, validate_structure(s, str(path) if len(blocks) == 1 else f"{path} (data block {name!r})"))
            for name, s in blocks]


def _first_block(blocks: list[tuple[str, Structure]], source: str) -> Structure:
    if len(blocks) > 1:
        warnings.warn(f"{source}: {len(blocks)} data blocks with structures; took the first ({blocks[0][0]!r}); "
                      "read_structures reads every block", stacklevel=3)
    return blocks[0][1]


def read_structure(path: str | Path) -> Structure:
    """Read and check one CIF or POSCAR file (a CIF's first structure, with a warning if it has more).

    Raises:
        FileNotFoundError: no such file.
        StructureError: unreadable file or invalid structure, naming the file.
    """
    from pymatgen.core import Structure

    path = Path(path)
    if path.suffix.lower() == ".cif":
        return _first_block(read_cif(path), str(path))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such structure file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structure = Structure.from_file(str(path))
    except Exception as err:  # pymatgen raises many types for malformed input
        raise StructureError(f"{path}: malformed POSCAR: {err}") from None
    return validate_structure(structure, str(path))


def read_structure_file(path: str | Path) -> list[tuple[str, Structure]]:
    """Every structure of one file with its name: ``path``, or ``path:block`` for a CIF of several blocks."""
    path = Path(path)
    if path.suffix.lower() != ".cif":
        return [(str(path), read_structure(path))]
    blocks = read_cif(path)
    return [(str(path) if len(blocks) == 1 else f"{path}:{name}", s) for name, s in blocks]


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

    Every structure block of a CIF is read; with several, each is named ``file.cif:block``.

    Args:
        paths: a file, a folder, or several of either.
        skip_invalid: warn about bad files and keep the rest, instead of raising.
    """
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    structures, names = [], []
    for f in collect_structure_files(items):
        try:
            found = read_structure_file(f)
        except (StructureError, FileNotFoundError) as err:
            if not skip_invalid:
                raise
            warnings.warn(f"skipped: {err}", stacklevel=2)
            continue
        names += [name for name, _ in found]
        structures += [s for _, s in found]
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
    if isinstance(value, str) and "data_" in value:
        return validate_structure(_first_block(parse_cif(value, f"{where}: field 'structure'"), where), where)
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
                structure = read_structure(file if file.is_absolute() else path.parent / file)  # first CIF block
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
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # concurrent writers never share a temp file
    with gzip.open(tmp, "wt") as fh:
        json.dump(payload, fh)
    tmp.replace(path)
    return path


def target_unit_warnings(targets: np.ndarray, n_atoms: np.ndarray, source: str) -> list[str]:
    """Warnings for targets meant to be eV/atom that look like meV/atom or per-cell totals.

    Per-cell totals: ``|y|`` grows with the atom count N, a least-squares slope of
    ``log|y|`` on ``log N`` of at least 0.75 and three standard errors (per-atom EMT formation
    energies give 0.27 +- 0.10, the same energies per cell 1.22 +- 0.10). meV/atom: the median
    ``|y|`` per atom above :data:`MEV_LIKE`.
    """
    y, n = np.abs(np.asarray(targets, dtype=np.float64)), np.asarray(n_atoms, dtype=np.float64)
    found = []
    x = np.log(n)
    if len(y) >= 10 and np.ptp(x) > 0:
        ly = np.log(y + 1e-6 + 0.01 * np.median(y))
        slope, intercept = np.polyfit(x, ly, 1)
        se = np.sqrt(np.var(ly - slope * x - intercept, ddof=2) / np.sum((x - x.mean()) ** 2))
        if slope >= 0.75 and slope > 3 * se:
            found.append(f"{source}: |target| grows with the number of atoms (as N^{slope:.2f}): these look like "
                         "per-cell totals; eV/atom is expected (divide each target by its atom count)")
            y = y / n
    if len(y) and np.median(y) > MEV_LIKE:
        found.append(f"{source}: the median |target| is {np.median(y):.3g} per atom: this looks like meV/atom; "
                     "eV/atom is expected (divide by 1000)")
    return found


def read_any(path: str | Path, target: str | None = None, skip_invalid: bool = False) -> LabelledStructures:
    """Dispatch on the name: ``*.json.gz`` Matbench, ``*.json``/``*.csv`` table, else structure files."""
    p = Path(path)
    if p.name.endswith(".json.gz"):
        return read_matbench(p, skip_invalid)
    if p.suffix.lower() in (".json", ".csv"):
        return read_table(p, target, skip_invalid)
    return read_structures(p, skip_invalid)
