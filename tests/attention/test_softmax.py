"""Softmax attention: SDPA default backend vs the math backend, masks, causality, scale."""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from sciformers.attention import (
    SoftmaxAttention,
    create_attention,
    naive_attention,
    softmax_attention,
)

F64 = torch.float64


def _qkv(n: int, m: int, d: int = 16, dtype: torch.dtype = F64) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    return tuple(torch.randn(2, 3, s, d, generator=g, dtype=dtype) for s in (n, m, m))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [7, 97])
def test_default_backend_matches_math_backend(causal: bool, n: int) -> None:
    q, k, v = (t.requires_grad_() for t in _qkv(n, n, 64, torch.float32))
    out = softmax_attention(q, k, v, causal=causal)
    grads = torch.autograd.grad(out.sum(), (q, k, v))
    with sdpa_kernel(SDPBackend.MATH):
        out_math = softmax_attention(q, k, v, causal=causal)
        grads_math = torch.autograd.grad(out_math.sum(), (q, k, v))
    torch.testing.assert_close(out, out_math, atol=1e-5, rtol=1e-5)
    for g, g_math in zip(grads, grads_math, strict=True):
        torch.testing.assert_close(g, g_math, atol=1e-4, rtol=1e-4)


def test_float32_within_twice_the_error_of_a_naive_float32_implementation() -> None:
    """FlashAttention's rule: |out - ref64| <= 2 |naive32 - ref64| (+ a tiny floor)."""
    q, k, v = _qkv(257, 257, 64, torch.float32)
    ref = naive_attention(q.double(), k.double(), v.double(), causal=True)
    err = (softmax_attention(q, k, v, causal=True).double() - ref).abs().max()
    err_naive = (naive_attention(q, k, v, causal=True).double() - ref).abs().max()
    assert err <= 2 * err_naive + 1e-7


def test_causal_with_mask_and_additive_mask() -> None:
    q, k, v = _qkv(9, 9)
    keep = torch.rand(2, 1, 9, 9, generator=torch.Generator().manual_seed(2)) > 0.4
    bias = torch.randn(2, 3, 9, 9, dtype=F64).masked_fill(~keep, float("-inf"))
    for mask in (keep, bias):
        torch.testing.assert_close(
            softmax_attention(q, k, v, mask=mask, causal=True),
            naive_attention(q, k, v, mask=mask, causal=True),
        )
    # A boolean mask is the additive 0 / -inf mask.
    zeros = torch.zeros(keep.shape, dtype=F64).masked_fill(~keep, float("-inf"))
    torch.testing.assert_close(
        softmax_attention(q, k, v, mask=keep), softmax_attention(q, k, v, mask=zeros)
    )


def test_causal_is_top_left_aligned_for_cross_attention() -> None:
    q, k, v = _qkv(5, 8)
    out = softmax_attention(q, k, v, causal=True)
    torch.testing.assert_close(out, naive_attention(q, k, v, causal=True))
    torch.testing.assert_close(out[..., 0, :], v[..., 0, :])  # query 0 sees key 0 only


def test_scale_and_module() -> None:
    q, k, v = _qkv(6, 6)
    torch.testing.assert_close(
        softmax_attention(q, k, v, scale=0.3), naive_attention(q, k, v, scale=0.3)
    )
    attn = create_attention("softmax", scale=0.3)
    assert isinstance(attn, SoftmaxAttention) and "scale=0.3" in repr(attn)
    torch.testing.assert_close(attn(q, k, v), naive_attention(q, k, v, scale=0.3))


def test_row_with_no_key_outputs_zero() -> None:
    q, k, v = _qkv(4, 4)
    mask = torch.ones(4, 4, dtype=torch.bool)
    mask[1] = False
    out = softmax_attention(q, k, v, mask=mask)
    assert torch.equal(out[..., 1, :], torch.zeros_like(out[..., 1, :]))
    torch.testing.assert_close(out, naive_attention(q, k, v, mask=mask))
