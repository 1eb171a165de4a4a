"""The long-horizon protocol: ETTh1 borders, train-only scaler, every window, nothing dropped."""

import numpy as np
import pytest
import torch

from sciformers.timeseries.forecasting import LongHorizonData, WindowDataset, split_borders


def test_etth1_borders_and_window_counts():
    borders = split_borders(17420, 96, "ett_hour")
    assert borders == [(0, 8640), (8640 - 96, 11520), (11520 - 96, 14400)]
    data = LongHorizonData(np.zeros((17420, 2), np.float32), None, borders, ["a", "b"])  # type: ignore[arg-type]
    train, val, test = data.datasets(96, 96)
    assert (len(train), len(val), len(test)) == (8449, 2785, 2785)  # the ETTh1 counts of Informer/Autoformer
    assert len(data.datasets(96, 720)[2]) == 2161
    assert split_borders(17420 * 4, 96, "ett_minute")[2] == (46080 - 96, 57600)
    assert split_borders(1000, 48, "ratio") == [(0, 700), (652, 800), (752, 1000)]
    with pytest.raises(ValueError, match="needs at least 14400 rows"):
        split_borders(5000, 96, "ett_hour")


def test_scaler_is_fitted_on_training_rows_only():
    rng = np.random.default_rng(0)
    raw = np.concatenate([rng.normal(0, 1, (700, 2)), rng.normal(50, 5, (300, 2))])  # test segment shifted
    data = LongHorizonData.prepare(raw, ["a", "b"], seq_len=10, scheme="ratio")
    np.testing.assert_allclose(data.values[:700].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(data.values[:700].std(0), 1, atol=1e-5)
    assert data.values[800:].mean() > 20  # the shift survives: no statistics leak from test
    np.testing.assert_allclose(data.scaler.inverse(data.values), raw, atol=1e-3)


def test_every_window_in_order():
    values = np.arange(40, dtype=np.float32).reshape(20, 2)
    ds = WindowDataset(values, seq_len=4, pred_len=3, start=5, end=20)
    assert len(ds) == 20 - 5 - 4 - 3 + 1
    first, last = ds[0], ds[len(ds) - 1]
    assert first["x"][:, 0].tolist() == [10, 12, 14, 16] and first["y"][:, 0].tolist() == [18, 20, 22]
    assert last["y"][-1, 1].item() == 39  # the last row is used
    torch.testing.assert_close(ds.targets(), torch.stack([ds[i]["y"] for i in range(len(ds))]))
    with pytest.raises(IndexError):
        ds[len(ds)]
    with pytest.raises(ValueError, match="hold no window"):
        WindowDataset(values, seq_len=15, pred_len=10)
