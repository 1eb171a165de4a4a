"""SegFormer's efficient self-attention: keys and values from a spatially reduced image.

Xie et al., "SegFormer: Simple and Efficient Design for Semantic Segmentation with
Transformers", NeurIPS 2021, https://arxiv.org/abs/2105.15203 (sec. 3.1, eq. 1-2). With
reduction ratio R, K and V come from a ``Conv2d(kernel=stride=R)`` of the ``H x W`` feature
map followed by LayerNorm, so the attention costs O(N^2 / R^2) instead of O(N^2).
``R = 1`` is plain multi-head self-attention. As in SegFormer, the strided convolution drops
trailing rows/columns when ``H`` or ``W`` is not a multiple of ``R``.
"""

from __future__ import annotations

from torch import Tensor, nn

from sciformers.attention.registry import AttentionSpec, register_attention
from sciformers.attention.softmax import softmax_attention


class SpatialReductionAttention(nn.Module):
    """Multi-head self-attention over an image's tokens with spatially reduced keys/values.

    Args:
        dim: channels per token.
        heads: number of heads (``dim`` divisible by it).
        sr: spatial reduction ratio R (SegFormer-B0 stages use 8, 4, 2, 1).
        qkv_bias: biases in the query and key/value projections.
    """

    def __init__(self, dim: int, heads: int = 1, sr: int = 1, qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"spatial_reduction: dim {dim} not divisible by heads {heads}")
        if sr < 1:
            raise ValueError(f"spatial_reduction: sr must be >= 1, got {sr}")
        self.dim, self.heads, self.sr = dim, heads, sr
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        if sr > 1:
            self.reduce = nn.Conv2d(dim, dim, kernel_size=sr, stride=sr)
            self.norm = nn.LayerNorm(dim)

    def reduced(self, x: Tensor, height: int, width: int) -> Tensor:
        """Tokens keys and values are computed from: ``x`` itself, or the reduced map (eq. 2)."""
        if self.sr == 1:
            return x
        image = x.transpose(1, 2).reshape(x.shape[0], self.dim, height, width)
        return self.norm(self.reduce(image).flatten(2).transpose(1, 2))

    def forward(self, x: Tensor, height: int, width: int) -> Tensor:
        """``x (B, H*W, dim)`` -> ``(B, H*W, dim)``."""
        if x.dim() != 3 or x.shape[-1] != self.dim or x.shape[1] != height * width:
            raise ValueError(
                f"spatial_reduction: x must be (B, H*W={height * width}, {self.dim}), got {tuple(x.shape)}"
            )
        split = lambda t: t.unflatten(-1, (self.heads, -1)).transpose(1, 2)  # noqa: E731
        q = split(self.q(x))
        k, v = (split(t) for t in self.kv(self.reduced(x, height, width)).chunk(2, dim=-1))
        out = softmax_attention(q, k, v)
        return self.proj(out.transpose(1, 2).flatten(2))


register_attention(AttentionSpec(
    name="spatial_reduction", factory=SpatialReductionAttention, kind="image", causal=False, mask="none",
    paper="https://arxiv.org/abs/2105.15203",
    description="SegFormer efficient attention: K/V from a strided conv + LayerNorm (ratio sr)",
))
