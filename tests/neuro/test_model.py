"""Neuroformer reference tests: causal masking, the likelihood against a naive computation, InfoNCE
against a hand computation, attention weights against the layer's output, optional modalities."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import poisson

from sciformers.core import create_model
from sciformers.neuro import Neuroformer, SpikeData, info_nce
from sciformers.neuro.heads import IntensityHead
from sciformers.neuro.model import attention_probs

N = 5


def tiny(**kw):
    base = dict(n_neurons=N, resolution=0.01, window=0.05, past_window=0.05, max_current=16, max_past=16, dim=16,
                heads=2, mlp_ratio=2, dropout=0.0, current_layers=1, cross_layers=(1, 1, 1), self_layers=1)
    return Neuroformer(**{**base, **kw}).double().eval()


def batch(model, n_windows=6, seed=0, behavior=False, frames=False):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, 101)
    data = SpikeData.from_times(rng.uniform(0, 1, 80), rng.integers(0, N, 80), n_neurons=N, t_stop=1.0,
                                behavior=(t, np.sin(6 * t)) if behavior else None,
                                frames=(rng.random((20, 6, 6)), 20.0) if frames else None)
    b = model.window_batch(data, model.tok.window_starts(0, 1)[:n_windows])
    return {k: v.double() if v.is_floating_point() else v for k, v in b.items()}


def test_registered():
    m = create_model("neuro.neuroformer", n_neurons=3, dim=16, heads=2, current_layers=1, cross_layers=[1, 0, 0],
                     self_layers=1)
    assert isinstance(m, Neuroformer)


@pytest.mark.parametrize("token_heads", ["intensity", "factored", "split"])
def test_future_tokens_do_not_change_past_log_probs(token_heads):
    torch.manual_seed(0)
    m = tiny(token_heads=token_heads)
    if token_heads == "intensity":
        torch.nn.init.normal_(m.head.rate.weight, std=0.1)
    b = batch(m)
    lp = sum(m.token_log_probs(b)[:2])
    k = 3
    b2 = dict(b, cur_id=b["cur_id"].clone(), cur_dt=b["cur_dt"].clone())
    b2["cur_id"][:, k + 1:] = torch.randint(0, N, b2["cur_id"][:, k + 1:].shape)
    b2["cur_dt"][:, k + 1:] = 4
    lp2 = sum(m.token_log_probs(b2)[:2])  # targets before position k are those of b
    torch.testing.assert_close(lp[:, :k], lp2[:, :k])
    h, _ = m.hidden(b["cur_id"], b["cur_dt"], m.encode_context(b))
    h2, _ = m.hidden(b2["cur_id"], b2["cur_dt"], m.encode_context(b2))
    torch.testing.assert_close(h[:, :k + 1], h2[:, :k + 1])
    assert not torch.allclose(h[:, k + 1:], h2[:, k + 1:])


def naive_token_log_prob(m, h, prefix, target):
    """``log P(next token)`` after the canonical ``prefix`` [(bin, id), ...] (``target`` a cell or None: EOS), written out
    cell by cell from the head's outputs at one position ``h (dim,)``."""
    n, nb = N, m.tok.window_bins
    b0, i0 = prefix[-1] if prefix else (0, -1)
    cells = [(b, i) for b in range(nb) for i in range(n) if (b, i) >= (b0, i0)]
    if isinstance(m.head, IntensityHead):
        lam = m.head.rate(h).clamp(-15, 6).exp().detach().numpy().reshape(nb, n)
        k = sum(1 for c in prefix if c == (b0, i0))
        r = poisson.sf(k, lam[b0, i0]) / poisson.sf(k - 1, lam[b0, i0]) if k else 0.0
        p, skipped = {}, 0.0
        for c in cells:
            if c == (b0, i0):
                p[c] = r
                continue
            p[c] = (1 - r) * -np.expm1(-lam[c]) * np.exp(-skipped)
            skipped += lam[c]
        p[None] = (1 - r) * np.exp(-skipped)
        return float(np.log(p[target]))
    lid = m.head.id_logits(h).detach()
    ids_ok = sorted({i for _, i in cells}) + [n]
    idx = n if target is None else target[1]
    total = (lid[idx] - torch.logsumexp(lid[ids_ok], 0)).item()
    if target is not None:
        ldt = m.head.bin_logits(h, torch.tensor(idx)).detach()
        factored = m.head.factored
        bins_ok = sorted({b for b, i in cells if i == idx}) if factored else list(range(b0, nb))
        total += (ldt[target[0]] - torch.logsumexp(ldt[bins_ok], 0)).item()
    return total


