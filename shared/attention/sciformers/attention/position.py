"""Position encodings: rotary (RoFormer), sinusoidal (Transformer), random Fourier features.

- Rotary: Su et al. 2021, https://arxiv.org/abs/2104.09864 (eq. 34): channel pairs of q and k
  are rotated by angles ``position * theta_i``, so ``q_m . k_n`` depends only on ``m - n``.
- Sinusoidal: Vaswani et al. 2017, https://arxiv.org/abs/1706.03762 (sec. 3.5).
- Fourier features: Tancik et al. 2020, https://arxiv.org/abs/2006.10739:
  ``gamma(x) = [cos(2 pi B x), sin(2 pi B x)]`` with a fixed Gaussian ``B``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class RotaryEmbedding(nn.Module):
    """Rotary position embedding over the last dimension (half-split channel pairing).

    Args:
        dim: channels to rotate (even; the head dimension).
        base: frequency base, ``theta_i = base^(-2i/dim)``.
    """

    def __init__(self, dim: int, base: float = 10000.0) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"RotaryEmbedding: dim must be even, got {dim}")
        self.dim = dim
        self.register_buffer("inv_freq", base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim), persistent=False)

    def apply(self, x: Tensor, positions: Tensor | None = None) -> Tensor:
        """Rotate ``x (..., N, dim)`` by ``positions`` (``(N,)`` or broadcastable to ``x[..., 0]``;
        integer steps or real coordinates; default ``0..N-1``)."""
        if x.shape[-1] != self.dim:
            raise ValueError(f"RotaryEmbedding: last dim of x is {x.shape[-1]}, expected {self.dim}")
        if positions is None:
            positions = torch.arange(x.shape[-2], device=x.device)
        angles = positions.to(torch.float64).unsqueeze(-1) * self.inv_freq.to(x.device)  # eq. 34: m * theta_i
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
        x1, x2 = x[..., : self.dim // 2], x[..., self.dim // 2 :]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def sinusoidal_encoding(positions: int | Tensor, dim: int) -> Tensor:
    """``PE[p, 2i] = sin(p / 10000^(2i/dim))``, ``PE[p, 2i+1] = cos(...)``; shape ``(N, dim)``.

    Args:
        positions: a length ``N`` (positions ``0..N-1``) or a 1-D tensor of positions.
        dim: encoding width (even).
    """
    if dim % 2:
        raise ValueError(f"sinusoidal_encoding: dim must be even, got {dim}")
    pos = torch.arange(positions, dtype=torch.float64) if isinstance(positions, int) else positions.double()
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float64, device=pos.device) / dim)
    angles = pos[:, None] * freq[None, :]
    out = torch.empty(len(pos), dim, dtype=torch.float64, device=pos.device)
    out[:, 0::2], out[:, 1::2] = angles.sin(), angles.cos()
    return out.float()


class FourierFeatures(nn.Module):
    """Random Fourier features of coordinates: ``[cos(2 pi x B), sin(2 pi x B)]``.

    Args:
        in_dim: coordinate dimension (2 for a plane).
        dim: output width (even).
        sigma: standard deviation of ``B`` (higher: finer detail).
        seed: seeds ``B``, so the encoding is reproducible and stored in checkpoints.
    """

    def __init__(self, in_dim: int, dim: int, sigma: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"FourierFeatures: dim must be even, got {dim}")
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("B", sigma * torch.randn(in_dim, dim // 2, generator=g))

    def forward(self, x: Tensor) -> Tensor:
        """``x (..., in_dim)`` -> ``(..., dim)``."""
        if x.shape[-1] != self.B.shape[0]:
            raise ValueError(f"FourierFeatures: last dim of x is {x.shape[-1]}, expected {self.B.shape[0]}")
        proj = 2 * math.pi * x @ self.B.to(x.dtype)
        return torch.cat([proj.cos(), proj.sin()], dim=-1)
