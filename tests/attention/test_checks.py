"""Bad input gets a clear error naming what was expected, before any arithmetic."""

from __future__ import annotations

import pytest
import torch

from sciformers.attention import (
    AttentionSpec,
    SoftmaxAttention,
    create_attention,
    get_attention_spec,
    list_attention,
    register_attention,
)
from sciformers.attention.checks import check_mask, check_qkv, key_padding

SEQUENCE = list_attention("sequence")


def _qkv(
    b: int = 2, h: int = 3, n: int = 5, m: int = 5, d: int = 4, dv: int = 4
) -> tuple[torch.Tensor, ...]:
    return torch.randn(b, h, n, d), torch.randn(b, h, m, d), torch.randn(b, h, m, dv)


@pytest.mark.parametrize("name", SEQUENCE)
def test_wrong_rank_names_the_tensor_and_layout(name: str) -> None:
    q, k, v = _qkv()
    with pytest.raises(
        ValueError, match=rf"{name} attention: q must be 4-D \(B, H, N, d\), got shape \(3, 5, 4\)"
    ):
        create_attention(name)(q[0], k, v)


@pytest.mark.parametrize("name", SEQUENCE)
def test_mismatched_shapes_name_what_must_agree(name: str) -> None:
    attn = create_attention(name)
    q, k, v = _qkv()
    with pytest.raises(ValueError, match=r"must share \(B, H\)"):
        attn(q, k[:, :2], v[:, :2])
    with pytest.raises(ValueError, match="q and k must share the head dim d"):
        attn(q, k[..., :3], v)
    with pytest.raises(ValueError, match="k and v must share the length M"):
        attn(q, k, v[:, :, :4])
    with pytest.raises(ValueError, match="dtypes differ"):
        attn(q, k.double(), v)


@pytest.mark.parametrize("name", SEQUENCE)
def test_mask_of_the_wrong_shape_names_the_target(name: str) -> None:
    q, k, v = _qkv(n=5, m=7)
    with pytest.raises(
        ValueError,
        match=r"mask of shape \(2, 5, 6\) does not broadcast to \(B, H, N, M\) = \(2, 3, 5, 7\)",
    ):
        create_attention(name)(q, k, v, mask=torch.ones(2, 5, 6, dtype=torch.bool))


@pytest.mark.parametrize("name", SEQUENCE)
def test_integer_mask_is_refused(name: str) -> None:
    q, k, v = _qkv()
    with pytest.raises(ValueError, match=r"mask must be boolean .* or an additive float mask"):
        create_attention(name)(q, k, v, mask=torch.ones(2, 1, 1, 5, dtype=torch.int64))


def test_unknown_attention_lists_the_registered_names() -> None:
    with pytest.raises(KeyError, match=r"unknown attention 'softmx'; registered: .*softmax"):
        create_attention("softmx")
    with pytest.raises(KeyError, match="unknown attention 'nope'"):
        get_attention_spec("nope")


def test_registering_a_name_twice_is_an_error() -> None:
    spec = AttentionSpec(
        name="softmax", factory=SoftmaxAttention, kind="sequence", causal=True, mask="full"
    )
    with pytest.raises(ValueError, match="'softmax' is already registered"):
        register_attention(spec)


def test_check_helpers_directly() -> None:
    q, k, v = _qkv(n=3, m=4)
    check_qkv(q, k, v, "x")
    assert check_mask(None, q, k, "x") is None
    bias = torch.zeros(3, 4)
    bias[0, 1] = float("-inf")
    assert check_mask(bias, q, k, "x").dtype == torch.bool
    assert check_mask(bias.double(), q, k, "x", additive=True).dtype == q.dtype
    keep = key_padding(torch.ones(2, 4, dtype=torch.bool), q, k, "x")
    assert keep is not None and keep.shape == (2, 1, 1, 4)
    with pytest.raises(
        ValueError, match=r"x attention supports key-padding masks only: \(B, M\) or \(B, 1, 1, M\)"
    ):
        key_padding(torch.ones(3, 4, dtype=torch.bool)[None, None], q, k, "x")
