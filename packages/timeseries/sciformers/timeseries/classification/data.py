"""Classification data: the datasets shipped in sktime's wheel, user ``.ts`` files, checks, padding.

Every shipped dataset is read with sktime's own loader from the installed wheel (nothing is
downloaded). User data comes through sktime's ``load_from_tsfile``. Panels are kept as lists of
``(channels, length_i)`` float arrays until :func:`pad_panel` makes them rectangular.
Bad input is refused before training with an error naming the file, series and channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

# name -> sktime loader (all read files inside the sktime wheel)
SHIPPED = {
    "BasicMotions": "load_basic_motions",
    "JapaneseVowels": "load_japanese_vowels",
    "ArrowHead": "load_arrow_head",
    "GunPoint": "load_gunpoint",
    "ItalyPowerDemand": "load_italy_power_demand",
    "OSULeaf": "load_osuleaf",
    "ACSF1": "load_acsf1",
    "PLAID": "load_plaid",
    "UnitTest": "load_unit_test",
}


@dataclass
class ClassificationData:
    """A train/test split of a classification panel.

    Args:
        name: dataset name.
        X_train, X_test: lists of ``(channels, length_i)`` float arrays.
        y_train, y_test: string labels.
        source: where the data came from (loader or files).
    """

    name: str
    X_train: list[np.ndarray]
    y_train: np.ndarray
    X_test: list[np.ndarray]
    y_test: np.ndarray
    source: str

    @property
    def n_channels(self) -> int:
        return self.X_train[0].shape[0]

    @property
    def classes(self) -> np.ndarray:
        return np.unique(self.y_train)

    def summary(self) -> dict[str, Any]:
        """Sizes for logs and data cards."""
        lengths = [x.shape[1] for x in self.X_train + self.X_test]
        return {"name": self.name, "train": len(self.X_train), "test": len(self.X_test),
                "channels": self.n_channels, "min_length": min(lengths), "max_length": max(lengths),
                "classes": len(self.classes)}


def panel_to_list(X: Any, where: str = "X") -> list[np.ndarray]:
    """numpy3D, a list of 2D arrays, or an sktime ``nested_univ`` DataFrame -> list of ``(C, T_i)`` arrays.

    Raises:
        ValueError: for an unsupported shape or type, naming ``where``.
    """
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return [np.stack([np.asarray(X.iloc[i, c], dtype=np.float64) for c in range(X.shape[1])])
                if len({len(X.iloc[i, c]) for c in range(X.shape[1])}) == 1
                else _ragged_channels(X, i, where) for i in range(len(X))]
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim != 3:
            raise ValueError(f"{where}: expected a 3D array (n_series, n_channels, length), got shape {X.shape}")
        return list(X.astype(np.float64))
    if isinstance(X, (list, tuple, np.ndarray)):
        out = []
        for i, x in enumerate(X):
            try:
                a = np.asarray(x, dtype=np.float64)
            except ValueError as err:
                raise ValueError(f"{where}[{i}]: not a numeric (channels, length) array ({err})") from None
            if a.ndim != 2:
                raise ValueError(f"{where}[{i}]: expected a 2D (channels, length) array, got shape {a.shape}")
            out.append(a)
        return out
    raise ValueError(f"{where}: expected a numpy3D array, a list of 2D arrays or a nested DataFrame, got {type(X)}")


def _ragged_channels(X: Any, i: int, where: str) -> np.ndarray:
    lengths = [len(X.iloc[i, c]) for c in range(X.shape[1])]
    raise ValueError(f"{where}: series {i} has channels of different lengths {lengths}; all channels of a series "
                     "must have the same length")


def validate_panel(X: list[np.ndarray], y: Any, where: str, allow_unequal: bool = False) -> np.ndarray:
    """Check a panel and its labels; returns the labels as a string array.

    Args:
        X: list of ``(C, T_i)`` arrays.
        y: one label per series.
        where: names the data in errors (a file or a dataset and split).
        allow_unequal: whether series may differ in length (declared unequal-length data).

    Raises:
        ValueError: for a count mismatch, differing channel counts, undeclared unequal
            lengths, an empty series, or NaN/inf (naming series, channel and time index).
    """
    y = np.asarray(y).astype(str)
    if y.ndim != 1:
        raise ValueError(f"{where}: labels must be 1D, got shape {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"{where}: {len(X)} series but {len(y)} labels; expected one label per series")
    if not X:
        raise ValueError(f"{where}: no series")
    channels = {x.shape[0] for x in X}
    if len(channels) > 1:
        first = next(i for i, x in enumerate(X) if x.shape[0] != X[0].shape[0])
        raise ValueError(f"{where}: series {first} has {X[first].shape[0]} channels, series 0 has {X[0].shape[0]}")
    lengths = np.array([x.shape[1] for x in X])
    if lengths.min() < 2:
        raise ValueError(f"{where}: series {int(lengths.argmin())} has {lengths.min()} steps; need at least 2")
    if not allow_unequal and lengths.min() != lengths.max():
        raise ValueError(f"{where}: series have different lengths ({lengths.min()}..{lengths.max()}, e.g. series "
                         f"{int(lengths.argmin())}) but the data was not declared unequal-length; pad it or "
                         "declare it (allow_unequal=True / @equalLength false in a .ts file)")
    for i, x in enumerate(X):
        bad = ~np.isfinite(x)
        if bad.any():
            c, t = (int(v) for v in np.argwhere(bad)[0])
            raise ValueError(f"{where}: series {i}, channel {c}, time {t} is {x[c, t]}; missing values are "
                             "not supported (impute them first)")
    return y


def load_shipped(name: str) -> ClassificationData:
    """A classification dataset from sktime's wheel, through its own loader (official split).

    Raises:
        KeyError: for a name sktime does not ship, listing those it does.
    """
    if name not in SHIPPED:
        raise KeyError(f"unknown shipped dataset {name!r}; sktime ships: {', '.join(SHIPPED)}")
    import sktime.datasets as skd

    loader: Callable[..., Any] = getattr(skd, SHIPPED[name])
    parts = {}
    for split in ("train", "test"):
        X, y = loader(split=split, return_X_y=True, return_type="nested_univ")
        X = panel_to_list(X, f"{name} {split}")
        parts[split] = (X, validate_panel(X, y, f"{name} {split}", allow_unequal=True))
    return ClassificationData(name, *parts["train"], *parts["test"], source=f"sktime.datasets.{SHIPPED[name]}")


def read_ts(path: str | Path, allow_unequal: bool | None = None) -> tuple[list[np.ndarray], np.ndarray | None]:
    """A ``.ts`` file (sktime's time series format): its series, and its labels when it has them.

    The format: ``#`` comments (``%`` too, in the header), ``@`` header tags (case-insensitive; ``@classLabel true <labels>``
    or ``false``, ``@equalLength``, ``@timeStamps``, ...), then after ``@data`` one series per line,
    channels separated by ``:``, values by ``,``, ``?`` for a missing value, and the class label
    as the last ``:`` field when the file declares labels. Labels are read in lower case, as
    sktime's reader (and so its shipped-data loaders) reads them, so a model trained on a shipped
    set scores that set's files. A trailing ``:`` on an unlabelled line
    (what sktime's own writer produces) is an empty field and is ignored. Read by this module, not
    sktime (start-up, and errors that name the line).

    Args:
        path: the file.
        allow_unequal: accept series of different lengths; ``None`` trusts the header's
            ``@equalLength`` declaration.

    Returns:
        ``(X, y)``: a list of ``(C, T_i)`` arrays and the labels as strings, or ``None`` for a
        file declaring ``@classLabel false``.

    Raises:
        FileNotFoundError: if the file is missing.
        ValueError: for a malformed file (naming the path, the line and what was expected) or
            data that fails :func:`validate_panel`.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such .ts file")
    where = str(path)
    header: dict[str, list[str]] = {}
    X: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    for number, raw in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or (not in_data and line.startswith("%")):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise ValueError(f"{where}: not a valid .ts file: line {number} is data before the @data tag")
            tag, *values = line[1:].split()
            if tag.lower() == "data":
                in_data = True
                labelled = _header_flag(header, "classlabel", where)
                declared = [label.lower() for label in header.get("classlabel", [])[1:]]
                if _header_flag(header, "timestamps", where, default=False):
                    raise ValueError(f"{where}: @timeStamps true is not supported; write the values without "
                                     "timestamps (one evenly sampled value per step)")
            else:
                header[tag.lower()] = values
            continue
        fields = line.split(":")
        if fields[-1].strip() == "" and len(fields) > 1:
            fields = fields[:-1]  # sktime's writer ends unlabelled lines with ':'
        if labelled:
            if len(fields) < 2:
                raise ValueError(f"{where}: line {number}: expected channels then a class label separated by ':'")
            label = fields.pop().strip().lower()
            if declared and label not in declared:
                raise ValueError(f"{where}: line {number}: class label {label!r} is not among the declared "
                                 f"@classLabel values {declared}")
            labels.append(label)
        X.append(_parse_channels(fields, where, number))
    if not in_data:
        raise ValueError(f"{where}: not a valid .ts file: no @data tag (expected the header, then @data, then one "
                         "series per line)")
    if allow_unequal is None:
        allow_unequal = not _header_flag(header, "equallength", where, default=True)
    if X and len({x.shape[0] for x in X}) > 1:
        first = next(i for i, x in enumerate(X) if x.shape[0] != X[0].shape[0])
        raise ValueError(f"{where}: series {first} has {X[first].shape[0]} channels, series 0 has {X[0].shape[0]}")
    y = validate_panel(X, labels if labelled else np.zeros(len(X)), where, allow_unequal)
    return X, (y if labelled else None)


def _header_flag(header: dict[str, list[str]], tag: str, where: str, default: bool | None = None) -> bool:
    """A ``true``/``false`` header tag (its first value)."""
    values = header.get(tag)
    if not values:
        if default is None:
            raise ValueError(f"{where}: not a valid .ts file: the header has no @{tag} tag before @data "
                             "(expected true or false)")
        return default
    if values[0].lower() not in ("true", "false"):
        raise ValueError(f"{where}: @{tag} is {values[0]!r}; expected true or false")
    return values[0].lower() == "true"


def _parse_channels(fields: list[str], where: str, number: int) -> np.ndarray:
    """``(C, T)`` floats from a data line's ``:``-separated channels (``?`` -> NaN)."""
    channels = []
    for c, field_text in enumerate(fields):
        try:
            values = [np.nan if v.strip() == "?" else float(v) for v in field_text.split(",")]
        except ValueError:
            raise ValueError(f"{where}: line {number}, channel {c}: expected comma-separated numbers "
                             f"(or ? for missing), got {field_text[:40]!r}") from None
        channels.append(values)
    if len({len(v) for v in channels}) > 1:
        raise ValueError(f"{where}: line {number}: channels have different lengths "
                         f"{[len(v) for v in channels]}; every channel of a series needs the same steps")
    return np.asarray(channels, dtype=np.float64)


def load_ts(path: str | Path, allow_unequal: bool | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """A user's labelled ``.ts`` file (see :func:`read_ts`).

    Raises:
        ValueError: as :func:`read_ts`, and for a file without class labels.
    """
    X, y = read_ts(path, allow_unequal)
    if y is None:
        raise ValueError(f"{path}: the file has no class labels (@classLabel false); training and scoring need them")
    return X, y


def load_ts_pair(name: str, train: str | Path, test: str | Path) -> ClassificationData:
    """A user's ``<name>_TRAIN.ts`` / ``<name>_TEST.ts`` pair as a :class:`ClassificationData`."""
    X_train, y_train = load_ts(train)
    X_test, y_test = load_ts(test)
    if X_train[0].shape[0] != X_test[0].shape[0]:
        raise ValueError(f"{test}: {X_test[0].shape[0]} channels, but {train} has {X_train[0].shape[0]}")
    unseen = sorted(str(v) for v in set(y_test) - set(y_train))
    if unseen:
        raise ValueError(f"{test}: labels {unseen} never occur in {train}")
    return ClassificationData(name, X_train, y_train, X_test, y_test, source=f"{train}, {test}")


def pad_panel(X: list[np.ndarray], length: int) -> np.ndarray:
    """``(N, C, length)``: each series end-padded by repeating its last value, or truncated."""
    out = np.empty((len(X), X[0].shape[0], length))
    for i, x in enumerate(X):
        x = x[:, :length]
        out[i] = np.pad(x, ((0, 0), (0, length - x.shape[1])), mode="edge")
    return out


def z_normalize(X: list[np.ndarray], eps: float = 1e-8) -> list[np.ndarray]:
    """Each series' channels shifted and scaled to mean 0 and standard deviation 1 over its own
    time steps (per series, so no statistic crosses series or splits); a constant channel becomes 0."""
    return [(x - x.mean(1, keepdims=True)) / np.maximum(x.std(1, keepdims=True), eps) for x in X]
