"""Naive oracles for the sequence attention kernels: explicit, quadratic, fp64-friendly.

Each function writes the attention matrix out in full and applies the definition directly,
so that the fast kernels (``softmax``, ``linear``, ``sinkhorn``) can be checked against it in
float64. They share the kernels' call signature ``(q, k, v, mask=None, causal=False, ...)`` on
``q (B, H, N, d)``, ``k (B, H, M, d)``, ``v (B, H, M, d_v)``.

Conventions shared by every kernel of the package:

* ``mask`` broadcasts to ``(B, H, N, M)``. A boolean mask keeps the positions that are
  ``True``; a floating mask is *added* to the logits (``-inf`` removes a key).
* ``causal=True`` lets query ``i`` see keys ``j <= i`` (top-left aligned, as
  ``torch.nn.functional.scaled_dot_product_attention(is_causal=True)``).
* A query row with no attendable key outputs **zero** (and passes zero gradient), never NaN.
  This is what SDPA does in torch >= 2.5 and what the kernels are tested to do.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def _keep(mask: Tensor | None, causal: bool, n: int, m: int, device: torch.device) -> Tensor | None:
    """Boolean ``keep`` broadcastable to ``(B, H, N, M)`` combining ``mask`` and causality."""
    keep = None
    if mask is not None:
        keep = mask if mask.dtype == torch.bool else mask > float("-inf")
    if causal:
        tril = torch.ones(n, m, dtype=torch.bool, device=device).tril()
        keep = tril if keep is None else keep & tril
    return keep


def _normalize(w: Tensor, dim: int) -> Tensor:
    """``w / w.sum(dim)`` with all-zero slices left at zero (and no NaN in the backward)."""
    total = w.sum(dim, keepdim=True)
    return w / torch.where(total > 0, total, torch.ones_like(total))


def _masked_logits(
    q: Tensor, k: Tensor, mask: Tensor | None, causal: bool, scale: float | None
) -> tuple[Tensor, Tensor | None]:
    """``q k^T * scale (+ additive mask)``, with removed positions at ``-inf``, and ``keep``."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    logits = q @ k.transpose(-2, -1) * scale
    if mask is not None and mask.dtype != torch.bool:
        logits = logits + mask.to(logits.dtype)
    keep = _keep(mask, causal, q.shape[-2], k.shape[-2], q.device)
    if keep is not None:
        logits = logits.masked_fill(~keep, float("-inf"))
    return logits, keep


def _stable_exp(logits: Tensor) -> Tensor:
    """``exp(logits - rowmax)``; rows that are entirely ``-inf`` become zeros."""
    rowmax = logits.amax(-1, keepdim=True).detach()
    rowmax = torch.where(torch.isfinite(rowmax), rowmax, torch.zeros_like(rowmax))
    return torch.exp(logits - rowmax)


def naive_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """Softmax attention ``softmax(Q K^T * scale + mask) V`` written out in full.

    Args:
        q: queries ``(B, H, N, d)``.
        k: keys ``(B, H, M, d)``.
        v: values ``(B, H, M, d_v)``.
        mask: boolean (True = attend) or additive float mask broadcastable to ``(B, H, N, M)``.
        causal: query ``i`` attends keys ``j <= i``.
        scale: logit scale, ``1/sqrt(d)`` by default.

    Returns:
        ``(B, H, N, d_v)``; rows with no attendable key are zero.
    """
    logits, _ = _masked_logits(q, k, mask, causal, scale)
    return _normalize(_stable_exp(logits), -1) @ v


def elu_feature_map(x: Tensor) -> Tensor:
    """The positive feature map ``phi(x) = elu(x) + 1`` of Katharopoulos et al. (eq. 7)."""
    return F.elu(x).add_(1.0)


def naive_linear_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    causal: bool = False,
    eps: float = 1e-6,
) -> Tensor:
    """Linear attention in its quadratic form: ``A = phi(Q) phi(K)^T`` masked, then row-normalized.

    ``out_i = sum_j A_ij V_j / (sum_j A_ij + eps)`` (Katharopoulos et al. 2020, eq. 6; with
    ``causal`` the sums run over ``j <= i``, eq. 9). Removed keys have ``A_ij = 0``.

    Args:
        q: queries ``(B, H, N, d)``.
        k: keys ``(B, H, M, d)``.
        v: values ``(B, H, M, d_v)``.
        mask: boolean or additive (``0``/``-inf``) mask broadcastable to ``(B, H, N, M)``.
        causal: query ``i`` attends keys ``j <= i``.
        eps: added to the normalizer.

    Returns:
        ``(B, H, N, d_v)``.
    """
    a = elu_feature_map(q) @ elu_feature_map(k).transpose(-2, -1)
    keep = _keep(mask, causal, q.shape[-2], k.shape[-2], q.device)
    if keep is not None:
        a = a.masked_fill(~keep, 0.0)
    return (a @ v) / (a.sum(-1, keepdim=True) + eps)


def naive_sinkhorn_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
    n_iter: int = 3,
) -> Tensor:
    """Sinkhorn attention by plain (not log-domain) alternating normalization of ``exp(logits)``.

    Iteration 1 divides each row by its sum, iteration 2 each column by its sum and multiplies
    by ``n_rows / n_cols`` (the uniform marginals of Sander et al. 2022 rescaled so that rows
    sum to 1), and so on alternately. Counting is over live (not entirely masked) rows and
    columns. ``n_iter=1`` is softmax attention.

    Args:
        q: queries ``(B, H, N, d)``.
        k: keys ``(B, H, M, d)``.
        v: values ``(B, H, M, d_v)``.
        mask: boolean (True = attend) or additive float mask broadcastable to ``(B, H, N, M)``.
        causal: must be False (Sinkhorn's column step is not causal).
        scale: logit scale, ``1/sqrt(d)`` by default.
        n_iter: number of half-steps (row, column, row, ...).

    Returns:
        ``(B, H, N, d_v)``; rows with no attendable key are zero.
    """
    if causal:
        raise ValueError("sinkhorn attention cannot be causal: its column step mixes all queries")
    logits, _ = _masked_logits(q, k, mask, False, scale)
    w = _stable_exp(logits)
    live = logits > float("-inf")
    n_rows = live.any(-1, keepdim=True).sum(-2, keepdim=True).to(w.dtype)
    n_cols = live.any(-2, keepdim=True).sum(-1, keepdim=True).to(w.dtype)
    for it in range(n_iter):
        if it % 2 == 0:
            w = _normalize(w, -1)
        else:
            w = _normalize(w, -2) * (n_rows / n_cols.clamp_min(1))
    return w @ v
