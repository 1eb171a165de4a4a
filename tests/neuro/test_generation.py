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


@pytest.mark.parametrize("token_heads", ["intensity", "factored"])
def test_exact_heads_draw_canonical_windows_at_the_scored_probabilities(token_heads):
    """2 neurons x 2 bins, at most 3 spikes: the frequency of each sampled window is its scored probability."""
    torch.manual_seed(5)
    m = Neuroformer(2, resolution=0.01, window=0.02, past_window=0.02, max_current=4, max_past=4, dim=16, heads=2,
                    dropout=0.0, current_layers=1, cross_layers=(1, 0, 0), self_layers=1, token_heads=token_heads).eval()
    with torch.no_grad():  # busy enough that full blocks happen
        if token_heads == "intensity":
            torch.nn.init.normal_(m.head.rate.weight, std=0.3)
            m.head.rate.bias.fill_(-0.3)
        else:
            m.head.id.bias.copy_(torch.tensor([0.5, 0.8, -0.5]))
    data = SpikeData.from_times([0.005], [1], n_neurons=2, t_stop=0.04)
    one = m.window_batch(data, np.array([0.02]))
    n = 20000
    batch = {k: v.expand(n, *v.shape[1:]) for k, v in one.items()}
    ids, dts = sample_windows(m, batch, generator=torch.Generator().manual_seed(0))
    tok = m.tok
    seqs: dict[tuple, int] = {}
    for row_id, row_dt in zip(ids.tolist(), dts.tolist()):
        end = row_id.index(tok.id_eos)
        cells = tuple(zip(row_dt[:end], row_id[:end]))
        assert list(cells) == sorted(cells)  # canonical: (bin, neuron) never goes back
        seqs[cells] = seqs.get(cells, 0) + 1
    for cells, count in seqs.items():
        w = dict(one)
        w["cur_id"], w["cur_dt"] = w["cur_id"].clone(), w["cur_dt"].clone()
        w["tgt_id"], w["tgt_dt"] = torch.full_like(w["cur_id"], tok.id_pad), torch.full_like(w["cur_dt"], tok.dt_pad)
        w["cur_id"][0, 1:], w["cur_dt"][0, 1:] = tok.id_pad, tok.dt_pad
        for k, (b, i) in enumerate(cells):
            w["cur_id"][0, k + 1], w["cur_dt"][0, k + 1] = i, b
            w["tgt_id"][0, k], w["tgt_dt"][0, k] = i, b
        w["tgt_id"][0, len(cells)] = tok.id_eos
        with torch.no_grad():
            p = m.predict(w)["loglik"].exp().item()
        assert count / n == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n) + 1e-3), cells
    assert len(seqs) > 10 and any(len(c) == 3 for c in seqs)
