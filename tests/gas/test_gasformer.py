"""Gasformer: NMF against a naive NumPy NMF, one-step gradient, MiT shapes, sr=1 attention, size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sciformers.core import create_model
from sciformers.gas.hamburger import NMF2D, nmf, nmf_init, nmf_update_bases, nmf_update_coef
from sciformers.gas.mit import MixVisionTransformer


def naive_nmf(x: np.ndarray, w: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Lee & Seung multiplicative updates written out element-wise from the formulas (X ~ W C^T)."""
    d, n = x.shape
    r = w.shape[1]
    logits = x.T @ w
    c = np.exp(logits - logits.max(1, keepdims=True))
    c /= c.sum(1, keepdims=True)
    for _ in range(steps):
        wtw = w.T @ w
        c_new = np.empty_like(c)
        for i in range(n):
            for k in range(r):
                num = sum(x[j, i] * w[j, k] for j in range(d))
                den = sum(c[i, m] * wtw[m, k] for m in range(r))
                c_new[i, k] = c[i, k] * num / (den + 1e-6)
        c = c_new
        ctc = c.T @ c
        w_new = np.empty_like(w)
        for j in range(d):
            for k in range(r):
                num = sum(x[j, i] * c[i, k] for i in range(n))
                den = sum(w[j, m] * ctc[m, k] for m in range(r))
                w_new[j, k] = w[j, k] * num / (den + 1e-6)
        w = w_new
    return w, c


def test_nmf_matches_naive_numpy_fp64():
    rng = np.random.default_rng(0)
    x, w = rng.random((6, 10)), rng.random((6, 3))
    w_ref, c_ref = naive_nmf(x, w, steps=4)
    w_t, c_t = nmf(torch.from_numpy(x)[None], torch.from_numpy(w)[None], steps=4)
    np.testing.assert_allclose(w_t[0].numpy(), w_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c_t[0].numpy(), c_ref, rtol=1e-10, atol=1e-12)


def test_multiplicative_updates_decrease_reconstruction_error():
    torch.manual_seed(0)
    x = torch.rand(2, 16, 64, dtype=torch.float64)
    bases = torch.nn.functional.normalize(torch.rand(2, 16, 4, dtype=torch.float64), dim=1)
    coef = nmf_init(x, bases)
    errors = [torch.linalg.norm(x - bases @ coef.transpose(1, 2)).item()]
    for _ in range(20):
        coef = nmf_update_coef(x, bases, coef)
        errors.append(torch.linalg.norm(x - bases @ coef.transpose(1, 2)).item())
        bases = nmf_update_bases(x, bases, coef)
        errors.append(torch.linalg.norm(x - bases @ coef.transpose(1, 2)).item())
    assert all(b <= a + 1e-9 for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.6 * errors[0]


def test_one_step_gradient_gradcheck():
    torch.manual_seed(0)
    x = torch.rand(1, 4, 5, dtype=torch.float64, requires_grad=True)
    bases = torch.rand(1, 4, 2, dtype=torch.float64)
    coef = torch.rand(1, 5, 2, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: nmf_update_coef(t, bases, coef), (x,))
    layer = NMF2D(rank=2).double().train()
    y = layer(torch.rand(1, 4, 3, 3, dtype=torch.float64, requires_grad=True))
    assert y.requires_grad and y.grad_fn is not None


def test_nmf2d_deterministic_in_eval_random_in_train():
    x = torch.rand(2, 8, 6, 6)
    layer = NMF2D(rank=4)
    layer.eval()
    assert torch.equal(layer(x), layer(x))
    layer.train()
    assert not torch.equal(layer(x), layer(x))


def test_mit_stage_shapes_and_odd_sizes():
    enc = MixVisionTransformer(in_channels=1, variant="b0").eval()
    feats = enc(torch.randn(2, 1, 64, 96))
    assert [tuple(f.shape) for f in feats] == [(2, 32, 16, 24), (2, 64, 8, 12), (2, 160, 4, 6), (2, 256, 2, 3)]
    feats = enc(torch.randn(1, 1, 50, 70))
    assert [tuple(f.shape[-2:]) for f in feats] == [(13, 18), (7, 9), (4, 5), (2, 3)]


def test_sr1_attention_inside_encoder_is_plain_attention():
    enc = MixVisionTransformer(in_channels=1, variant="b0").double().eval()
    attn = enc.stages[3].blocks[0].attn
    assert attn.sr == 1
    b, h, w, dim, heads = 2, 3, 4, 256, 8
    x = torch.randn(b, h * w, dim, dtype=torch.float64)
    out = attn(x, h, w)
    q = attn.q(x).reshape(b, h * w, heads, -1).transpose(1, 2)
    k, v = (t.reshape(b, h * w, heads, -1).transpose(1, 2) for t in attn.kv(x).chunk(2, -1))
    weights = torch.softmax(q @ k.transpose(-1, -2) / (dim // heads) ** 0.5, dim=-1)
    ref = attn.proj((weights @ v).transpose(1, 2).reshape(b, h * w, dim))
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)


def test_gasformer_b0_size_shapes_and_determinism():
    model = create_model("gas.gasformer", in_channels=1, num_classes=2)
    n = sum(p.numel() for p in model.parameters())
    assert 3.55e6 < n < 3.75e6  # paper / GasTwinFormer: ~3.65-3.72M
    model.eval()
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        a, b = model(x), model(x)
    assert a.shape == (2, 2, 64, 64)
    assert torch.equal(a, b)
    multi = create_model("gas.gasformer", in_channels=3, num_classes=11).eval()
    with torch.no_grad():
        assert multi(torch.randn(1, 3, 48, 40)).shape == (1, 11, 48, 40)
    with pytest.raises(ValueError, match="expected images"):
        model(torch.randn(1, 3, 32, 32))


def test_gasformer_learns_a_toy_mask():
    torch.manual_seed(0)
    model = create_model("gas.gasformer", in_channels=1, num_classes=2, variant="b0")
    x = torch.randn(2, 1, 32, 32) * 0.1
    mask = torch.zeros(2, 32, 32, dtype=torch.long)
    mask[:, 8:20, 10:24] = 1
    x[mask[:, None].bool()] += 1.0
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(12):
        loss = model.training_step({"image": x, "mask": mask})
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
