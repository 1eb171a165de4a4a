"""Transformer building blocks over any registered sequence attention kernel.

Pre-norm blocks (Xiong et al. 2020, https://arxiv.org/abs/2002.04745): ``x + Attn(Norm(x))``
then ``x + FFN(Norm(x))``, with LayerNorm or RMSNorm, a GELU MLP or SwiGLU (Shazeer 2020,
https://arxiv.org/abs/2002.05202), optional rotary positions and cross-attention. Encoder,
decoder and encoder-decoder stacks are built from the same block, so a Llama-style decoder
(RMSNorm, rotary, SwiGLU, no biases) and a vanilla encoder differ only in arguments.
"""

from __future__ import annotations

from typing import Any, Literal

import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.attention.position import RotaryEmbedding
from sciformers.attention.registry import create_attention, get_attention_spec

Norm = Literal["layernorm", "rmsnorm"]
Mlp = Literal["gelu", "swiglu"]


def make_norm(kind: Norm, dim: int, bias: bool = True) -> nn.Module:
    """LayerNorm or RMSNorm over the last dimension."""
    if kind == "layernorm":
        return nn.LayerNorm(dim, bias=bias)
    if kind == "rmsnorm":
        return nn.RMSNorm(dim)
    raise ValueError(f"unknown norm {kind!r}; expected 'layernorm' or 'rmsnorm'")


