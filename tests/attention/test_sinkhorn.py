"""Sinkhorn attention (Sinkformers): softmax at one step, marginals, masks, the causal refusal."""

from __future__ import annotations

import pytest
import torch

from sciformers.attention import (
    SinkhornAttention,
    create_attention,
    naive_sinkhorn_attention,
    sinkhorn_attention,
    softmax_attention,
)

F64 = torch.float64


def _qk(
    n: int, m: int, d: int = 16, dtype: torch.dtype = F64, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 3, n, d, generator=g, dtype=dtype), torch.randn(
        2, 3, m, d, generator=g, dtype=dtype
    )


def _plan(q: torch.Tensor, k: torch.Tensor, **kw: object) -> torch.Tensor:
    """The attention matrix itself: attend to one-hot values."""
    m = k.shape[-2]
    eye = torch.eye(m, dtype=q.dtype).expand(*k.shape[:2], m, m)
    return sinkhorn_attention(q, k, eye, **kw)


@pytest.mark.parametrize("dtype", [F64, torch.float32])
def test_one_iteration_is_softmax(dtype: torch.dtype) -> None:
    q, k = _qk(9, 12, dtype=dtype)
    v = torch.randn(2, 3, 12, 5, dtype=dtype)
    mask = torch.rand(2, 3, 9, 12, generator=torch.Generator().manual_seed(1)) > 0.3
    tol = 1e-12 if dtype == F64 else 1e-6
    for m in (None, mask):
        torch.testing.assert_close(
            sinkhorn_attention(q, k, v, mask=m, n_iter=1),
            softmax_attention(q, k, v, mask=m),
            atol=tol,
            rtol=tol,
        )


@pytest.mark.parametrize("n_iter", [1, 3, 5, 7])
def test_rows_sum_to_one_after_an_odd_count(n_iter: int) -> None:
    p = _plan(*_qk(10, 14), n_iter=n_iter)
    torch.testing.assert_close(p.sum(-1), torch.ones(2, 3, 10, dtype=F64), atol=1e-14, rtol=0)
    assert (p >= 0).all()


@pytest.mark.parametrize("n_iter", [2, 4])
def test_columns_sum_to_n_over_m_after_an_even_count(n_iter: int) -> None:
    p = _plan(*_qk(10, 14), n_iter=n_iter)
    torch.testing.assert_close(
        p.sum(-2), torch.full((2, 3, 14), 10 / 14, dtype=F64), atol=1e-14, rtol=0
    )


@pytest.mark.parametrize(("n", "m"), [(32, 32), (24, 40)])
def test_columns_approach_their_marginal_as_n_iter_grows(n: int, m: int) -> None:
    q, k = _qk(n, m)
    errors = [(_plan(q, k, n_iter=it).sum(-2) - n / m).abs().max().item() for it in (1, 3, 9, 21)]
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 1e-5  # measured ~1e-7 (32x32) and ~5e-7 (24x40) on these logits


def test_matches_naive_loop_in_float32_and_even_counts() -> None:
    q, k = _qk(17, 17, dtype=torch.float32)
    v = torch.randn(2, 3, 17, 8)
    for n_iter in (2, 4, 6):
        ref = naive_sinkhorn_attention(q.double(), k.double(), v.double(), n_iter=n_iter)
        torch.testing.assert_close(
            sinkhorn_attention(q, k, v, n_iter=n_iter).double(), ref, atol=1e-5, rtol=1e-5
        )


def test_masked_rows_and_columns_are_zero_and_live_columns_balance() -> None:
    q, k = _qk(8, 10)
    mask = torch.ones(2, 3, 8, 10, dtype=torch.bool)
    mask[..., 2, :] = False  # query 2 sees nothing
    mask[..., :, 7] = False  # key 7 is seen by no one
    p = _plan(q, k, mask=mask, n_iter=41)
    assert torch.isfinite(p).all()
    assert torch.equal(p[..., 2, :], torch.zeros_like(p[..., 2, :]))
    assert torch.equal(p[..., :, 7], torch.zeros_like(p[..., :, 7]))
    live_cols = p.sum(-2)[..., [c for c in range(10) if c != 7]]
    torch.testing.assert_close(live_cols, torch.full_like(live_cols, 7 / 9), atol=1e-8, rtol=0)


def test_key_padding_equals_dropping_the_padded_keys() -> None:
    q, k = _qk(6, 9)
    v = torch.randn(2, 3, 9, 4, dtype=F64)
    keep = torch.tensor([True, True, False, True, True, True, False, True, True])
    out = sinkhorn_attention(q, k, v, mask=keep[None, None, None, :], n_iter=4)
    torch.testing.assert_close(
        out, sinkhorn_attention(q, k[..., keep, :], v[..., keep, :], n_iter=4)
    )


def test_gradients_flow_through_every_step() -> None:
    q, k = (t.requires_grad_() for t in _qk(5, 5, d=4))
    v = torch.randn(2, 3, 5, 3, dtype=F64, requires_grad=True)
    for n_iter in (2, 5):
        assert torch.autograd.gradcheck(
            lambda a, b, c, n=n_iter: sinkhorn_attention(a, b, c, n_iter=n), (q, k, v)
        )
    g3, g5 = (
        torch.autograd.grad(sinkhorn_attention(q, k, v, n_iter=n).sum(), q)[0] for n in (3, 5)
    )
    assert not torch.allclose(g3, g5)  # later column/row steps change the gradient


def test_causal_is_refused_with_the_reason() -> None:
    q, k = _qk(4, 4)
    with pytest.raises(ValueError, match=r"causal.*column normalization"):
        sinkhorn_attention(q, k, k, causal=True)
    with pytest.raises(ValueError, match="causal"):
        create_attention("sinkhorn")(q, k, k, causal=True)


def test_n_iter_must_be_positive() -> None:
    with pytest.raises(ValueError, match="n_iter must be >= 1"):
        SinkhornAttention(n_iter=0)


def test_module_passes_n_iter_and_keeps_dtype() -> None:
    q, k = _qk(7, 7, dtype=torch.bfloat16)
    out = create_attention("sinkhorn", n_iter=5)(q, k, k)
    assert out.dtype == torch.bfloat16
    ref = sinkhorn_attention(q.double(), k.double(), k.double(), n_iter=5)
    torch.testing.assert_close(out.double(), ref, atol=2e-2, rtol=1e-2)
    assert "n_iter=5" in repr(create_attention("sinkhorn", n_iter=5))