@pytest.mark.parametrize("token_heads", ["intensity", "factored", "split"])
def test_loglik_matches_naive_masked_sum_over_tokens(token_heads):
    """Token by token, written out in Python: the allowed IDs and bins after the last token (factored, split), or the
    explicit point-process product over the cells (intensity)."""
    torch.manual_seed(1)
    m = tiny(token_heads=token_heads)
    if token_heads == "intensity":
        torch.nn.init.normal_(m.head.rate.weight, std=0.3)
    b = batch(m)
    ll = m.predict(b)["loglik"]
    h, _ = m.hidden(b["cur_id"], b["cur_dt"], m.encode_context(b))
    tok = m.tok
    for w in range(len(ll)):
        total, prefix = 0.0, []
        for t in range(b["tgt_id"].shape[1]):
            target = int(b["tgt_id"][w, t])
            if target == tok.id_pad:
                break
            cell = None if target == tok.id_eos else (int(b["tgt_dt"][w, t]), target)
            total += naive_token_log_prob(m, h[w, t], prefix, cell)
            prefix.append(cell)
        assert ll[w].item() == pytest.approx(total, abs=1e-9)


def test_split_heads_are_the_paper_s_heads_on_one_state():
    """Split: the bin logits do not depend on the next ID; factored: they do."""
    torch.manual_seed(2)
    for token_heads, depends in (("split", False), ("factored", True)):
        m = tiny(token_heads=token_heads)
        h = torch.randn(3, 16, dtype=torch.float64)
        a, c = m.head.bin_logits(h, torch.zeros(3, dtype=torch.long)), m.head.bin_logits(h, torch.ones(3, dtype=torch.long))
        assert torch.allclose(a, c) is not depends
    with pytest.raises(ValueError, match="token_heads"):
        tiny(token_heads="joint")
    assert tiny().head.__class__ is IntensityHead  # the default


def test_info_nce_matches_hand_computation_and_gradcheck():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(4, 3, generator=g, dtype=torch.float64)
    tau = 0.5
    an, bn = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    s = [[float(an[i] @ bn[k]) / tau for k in range(4)] for i in range(4)]
    fwd = -sum(s[i][i] - math.log(sum(math.exp(s[i][k]) for k in range(4))) for i in range(4)) / 4
    bwd = -sum(s[i][i] - math.log(sum(math.exp(s[k][i]) for k in range(4))) for i in range(4)) / 4
    assert info_nce(a, b, tau, symmetric=False).item() == pytest.approx(fwd, abs=1e-12)
    assert info_nce(a, b, tau).item() == pytest.approx(0.5 * (fwd + bwd), abs=1e-12)
    assert torch.autograd.gradcheck(lambda x, y: info_nce(x, y, tau), (a.requires_grad_(), b.requires_grad_()))
    with pytest.raises(ValueError, match="equal shape"):
        info_nce(a, b[:3])


def test_attention_probs_reproduce_the_layer_output():
    torch.manual_seed(3)
    m = tiny()
    blk = m.cross_past[0]
    x, ctx = torch.randn(2, 5, 16, dtype=torch.float64), torch.randn(2, 7, 16, dtype=torch.float64)
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    p = blk.probs(x, ctx, mask)
    assert torch.allclose(p.sum(-1), torch.ones(2, 2, 5, dtype=torch.float64))
    assert (p[1, ..., 4:] == 0).all()
    mha = blk.attn
    v = mha.to_v(blk.norm_kv(ctx)).unflatten(-1, (2, 8)).transpose(1, 2)
    expected = mha.to_out((p @ v).transpose(1, 2).flatten(2))
    torch.testing.assert_close(mha(blk.norm_q(x), context=blk.norm_kv(ctx), mask=mask), expected)
    causal = attention_probs(mha, x, x, None, causal=True)
    assert (causal.triu(1) == 0).all()


def test_modalities_are_optional_and_behaviour_fine_tunes_from_pretrained():
    torch.manual_seed(4)
    full = tiny(n_behavior=1, behavior_len=10, frame_shape=(6, 6, 6), patch=(3, 3, 3))
    b = batch(full, behavior=True, frames=True)
    loss = full.training_step(b)
    assert torch.isfinite(loss)
    no_mod = {k: v for k, v in b.items() if k not in ("behavior", "frames")}
    assert torch.isfinite(full.training_step(no_mod))
    dec = tiny(n_behavior=1, behavior_len=10, frame_shape=(6, 6, 6), patch=(3, 3, 3), objective="behavior")
    dec.load_state_dict(full.state_dict())
    out = dec.predict(b)["behavior"]
    assert out.shape == (len(b["cur_id"]), 1)
    b2 = dict(b, behavior=torch.randn_like(b["behavior"]))
    torch.testing.assert_close(dec.predict(b2)["behavior"], out)  # the decoder never sees the behaviour input
    plain = tiny()
    with pytest.raises(ValueError, match="stimulus frames"):
        tiny(frame_shape=(6, 6, 6), patch=(3, 3, 3)).window_batch(SpikeData.from_times([0.1], [0], n_neurons=N, t_stop=1.0),
                                                                 np.array([0.1]))
    assert torch.isfinite(plain.training_step(no_mod))
