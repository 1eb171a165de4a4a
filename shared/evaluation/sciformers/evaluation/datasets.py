"""Dataset and predictor registries behind ``sciformers data`` and ``sciformers predict``.

A domain registers how to generate (or import) each of its datasets into the cache, and one
predictor that reads the domain's input files and prints one prediction per input.

The predict contract: a predictor receives a :class:`PredictRequest` and writes files only
under ``request.out_dir`` (never beside the user's inputs; the CLI checks it). It validates
every input before writing anything for it; with ``skip_invalid`` a bad input is reported in
:attr:`PredictResult.skipped` (input and reason) and the rest of the batch goes on.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
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
        description: one line for ``sciformers list datasets``.
        aliases: former names that still resolve (``sciformers data listops`` after a rename).

    Names follow the model registry's style: ``<domain>.<dataset>`` in snake case
    (``crystals.emt_eform``, ``attention.listops``).
    """

    name: str
    schema: type[Config]
    build: Callable[[Config], list[Path]]
    description: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PredictRequest:
    """What ``sciformers predict DOMAIN`` asks of a domain's predictor.

    Args:
        checkpoint: the checkpoint folder (safetensors + JSON).
        inputs: files or folders named on the command line.
        out_dir: the only folder the predictor may write to (created by the CLI).
        options: domain options from ``--option KEY=VALUE`` (e.g. ``steps=8``), as strings.
        skip_invalid: report a bad input and go on with the rest, instead of stopping.
    """

    checkpoint: Path
    inputs: list[str]
    out_dir: Path
    options: dict[str, str] = field(default_factory=dict)
    skip_invalid: bool = False

    def option(self, key: str, default: str | None = None) -> str | None:
        """The value of ``--option key=...`` (``default`` when absent)."""
        return self.options.get(key, default)


@dataclass
class PredictResult:
    """What a predictor did: lines to print, files it wrote (under ``out_dir``), inputs it skipped."""

    lines: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Predictor:
    """A domain's predictor and its help text.

    Args:
        run: ``run(request) -> PredictResult``.
        inputs: what an input is (``CIF/POSCAR files or folders of them``).
        options: option name -> its meaning and default, for ``sciformers predict DOMAIN --help``.
    """

    run: Callable[[PredictRequest], PredictResult]
    inputs: str
    options: dict[str, str] = field(default_factory=dict)

_DATASETS: dict[str, DatasetEntry] = {}
_ALIASES: dict[str, str] = {}
_PREDICTORS: dict[str, Predictor] = {}


def register_dataset(entry: DatasetEntry) -> DatasetEntry:
    """Add a dataset to ``sciformers data``."""
    for name in (entry.name, *entry.aliases):
        if name in _DATASETS or name in _ALIASES:
            raise ValueError(f"dataset {name!r} is already registered")
    _DATASETS[entry.name] = entry
    _ALIASES.update({alias: entry.name for alias in entry.aliases})
    return entry


def list_datasets() -> list[str]:
    """Names of the registered datasets."""
    return sorted(_DATASETS)


def get_dataset(name: str) -> DatasetEntry:
    """The registered dataset ``name`` or former name (a ``domain.name`` imports its domain, a bare
    name every domain)."""
    if name not in _DATASETS and name not in _ALIASES:
        import_tasks(name) if "." in name else import_all_tasks()
    try:
        return _DATASETS[_ALIASES.get(name, name)]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; registered: {', '.join(list_datasets())}") from None


def register_predictor(domain: str, predictor: Predictor) -> Predictor:
    """Add the predictor behind ``sciformers predict DOMAIN``."""
    if not isinstance(predictor, Predictor):
        raise TypeError(f"register_predictor({domain!r}): expected a Predictor, got {type(predictor).__name__}")
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


def list_predictors() -> list[str]:
    """Domains with a registered predictor (importing every domain's task modules)."""
    import_all_tasks()
    return sorted(_PREDICTORS)


def _import_predictor_module(domain: str) -> None:
    """Import the one module the catalog says registers ``domain``'s predictor (start-up: a
    domain's other task modules may pull in heavy libraries the predictor never uses)."""
    from sciformers.evaluation.catalog import load_catalog

    try:
        module = load_catalog()["predictors"][domain]["module"]
    except (FileNotFoundError, KeyError):
        return
    importlib.import_module(module)


def get_predictor(domain: str) -> Predictor:
    """The predictor of ``domain``, importing the domain's task modules if needed."""
    if domain not in _PREDICTORS:
        _import_predictor_module(domain)
    if domain not in _PREDICTORS:
        import_tasks(domain)
    try:
        return _PREDICTORS[domain]
    except KeyError:
        raise KeyError(f"no predictor for {domain!r}; available: {', '.join(sorted(_PREDICTORS))}") from None

