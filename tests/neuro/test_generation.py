"""Generation emits only valid tokens, respects the window, and nucleus filtering is exact."""

import numpy as np
import pytest
import torch

from sciformers.neuro import Neuroformer, SpikeData
from sciformers.neuro.generation import filter_logits, sample_windows

N = 4


@pytest.fixture
def model():
    torch.manual_seed(0)
    return Neuroformer(N, resolution=0.01, window=0.05, past_window=0.05, max_current=12, max_past=12, dim=16, heads=2,
                       dropout=0.0, current_layers=1, cross_layers=(1, 0, 0), self_layers=1).eval()


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return SpikeData.from_times(rng.uniform(0, 1, 60), rng.integers(0, N, 60), n_neurons=N, t_stop=1.0)


def test_filter_logits_top_p_matches_naive():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    allowed = torch.ones(1, 4, dtype=torch.bool)
    p = filter_logits(logits, allowed, 1.0, 0.8)  # 0.5 + 0.3 reaches 0.8: keep two
    torch.testing.assert_close(p, torch.tensor([[0.625, 0.375, 0.0, 0.0]]))
    p = filter_logits(logits, torch.tensor([[False, True, True, True]]), 1.0, 1.0)
    torch.testing.assert_close(p, torch.tensor([[0.0, 0.6, 0.3, 0.1]]))
    hot = filter_logits(logits, allowed, 0.01, 1.0)
    assert hot[0, 0] > 0.999
    with pytest.raises(ValueError, match="temperature"):
        filter_logits(logits, allowed, 0.0, 1.0)


@pytest.mark.parametrize("temperature, top_p", [(1.0, 1.0), (2.0, 0.9), (0.5, 0.5)])
def test_sampled_tokens_are_valid_and_in_window(model, data, temperature, top_p):
    b = model.window_batch(data, model.tok.window_starts(0, 1))
    ids, dts = sample_windows(model, b, temperature, top_p, torch.Generator().manual_seed(1))
    tok = model.tok
    for row_id, row_dt in zip(ids.tolist(), dts.tolist()):
        end = row_id.index(tok.id_eos)  # every window ends with EOS
        assert all(0 <= i < N for i in row_id[:end])
        assert all(0 <= d < tok.window_bins for d in row_dt[:end])
        assert row_dt[:end] == sorted(row_dt[:end])  # time never goes back inside a window
        assert all(i == tok.id_pad for i in row_id[end + 1:]) and all(d == tok.dt_pad for d in row_dt[end:])


@pytest.mark.parametrize("true_past", [True, False])
def test_generate_open_and_closed_loop(model, data, true_past):
    out = model.generate(data, 0.5, true_past=true_past, n_samples=2, top_p=0.9, seed=3)
    assert len(out) == 2
    for d in out:
        assert d.t_start == pytest.approx(0.05) and d.t_stop == pytest.approx(0.55)
        assert d.times.size == 0 or (d.times.min() >= 0.05 and d.times.max() < 0.55)
        assert d.ids.size == 0 or d.ids.max() < N
    again = model.generate(data, 0.5, true_past=true_past, n_samples=2, top_p=0.9, seed=3)
    np.testing.assert_array_equal(out[1].times, again[1].times)
    with pytest.raises(ValueError, match="context ends"):
        model.generate(data, 2.0)


def test_closed_loop_needs_only_the_first_past_window(model, data):
    (run,) = model.generate(data.slice(0.0, 0.05), 0.3, true_past=False, seed=0)
    assert run.t_stop == pytest.approx(0.35) and (run.times.size == 0 or run.times.max() < 0.35)
