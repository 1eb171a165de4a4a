"""Sinkhorn attention: Sander et al., AISTATS 2022, "Sinkformers" (https://arxiv.org/abs/2110.11773).

Softmax normalizes ``K = exp(Q K^T / sqrt(d))`` over rows only. Sinkformers alternate row and
column normalizations (Sinkhorn's algorithm) so that the attention matrix tends
to a doubly stochastic one; with a single (row) step it is softmax attention exactly.

We run a fixed number ``n_iter`` of half-steps in the log domain (entropic regularization 1:
the temperature is already the ``1/sqrt(d)`` of the logits), with uniform marginals rescaled so
that rows sum to 1 and columns to ``N / M``: odd half-steps normalize rows (over keys), even
ones columns (over queries). After an odd count rows sum exactly to 1. Gradients flow through
every unrolled step (no early stop, no detach). The last half-step is a fused ``softmax`` so that
it saves a single ``N x M`` tensor for the backward.

Masks (boolean or additive, broadcastable to ``(B, H, N, M)``) set logits to ``-inf``; the
marginals are uniform over live rows and columns (those with at least one kept entry), and
entirely masked rows or columns are kept out of the log-sum-exps so that they give zeros, never
NaN. There is no causal form: the column step sums over all queries, future ones included.
bfloat16/float16 inputs are computed in float32 and the output cast back.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from sciformers.attention.checks import check_mask, check_qkv
from sciformers.attention.reference import naive_sinkhorn_attention
from sciformers.attention.registry import AttentionSpec, register_attention

_NAME = "sinkhorn"


def _logsumexp(x: Tensor, dim: int, dead: Tensor | None) -> Tensor:
    """``logsumexp`` over ``dim``; slices flagged ``dead`` (all ``-inf``) are summed as zeros.

    Their result is then finite, and ``x - result`` stays ``-inf`` there, with no NaN in the
    backward (``logsumexp`` of an all ``-inf`` slice has a NaN gradient).
    """
    if dead is not None:
        x = x.masked_fill(dead, 0.0)
    return torch.logsumexp(x, dim, keepdim=True)


def _softmax(x: Tensor, dim: int, dead: Tensor | None) -> Tensor:
    """``softmax`` over ``dim`` with slices flagged ``dead`` set to zero."""
    if dead is None:
        return torch.softmax(x, dim)
    return torch.softmax(x.masked_fill(dead, 0.0), dim).masked_fill(dead, 0.0)


def sinkhorn_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
    n_iter: int = 3,
) -> Tensor:
    """Sinkhorn attention: ``n_iter`` alternating row/column normalizations of ``exp(logits)``.

    Args:
        q: queries ``(B, H, N, d)``.
        k: keys ``(B, H, M, d)``.
        v: values ``(B, H, M, d_v)``.
        mask: boolean (True = attend) or additive float mask broadcastable to ``(B, H, N, M)``.
        causal: must be False; Sinkhorn normalization has no causal form.
        scale: logit scale, ``1/sqrt(d)`` by default.
        n_iter: half-steps (row, column, row, ...); 1 is softmax, odd counts give rows summing
            to 1.

    Returns:
        ``(B, H, N, d_v)`` in the dtype of ``q``; rows with no attendable key are zero.

    Raises:
        ValueError: if ``causal`` is set, ``n_iter < 1``, or on bad shapes or masks.
    """
    if causal:
        raise ValueError(
            f"{_NAME} attention does not support causal=True: its column normalization sums "
            "over all queries, so every output would depend on future tokens"
        )
    if n_iter < 1:
        raise ValueError(f"{_NAME} attention: n_iter must be >= 1, got {n_iter}")
    check_qkv(q, k, v, _NAME)
    mask = check_mask(mask, q, k, _NAME, additive=True)
    dtype = torch.float32 if q.dtype in (torch.bfloat16, torch.float16) else q.dtype
    N, M = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    x = (q.to(dtype) * scale) @ k.to(dtype).transpose(-2, -1)  # log K, (B, H, N, M)

    dead_rows = dead_cols = None
    # Uniform marginals rescaled so that rows sum to 1 and columns to N/M.
    log_col_mass = torch.tensor(math.log(N / M), dtype=dtype, device=q.device)
    if mask is not None:
        if mask.dtype == torch.bool:
            keep = mask
            x = x.masked_fill(~keep, float("-inf"))
        else:
            keep = mask > float("-inf")
            x = x + mask.to(dtype)
        dead_rows = ~keep.any(-1, keepdim=True)
        dead_cols = ~keep.any(-2, keepdim=True)
        # Live rows / columns, counting a broadcast (size-1) dim as N or M of them.
        n_rows = (~dead_rows).to(dtype).sum(-2, keepdim=True) * (N / dead_rows.shape[-2])
        n_cols = (~dead_cols).to(dtype).sum(-1, keepdim=True) * (M / dead_cols.shape[-1])
        log_col_mass = n_rows.clamp_min(1).log() - n_cols.clamp_min(1).log()

    # Sinkhorn half-steps in the log domain: rows on odd steps, columns on even ones.
    for it in range(1, n_iter):
        if it % 2 == 1:
            x = x - _logsumexp(x, -1, dead_rows)
        else:
            x = x - (_logsumexp(x, -2, dead_cols) - log_col_mass)
    if n_iter % 2 == 1:
        p = _softmax(x, -1, dead_rows)
    else:
        p = _softmax(x, -2, dead_cols) * log_col_mass.exp()
    return (p @ v.to(dtype)).to(q.dtype)


class SinkhornAttention(nn.Module):
    """Sinkhorn attention as a module (no parameters): ``forward(q, k, v, mask=None)``.

    Args:
        n_iter: half-steps of Sinkhorn's algorithm (1 = softmax); 3 as in the paper's text and
            ViT experiments.
        scale: logit scale, ``1/sqrt(d)`` by default.
    """

    def __init__(self, n_iter: int = 3, scale: float | None = None) -> None:
        super().__init__()
        if n_iter < 1:
            raise ValueError(f"{_NAME} attention: n_iter must be >= 1, got {n_iter}")
        self.n_iter = n_iter
        self.scale = scale

    def forward(
        self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, causal: bool = False
    ) -> Tensor:
        """Attend ``q`` to ``k, v``; see :func:`sinkhorn_attention`.

        Args:
            q: queries ``(B, H, N, d)``.
            k: keys ``(B, H, M, d)``.
            v: values ``(B, H, M, d_v)``.
            mask: boolean or additive mask broadcastable to ``(B, H, N, M)``.
            causal: must be False.
        """
        return sinkhorn_attention(
            q, k, v, mask=mask, causal=causal, scale=self.scale, n_iter=self.n_iter
        )

    def extra_repr(self) -> str:
        return f"n_iter={self.n_iter}, scale={self.scale}"


register_attention(
    AttentionSpec(
        name=_NAME,
        factory=SinkhornAttention,
        kind="sequence",
        causal=False,
        mask="full",
        reference=naive_sinkhorn_attention,
        paper="https://arxiv.org/abs/2110.11773",
        description="Sinkformer: 3 log-domain Sinkhorn half-steps (1 = softmax), O(N^2), no causal",
    )
)
