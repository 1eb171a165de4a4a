"""The likelihood heads: a constant-rate oracle through the model's own scoring path (the exact heads 0 bits/spike,
split heads below), the intensity head at the Poisson null from its first step, mass one over every count pattern,
the cell hazard, masks and the output-bias initialisation."""

import itertools

import numpy as np
import pytest
import torch
from scipy.stats import poisson
from torch import Tensor

from sciformers.neuro import Neuroformer, SpikeData
from sciformers.neuro import metrics as M
from sciformers.neuro.heads import FactoredHead, canonical_state, cell_log_hazard, cell_log_intensity
from sciformers.neuro.peers import HomogeneousPoisson


def tiny(heads, **kw):
    base = dict(n_neurons=4, resolution=0.01, window=0.04, past_window=0.02, max_current=40, max_past=40, dim=16,
                heads=2, mlp_ratio=2, dropout=0.0, current_layers=1, cross_layers=(1, 0, 0), self_layers=1)
    return Neuroformer(**{**base, **kw}, token_heads=heads).double().eval()


class ConstantRateOracle(FactoredHead):
    """The exact next-token distribution of independent Poisson counts (rate ``lam_i`` per bin) in canonical order.

    Its "hidden state" at a position is the token prefix up to there (:func:`prefix_states`). After ``k`` spikes
    in the last cell ``c0``, another comes in ``c0`` with ``P(n >= k+1 | n >= k)``; otherwise the next spike is in
    the first later cell that has one, or the window ends. ``split`` scores the bin marginal instead of ``p(b | i)``.
    """

    def __init__(self, lam: np.ndarray, tok, factored: bool) -> None:
        super().__init__(2, tok, factored)
        self.lam, self.n_bins, self.memo = lam, tok.window_bins, {}

    def cell_probs(self, state: Tensor) -> tuple[np.ndarray, float]:
        """``P(next spike in cell (b, i))`` as ``(n_bins, N)`` and ``P(end)`` after the prefix ``state``."""
        n = len(self.lam)
        prefix = tuple((int(i), int(b)) for i, b in state.view(-1, 2).tolist() if 0 <= i < n)
        if prefix not in self.memo:
            self.memo[prefix] = self._joint(prefix)
        return self.memo[prefix]

    def _joint(self, prefix: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, float]:
        n = len(self.lam)
        lam = np.tile(self.lam, self.n_bins)  # cell c = b * N + i, lexicographic
        p = np.zeros(len(lam))
        c0 = prefix[-1][1] * n + prefix[-1][0] if prefix else -1
        repeat = 0.0
        if prefix:
            k = sum(1 for i, b in prefix if b * n + i == c0)
            repeat = poisson.sf(k, lam[c0]) / poisson.sf(k - 1, lam[c0])  # P(N >= k+1) / P(N >= k)
            p[c0] = repeat
        later = np.arange(c0 + 1, len(lam))
        before = np.concatenate([[0.0], np.cumsum(lam[later])[:-1]])  # mass of the cells in between
        p[later] = (1 - repeat) * np.exp(-before) * -np.expm1(-lam[later])
        return p.reshape(self.n_bins, n), (1 - repeat) * np.exp(-lam[later].sum())

    def id_logits(self, h: Tensor) -> Tensor:
        out = []
        for state in h.reshape(-1, h.shape[-1]):
            joint, end = self.cell_probs(state)
            out.append(np.r_[joint.sum(0), end])
        with np.errstate(divide="ignore"):
            return torch.as_tensor(np.log(np.array(out))).reshape(*h.shape[:-1], -1)

    def bin_logits(self, h: Tensor, next_idx: Tensor) -> Tensor:
        shape = torch.broadcast_shapes(h.shape[:-1], next_idx.shape)
        h, next_idx = h.expand(*shape, h.shape[-1]), next_idx.expand(shape)
        out = []
        for state, nxt in zip(h.reshape(-1, h.shape[-1]), next_idx.reshape(-1).tolist()):
            joint, end = self.cell_probs(state)
            p_id = joint.sum(0)
            if not self.factored:
                out.append(joint.sum(1) / max(1 - end, 1e-300))
            else:
                out.append(joint[:, nxt] / p_id[nxt] if nxt < len(self.lam) and p_id[nxt] > 0 else np.ones(self.n_bins))
        with np.errstate(divide="ignore"):
            return torch.as_tensor(np.log(np.array(out))).reshape(*shape, -1)


