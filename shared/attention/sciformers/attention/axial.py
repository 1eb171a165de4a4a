"""FactFormer's factorized kernel integral over 1-D, 2-D and 3-D grids ("axial" attention).

Li, Shu & Barati Farimani, "Scalable Transformer for PDE Surrogate Modeling", NeurIPS 2023,
https://arxiv.org/abs/2305.17560 (sec. 3.2). A full kernel integral over an N-point grid,
``z(x) = sum_y kappa(x, y) v(y)``, costs O(N^2 d). FactFormer factorizes the kernel into one
low-rank kernel per axis, ``kappa = kappa_1 (x) kappa_2 (x) ... (Kronecker product)``, and applies
them axis by axis, costing O(sum_m S_m^2 d + N sum_m S_m d):

1. value ``v = W_v u``;
2. per axis m, a 1-D sub-function ``phi_m(x_m)``: linear, mean-pool over every other axis,
   LayerNorm, gated-GELU MLP;
3. per-axis queries and keys ``q_m = W_q phi_m``, ``k_m = W_k phi_m`` (rotary on the axis
   coordinate), kernel ``kappa_m = q_m k_m^T`` with no softmax and no 1/n factor;
4. ``kappa_1, kappa_2, ...`` applied to ``v`` axis by axis (as ``q_m (k_m^T v)`` when the rank is
   below half the axis length: the same product, cheaper);
5. output path: GroupNorm per head (no affine), Linear, GELU, Linear.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.attention.position import RotaryEmbedding
from sciformers.attention.registry import AttentionSpec, register_attention

Operator = Tensor | tuple[Tensor, Tensor]  # kappa (BH, S, S), or its factors (q, k) with kappa = q k^T


def _dense(op: Operator) -> Tensor:
    return op[0] @ op[1].transpose(1, 2) if isinstance(op, tuple) else op


def _left(op: Operator, z: Tensor) -> Tensor:
    """``kappa @ z`` for ``z (BH, S, R)``; from the factors as ``q (k^T z)``."""
    return op[0] @ (op[1].transpose(1, 2) @ z) if isinstance(op, tuple) else op @ z


def _right(z: Tensor, op: Operator) -> Tensor:
    """``z @ kappa^T`` for ``z (BH, L, S)``; from the factors as ``(z k) q^T``."""
    return (z @ op[1]) @ op[0].transpose(1, 2) if isinstance(op, tuple) else z @ op.transpose(1, 2)


def _apply_channel_inner(ops: list[Operator], z: Tensor) -> Tensor:
    """Apply ``kappa_m`` to ``z (B, H, S_1, ..., S_{n-1}, c, S_n)``, a layout in which both outer axes are plain bmm.

    The first axis is contracted from the left, ``kappa_1 @ z.view(BH, S_1, -1)``; the last from the
    right, ``z.view(BH, -1, S_n) @ kappa_n^T``; neither needs a copy. A middle axis (3-D) uses einsum.
    A kernel given by its factors costs ``2r/S`` of the dense product (associativity, same result).
    """
    shape, bh, n = z.shape, z.shape[0] * z.shape[1], len(ops)
    if n > 1:
        z = _left(ops[0], z.reshape(bh, shape[2], -1))
        for m in range(1, n - 1):
            z = torch.einsum("bij,bxjr->bxir", _dense(ops[m]), z.reshape(bh, math.prod(shape[2:2 + m]), shape[2 + m], -1))
    return _right(z.reshape(bh, -1, shape[-1]), ops[-1]).reshape(shape)


def factorized_kernel_apply(kernels: list[Tensor], v: Tensor) -> Tensor:
    """Apply per-axis kernels ``kappa_m (B, H, S_m, S_m)`` to ``v (B, H, S_1, ..., S_n, c)`` axis by axis."""
    if v.dim() != len(kernels) + 3:
        raise ValueError(f"axial: v must be (B, H, *grid, c) with {len(kernels)} grid axes, got {tuple(v.shape)}")
    for axis, kappa in enumerate(kernels):
        if kappa.shape[-1] != v.shape[axis + 2] or kappa.shape[-2] != kappa.shape[-1]:
            raise ValueError(f"axial: kernel {axis} has shape {tuple(kappa.shape)}, grid axis has {v.shape[axis + 2]}")
    flat: list[Operator] = [kappa.flatten(0, 1) for kappa in kernels]
    return _apply_channel_inner(flat, v.movedim(-1, -2).contiguous()).movedim(-2, -1)


def dense_kronecker_apply(kernels: list[Tensor], v: Tensor) -> Tensor:
    """The oracle: build ``kappa_1 (x) ... (x) kappa_n`` on the flattened (row-major) grid and apply it."""
    big = kernels[0]
    for kappa in kernels[1:]:
        b, h, n, _ = big.shape
        s = kappa.shape[-1]
        big = torch.einsum("bhik,bhjl->bhijkl", big, kappa).reshape(b, h, n * s, n * s)
    flat = v.flatten(2, -2)
    return (big @ flat).reshape(v.shape)


class _AxisProjection(nn.Module):
    """phi_m: linear, mean-pool over the other axes, LayerNorm, gated-GELU MLP."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.gate = nn.Linear(hidden, 2 * hidden)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, u: Tensor, axis: int) -> Tensor:
        pooled_axes = [d for d in range(1, u.dim() - 1) if d != axis + 1]
        # Linear and mean-pool commute (the map is affine); pooling first saves a full-grid matmul.
        # Sum, then scale the pooled tensor: the backward of a sum is a broadcast, not a full-grid divide.
        if pooled_axes:
            h = self.proj(u.sum(dim=pooled_axes) * (1.0 / math.prod(u.shape[d] for d in pooled_axes)))
        else:
            h = self.proj(u)
        a, b = self.gate(self.norm(h)).chunk(2, dim=-1)
        return self.out(a * F.gelu(b))


