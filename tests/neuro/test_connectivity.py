"""Attention read-out: accumulation on a hand-built attention tensor, rollout, and a planted edge."""

import numpy as np
import torch

from sciformers.core import TrainConfig, Trainer
from sciformers.neuro import Neuroformer, SpikeData, WindowDataset, attention_connectivity
from sciformers.neuro.connectivity import accumulate, attention_maps


def test_accumulate_on_hand_built_attention():
    n = 3
    sos, eos, pad = n, n + 1, n + 2
    tgt = torch.tensor([[1, 2, eos, pad]])            # positions predict neurons 1, 2, then EOS
    past = torch.tensor([[sos, 0, 2, pad]])           # past tokens: SOS, neuron 0, neuron 2
    maps = torch.tensor([[[0.1, 0.6, 0.3, 0.0],
                          [0.2, 0.2, 0.6, 0.0],
                          [0.5, 0.25, 0.25, 0.0],
                          [0.0, 0.0, 0.0, 0.0]]])
    attn, uniform = accumulate(maps, tgt, past, n)
    expected = torch.zeros(n, n)  # rows renormalised over the two past spikes (SOS left out)
    expected[0, 1], expected[2, 1], expected[0, 2], expected[2, 2] = 0.6 / 0.9, 0.3 / 0.9, 0.2 / 0.8, 0.6 / 0.8
    torch.testing.assert_close(attn, expected)
    u = torch.zeros(n, n)
    u[[0, 2, 0, 2], [1, 1, 2, 2]] = 1 / 2  # chance: two past spikes share the attention
    torch.testing.assert_close(uniform, u)


def test_rollout_of_a_single_cross_layer_is_half_its_attention():
    torch.manual_seed(0)
    m = Neuroformer(3, 0.01, 0.05, 0.05, 8, 8, dim=16, heads=2, dropout=0.0, current_layers=1, cross_layers=(1, 0, 0),
                    self_layers=0)
    rng = np.random.default_rng(0)
    d = SpikeData.from_times(rng.uniform(0, 0.5, 20), rng.integers(0, 3, 20), n_neurons=3, t_stop=0.5)
    b = m.window_batch(d, m.tok.window_starts(0, 0.5))
    torch.testing.assert_close(attention_maps(m, b, rollout=True), 0.5 * attention_maps(m, b))


def chain(duration=20.0, seed=0):
    """Neuron 0 fires as Poisson (20 Hz); neuron 1 follows 20 ms after with probability 0.9."""
    rng = np.random.default_rng(seed)
    t0 = np.sort(rng.uniform(0, duration, int(20 * duration)))
    t1 = t0[rng.random(len(t0)) < 0.9] + 0.02
    t1 = t1[t1 < duration]
    return SpikeData.from_times(np.r_[t0, t1], np.r_[np.zeros(len(t0), int), np.ones(len(t1), int)], n_neurons=2,
                                t_stop=duration)


def test_readout_recovers_a_planted_edge_in_a_two_neuron_chain():
    torch.manual_seed(0)
    data = chain()
    m = Neuroformer(2, resolution=0.005, window=0.02, past_window=0.02, max_current=8, max_past=8, dim=16, heads=2,
                    mlp_ratio=2, dropout=0.0, current_layers=1, cross_layers=(1, 0, 0), self_layers=1)
    starts = m.tok.window_starts(0, data.t_stop)
    ds = WindowDataset({k: v.numpy() for k, v in m.window_batch(data, starts).items()})
    cfg = TrainConfig(steps=100, batch_size=64, lr=3e-3, val_fraction=0.0)
    Trainer(cfg, quiet=True).fit(m, ds)
    batches = [m.window_batch(data, starts[:1000])]
    for rollout in (False, True):
        score = attention_connectivity(m, batches, rollout=rollout)
        assert score[0, 1] > 1.0 > score[1, 1], score      # the source of 1 gets more than chance
        assert score[0, 1] > score[1, 0], score            # and the direction is right
