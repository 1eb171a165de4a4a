"""iTransformer against a naive per-variate fp64 implementation; equivariance over variates; gradients."""

import pytest
import torch
import torch.nn.functional as F

from sciformers.core import create_model
from sciformers.timeseries.forecasting import ITransformer


def _tiny(**kw):
    torch.manual_seed(0)
    return ITransformer(seq_len=12, pred_len=5, n_vars=4, d_model=8, depth=2, heads=2, d_ff=16, **kw).double().eval()


def _naive_attention(mha, h):
    """Multi-head softmax attention over the variate tokens, one head and one query at a time."""
    n, dh = h.shape[0], mha.dim_head
    q, k, v = mha.to_q(h), mha.to_k(h), mha.to_v(h)
    out = torch.zeros(n, mha.heads * dh, dtype=h.dtype)
    for head in range(mha.heads):
        sl = slice(head * dh, (head + 1) * dh)
        for i in range(n):
            scores = torch.stack([q[i, sl] @ k[j, sl] / dh**0.5 for j in range(n)])
            w = torch.softmax(scores, 0)
            out[i, sl] = sum(w[j] * v[j, sl] for j in range(n))
    return mha.to_out(out)


def _naive_forward(model, x):
    """Eq. 1 of the paper written variate by variate for one sample ``x (L, N)``."""
    mean, std = x.mean(0), torch.sqrt(x.var(0, unbiased=False) + model.revin.eps)
    z = (x - mean) / std
    tokens = torch.stack([model.embed.weight @ z[:, n] + model.embed.bias for n in range(x.shape[1])])  # one per variate
    for blk in model.blocks:
        tokens = F.layer_norm(tokens + _naive_attention(blk.attn, tokens), (tokens.shape[1],), blk.norm1.weight, blk.norm1.bias)
        ff = torch.stack([blk.ff.w2(F.gelu(blk.ff.w1(t))) for t in tokens])
        tokens = F.layer_norm(tokens + ff, (tokens.shape[1],), blk.norm2.weight, blk.norm2.bias)
    tokens = model.norm(tokens)
    y = torch.stack([model.project.weight @ tokens[n] + model.project.bias for n in range(x.shape[1])], 1)  # (S, N)
    return y * std + mean


def test_inverted_embedding_is_one_token_per_variate_lookback():
    model = _tiny()
    x = torch.randn(3, 12, 4, dtype=torch.float64)
    tokens = model.embed(x.transpose(1, 2))
    for b in range(3):
        for n in range(4):
            torch.testing.assert_close(tokens[b, n], model.embed.weight @ x[b, :, n] + model.embed.bias)


def test_forward_matches_naive_per_variate_reference():
    model = _tiny()
    x = torch.randn(3, 12, 4, dtype=torch.float64) * 3 + 1
    y = model(x)
    assert y.shape == (3, 5, 4)
    for b in range(3):
        torch.testing.assert_close(y[b], _naive_forward(model, x[b]), atol=1e-10, rtol=1e-10)


def test_equivariant_to_permuting_variates():
    model = _tiny()
    x = torch.randn(2, 12, 4, dtype=torch.float64)
    perm = torch.tensor([2, 0, 3, 1])
    torch.testing.assert_close(model(x[..., perm]), model(x)[..., perm], atol=1e-12, rtol=1e-12)


def test_gradcheck_and_registry():
    model = _tiny(use_norm=False)
    x = torch.randn(1, 12, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(model, (x,))
    built = create_model("timeseries.itransformer", seq_len=12, pred_len=5, n_vars=4, d_model=8, heads=2)
    assert isinstance(built, ITransformer)
    loss = built.training_step({"x": torch.randn(2, 12, 4), "y": torch.randn(2, 5, 4)})
    assert loss.dim() == 0 and loss.item() > 0


def test_wrong_window_is_a_clear_error():
    with pytest.raises(ValueError, match=r"expected a window \(B, 12, 4\)"):
        _tiny()(torch.zeros(1, 10, 4, dtype=torch.float64))
