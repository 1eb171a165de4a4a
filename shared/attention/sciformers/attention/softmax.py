"""Softmax (dot-product) attention through ``torch.nn.functional.scaled_dot_product_attention``.

Vaswani et al. 2017, "Attention Is All You Need" (https://arxiv.org/abs/1706.03762):
``Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V`` (eq. 1).

The kernel is a thin, validated front end to SDPA, which on CPU picks its fused flash kernel
(``_scaled_dot_product_flash_attention_for_cpu``, memory linear in N) when it can and otherwise
the math path (which stores the N x M scores). Conventions (masks, causality, rows with no
attendable key → zero) are those of :mod:`sciformers.attention.reference`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.attention.checks import check_mask, check_qkv
from sciformers.attention.reference import naive_attention
from sciformers.attention.registry import AttentionSpec, register_attention

_NAME = "softmax"


def _with_causal(mask: Tensor, n: int, m: int) -> Tensor:
    """Fold the top-left causal constraint ``j <= i`` into a boolean or additive ``mask``."""
    tril = torch.ones(n, m, dtype=torch.bool, device=mask.device).tril()
    if mask.dtype == torch.bool:
        return mask & tril
    return mask.masked_fill(~tril, float("-inf"))


def softmax_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """Scaled dot-product attention ``softmax(Q K^T * scale + mask) V`` (eq. 1).

    Args:
        q: queries ``(B, H, N, d)``.
        k: keys ``(B, H, M, d)``.
        v: values ``(B, H, M, d_v)``.
        mask: boolean (True = attend) or additive float mask broadcastable to ``(B, H, N, M)``.
        causal: query ``i`` attends keys ``j <= i`` (top-left aligned).
        scale: logit scale, ``1/sqrt(d)`` by default.

    Returns:
        ``(B, H, N, d_v)``; rows with no attendable key are zero.

    Raises:
        ValueError: on inconsistent shapes or a mask that does not broadcast.
    """
    check_qkv(q, k, v, _NAME)
    mask = check_mask(mask, q, k, _NAME, additive=True)
    if mask is not None and causal:
        # SDPA refuses attn_mask together with is_causal; fold causality into the mask.
        mask, causal = _with_causal(mask, q.shape[-2], k.shape[-2]), False
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, scale=scale)


class SoftmaxAttention(nn.Module):
    """Softmax attention as a module (no parameters): ``forward(q, k, v, mask=None, causal=False)``.

    Args:
        scale: logit scale, ``1/sqrt(d)`` by default.
    """

    def __init__(self, scale: float | None = None) -> None:
        super().__init__()
        self.scale = scale

    def forward(
        self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, causal: bool = False
    ) -> Tensor:
        """Attend ``q`` to ``k, v``; see :func:`softmax_attention`.

        Args:
            q: queries ``(B, H, N, d)``.
            k: keys ``(B, H, M, d)``.
            v: values ``(B, H, M, d_v)``.
            mask: boolean or additive mask broadcastable to ``(B, H, N, M)``.
            causal: query ``i`` attends keys ``j <= i``.
        """
        return softmax_attention(q, k, v, mask=mask, causal=causal, scale=self.scale)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


register_attention(
    AttentionSpec(
        name=_NAME,
        factory=SoftmaxAttention,
        kind="sequence",
        causal=True,
        mask="full",
        reference=naive_attention,
        paper="https://arxiv.org/abs/1706.03762",
        description="softmax dot-product attention via SDPA (flash on CPU when eligible), O(N^2)",
    )
)
