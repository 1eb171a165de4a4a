"""The ETT/Electricity/Weather CSV loader on files the test writes, and the series shipped in wheels."""

import pandas as pd
import pytest

from sciformers.timeseries.forecasting import load_builtin_series, read_series_csv


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = "date,HUFL,OT\n2016-07-01 00:00:00,5.8,30.5\n2016-07-01 01:00:00,5.7,27.8\n2016-07-01 02:00:00,5.2,27.8\n2016-07-01 03:00:00,5.1,25.0\n"


def test_reads_the_ett_layout(tmp_path):
    df = read_series_csv(_write(tmp_path, GOOD))
    assert list(df.columns) == ["HUFL", "OT"] and df.shape == (4, 2)
    assert isinstance(df.index, pd.DatetimeIndex) and df.index.freqstr == "h" and df.index.name == "date"
    assert df["OT"].tolist() == [30.5, 27.8, 27.8, 25.0]


@pytest.mark.parametrize(
    "text, message",
    [
        ("time,HUFL\n2016-07-01 00:00:00,1\n", "no 'date' column"),
        (GOOD.replace("2016-07-01 02:00:00", "yesterday"), r"line 4: cannot parse 'date' value 'yesterday'"),
        (GOOD.replace("2016-07-01 02:00:00", "2016-07-01 01:00:00"), r"line 4: duplicate timestamp .* \(first at line 3\)"),
        (GOOD.replace("2016-07-01 02:00:00", "2016-07-01 02:30:00"), r"line 4: gap in the time grid"),
        (GOOD.replace("2016-07-01 03:00:00", "2016-07-01 05:00:00"), r"line 5: gap in the time grid.*expected a step of 0 days 01:00:00"),
        (GOOD.replace("5.7,27.8", "5.7,hot"), r"line 3, column 'OT': non-numeric value 'hot'"),
        (GOOD.replace("5.7,27.8", "5.7,"), r"line 3, column 'OT': missing or infinite value"),
        (GOOD.replace("2016-07-01 01:00:00", "2016-06-30 01:00:00"), r"line 3: .* is not after"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as err:
        read_series_csv(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_series_csv(tmp_path / "ETTh1.csv")


def test_builtin_series_have_time_indexes():
    airline = load_builtin_series("airline")
    assert airline.shape == (144, 1) and isinstance(airline.index, pd.PeriodIndex) and airline.index.freqstr == "M"
    uschange = load_builtin_series("uschange")
    assert uschange.shape == (187, 5) and str(uschange.index[0]) == "1970Q1" and str(uschange.index[-1]) == "2016Q3"
    macro = load_builtin_series("macrodata")
    assert macro.shape == (203, 12) and "realgdp" in macro.columns
    with pytest.raises(ValueError, match="unknown built-in series 'etth1'"):
        load_builtin_series("etth1")
