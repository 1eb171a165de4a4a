"""Searchformer: an encoder-decoder transformer over planning token sequences.

Lehnert et al. 2024 (https://arxiv.org/abs/2402.14083, sec. 3.2, Fig. 4): the prompt (task
description) is encoded by a non-causal encoder; a causal decoder cross-attends to it and
predicts the response token by token. Both stacks use rotary positions (RoPE), RMSNorm and
SwiGLU feed-forward layers, with one token embedding shared by encoder, decoder and the output
projection. Training minimises the next-token cross-entropy of the response (teacher forcing):

    L = - 1/|y| sum_t log p(y_t | y_<t, x)                                  (eq. 1)

The same network is trained in two modes that differ only in their data: **search-augmented**
(``planning.searchformer_trace``: response = A* trace + plan) and **solution-only**
(``planning.searchformer_plan``: response = plan). Paper sizes (layers x heads x width): 6x3x192
(15M), 8x4x384 (45M), 9x4x768 (175M).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.attention import EncoderDecoder, RotaryEmbedding
from sciformers.core import TrainModule, register_model

Mode = Literal["trace", "plan"]


class Searchformer(TrainModule):
    """Encoder-decoder transformer with RoPE, RMSNorm and SwiGLU (no biases).

    Batches are dicts with ``src (B, M)``, ``src_mask (B, M)``, ``tgt (B, N)`` (``bos ... eos``,
    padded with 0) and ``tgt_mask (B, N)``; masks are True on real tokens.

    Args:
        vocab_size: number of token ids (id 0 is padding).
        mode: ``trace`` (search-augmented) or ``plan`` (solution-only); selects the training data.
        dim: model width.
        heads: attention heads.
        encoder_depth: encoder layers.
        decoder_depth: decoder layers.
        mlp_ratio: SwiGLU hidden width over ``dim``.
        dropout: dropout inside the blocks.
        max_new_tokens: longest response generated at evaluation.
    """

    def __init__(self, vocab_size: int, mode: Mode = "trace", dim: int = 192, heads: int = 3,
                 encoder_depth: int = 6, decoder_depth: int = 6, mlp_ratio: float = 4.0, dropout: float = 0.0,
                 max_new_tokens: int = 512) -> None:
        super().__init__()
        if mode not in ("trace", "plan"):
            raise ValueError(f"Searchformer: mode must be 'trace' or 'plan', got {mode!r}")
        if dim % heads or (dim // heads) % 2:
            raise ValueError(f"Searchformer: dim {dim} must split into {heads} heads of even width")
        self.vocab_size, self.mode, self.dim, self.max_new_tokens = vocab_size, mode, dim, max_new_tokens
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.net = EncoderDecoder(
            encoder_depth, decoder_depth, dim, heads, mlp_ratio=mlp_ratio, norm="rmsnorm", mlp="swiglu",
            bias=False, dropout=dropout, rotary=RotaryEmbedding(dim // heads),
        )
        self.head = nn.Linear(dim, vocab_size, bias=False)
        self.head.weight = self.embed.weight  # tied input/output embedding
        nn.init.normal_(self.embed.weight, std=dim**-0.5)

    @property
    def with_trace(self) -> bool:
        """Whether the responses hold a search trace before the plan (scored with ``ilr``)."""
        return self.mode == "trace"

    def encode(self, src: Tensor, src_mask: Tensor) -> Tensor:
        """Encoder states ``(B, M, dim)`` of the prompt."""
        return self.net.encoder(self.embed(src), mask=src_mask)

    def forward(self, src: Tensor, src_mask: Tensor, tgt: Tensor, tgt_mask: Tensor) -> Tensor:
        """Next-token logits ``(B, N, vocab)`` for every position of ``tgt``."""
        if src.shape != src_mask.shape or tgt.shape != tgt_mask.shape:
            raise ValueError(f"Searchformer: token and mask shapes differ: src {tuple(src.shape)} / "
                             f"{tuple(src_mask.shape)}, tgt {tuple(tgt.shape)} / {tuple(tgt_mask.shape)}")
        memory = self.encode(src, src_mask)
        # Causal attention already hides a right-padded target's padding from every real query,
        # so such a target needs no key-padding mask (SDPA's causal kernel; padded rows are ignored).
        self_mask = None if is_right_padded(tgt_mask) else tgt_mask
        h = self.net.decoder(self.embed(tgt), context=memory, mask=self_mask, context_mask=src_mask)
        return self.head(h)

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        # eq. 1: teacher forcing; predict tgt[1:] from tgt[:-1], padding ignored
        tgt, mask = batch["tgt"], batch["tgt_mask"]
        logits = self(batch["src"], batch["src_mask"], tgt[:, :-1], mask[:, :-1])
        labels = tgt[:, 1:].masked_fill(~mask[:, 1:], -100)
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        """Greedy responses ``(B, max_new_tokens + 1)`` (``bos`` first, padded with 0)."""
        from sciformers.planning.decoding import generate

        out = generate(self, batch["src"], batch["src_mask"], self.max_new_tokens)
        return F.pad(out, (0, self.max_new_tokens + 1 - out.shape[1]))


def is_right_padded(mask: Tensor) -> bool:
    """Whether every row of a ``(B, N)`` mask is a run of True followed only by False."""
    return bool((mask.long().cummin(dim=1).values.bool() == mask).all())


#: The response each registered Searchformer is trained on (its data and its decoding budget).
MODES: dict[str, Mode] = {"planning.searchformer_trace": "trace", "planning.searchformer_plan": "plan"}

TEST_KWARGS: dict[str, Any] = {"vocab_size": 20, "dim": 16, "heads": 2, "encoder_depth": 1, "decoder_depth": 1,
                               "mlp_ratio": 2, "max_new_tokens": 4}


def example_batch(model: Searchformer) -> dict[str, Tensor]:
    """Two padded prompt/response pairs that ``predict`` and ``training_step`` of a Searchformer
    with ``vocab_size >= 13`` accept."""
    src = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 9, 2, 0]])
    tgt = torch.tensor([[1, 10, 11, 2], [1, 12, 2, 0]])
    return {"src": src, "src_mask": src > 0, "tgt": tgt, "tgt_mask": tgt > 0}


@register_model("planning.searchformer_trace", test_kwargs=TEST_KWARGS, example=example_batch)
def searchformer_trace(**kwargs) -> Searchformer:
    """Search-augmented Searchformer: trained on A* trace + plan."""
    kwargs.pop("mode", None)
    return Searchformer(mode="trace", **kwargs)


@register_model("planning.searchformer_plan", test_kwargs=TEST_KWARGS, example=example_batch)
def searchformer_plan(**kwargs) -> Searchformer:
    """Solution-only baseline of the same architecture: trained on the plan alone."""
    kwargs.pop("mode", None)
    return Searchformer(mode="plan", **kwargs)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (tied weights counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters() if p.requires_grad}.values())

