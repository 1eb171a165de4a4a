"""Dataset and predictor registries behind ``sciformers data`` and ``sciformers predict``.

A domain registers how to generate (or import) each of its datasets into the cache, and one
predictor that reads the domain's input files and prints one prediction per input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from sciformers.core import Config
from sciformers.evaluation.tasks import import_all_tasks, import_tasks


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset that ``sciformers data NAME`` can build.

    Args:
        name: the CLI name (``listops``).
        schema: config validating ``--set`` keys.
        build: writes the dataset into the cache and returns the files it wrote.
        description: one line for ``sciformers data --list``.
    """

    name: str
    schema: type[Config]
    build: Callable[[Config], list[Path]]
    description: str


# A predictor gets (checkpoint dir, inputs) and returns one printable line per input.
Predictor = Callable[[Path, list[str]], list[str]]

_DATASETS: dict[str, DatasetEntry] = {}
_PREDICTORS: dict[str, Predictor] = {}


def register_dataset(entry: DatasetEntry) -> DatasetEntry:
    """Add a dataset to ``sciformers data``."""
    if entry.name in _DATASETS:
        raise ValueError(f"dataset {entry.name!r} is already registered")
    _DATASETS[entry.name] = entry
    return entry


def list_datasets() -> list[str]:
    """Names of the registered datasets."""
    return sorted(_DATASETS)


def get_dataset(name: str) -> DatasetEntry:
    """The registered dataset ``name`` (a ``domain.name`` imports its domain, a bare name every domain)."""
    if name not in _DATASETS:
        import_tasks(name) if "." in name else import_all_tasks()
    try:
        return _DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; registered: {', '.join(list_datasets())}") from None


def register_predictor(domain: str, predictor: Predictor) -> Predictor:
    """Add the predictor behind ``sciformers predict DOMAIN``."""
    if domain in _PREDICTORS:
        raise ValueError(f"a predictor for {domain!r} is already registered")
    _PREDICTORS[domain] = predictor
    return predictor


def input_files(inputs: list[str], suffixes: Sequence[str], what: str, skip: Callable[[Path], bool] = lambda _: False,
                ) -> list[Path]:
    """A predictor's input files: those named directly, and those in named folders (sorted).

    Args:
        inputs: files or folders from the command line.
        suffixes: accepted file suffixes (lower case, with the dot).
        what: what one file is, for errors (``frame``, ``.ts file``).
        skip: files of a folder to leave out (a predictor's own outputs).

    Raises:
        FileNotFoundError: for a path that does not exist.
        ValueError: for a named file of another type, or when no file is found.
    """
    files: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes and not skip(p))
        elif path.is_file():
            if path.suffix.lower() not in suffixes:
                raise ValueError(f"{path}: not a {what}; expected {', '.join(suffixes)}")
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    if not files:
        raise ValueError(f"no {what} found ({', '.join(suffixes)}) in {', '.join(inputs)}")
    return files


def get_predictor(domain: str) -> Predictor:
    """The predictor of ``domain``, importing the domain's task modules if needed."""
    if domain not in _PREDICTORS:
        import_tasks(domain)
    try:
        return _PREDICTORS[domain]
    except KeyError:
        raise KeyError(f"no predictor for {domain!r}; available: {', '.join(sorted(_PREDICTORS))}") from None

