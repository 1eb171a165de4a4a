"""Neuroformer reference tests: causal masking, the likelihood against a naive computation, InfoNCE
against a hand computation, attention weights against the layer's output, optional modalities."""

import math

import numpy as np
import pytest
import torch

from sciformers.core import create_model
from sciformers.neuro import Neuroformer, SpikeData, info_nce
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


def test_future_tokens_do_not_change_past_logits():
    torch.manual_seed(0)
    m = tiny()
    b = batch(m)
    ctx = m.encode_context(b)
    lid, ldt = m.logits(b["cur_id"], b["cur_dt"], ctx)
    k = 3
    cur_id, cur_dt = b["cur_id"].clone(), b["cur_dt"].clone()
    cur_id[:, k + 1:] = torch.randint(0, N, cur_id[:, k + 1:].shape)
    cur_dt[:, k + 1:] = torch.randint(0, 5, cur_dt[:, k + 1:].shape)
    lid2, ldt2 = m.logits(cur_id, cur_dt, ctx)
    torch.testing.assert_close(lid[:, :k + 1], lid2[:, :k + 1])
    torch.testing.assert_close(ldt[:, :k + 1], ldt2[:, :k + 1])
    assert not torch.allclose(lid[:, k + 1:], lid2[:, k + 1:])


def test_loglik_matches_naive_sum_over_tokens():
    torch.manual_seed(1)
    m = tiny()
    b = batch(m)
    ll = m.predict(b)["loglik"]
    lid, ldt = m.logits(b["cur_id"], b["cur_dt"], m.encode_context(b))
    lp_id, lp_dt = lid.log_softmax(-1), ldt.log_softmax(-1)
    for w in range(len(ll)):
        total = 0.0
        for t in range(b["tgt_id"].shape[1]):
            if b["tgt_id"][w, t] != m.tok.id_pad:
                total += lp_id[w, t, b["tgt_id"][w, t]].item()
            if b["tgt_dt"][w, t] != m.tok.dt_pad:
                total += lp_dt[w, t, b["tgt_dt"][w, t]].item()
        assert ll[w].item() == pytest.approx(total, abs=1e-9)


def test_likelihood_of_all_canonical_windows_is_at_most_one():
    """Summed over every count pattern of a 1-neuron, 2-bin window (canonical token order), P <= 1."""
    torch.manual_seed(2)
    m = tiny(n_neurons=1, window=0.02, past_window=0.02, max_current=4, max_past=4)
    tok = m.tok
    seqs = [[], [0], [1], [0, 0], [0, 1], [1, 1], [0, 0, 0], [0, 0, 1], [0, 1, 1], [1, 1, 1]]
    cur_id = torch.full((len(seqs), 4), tok.id_pad)
    cur_dt, tgt_id, tgt_dt = cur_id.clone().fill_(tok.dt_pad), cur_id.clone(), cur_id.clone().fill_(tok.dt_pad)
    for w, s in enumerate(seqs):
        cur_id[w, 0], cur_dt[w, 0] = tok.id_sos, tok.dt_sos
        cur_id[w, 1:len(s) + 1], cur_dt[w, 1:len(s) + 1] = 0, torch.tensor(s, dtype=torch.long)
        tgt_id[w, :len(s)], tgt_dt[w, :len(s)] = 0, torch.tensor(s, dtype=torch.long)
        tgt_id[w, len(s)] = tok.id_eos
    past = torch.full((len(seqs), 4), tok.id_pad)
    past[:, 0] = tok.id_sos
    b = dict(cur_id=cur_id, cur_dt=cur_dt, tgt_id=tgt_id, tgt_dt=tgt_dt, past_id=past,
             past_dt=past.clone().fill_(tok.dt_pad).index_fill_(1, torch.tensor([0]), tok.dt_sos))
    total = m.predict(b)["loglik"].exp().sum().item()
    assert 0 < total <= 1.0


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
