"""Peers: DLinear's decomposition and linear maps, seasonal naive by hand, PatchTST through transformers."""

import pytest
import torch

from sciformers.core import create_model
from sciformers.timeseries.forecasting import DLinear, SeasonalNaive


def test_dlinear_decomposes_and_maps_each_part_linearly():
    torch.manual_seed(0)
    model = DLinear(seq_len=30, pred_len=6, n_vars=3, kernel=5).double()
    x = torch.randn(2, 30, 3, dtype=torch.float64)
    trend, season = model.decompose(x)
    torch.testing.assert_close(trend + season, x)
    torch.testing.assert_close(trend[:, 10, 1], x[:, 8:13, 1].mean(1))  # centred window of 5
    expected = torch.stack([model.trend[0](trend[:, :, n]) + model.seasonal[0](season[:, :, n]) for n in range(3)], -1)
    torch.testing.assert_close(model(x), expected)
    individual = DLinear(seq_len=30, pred_len=6, n_vars=3, individual=True)
    assert len(individual.trend) == 3 and individual(x.float()).shape == (2, 6, 3)


def test_seasonal_naive_repeats_the_last_season():
    x = torch.arange(10, dtype=torch.float32).reshape(1, 10, 1)
    y = SeasonalNaive(seq_len=10, pred_len=7, n_vars=1, sp=3)(x)
    assert y.flatten().tolist() == [7, 8, 9, 7, 8, 9, 7]
    assert list(SeasonalNaive(10, 2, 1, sp=2).parameters()) == []  # fit-free: the task never trains it
    with pytest.raises(ValueError, match=r"sp must be in \[1, seq_len=10\]"):
        SeasonalNaive(seq_len=10, pred_len=2, n_vars=1, sp=24)


def test_patchtst_from_transformers_trains_on_windows():
    pytest.importorskip("transformers")
    torch.manual_seed(0)
    model = create_model("patchtst", seq_len=32, pred_len=8, n_vars=2, patch_length=8, patch_stride=4, d_model=8,
                         heads=2, depth=1, d_ff=16)
    batch = {"x": torch.randn(4, 32, 2), "y": torch.randn(4, 8, 2)}
    loss = model.training_step(batch)
    loss.backward()
    assert loss.dim() == 0 and model.predict(batch).shape == (4, 8, 2)
    assert any(p.grad is not None for p in model.parameters())
