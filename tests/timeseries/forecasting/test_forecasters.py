"""The sktime forecasters: DataFrames with time indexes in and out, affine equivariance, errors, check_estimator."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sktime")

from sciformers.timeseries.forecasting import ITransformerForecaster, PathformerForecaster  # noqa: E402

TINY = {
    ITransformerForecaster: dict(window_length=24, d_model=8, heads=2, d_ff=8, depth=1, num_epochs=2, batch_size=16),
    PathformerForecaster: dict(window_length=24, patch_sizes=[[6, 4], [8, 2]], top_k=1, d_model=2, d_ff=4,
                               num_epochs=2, batch_size=16),
}


def _series(n=200, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = np.column_stack([np.sin(2 * np.pi * t / 24), np.cos(2 * np.pi * t / 24) + 0.01 * t]) + 0.1 * rng.normal(size=(n, 2))
    return pd.DataFrame(values, index=pd.date_range("2024-01-01", periods=n, freq="h"), columns=["load", "temp"])


@pytest.mark.parametrize("cls", [ITransformerForecaster, PathformerForecaster])
def test_multivariate_dataframe_in_and_out_with_time_index(cls):
    y = _series()
    f = cls(**TINY[cls]).fit(y, fh=[1, 2, 5])
    pred = f.predict()
    assert list(pred.columns) == ["load", "temp"]
    assert list(pred.index) == [y.index[-1] + pd.Timedelta(hours=h) for h in (1, 2, 5)]
    assert np.isfinite(pred.to_numpy()).all()
    uni = cls(**TINY[cls]).fit(y["load"], fh=np.arange(1, 4)).predict()
    assert isinstance(uni, pd.Series) and len(uni) == 3 and uni.name == "load"


@pytest.mark.parametrize("cls", [ITransformerForecaster, PathformerForecaster])
def test_fit_on_shifted_and_scaled_series_forecasts_the_shifted_and_scaled_forecast(cls):
    y = _series()
    scale, shift = np.array([3.0, 0.5]), np.array([-10.0, 100.0])
    base = cls(**TINY[cls], random_state=1).fit(y, fh=[1, 2, 3, 4]).predict()
    moved = cls(**TINY[cls], random_state=1).fit(y * scale + shift, fh=[1, 2, 3, 4]).predict()
    np.testing.assert_allclose(moved.to_numpy(), base.to_numpy() * scale + shift, rtol=1e-4, atol=1e-4 * 100)


def test_errors_name_the_problem():
    y = _series(30)
    with pytest.raises(ValueError, match=r"y has 30 steps; window_length=24 plus max\(fh\)=10 needs at least 34"):
        ITransformerForecaster(**TINY[ITransformerForecaster]).fit(y, fh=list(range(1, 11)))
    with pytest.raises(ValueError, match="no default patch size divides window_length=7"):
        PathformerForecaster(window_length=7, num_epochs=1).fit(_series(40), fh=[1])


@pytest.mark.slow
@pytest.mark.parametrize("cls", [ITransformerForecaster, PathformerForecaster])
def test_check_estimator(cls):
    from sktime.utils.estimator_checks import check_estimator

    results = check_estimator(cls, raise_exceptions=False, verbose=False)
    failed = {k: v for k, v in results.items() if v != "PASSED"}
    assert not failed, failed
