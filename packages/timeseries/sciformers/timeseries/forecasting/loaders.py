"""Multivariate series from files and from the data that sktime and statsmodels ship.

:func:`read_series_csv` reads the layout of the long-horizon benchmark files (ETTh1/ETTm1,
Electricity, Weather, Traffic from the Autoformer/Time-Series-Library releases): a ``date``
column and one numeric column per variate, one row per timestamp. Everything a forecaster
cannot use is a clear error naming the file, line and column: a missing ``date`` column,
unparseable or duplicate timestamps, gaps in a regular grid, non-numeric or missing values.

:func:`load_builtin_series` returns the real series that installed wheels carry, with a
proper time index (no download).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

BUILTIN_SERIES = ("airline", "lynx", "shampoo_sales", "uschange", "longley", "macrodata", "co2")


def _line(position: int) -> int:
    """File line of data row ``position`` (0-based; line 1 is the header)."""
    return position + 2


def validate_series(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check a series indexed by time: sorted, unique, gap-free, numeric and finite.

    Args:
        df: one column per variate, a ``DatetimeIndex`` or ``PeriodIndex``.
        where: what to name in errors (a file path or a dataset name).

    Returns:
        ``df`` with float64 columns.

    Raises:
        ValueError: naming the line (row + 2, the header being line 1) and column at fault.
    """
    if df.shape[1] == 0:
        raise ValueError(f"{where}: no variate columns besides the time index")
    if len(df) < 3:
        raise ValueError(f"{where}: {len(df)} rows; a series needs at least 3")
    for col in df.columns:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() & df[col].notna().to_numpy())
        if len(bad):
            raise ValueError(f"{where}: line {_line(bad[0])}, column {col!r}: non-numeric value {df[col].iloc[bad[0]]!r}; "
                             "every column except 'date' must be a number")
        missing = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=np.float64)))
        if len(missing):
            raise ValueError(f"{where}: line {_line(missing[0])}, column {col!r}: missing or infinite value; "
                             "fill or drop it before forecasting")
    index = df.index
    dup = np.flatnonzero(index.duplicated())
    if len(dup):
        first = index.get_loc(index[dup[0]])
        first = first if isinstance(first, int) else int(np.flatnonzero(np.asarray(index == index[dup[0]]))[0])
        raise ValueError(f"{where}: line {_line(dup[0])}: duplicate timestamp {index[dup[0]]} (first at line {_line(first)})")
    if isinstance(index, pd.DatetimeIndex):
        steps = pd.Series(index[1:] - index[:-1])
        if (steps <= pd.Timedelta(0)).any():
            i = int(np.flatnonzero(steps <= pd.Timedelta(0))[0]) + 1
            raise ValueError(f"{where}: line {_line(i)}: timestamp {index[i]} is not after {index[i - 1]}; sort the file by date")
        counts = steps.value_counts()
        common = counts[counts == counts.max()].index
        step = steps.iloc[0] if steps.iloc[0] in common else common.min()  # the grid: the most frequent step
        irregular = np.flatnonzero((steps != step).to_numpy())
        if len(irregular):
            i = int(irregular[0]) + 1
            raise ValueError(f"{where}: line {_line(i)}: gap in the time grid, {index[i - 1]} -> {index[i]} "
                             f"(expected a step of {step}); fill the missing timestamps")
        df = df.copy()
        df.index = pd.DatetimeIndex(index, freq=index.freq or pd.infer_freq(index) or step)
    return df.astype(np.float64)


def read_series_csv(path: str | Path, date_column: str = "date") -> pd.DataFrame:
    """A long-horizon benchmark CSV (``date`` + variates) as a validated ``DataFrame`` indexed by time.

    Args:
        path: the CSV file (ETTh1.csv, electricity.csv, weather.csv ... or your own).
        date_column: the timestamp column.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: for a missing date column or bad rows (see :func:`validate_series`).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected a CSV with a {date_column!r} column and one column per variate)")
    df = pd.read_csv(path)
    if date_column not in df.columns:
        raise ValueError(f"{path}: no {date_column!r} column; found {list(df.columns)[:8]}")
    dates = pd.to_datetime(df[date_column], errors="coerce")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if len(bad):
        raise ValueError(f"{path}: line {_line(bad[0])}: cannot parse {date_column!r} value {df[date_column].iloc[bad[0]]!r} as a timestamp")
    df = df.drop(columns=[date_column]).set_index(pd.DatetimeIndex(dates, name=date_column))
    return validate_series(df, str(path))


def load_builtin_series(name: str) -> pd.DataFrame:
    """A real series shipped in the sktime or statsmodels wheel, one column per variate.

    ``airline`` (144 monthly passenger totals), ``lynx`` (114 yearly trappings),
    ``shampoo_sales`` (36 monthly), ``uschange`` (187 quarters 1970 Q1 - 2016 Q3 x 5 US growth rates),
    ``longley`` (16 years x 6), ``macrodata`` (statsmodels, 203 quarters x 12 numeric columns) and
    ``co2`` (statsmodels, weekly Mauna Loa CO2, gaps filled by linear interpolation).
    """
    if name not in BUILTIN_SERIES:
        raise ValueError(f"unknown built-in series {name!r}; available: {', '.join(BUILTIN_SERIES)}")
    if name in ("macrodata", "co2"):
        import statsmodels.api as sm

        if name == "macrodata":
            raw = sm.datasets.macrodata.load_pandas().data
            index = pd.PeriodIndex.from_fields(year=raw["year"].astype(int), quarter=raw["quarter"].astype(int), freq="Q")
            df = raw.drop(columns=["year", "quarter"]).set_index(index)
        else:
            df = sm.datasets.co2.load_pandas().data.interpolate()
        return validate_series(df, name)
    from sktime import datasets

    if name == "uschange":
        y, X = datasets.load_uschange()
        df = pd.concat([y, X], axis=1)
        df.index = pd.period_range("1970Q1", periods=len(df), freq="Q")  # fpp2's uschange: 1970 Q1 - 2016 Q3
    elif name == "longley":
        y, X = datasets.load_longley()
        df = pd.concat([y, X], axis=1)
    else:
        loader = {"airline": datasets.load_airline, "lynx": datasets.load_lynx, "shampoo_sales": datasets.load_shampoo_sales}[name]
        y = loader()
        df = y.to_frame(name=y.name or name)
    return validate_series(df, name)
