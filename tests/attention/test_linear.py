"""Linear attention: chunked causal scan, recurrent step form, identities, key padding."""

from __future__ import annotations

import pytest
import torch

from sciformers.attention import (
    LinearAttention,
    LinearAttentionState,
    causal_linear_attention,
    create_attention,
    linear_attention,
    linear_attention_step,
    naive_linear_attention,
)

F64 = torch.float64


def _qkv(
    n: int, d: int = 8, dv: int = 5, m: int | None = None, dtype: torch.dtype = F64
) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    m = n if m is None else m
    shapes = ((2, 3, n, d), (2, 3, m, d), (2, 3, m, dv))
    return tuple(torch.randn(s, generator=g, dtype=dtype) for s in shapes)


@pytest.mark.parametrize("chunk_size", [1, 7, 16, 50, 64])
def test_chunked_causal_matches_naive_for_any_chunk_size(chunk_size: int) -> None:
    q, k, v = _qkv(50)  # 50 is a multiple of none of 7, 16, 64
    out = causal_linear_attention(q, k, v, chunk_size=chunk_size)
    torch.testing.assert_close(
        out, naive_linear_attention(q, k, v, causal=True), atol=1e-12, rtol=1e-12
    )


def test_chunked_causal_float32_error_within_twice_the_naive_float32_error() -> None:
    """The FlashAttention rule: |out - ref64| <= 2 |naive32 - ref64|, over N = 4096 tokens."""
    q, k, v = _qkv(4096, 32, 32, dtype=torch.float32)
    ref = naive_linear_attention(q.double(), k.double(), v.double(), causal=True)
    err = (causal_linear_attention(q, k, v).double() - ref).abs().max()
    err_naive = (naive_linear_attention(q, k, v, causal=True).double() - ref).abs().max()
    assert err <= 2 * err_naive + 1e-7
    assert err < 1e-5


def test_last_causal_row_is_the_non_causal_output() -> None:
    q, k, v = _qkv(23)
    causal = linear_attention(q, k, v, causal=True, chunk_size=8)
    full = linear_attention(q, k, v)
    torch.testing.assert_close(causal[..., -1, :], full[..., -1, :], atol=1e-13, rtol=1e-13)
    assert not torch.allclose(causal[..., 0, :], full[..., 0, :])


def test_recurrent_steps_equal_the_parallel_causal_form() -> None:
    q, k, v = _qkv(19)
    state = None
    outs = []
    for t in range(19):
        out_t, state = linear_attention_step(q[..., t, :], k[..., t, :], v[..., t, :], state)
        outs.append(out_t)
    torch.testing.assert_close(
        torch.stack(outs, -2), causal_linear_attention(q, k, v, chunk_size=4)
    )


def test_prefix_state_then_steps_equals_parallel() -> None:
    q, k, v = _qkv(12)
    attn = LinearAttention(chunk_size=5)
    state = LinearAttentionState.from_prefix(k[..., :8, :], v[..., :8, :])
    parallel = attn(q, k, v, causal=True)
    for t in range(8, 12):
        out_t, state = attn.step(
            q[..., t : t + 1, :], k[..., t : t + 1, :], v[..., t : t + 1, :], state
        )
        assert out_t.shape == (2, 3, 1, 5)
        torch.testing.assert_close(out_t[..., 0, :], parallel[..., t, :])


def test_state_zeros_and_low_precision_state_is_float32() -> None:
    state = LinearAttentionState.zeros(2, 3, 8, 5, dtype=torch.bfloat16)
    assert state.s.shape == (2, 3, 8, 5) and state.z.shape == (2, 3, 8)
    assert state.s.dtype == torch.float32 and not state.s.any()
    q, k, v = _qkv(1, dtype=torch.bfloat16)
    out, new = linear_attention_step(q[..., 0, :], k[..., 0, :], v[..., 0, :], state)
    assert out.dtype == torch.bfloat16 and new.s.dtype == torch.float32


def test_step_refuses_more_than_one_token() -> None:
    q, k, v = _qkv(3)
    with pytest.raises(ValueError, match="one token"):
        linear_attention_step(q, k, v)
    with pytest.raises(ValueError, match=r"must be \(B, H, d\) or \(B, H, 1, d\)"):
        linear_attention_step(q[0, 0], k[0, 0], v[0, 0])


@pytest.mark.parametrize("causal", [False, True])
def test_key_padding_zeroes_the_padded_keys(causal: bool) -> None:
    q, k, v = _qkv(10)
    keep = torch.ones(2, 10, dtype=torch.bool)
    keep[0, [3, 4, 9]] = False
    out = linear_attention(q, k, v, mask=keep, causal=causal, chunk_size=4)
    torch.testing.assert_close(
        out, naive_linear_attention(q, k, v, mask=keep[:, None, None, :], causal=causal)
    )
    if not causal:  # removing keys is the same as dropping them
        kept = keep[0]
        torch.testing.assert_close(
            out[0], linear_attention(q[:1], k[:1, :, kept], v[:1, :, kept])[0]
        )


def test_query_dependent_masks_are_refused() -> None:
    q, k, v = _qkv(6)
    with pytest.raises(ValueError, match="key-padding masks only"):
        linear_attention(q, k, v, mask=torch.ones(2, 3, 6, 6, dtype=torch.bool))
    bias = torch.zeros(2, 6)
    bias[0, 1] = -2.0
    with pytest.raises(ValueError, match="only 0 \\(keep\\) and -inf"):
        linear_attention(q, k, v, mask=bias)


def test_causal_needs_equal_lengths_and_positive_chunks() -> None:
    q, k, v = _qkv(4, m=6)
    with pytest.raises(ValueError, match=r"as many queries as keys.*linear_attention_step"):
        linear_attention(q, k, v, causal=True)
    q, k, v = _qkv(4)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        causal_linear_attention(q, k, v, chunk_size=0)


def test_non_contiguous_inputs_and_module_options() -> None:
    q, k, v = (t.transpose(1, 2).contiguous().transpose(1, 2) for t in _qkv(9, dv=8))
    assert not q.is_contiguous()
    attn = create_attention("linear", chunk_size=4, eps=1e-3)
    assert "chunk_size=4" in repr(attn)
    for causal in (False, True):
        ref = naive_linear_attention(q, k, v, causal=causal, eps=1e-3)
        torch.testing.assert_close(attn(q, k, v, causal=causal), ref)


def test_causal_memory_is_linear_in_n() -> None:
    """The autograd graph of the chunked scan stores O(N (C + d) + (N/C) d^2), never N d^2."""
    saved: list[int] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t.numel())
        return t

    n, d, chunk = 4096, 32, 64
    q, k, v = (t.requires_grad_() for t in _qkv(n, d, d, dtype=torch.float32))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        causal_linear_attention(q, k, v, chunk_size=chunk)
    bh = 2 * 3
    assert max(saved) <= bh * n * max(chunk, d + 1)
    assert sum(saved) < 16 * bh * n * (chunk + d)
