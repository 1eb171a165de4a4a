"""The tokenizer round-trips spikes at its resolution, orders tokens canonically and reports truncation."""

import numpy as np
import pytest

from sciformers.neuro import SpikeData, Tokenizer, TruncationReport


def test_round_trip_at_resolution():
    rng = np.random.default_rng(1)
    data = SpikeData.from_times(rng.uniform(0, 3, 500), rng.integers(0, 9, 500), n_neurons=9, t_stop=3.0)
    tok = Tokenizer(9, resolution=0.01, window=0.05, past_window=0.1, max_current=128, max_past=256)
    starts = tok.window_starts(0.0, 3.0)
    assert starts[0] == pytest.approx(0.1) and starts[-1] + 0.05 <= 3.0 + 1e-9
    enc = tok.encode(data, starts)
    times, ids = zip(*(tok.decode(enc["tgt_id"][w], enc["tgt_dt"][w], t0) for w, t0 in enumerate(starts)))
    times, ids = np.concatenate(times), np.concatenate(ids)
    keep = data.times >= starts[0]
    quantised = np.floor(data.times[keep] / 0.01 + 1e-9) * 0.01
    order = np.lexsort((data.ids[keep], quantised))
    np.testing.assert_allclose(times, quantised[order], atol=1e-9)
    np.testing.assert_array_equal(ids, data.ids[keep][order])


def test_layout_of_one_window():
    data = SpikeData.from_times([0.012, 0.011, 0.049, 0.003], [4, 2, 0, 1], n_neurons=5, t_stop=0.1)
    tok = Tokenizer(5, resolution=0.01, window=0.05, past_window=0.05, max_current=8, max_past=8)
    enc = tok.encode(SpikeData.from_times(data.times + 0.05, data.ids, n_neurons=5, t_stop=0.15), np.array([0.05]))
    # [SOS] then (dt, id)-ordered spikes; targets shifted by one and ended by EOS; dt target at EOS ignored
    assert enc["cur_id"][0].tolist()[:5] == [tok.id_sos, 1, 2, 4, 0]
    assert enc["cur_dt"][0].tolist()[:5] == [tok.dt_sos, 0, 1, 1, 4]
    assert enc["tgt_id"][0].tolist()[:5] == [1, 2, 4, 0, tok.id_eos]
    assert enc["tgt_dt"][0].tolist()[:5] == [0, 1, 1, 4, tok.dt_pad]
    assert enc["past_id"][0].tolist()[:2] == [tok.id_sos, tok.id_pad]
    assert tok.id_vocab == 8 and tok.dt_vocab == 5 + 3


def test_truncation_says_how_much_it_dropped():
    data = SpikeData.from_times(np.linspace(0.1, 0.149, 20), np.arange(20) % 3, n_neurons=3, t_stop=0.2)
    tok = Tokenizer(3, resolution=0.01, window=0.05, past_window=0.1, max_current=6, max_past=4)
    report = TruncationReport()
    with pytest.warns(UserWarning, match="truncated"):
        enc = tok.encode(data, np.array([0.1]), report)
    assert report.spikes == 20 and report.spikes_dropped == 15 and report.current_truncated == 1
    assert (enc["tgt_id"][0] == tok.id_eos).sum() == 1 and enc["tgt_id"][0, 5] == tok.id_eos


def test_bad_tokenizer_config():
    with pytest.raises(ValueError, match="whole number"):
        Tokenizer(3, resolution=0.01, window=0.055)