class FeedForward(nn.Module):
    """Position-wise MLP: ``W2 GELU(W1 x)`` or SwiGLU ``W2 (SiLU(W1 x) * W3 x)``.

    Args:
        dim: input and output width.
        hidden: hidden width.
        kind: ``gelu`` or ``swiglu``.
        bias: biases in the linear layers.
        dropout: dropout on the hidden activation.
    """

    def __init__(self, dim: int, hidden: int, kind: Mlp = "gelu", bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        if kind not in ("gelu", "swiglu"):
            raise ValueError(f"unknown mlp {kind!r}; expected 'gelu' or 'swiglu'")
        self.kind = kind
        self.w1 = nn.Linear(dim, hidden, bias=bias)
        self.w3 = nn.Linear(dim, hidden, bias=bias) if kind == "swiglu" else None
        self.w2 = nn.Linear(hidden, dim, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        h = F.silu(self.w1(x)) * self.w3(x) if self.w3 is not None else F.gelu(self.w1(x))
        return self.w2(self.dropout(h))


class MultiHeadAttention(nn.Module):
    """Multi-head (self- or cross-) attention with any registered sequence kernel.

    Args:
        dim: model width.
        heads: number of heads.
        dim_head: width per head (default ``dim // heads``).
        attention: registry name of the kernel (``softmax``, ``linear``, ``sinkhorn`` ...).
        attention_kwargs: keyword arguments for the kernel.
        bias: biases in the projections.
        rotary: rotary embedding applied to queries and keys (self-attention positions).
        dropout: dropout on the output projection.
    """

    def __init__(
        self, dim: int, heads: int, dim_head: int | None = None, attention: str = "softmax",
        attention_kwargs: dict[str, Any] | None = None, bias: bool = True, rotary: RotaryEmbedding | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if dim_head is None:
            if dim % heads:
                raise ValueError(f"MultiHeadAttention: dim {dim} is not divisible by heads {heads}; pass dim_head")
            dim_head = dim // heads
        spec = get_attention_spec(attention)
        if spec.kind != "sequence":
            raise ValueError(f"MultiHeadAttention needs a sequence kernel; {attention!r} is a {spec.kind} layer")
        if rotary is not None and rotary.dim != dim_head:
            raise ValueError(f"MultiHeadAttention: rotary dim {rotary.dim} must equal dim_head {dim_head}")
        self.dim, self.heads, self.dim_head = dim, heads, dim_head
        self.attention = attention
        self.kernel = create_attention(attention, **(attention_kwargs or {}))
        self.supports_causal, self.mask_support = spec.causal, spec.mask
        self.to_q = nn.Linear(dim, heads * dim_head, bias=bias)
        self.to_k = nn.Linear(dim, heads * dim_head, bias=bias)
        self.to_v = nn.Linear(dim, heads * dim_head, bias=bias)
        self.to_out = nn.Linear(heads * dim_head, dim, bias=bias)
        self.rotary = rotary
        self.dropout = nn.Dropout(dropout)

    def _split(self, t: Tensor) -> Tensor:
        return t.unflatten(-1, (self.heads, self.dim_head)).transpose(1, 2)  # (B, H, N, d)

    def forward(
        self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None, causal: bool = False,
        positions: Tensor | None = None,
    ) -> Tensor:
        """Attend from ``x (B, N, dim)`` to ``context (B, M, dim)`` (default ``x``).

        Args:
            x: queries' tokens ``(B, N, dim)``.
            context: keys' and values' tokens ``(B, M, dim)``; ``None`` for self-attention.
            mask: ``(B, M)`` key-padding mask (True = real key), or a kernel mask broadcastable
                to ``(B, H, N, M)`` for kernels that support full masks.
            causal: causal attention (query ``i`` sees keys ``j <= i``).
            positions: rotary positions, ``(N,)`` or ``(B, N)``, integer steps or real
                coordinates (default ``0..N-1``); self-attention only.

        Raises:
            ValueError: on wrong input shapes, or a mask, causality or rotary positions the
                kernel or the call cannot honour.
        """
        for name, t in (("x", x), ("context", context)):
            if t is not None and (t.dim() != 3 or t.shape[-1] != self.dim):
                raise ValueError(f"MultiHeadAttention: {name} must be (B, N, {self.dim}), got {tuple(t.shape)}")
        if causal and not self.supports_causal:
            raise ValueError(f"MultiHeadAttention: kernel {self.attention!r} does not support causal=True")
        if mask is not None and self.mask_support == "none":
            raise ValueError(f"MultiHeadAttention: kernel {self.attention!r} does not support masks")
        self_attention = context is None
        if self.rotary is not None and not self_attention:
            raise ValueError("MultiHeadAttention: rotary positions are defined for self-attention only")
        context = x if context is None else context
        q, k, v = self._split(self.to_q(x)), self._split(self.to_k(context)), self._split(self.to_v(context))
        if self.rotary is not None:
            if positions is not None and positions.shape[-1] != x.shape[1]:
                raise ValueError(f"MultiHeadAttention: positions must be (N,) or (B, N) with N={x.shape[1]}, "
                                 f"got {tuple(positions.shape)}")
            if positions is not None and positions.dim() == 2:
                positions = positions[:, None]  # (B, 1, N): broadcast over heads
            q, k = self.rotary.apply(q, positions), self.rotary.apply(k, positions)
        if mask is not None and mask.dim() == 2:
            if mask.shape != (x.shape[0], context.shape[1]):
                raise ValueError(f"MultiHeadAttention: key-padding mask must be (B, M) = "
                                 f"{(x.shape[0], context.shape[1])}, got {tuple(mask.shape)}")
            if self_attention and self.mask_support == "full":
                # Padded tokens are neither keys nor queries: kernels that normalise over
                # queries too (Sinkhorn's column step) must not see them.
                mask = mask[:, None, :, None] & mask[:, None, None, :]
            else:
                mask = mask[:, None, None, :]
        out = self.kernel(q, k, v, mask=mask, causal=causal)
        return self.dropout(self.to_out(out.transpose(1, 2).flatten(2)))


class TransformerBlock(nn.Module):
    """Pre-norm block: self-attention, optional cross-attention, feed-forward, each residual.

    Args:
        dim: model width.
        heads: number of heads.
        mlp_ratio: feed-forward hidden width over ``dim``.
        norm: ``layernorm`` or ``rmsnorm``.
        mlp: ``gelu`` or ``swiglu``.
        attention: registry name of the self-attention kernel (cross-attention uses softmax).
        attention_kwargs: keyword arguments for that kernel.
        bias: biases in linear and norm layers.
        dropout: on attention and feed-forward outputs.
        cross_attention: add a cross-attention sub-layer (decoders).
        rotary: rotary embedding for self-attention (its ``dim`` is the head width).
        dim_head: width per head (default ``dim // heads``).
    """

    def __init__(
        self, dim: int, heads: int, mlp_ratio: float = 4.0, norm: Norm = "layernorm", mlp: Mlp = "gelu",
        attention: str = "softmax", attention_kwargs: dict[str, Any] | None = None, bias: bool = True,
        dropout: float = 0.0, cross_attention: bool = False, rotary: RotaryEmbedding | None = None,
        dim_head: int | None = None,
    ) -> None:
        super().__init__()
        self.norm1 = make_norm(norm, dim, bias)
        self.attn = MultiHeadAttention(dim, heads, dim_head, attention, attention_kwargs, bias, rotary, dropout)
        self.norm_cross = make_norm(norm, dim, bias) if cross_attention else None
        self.cross = MultiHeadAttention(dim, heads, dim_head, "softmax", None, bias, None, dropout) if cross_attention else None
        self.norm2 = make_norm(norm, dim, bias)
        self.ff = FeedForward(dim, int(dim * mlp_ratio), mlp, bias, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: Tensor, mask: Tensor | None = None, causal: bool = False, positions: Tensor | None = None,
        context: Tensor | None = None, context_mask: Tensor | None = None,
    ) -> Tensor:
        """``x + SelfAttn(Norm x)``, then ``+ CrossAttn(Norm x, context)``, then ``+ FFN(Norm x)``.

        Args:
            x: tokens ``(B, N, dim)``.
            mask: ``(B, N)`` key-padding mask (True = real token) for self-attention.
            causal: causal self-attention.
            positions: rotary positions ``(N,)`` or ``(B, N)``.
            context: ``(B, M, dim)`` for cross-attention.
            context_mask: ``(B, M)`` key-padding mask of the context.
        """
        if (context is None) != (self.cross is None):
            raise ValueError("TransformerBlock: pass a context exactly when built with cross_attention=True")
        x = x + self.attn(self.norm1(x), mask=mask, causal=causal, positions=positions)
        if self.cross is not None:
            x = x + self.cross(self.norm_cross(x), context=context, mask=context_mask)
        return x + self.dropout(self.ff(self.norm2(x)))


class Encoder(nn.Module):
    """A stack of non-causal blocks with a final norm.

    Args:
        depth: number of blocks.
        dim: model width.
        heads: number of heads.
        **block: further :class:`TransformerBlock` arguments (``attention``, ``norm``, ``mlp`` ...).
    """

    def __init__(self, depth: int, dim: int, heads: int, **block: Any) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, **block) for _ in range(depth))
        self.norm = make_norm(block.get("norm", "layernorm"), dim, block.get("bias", True))

    def forward(self, x: Tensor, mask: Tensor | None = None, positions: Tensor | None = None) -> Tensor:
        """Encode ``x (B, N, dim)``; ``mask (B, N)`` is True on real tokens, ``positions`` feed rotary."""
        for blk in self.blocks:
            x = blk(x, mask=mask, positions=positions)
        return self.norm(x)


class Decoder(nn.Module):
    """A stack of causal blocks with a final norm, cross-attending to a context.

    Args:
        depth: number of blocks.
        dim: model width.
        heads: number of heads.
        cross_attention: ``False`` for a decoder-only (language) model without a context.
        **block: further :class:`TransformerBlock` arguments; the self-attention kernel must
            support ``causal=True`` (``softmax``, ``linear``).
    """

    def __init__(self, depth: int, dim: int, heads: int, cross_attention: bool = True, **block: Any) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, heads, cross_attention=cross_attention, **block) for _ in range(depth)
        )
        self.norm = make_norm(block.get("norm", "layernorm"), dim, block.get("bias", True))

    def forward(
        self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None,
        context_mask: Tensor | None = None, positions: Tensor | None = None,
    ) -> Tensor:
        """``x (B, N, dim)`` attends causally to itself and fully to ``context (B, M, dim)``.

        Args:
            x: target tokens ``(B, N, dim)``.
            context: encoder output ``(B, M, dim)`` (required with cross-attention).
            mask: ``(B, N)`` key-padding mask of the target (True = real token).
            context_mask: ``(B, M)`` key-padding mask of the context.
            positions: rotary positions ``(N,)`` or ``(B, N)``.
        """
        for blk in self.blocks:
            x = blk(x, mask=mask, causal=True, positions=positions, context=context, context_mask=context_mask)
        return self.norm(x)


class EncoderDecoder(nn.Module):
    """Encoder over a source, causal decoder over a target cross-attending to the encoding.

    Args:
        encoder_depth: encoder blocks.
        decoder_depth: decoder blocks.
        dim: model width.
        heads: number of heads.
        **block: :class:`TransformerBlock` arguments shared by both stacks.
    """

    def __init__(self, encoder_depth: int, decoder_depth: int, dim: int, heads: int, **block: Any) -> None:
        super().__init__()
        self.encoder = Encoder(encoder_depth, dim, heads, **block)
        self.decoder = Decoder(decoder_depth, dim, heads, **block)

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None, tgt_mask: Tensor | None = None) -> Tensor:
        """Decoder states ``(B, N_tgt, dim)`` for ``src (B, N_src, dim)`` and ``tgt (B, N_tgt, dim)``;
        masks are ``(B, N)`` key-padding masks (True = real token)."""
        return self.decoder(tgt, context=self.encoder(src, mask=src_mask), mask=tgt_mask, context_mask=src_mask)