def prefix_states(cur_id: Tensor, cur_dt: Tensor, ctx, gate=None) -> tuple[Tensor, None]:
    """The oracle's hidden state at position ``t``: the input tokens ``1..t`` as (ID, bin) pairs, -1 after."""
    B, L = cur_id.shape
    tokens = torch.stack([cur_id, cur_dt], -1).double()
    h = torch.full((B, L, L, 2), -1.0, dtype=torch.float64)
    for t in range(L):
        h[:, t, 1:t + 1] = tokens[:, 1:t + 1]
    return h.flatten(2), None


LAM = np.array([0.1, 0.3, 0.05, 0.5])  # expected counts per 10 ms bin


def oracle_setup(heads: str):
    """A model at the constant rates ``LAM``, a batch of windows, their starts and the counts. Factored and split
    heads: hidden states and heads replaced by the oracle. Intensity: the model itself, its head's weights at their
    initial zeros and its biases at ``log LAM``."""
    counts = np.random.default_rng(0).poisson(LAM, size=(240, 4))
    data = SpikeData.from_binned(counts, 0.01)
    m = tiny(heads)
    starts = m.tok.window_starts(0.0, data.t_stop)
    batch = m.window_batch(data, starts)
    if heads == "intensity":
        with torch.no_grad():
            m.head.rate.bias.copy_(torch.as_tensor(np.log(np.tile(LAM, m.tok.window_bins))))
    else:
        m.head = ConstantRateOracle(LAM, m.tok, factored=heads == "factored")
        m.hidden = prefix_states
    return m, batch, starts, counts, LAM


def oracle_bits(heads: str) -> float:
    """Bits/spike of the constant-rate oracle against the Poisson null with the same rates, on the same bins."""
    m, batch, starts, counts, lam = oracle_setup(heads)
    loglik = float(m.predict(batch)["loglik"].sum())
    first = np.round(starts / 0.01).astype(int)
    rows = (first[:, None] + np.arange(m.tok.window_bins)).ravel()
    null = HomogeneousPoisson()
    null.rate = lam
    return M.bits_per_spike(loglik, null.loglik(counts[rows]), int(counts[rows].sum()))


def test_constant_rate_oracle_scores_zero_with_the_exact_heads_and_less_with_split_heads():
    assert oracle_bits("intensity") == pytest.approx(0.0, abs=1e-9)  # the intensity head starts at the null
    assert oracle_bits("factored") == pytest.approx(0.0, abs=1e-9)
    assert oracle_bits("split") < -0.05  # the split heads' structural penalty (-0.123 here)


@pytest.mark.parametrize("heads", ["intensity", "factored", "split"])
def test_mass_over_every_count_pattern(heads):
    """All canonical windows of 2 neurons x 2 bins with at most 3 spikes: the exact head sums to one, split to less."""
    torch.manual_seed(0)
    m = tiny(heads, n_neurons=2, window=0.02, past_window=0.02, max_current=4, max_past=4)
    if heads == "intensity":  # weights start at 0: give the rates some dependence on the prefix
        torch.nn.init.normal_(m.head.rate.weight, std=0.5)
    tok = m.tok
    cells = [(b, i) for b in range(2) for i in range(2)]
    seqs = [list(s) for k in range(4) for s in itertools.combinations_with_replacement(cells, k)]
    W = len(seqs)
    cur_id = torch.full((W, 4), tok.id_pad)
    cur_dt, tgt_id, tgt_dt = cur_id.clone().fill_(tok.dt_pad), cur_id.clone(), cur_id.clone().fill_(tok.dt_pad)
    for w, s in enumerate(seqs):
        bins, ids = [b for b, _ in s], [i for _, i in s]
        cur_id[w, 0], cur_dt[w, 0] = tok.id_sos, tok.dt_sos
        cur_id[w, 1:len(s) + 1], cur_dt[w, 1:len(s) + 1] = torch.tensor(ids), torch.tensor(bins)
        tgt_id[w, :len(s)], tgt_dt[w, :len(s)] = torch.tensor(ids), torch.tensor(bins)
        tgt_id[w, len(s)] = tok.id_eos
    past = torch.full((W, 4), tok.id_pad)
    past[:, 0] = tok.id_sos
    b = dict(cur_id=cur_id, cur_dt=cur_dt, tgt_id=tgt_id, tgt_dt=tgt_dt, past_id=past,
             past_dt=past.clone().fill_(tok.dt_pad).index_fill_(1, torch.tensor([0]), tok.dt_sos))
    with torch.no_grad():
        total = m.predict(b)["loglik"].exp().sum().item()
    if heads != "split":
        assert total == pytest.approx(1.0, abs=1e-12)
    else:
        assert 0 < total < 1.0 - 1e-3


