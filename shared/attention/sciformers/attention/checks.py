"""Input validation shared by the attention kernels: clear errors before any arithmetic."""

from __future__ import annotations

import torch
from torch import Tensor


def check_qkv(q: Tensor, k: Tensor, v: Tensor, name: str) -> None:
    """Check that ``q, k, v`` are ``(B, H, N, d)``, ``(B, H, M, d)``, ``(B, H, M, d_v)``.

    Args:
        q: queries.
        k: keys.
        v: values.
        name: the kernel's name, for the error message.

    Raises:
        ValueError: naming the tensor, its shape and what was expected.
    """
    for label, t in (("q", q), ("k", k), ("v", v)):
        if t.dim() != 4:
            raise ValueError(
                f"{name} attention: {label} must be 4-D (B, H, N, d), got shape {tuple(t.shape)}"
            )
    if q.shape[:2] != k.shape[:2] or k.shape[:2] != v.shape[:2]:
        raise ValueError(
            f"{name} attention: q, k, v must share (B, H); got q {tuple(q.shape)}, "
            f"k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"{name} attention: q and k must share the head dim d; got q {tuple(q.shape)}, "
            f"k {tuple(k.shape)}"
        )
    if k.shape[2] != v.shape[2]:
        raise ValueError(
            f"{name} attention: k and v must share the length M; got k {tuple(k.shape)}, "
            f"v {tuple(v.shape)}"
        )
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError(
            f"{name} attention: q, k, v dtypes differ: {q.dtype}, {k.dtype}, {v.dtype}"
        )


def check_mask(
    mask: Tensor | None, q: Tensor, k: Tensor, name: str, additive: bool = False
) -> Tensor | None:
    """Validate ``mask`` against ``(B, H, N, M)`` and return it in a kernel-ready form.

    A boolean mask keeps the positions that are ``True``. A floating mask is additive
    (``-inf`` = masked): with ``additive=True`` it is returned as is (cast to ``q``'s dtype),
    otherwise it is converted to the boolean ``mask > -inf``.

    Args:
        mask: ``None``, a boolean mask or an additive float mask.
        q: queries ``(B, H, N, d)``.
        k: keys ``(B, H, M, d)``.
        name: the kernel's name, for the error message.
        additive: keep a float mask additive instead of converting it to boolean.

    Raises:
        ValueError: if the mask is neither boolean nor floating, or cannot broadcast to
            ``(B, H, N, M)``.
    """
    if mask is None:
        return None
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise ValueError(
            f"{name} attention: mask must be boolean (True = attend) or an additive float mask "
            f"(-inf = masked); got dtype {mask.dtype}"
        )
    B, H, N, _ = q.shape
    M = k.shape[2]
    target = (B, H, N, M)
    if mask.dim() > 4 or any(
        m not in (1, t) for m, t in zip(mask.shape[::-1], target[::-1], strict=False)
    ):
        raise ValueError(
            f"{name} attention: mask of shape {tuple(mask.shape)} does not broadcast to "
            f"(B, H, N, M) = {target}"
        )
    if mask.dtype == torch.bool:
        return mask
    if additive:
        return mask.to(q.dtype)
    return mask > float("-inf")


def key_padding(mask: Tensor | None, q: Tensor, k: Tensor, name: str) -> Tensor | None:
    """Return a key-padding mask ``(B, 1, 1, M)`` (True = keep) or raise if ``mask`` is not one.

    Accepts ``(B, M)`` or anything broadcastable to ``(B, 1, 1, M)``; kernels whose cost is
    linear in N (``linear``) cannot express a mask that varies over queries.

    Args:
        mask: ``None``, a boolean mask (True = keep) or a float mask of ``0`` / ``-inf``.
        q: queries ``(B, H, N, d)``.
        k: keys ``(B, H, M, d)``.
        name: the kernel's name, for the error message.

    Raises:
        ValueError: if the mask varies over heads or queries, does not match ``(B, M)``, or
            is a float mask with values other than ``0`` and ``-inf``.
    """
    if mask is None:
        return None
    B, M = q.shape[0], k.shape[2]
    if mask.dim() == 2:
        mask = mask[:, None, None, :]
    if mask.is_floating_point() and bool(((mask != 0) & (mask != float("-inf"))).any()):
        raise ValueError(
            f"{name} attention cannot add a float bias to its scores; a float key-padding mask "
            "may hold only 0 (keep) and -inf (masked)"
        )
    mask = check_mask(mask, q, k, name)
    assert mask is not None
    if mask.shape[1] != 1 or mask.shape[2] != 1:
        raise ValueError(
            f"{name} attention supports key-padding masks only: (B, M) or (B, 1, 1, M) with "
            f"B={B}, M={M}; got {tuple(mask.shape)}"
        )
    return mask
