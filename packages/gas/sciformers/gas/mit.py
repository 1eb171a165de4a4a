"""Mix Vision Transformer (MiT), the hierarchical encoder of SegFormer and Gasformer.

Xie et al., "SegFormer: Simple and Efficient Design for Semantic Segmentation with Transformers",
NeurIPS 2021, https://arxiv.org/abs/2105.15203 (sec. 3.1). Four stages turn an image into feature
maps at 1/4, 1/8, 1/16 and 1/32 of its size. Each stage is

1. an *overlapping* patch embedding: a strided convolution (kernel 7 / stride 4 for stage 1,
   kernel 3 / stride 2 after; padding ``k // 2``) followed by LayerNorm;
2. ``depth`` pre-norm blocks of efficient self-attention (keys/values from a map reduced by
   ``sr`` = 8/4/2/1, eq. 2, shared kernel ``sciformers.attention.SpatialReductionAttention``)
   and Mix-FFN (eq. 3: ``MLP(GELU(DWConv3x3(MLP(x)))) + x``), with stochastic depth;
3. a LayerNorm, then the tokens are folded back into a ``(B, C, H, W)`` map.

There is no positional encoding: the 3x3 depthwise convolution of Mix-FFN leaks position.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from sciformers.attention import SpatialReductionAttention


@dataclass(frozen=True)
class MiTConfig:
    """Widths, depths, heads and reduction ratios of the four MiT stages."""

    dims: tuple[int, int, int, int]
    depths: tuple[int, int, int, int]
    heads: tuple[int, int, int, int] = (1, 2, 5, 8)
    sr_ratios: tuple[int, int, int, int] = (8, 4, 2, 1)
    mlp_ratio: int = 4


# SegFormer Table 6 (and the mmseg configs Gasformer reads): B0 is the Gasformer default.
MIT_CONFIGS: dict[str, MiTConfig] = {
    "b0": MiTConfig(dims=(32, 64, 160, 256), depths=(2, 2, 2, 2)),
    "b1": MiTConfig(dims=(64, 128, 320, 512), depths=(2, 2, 2, 2)),
    "b2": MiTConfig(dims=(64, 128, 320, 512), depths=(3, 4, 6, 3)),
}


class DropPath(nn.Module):
    """Stochastic depth (Huang et al. 2016): drop a residual branch per sample with probability ``p``."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class OverlapPatchEmbed(nn.Module):
    """Strided convolution with overlapping windows, then LayerNorm (sec. 3.1, "Overlapped Patch Merging")."""

    def __init__(self, in_channels: int, dim: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=kernel, stride=stride, padding=kernel // 2)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> tuple[Tensor, int, int]:
        """``(B, C, H, W)`` -> tokens ``(B, H'*W', dim)`` and the new ``H', W'``."""
        x = self.proj(x)
        h, w = x.shape[-2:]
        return self.norm(x.flatten(2).transpose(1, 2)), h, w


class MixFFN(nn.Module):
    """Mix-FFN (eq. 3): 1x1 expand, 3x3 depthwise conv, GELU, 1x1 project."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, kernel_size=3, padding=1, groups=hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor, height: int, width: int) -> Tensor:
        x = self.fc1(x)
        image = x.transpose(1, 2).reshape(x.shape[0], -1, height, width)
        x = self.dwconv(image).flatten(2).transpose(1, 2)
        return self.fc2(self.act(x))


class MiTBlock(nn.Module):
    """Pre-norm block: ``x + DropPath(Attn(LN(x)))``, then ``x + DropPath(MixFFN(LN(x)))``."""

    def __init__(self, dim: int, heads: int, sr: int, mlp_ratio: int, drop_path: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SpatialReductionAttention(dim, heads=heads, sr=sr, qkv_bias=True)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = MixFFN(dim, dim * mlp_ratio)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor, height: int, width: int) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), height, width))
        return x + self.drop_path(self.ffn(self.norm2(x), height, width))


class MiTStage(nn.Module):
    """Patch embedding, ``depth`` blocks and a final LayerNorm; returns a ``(B, C, H, W)`` map."""

    def __init__(self, in_channels: int, dim: int, depth: int, heads: int, sr: int, mlp_ratio: int,
                 kernel: int, stride: int, drop_paths: list[float]) -> None:
        super().__init__()
        self.embed = OverlapPatchEmbed(in_channels, dim, kernel, stride)
        self.blocks = nn.ModuleList(MiTBlock(dim, heads, sr, mlp_ratio, p) for p in drop_paths[:depth])
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        tokens, h, w = self.embed(x)
        for block in self.blocks:
            tokens = block(tokens, h, w)
        tokens = self.norm(tokens)
        return tokens.transpose(1, 2).reshape(x.shape[0], -1, h, w)


class MixVisionTransformer(nn.Module):
    """The MiT encoder: four stages at strides 4, 8, 16 and 32.

    Args:
        in_channels: input channels (1 for a thermal frame, 3 for a palette image).
        variant: ``b0``, ``b1`` or ``b2`` (:data:`MIT_CONFIGS`).
        drop_path: stochastic-depth rate of the last block; it grows linearly from 0 over blocks.
    """

    def __init__(self, in_channels: int = 1, variant: str = "b0", drop_path: float = 0.1) -> None:
        super().__init__()
        if variant not in MIT_CONFIGS:
            raise ValueError(f"MiT variant {variant!r} unknown; expected one of {sorted(MIT_CONFIGS)}")
        cfg = MIT_CONFIGS[variant]
        self.config = cfg
        rates = torch.linspace(0, drop_path, sum(cfg.depths)).tolist()
        stages, start, channels = [], 0, in_channels
        for i in range(4):
            kernel, stride = (7, 4) if i == 0 else (3, 2)
            stages.append(MiTStage(channels, cfg.dims[i], cfg.depths[i], cfg.heads[i], cfg.sr_ratios[i],
                                   cfg.mlp_ratio, kernel, stride, rates[start:start + cfg.depths[i]]))
            start += cfg.depths[i]
            channels = cfg.dims[i]
        self.stages = nn.ModuleList(stages)
        self.apply(_init_weights)

    @property
    def dims(self) -> tuple[int, int, int, int]:
        """Channels of the four output maps."""
        return self.config.dims

    def forward(self, x: Tensor) -> list[Tensor]:
        """``(B, C, H, W)`` -> four maps ``(B, dims[i], H / 2^(i+2), W / 2^(i+2))`` (rounded up)."""
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


def _init_weights(m: nn.Module) -> None:
    """SegFormer's initialisation: truncated normal (std 0.02) for linears, fan-out normal for convs."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Conv2d):
        fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
        nn.init.normal_(m.weight, 0.0, (2.0 / fan_out) ** 0.5)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
