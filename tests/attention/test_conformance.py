"""Conformance of every registered sequence kernel with its declared capabilities.

Each ``list_attention("sequence")`` entry is checked against its own ``reference`` oracle in
float64 and in each declared dtype within its declared (atol, rtol); causal where declared and a
clear error where not; masks of the declared support; fp64 gradcheck on tiny shapes.
"""

from __future__ import annotations

import pytest
import torch

from sciformers.attention import create_attention, get_attention_spec, list_attention

SEQUENCE = list_attention("sequence")
F64 = torch.float64


def _qkv(
    n: int,
    d: int,
    dtype: torch.dtype = F64,
    m: int | None = None,
    b: int = 2,
    h: int = 3,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random q, k, v rounded to ``dtype`` (so the fp64 oracle sees the same values)."""
    g = torch.Generator().manual_seed(seed)
    m = n if m is None else m
    shapes = ((b, h, n, d), (b, h, m, d), (b, h, m, d))
    return tuple(torch.randn(s, generator=g, dtype=F64).to(dtype) for s in shapes)  # type: ignore[return-value]


def _mask_for(support: str, b: int, h: int, n: int, m: int, seed: int = 1) -> torch.Tensor:
    """A boolean mask of the declared support with removed rows and keys.

    ``full``: ``(B, H, N, M)``; ``key_padding``: ``(B, M)``, the last batch element fully padded.
    """
    g = torch.Generator().manual_seed(seed)
    if support == "full":
        mask = torch.rand(b, h, n, m, generator=g) > 0.3
        mask[0, 0, n // 2] = False  # a query with no attendable key
        mask[-1, -1, :, m // 3] = False  # a key no query attends
        return mask
    mask = torch.rand(b, m, generator=g) > 0.3
    mask[:, 0] = True
    mask[-1] = False  # a batch element with every key padded
    return mask


def _assert_close(out: torch.Tensor, ref: torch.Tensor, tol: tuple[float, float]) -> None:
    assert out.shape == ref.shape
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out.to(F64), ref.to(F64), atol=tol[0], rtol=tol[1])


@pytest.mark.parametrize("name", SEQUENCE)
@pytest.mark.parametrize("n", [1, 7, 97])
@pytest.mark.parametrize("d", [16, 64, 80])
@pytest.mark.parametrize("causal", [False, True])
def test_fp64_matches_reference(name: str, n: int, d: int, causal: bool) -> None:
    spec = get_attention_spec(name)
    attn = create_attention(name)
    q, k, v = _qkv(n, d)
    if causal and not spec.causal:
        with pytest.raises(ValueError, match="causal"):
            attn(q, k, v, causal=True)
        return
    if spec.reference is None:
        pytest.skip(f"{name} has no reference oracle")
    _assert_close(
        attn(q, k, v, causal=causal), spec.reference(q, k, v, causal=causal), spec.tolerances[F64]
    )


@pytest.mark.parametrize("name", SEQUENCE)
@pytest.mark.parametrize("d", [16, 64, 80])
def test_declared_dtypes_within_declared_tolerances(name: str, d: int) -> None:
    spec = get_attention_spec(name)
    if spec.reference is None:
        pytest.skip(f"{name} has no reference oracle")
    attn = create_attention(name)
    for causal in (False, True) if spec.causal else (False,):
        for dtype in spec.dtypes:
            q, k, v = _qkv(97, d, dtype)
            out = attn(q, k, v, causal=causal)
            assert out.dtype == dtype
            ref = spec.reference(q.to(F64), k.to(F64), v.to(F64), causal=causal)
            _assert_close(out, ref, spec.tolerances[dtype])


@pytest.mark.parametrize("name", SEQUENCE)
def test_cross_attention_with_more_keys_than_queries(name: str) -> None:
    spec = get_attention_spec(name)
    if spec.reference is None:
        pytest.skip(f"{name} has no reference oracle")
    q, k, v = _qkv(7, 16, m=13)
    out = create_attention(name)(q, k, v)
    _assert_close(out, spec.reference(q, k, v), spec.tolerances[F64])


@pytest.mark.parametrize("name", SEQUENCE)
@pytest.mark.parametrize("causal", [False, True])
def test_declared_masks_match_reference(name: str, causal: bool) -> None:
    spec = get_attention_spec(name)
    if spec.reference is None or (causal and not spec.causal):
        pytest.skip(f"{name}: no reference or not causal")
    attn = create_attention(name)
    b, h, n = 2, 3, 11
    q, k, v = _qkv(n, 16, b=b, h=h)
    if spec.mask == "none":
        with pytest.raises(ValueError, match="mask"):
            attn(q, k, v, mask=torch.ones(b, n, dtype=torch.bool), causal=causal)
        return
    masks = [_mask_for(spec.mask, b, h, n, n)]
    if spec.mask == "key_padding":
        masks.append(masks[0][:, None, None, :])  # the (B, 1, 1, M) form
    masks.append(torch.zeros(masks[0].shape, dtype=F64).masked_fill(~masks[0], float("-inf")))
    for mask in masks:
        out = attn(q, k, v, mask=mask, causal=causal)
        ref_mask = mask[:, None, None, :] if mask.dim() == 2 else mask  # (B, M) key padding
        ref = spec.reference(q, k, v, mask=ref_mask, causal=causal)
        _assert_close(out, ref, spec.tolerances[F64])
    if spec.mask == "key_padding":
        with pytest.raises(ValueError, match="key-padding"):
            attn(q, k, v, mask=_mask_for("full", b, h, n, n), causal=causal)


@pytest.mark.parametrize("name", SEQUENCE)
def test_rows_without_any_key_are_zero_with_finite_gradients(name: str) -> None:
    spec = get_attention_spec(name)
    if spec.mask == "none":
        pytest.skip(f"{name} takes no mask")
    q, k, v = (t.requires_grad_() for t in _qkv(9, 8, b=2, h=2))
    mask = torch.ones(2, 1, 1, 9, dtype=torch.bool)
    mask[1] = False  # every key of batch element 1 removed
    out = create_attention(name)(q, k, v, mask=mask)
    assert torch.equal(out[1], torch.zeros_like(out[1]))
    out.sum().backward()
    for t in (q, k, v):
        assert t.grad is not None and torch.isfinite(t.grad).all()


@pytest.mark.parametrize("name", SEQUENCE)
def test_gradients_match_reference(name: str) -> None:
    spec = get_attention_spec(name)
    if spec.reference is None:
        pytest.skip(f"{name} has no reference oracle")
    q, k, v = _qkv(13, 8)
    w = torch.randn(
        (*q.shape[:-1], v.shape[-1]), generator=torch.Generator().manual_seed(3), dtype=F64
    )
    for causal in (False, True) if spec.causal else (False,):
        grads = []
        for fn in (create_attention(name), spec.reference):
            inputs = [t.clone().requires_grad_() for t in (q, k, v)]
            grads.append(torch.autograd.grad((fn(*inputs, causal=causal) * w).sum(), inputs))
        for got, want in zip(*grads, strict=True):
            torch.testing.assert_close(got, want, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("name", SEQUENCE)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck_fp64(name: str, causal: bool, masked: bool) -> None:
    spec = get_attention_spec(name)
    if causal and not spec.causal:
        pytest.skip(f"{name} is not causal")
    if masked and spec.mask == "none":
        pytest.skip(f"{name} takes no mask")
    attn = create_attention(name)
    q, k, v = (t.requires_grad_() for t in _qkv(6, 4, b=1, h=2, seed=5))
    mask = _mask_for(spec.mask, 1, 2, 6, 6) if masked else None
    if mask is not None and spec.mask == "key_padding":
        mask[:] = torch.tensor([True, False, True, True, False, True])
    assert torch.autograd.gradcheck(
        lambda a, b, c: attn(a, b, c, mask=mask, causal=causal), (q, k, v)
    )
