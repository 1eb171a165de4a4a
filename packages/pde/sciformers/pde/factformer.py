"""FactFormer: a factorized-attention transformer surrogate for 2-D and 3-D grids.

Li, Shu & Barati Farimani, "Scalable Transformer for PDE Surrogate Modeling", NeurIPS 2023,
https://arxiv.org/abs/2305.17560. Reading order follows the paper's method section:

1. the input window of ``in_steps`` frames is lifted pointwise to ``dim`` channels (sec. 4, the
   time-stepping models map the stacked frames with a Linear);
2. ``depth`` layers of ``u ← u + RFF(x)``; ``u ← u + FABlock(LN(u))`` (eq. 8–11): random Fourier
   features of the coordinates (Tancik et al. 2020) pass through a per-layer Linear and are
   added before every layer, and the factorized attention block is a residual update. As in the
   reference ``FABlock2D/3D``, the block first normalizes its input (``in_norm``, a LayerNorm
   over channels) and then computes the value and the per-axis projections from it; the rest is
   ``sciformers.attention``'s ``AxialAttention`` (per-axis learnable projection, per-axis low-rank
   kernels with rotary encoding axis by axis, Kronecker application, GroupNorm output path);
3. latent marching: the field is projected to ``latent_multiplier × dim`` channels; for each
   of ``out_steps`` future frames a learned time embedding is added, a residual MLP advances
   the latent, and a pointwise decoder reads the frame out.

Rotary positions on a periodic domain: with ``rotary="periodic"`` the rotary frequencies are
integers and the positions are the angles ``2π i / S``, so ``q_i · k_j`` depends on
``(x_i − x_j) mod 2π``: each axis kernel is circulant in position and, without the absolute
RFF encoding (``pos_encoding="none"``), the whole model commutes with periodic shifts of the
grid. ``rotary="index"`` is the paper's plain rotary on grid indices.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import Tensor, nn

from sciformers.attention import AxialAttention
from sciformers.attention.position import FourierFeatures, RotaryEmbedding
from sciformers.core import register_model
from sciformers.pde.surrogate import Surrogate, example_batch


class PeriodicRotary(RotaryEmbedding):
    """Rotary embedding with integer frequencies ``1 … max_freq`` (geometric), 2π-periodic in position.

    Args:
        dim: rotated channels (even).
        max_freq: highest integer frequency.
    """

    def __init__(self, dim: int, max_freq: int = 16) -> None:
        super().__init__(dim)
        half = dim // 2
        exps = torch.arange(half, dtype=torch.float64) / max(half - 1, 1)
        self.inv_freq = torch.round(float(max_freq) ** exps)  # integers: angles wrap with the torus


class LatentMarching(nn.Module):
    """Advance a latent field by ``out_steps`` frames: ``h ← h + MLP(h + e_k)``, frame ``k = D(h)``.

    Args:
        dim: encoder width.
        latent: latent width.
        out_steps: frames produced.
        channels: fields per frame the decoder reads out.
    """

    def __init__(self, dim: int, latent: int, out_steps: int, channels: int = 1) -> None:
        super().__init__()
        self.to_latent = nn.Linear(dim, latent)
        self.time_embedding = nn.Parameter(torch.randn(out_steps, latent) * 0.02)
        self.propagate = nn.Sequential(nn.LayerNorm(latent), nn.Linear(latent, latent), nn.GELU(), nn.Linear(latent, latent))
        self.decode = nn.Sequential(nn.Linear(latent, dim), nn.GELU(), nn.Linear(dim, channels))

    def forward(self, u: Tensor) -> Tensor:
        """``u (B, *grid, dim)`` -> frames ``(B, out_steps * channels, *grid)`` (frame-major)."""
        h = self.to_latent(u)
        frames = []
        for e in self.time_embedding:
            h = h + self.propagate(h + e)
            frames.append(self.decode(h).movedim(-1, 1))  # (B, channels, *grid)
        return torch.cat(frames, dim=1)


class FactFormer(Surrogate):
    """FactFormer surrogate over an ``ndim``-dimensional periodic grid.

    Args:
        ndim: grid axes (2 or 3).
        in_steps: input frames; out_steps: frames per call (latent marching steps).
        channels: fields per frame (frames and channels are lifted together).
        dim: channel width; depth: layers.
        heads, dim_head, kernel_multiplier: factorized attention (q/k width ``dim_head × kernel_multiplier``).
        latent_multiplier: latent width of the marching MLP as a multiple of ``dim``.
        pos_encoding: ``rff`` (random Fourier features added before every layer) or ``none``.
        rff_dim, rff_sigma: width and frequency scale (cycles per domain) of the RFF.
        rotary: ``periodic`` (integer frequencies on ``2π i/S``), ``index`` (paper: grid index) or ``none``.
        rotary_max_freq: highest periodic rotary frequency.
        seed: seeds the fixed RFF matrix.
        **train_kwargs: curriculum and pushforward settings of :class:`Surrogate`.
    """

    def __init__(self, ndim: int = 2, in_steps: int = 4, out_steps: int = 1, channels: int = 1, dim: int = 64, depth: int = 3,
                 heads: int = 4, dim_head: int = 32, kernel_multiplier: int = 2, latent_multiplier: float = 2.0,
                 pos_encoding: Literal["rff", "none"] = "rff", rff_dim: int = 64, rff_sigma: float = 8.0,
                 rotary: Literal["periodic", "index", "none"] = "periodic", rotary_max_freq: int = 16,
                 seed: int = 0, **train_kwargs: Any) -> None:
        super().__init__(in_steps=in_steps, out_steps=out_steps, channels=channels, **train_kwargs)
        if ndim not in (2, 3):
            raise ValueError(f"FactFormer: ndim must be 2 or 3, got {ndim}")
        if pos_encoding not in ("rff", "none") or rotary not in ("periodic", "index", "none"):
            raise ValueError(f"FactFormer: pos_encoding must be rff|none and rotary periodic|index|none, "
                             f"got {pos_encoding!r}, {rotary!r}")
        self.ndim, self.rotary_kind = ndim, rotary
        self.lift = nn.Linear(in_steps * self.channels, dim)
        self.rff = FourierFeatures(ndim, rff_dim, sigma=rff_sigma, seed=seed) if pos_encoding == "rff" else None
        self.pos_proj = nn.ModuleList(nn.Linear(rff_dim, dim) for _ in range(depth)) if self.rff is not None else None
        self.in_norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(depth))  # the reference's in_norm
        self.blocks = nn.ModuleList(
            AxialAttention(dim, heads=heads, dim_head=dim_head, ndim=ndim, kernel_multiplier=kernel_multiplier,
                           rotary=rotary != "none")
            for _ in range(depth)
        )
        if rotary == "periodic":
            for block in self.blocks:
                block.rotary = PeriodicRotary(dim_head * kernel_multiplier, rotary_max_freq)
        self.march = LatentMarching(dim, int(round(latent_multiplier * dim)), out_steps, self.channels)

    def _axis_positions(self, grid: tuple[int, ...], device: torch.device) -> list[Tensor] | None:
        if self.rotary_kind == "periodic":
            return [2 * math.pi * torch.arange(s, device=device, dtype=torch.float64) / s for s in grid]
        return None  # index rotary: AxialAttention uses 0..S-1

    def _rff(self, grid: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> Tensor:
        axes = [torch.arange(s, device=device, dtype=dtype) / s for s in grid]  # [0, 1) per period
        coords = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
        return self.rff(coords)  # type: ignore[misc]

    def block_update(self, i: int, u: Tensor, positions: list[Tensor] | None) -> Tensor:
        """The residual update of layer ``i``: ``FABlock(LN(u))``, the value and axis projections
        reading the normalized stream."""
        return self.blocks[i](self.in_norms[i](u), positions)

    def step(self, window: Tensor) -> Tensor:
        if self.grid_ndim(window) != self.ndim:
            layout = f"{self.channels}, " if self.channels > 1 else ""
            raise ValueError(f"FactFormer{self.ndim}D: input must be (B, {self.in_steps}, {layout}*{self.ndim} grid axes), "
                             f"got {tuple(window.shape)}")
        grid = tuple(window.shape[-self.ndim:])
        u = self.lift(self.stack_frames(window).movedim(1, -1))  # (B, *grid, dim)
        positions = self._axis_positions(grid, window.device)
        gamma = self._rff(grid, window.device, window.dtype) if self.rff is not None else None
        for i in range(len(self.blocks)):
            if gamma is not None:
                u = u + self.pos_proj[i](gamma)  # type: ignore[index]
            u = u + self.block_update(i, u, positions)
        return self.unstack_frames(self.march(u))


TEST_KWARGS = {"in_steps": 3, "dim": 8, "depth": 1, "heads": 2, "dim_head": 4, "latent_multiplier": 1.0, "rff_dim": 8}


def _example(model: FactFormer) -> dict[str, torch.Tensor]:
    """A batch on a 6-point grid of the model's dimension (the registry's ``example``)."""
    return example_batch(model, (6,) * model.ndim)


@register_model("pde.factformer2d", test_kwargs=TEST_KWARGS, example=_example)
class FactFormer2D(FactFormer):
    """FactFormer on 2-D grids: input ``(B, in_steps, X, Y)``; see :class:`FactFormer` for arguments."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ndim=2, **kwargs)


@register_model("pde.factformer3d", test_kwargs=TEST_KWARGS, example=_example)
class FactFormer3D(FactFormer):
    """FactFormer on 3-D grids: input ``(B, in_steps, X, Y, Z)``; see :class:`FactFormer` for arguments."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ndim=3, **kwargs)
