"""The ETT-like generator: daily and weekly seasonality, lagged coupling, heteroscedastic noise, seeding."""

import numpy as np
import pytest

from sciformers.timeseries.forecasting import ETT_COLUMNS, ETTLikeConfig, ettlike_csv, generate_ettlike, read_series_csv

CFG = ETTLikeConfig(seed=3, n_rows=24 * 7 * 40, coupling_lag=9)  # 40 weeks


@pytest.fixture(scope="module")
def series():
    return generate_ettlike(CFG)


def _deseasonalise(values: np.ndarray) -> np.ndarray:
    """Remove a linear trend and the mean hour-of-week profile."""
    t = np.arange(len(values))
    values = values - np.polyval(np.polyfit(t, values, 1), t)
    profile = np.array([values[h::168].mean() for h in range(168)])
    return values - profile[t % 168]


def test_layout_and_seed(series):
    assert list(series.columns) == list(ETT_COLUMNS) and len(series) == CFG.n_rows
    assert series.index.freqstr == "h" and str(series.index[0]) == "2016-07-01 00:00:00"
    assert np.isfinite(series.to_numpy()).all()
    assert generate_ettlike(CFG).equals(series)
    assert not generate_ettlike(CFG.model_copy(update={"seed": 4})).equals(series)


def test_loads_have_spectral_peaks_at_24h_and_168h(series):
    for col in ETT_COLUMNS[:-1]:
        x = series[col].to_numpy()
        x = x - np.polyval(np.polyfit(np.arange(len(x)), x, 1), np.arange(len(x)))
        power = np.abs(np.fft.rfft(x)) ** 2
        freqs = np.fft.rfftfreq(len(x))
        band = freqs > 1 / 1000  # above the annual wave and the drift
        top = freqs[band][np.argsort(power[band])[::-1][:2]]
        assert sorted(np.round(1 / top).astype(int).tolist()) == [24, 168], col


def test_oil_temperature_follows_useful_load_at_the_set_lag(series):
    useful = _deseasonalise(series[["HUFL", "MUFL", "LUFL"]].mean(axis=1).to_numpy())
    ot = _deseasonalise(series["OT"].to_numpy())
    lags = np.arange(0, 49)
    xcorr = [np.corrcoef(useful[: len(useful) - k], ot[k:])[0, 1] for k in lags]
    assert lags[int(np.argmax(xcorr))] == CFG.coupling_lag
    assert max(xcorr) > 0.5


def test_noise_is_heteroscedastic_over_the_day(series):
    resid = np.diff(_deseasonalise(series["HUFL"].to_numpy()))  # innovations, AR memory removed to first order
    by_hour = np.array([resid[h::24].std() for h in range(24)])
    assert by_hour.max() / by_hour.min() > 1.5
    flat = generate_ettlike(CFG.model_copy(update={"heteroscedasticity": 0.0}))
    resid = np.diff(_deseasonalise(flat["HUFL"].to_numpy()))
    by_hour = np.array([resid[h::24].std() for h in range(24)])
    assert by_hour.max() / by_hour.min() < 1.3


def test_cached_csv_reads_back_through_the_loader():
    cfg = ETTLikeConfig(n_rows=400)
    path = ettlike_csv(cfg)
    assert ettlike_csv(cfg) == path  # cached
    df = read_series_csv(path)
    np.testing.assert_allclose(df.to_numpy(), generate_ettlike(cfg).to_numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="n_rows must be >= 336"):
        generate_ettlike(ETTLikeConfig(n_rows=100))