@pytest.mark.parametrize("heads", ["intensity", "factored"])
def test_cell_hazard_of_constant_rates_is_the_poisson_probability_of_a_spike(heads):
    """Whatever the canonical order skipped, the hazard of a new cell is 1 - exp(-lam_j); of the last cell again,
    P(n >= k+1 | n >= k)."""
    m, batch, _, _, lam = oracle_setup(heads)
    h, _ = m.hidden(batch["cur_id"], batch["cur_dt"], m.encode_context(batch))
    state = canonical_state(m.tok, batch["cur_id"], batch["cur_dt"])
    checked = 0
    for w in range(8):
        for t in range(batch["tgt_id"].shape[1]):
            j, b = int(batch["tgt_id"][w, t]), int(batch["tgt_dt"][w, t])
            if j >= 4:
                break
            got = cell_log_hazard(m.head, h[w, t], type(state)(*(x[w, t] for x in state)), batch["tgt_id"][w, t],
                                  batch["tgt_dt"][w, t]).item()
            k = sum(1 for s in range(1, t + 1) if (int(batch["cur_id"][w, s]), int(batch["cur_dt"][w, s])) == (j, b))
            want = np.log(poisson.sf(k, lam[j]) / poisson.sf(k - 1, lam[j])) if k else np.log(-np.expm1(-lam[j]))
            assert got == pytest.approx(want, abs=1e-12), (w, t)
            if not k:  # the intensity it implies is the rate
                rate = cell_log_intensity(m.head, h[w, t], type(state)(*(x[w, t] for x in state)), batch["tgt_id"][w, t],
                                          batch["tgt_dt"][w, t]).item()
                assert rate == pytest.approx(np.log(lam[j]), abs=1e-9)
            checked += 1
    assert checked > 20


def test_output_biases_start_at_the_training_log_frequencies():
    m, intensity = tiny("factored"), tiny("intensity")
    rng = np.random.default_rng(1)
    data = SpikeData.from_times(rng.uniform(0, 2, 300), rng.choice(4, 300, p=[0.1, 0.2, 0.3, 0.4]), n_neurons=4,
                                t_stop=2.0)
    arrays = {k: v.numpy() for k, v in m.window_batch(data, m.tok.window_starts(0, 2.0)).items()}
    m.init_output_bias(arrays["tgt_id"], arrays["tgt_dt"])
    intensity.init_output_bias(arrays["tgt_id"], arrays["tgt_dt"])
    spikes = arrays["tgt_id"][arrays["tgt_id"] < 4]
    per_bin = (np.bincount(spikes, minlength=4) + 0.5) / (len(arrays["tgt_id"]) * m.tok.window_bins)  # the null's rates
    np.testing.assert_allclose(intensity.head.rate.bias.detach().exp().numpy(), np.tile(per_bin, m.tok.window_bins),
                               rtol=1e-6)
    assert (intensity.head.rate.weight == 0).all()
    tgt = arrays["tgt_id"][arrays["tgt_id"] != m.tok.id_pad]
    freq = np.bincount(np.where(tgt == m.tok.id_eos, 4, tgt), minlength=5) / tgt.size
    np.testing.assert_allclose(m.head.id.bias.detach().softmax(-1).numpy(), freq, atol=2e-3)
    bins = arrays["tgt_dt"][arrays["tgt_dt"] != m.tok.dt_pad]
    np.testing.assert_allclose(m.head.bin.bias.detach().softmax(-1).numpy(),
                               np.bincount(bins, minlength=m.tok.window_bins) / bins.size, atol=2e-3)


def test_heads_never_give_mass_to_start_padding_or_bins_outside_the_window():
    m = tiny("factored", past_window=0.08)  # past dt tokens reach 8 bins, current spikes 4
    assert m.head.id.out_features == 4 + 1 and m.head.bin.out_features == m.tok.window_bins < m.tok.n_dt
    assert tiny("intensity", past_window=0.08).head.rate.out_features == 4 * m.tok.window_bins