class AxialAttention(nn.Module):
    """FactFormer's factorized attention block over a ``(B, *grid, dim)`` field.

    Args:
        dim: channel width of the field.
        heads: number of heads.
        dim_head: value width per head.
        ndim: number of grid axes (1, 2 or 3).
        kernel_multiplier: query/key width is ``dim_head * kernel_multiplier``.
        rotary: rotary position encoding of q_m, k_m on each axis's coordinate.
    """

    def __init__(self, dim: int, heads: int = 4, dim_head: int = 32, ndim: int = 2, kernel_multiplier: int = 2,
                 rotary: bool = True) -> None:
        super().__init__()
        if ndim not in (1, 2, 3):
            raise ValueError(f"axial: ndim must be 1, 2 or 3, got {ndim}")
        self.dim, self.heads, self.dim_head, self.ndim = dim, heads, dim_head, ndim
        qk = dim_head * kernel_multiplier
        self.to_v = nn.Linear(dim, heads * dim_head, bias=False)
        self.axis_proj = nn.ModuleList(_AxisProjection(dim, dim) for _ in range(ndim))
        self.to_q = nn.ModuleList(nn.Linear(dim, heads * qk, bias=False) for _ in range(ndim))
        self.to_k = nn.ModuleList(nn.Linear(dim, heads * qk, bias=False) for _ in range(ndim))
        for lin in (*self.to_q, *self.to_k):
            nn.init.xavier_uniform_(lin.weight, gain=0.02)  # each block starts near the identity
        self.rotary = RotaryEmbedding(qk) if rotary else None
        self.to_out = nn.Sequential(nn.Linear(heads * dim_head, dim), nn.GELU(), nn.Linear(dim, dim))

    def kernels(self, u: Tensor, coords: list[Tensor] | None = None) -> list[Tensor]:
        """Per-axis kernels ``kappa_m = q_m k_m^T`` of shape ``(B, H, S_m, S_m)``."""
        return [q @ k.transpose(-1, -2) for q, k in self.factors(u, coords)]

    def factors(self, u: Tensor, coords: list[Tensor] | None = None) -> list[tuple[Tensor, Tensor]]:
        """Per-axis queries and keys ``q_m, k_m`` of shape ``(B, H, S_m, r)`` (rotary applied)."""
        out = []
        for m in range(self.ndim):
            phi = self.axis_proj[m](u, m)  # (B, S_m, dim)
            q = self.to_q[m](phi).unflatten(-1, (self.heads, -1)).transpose(1, 2)
            k = self.to_k[m](phi).unflatten(-1, (self.heads, -1)).transpose(1, 2)
            if self.rotary is not None:
                pos = coords[m] if coords is not None else torch.arange(u.shape[m + 1], device=u.device)
                q, k = self.rotary.apply(q, pos), self.rotary.apply(k, pos)
            out.append((q, k))
        return out

    def forward(self, u: Tensor, coords: list[Tensor] | None = None) -> Tensor:
        """``u (B, S_1, ..., S_n, dim)`` -> same shape; ``coords[m]`` are axis m's coordinates."""
        if u.dim() != self.ndim + 2 or u.shape[-1] != self.dim:
            raise ValueError(f"axial: input must be (B, *{self.ndim} grid axes, {self.dim}), got {tuple(u.shape)}")
        if coords is not None and [len(c) for c in coords] != list(u.shape[1:-1]):
            raise ValueError(f"axial: coords lengths {[len(c) for c in coords]} != grid {list(u.shape[1:-1])}")
        n, b = self.ndim, u.shape[0]
        layout = (0, n + 1, *range(1, n), n + 2, n)  # (B, *grid, H, d) -> (B, H, S_1..S_{n-1}, d, S_n)
        v = self.to_v(u).unflatten(-1, (self.heads, self.dim_head)).permute(layout).contiguous()
        ops: list[Operator] = []
        for q, k in self.factors(u, coords):
            q, k = q.flatten(0, 1), k.flatten(0, 1)  # (BH, S_m, r)
            ops.append((q, k) if 2 * q.shape[-1] < q.shape[-2] else q @ k.transpose(1, 2))  # cheaper of the two
        z = _apply_channel_inner(ops, v)
        z = F.group_norm(z.reshape(b, self.heads, -1), self.heads).reshape(z.shape)  # per head, no affine
        back = sorted(range(n + 3), key=layout.__getitem__)
        return self.to_out(z.permute(back).flatten(-2))  # (B, *grid, H*d)


register_attention(AttentionSpec(
    name="axial", factory=AxialAttention, kind="grid", causal=False, mask="none",
    paper="https://arxiv.org/abs/2305.17560",
    description="FactFormer factorized kernel integral, one low-rank kernel per grid axis (1/2/3-D)",
))
