"""A small encoder classifier over token sequences, with a pluggable attention kernel.

The LRA recipe (Tay et al. 2021, https://arxiv.org/abs/2011.04006, sec. 3): token embedding plus
fixed sinusoidal positions, a pre-norm transformer encoder whose attention is the only thing that
changes between runs, masked mean pooling over real tokens, and a linear head. Holding everything
else fixed is what makes the kernels comparable.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.attention import Encoder, sinusoidal_encoding
from sciformers.core import TrainModule, register_model


def _example(model: "SequenceClassifier") -> dict[str, Tensor]:
    """Two padded sequences of token ids for the conformance suite."""
    tokens = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    return {"tokens": tokens, "mask": tokens != 0, "label": torch.tensor([0, 1])}


@register_model("attention.sequence_classifier", test_kwargs={"vocab_size": 8, "num_classes": 3, "dim": 16, "depth": 1,
                                                              "heads": 2}, example=_example)
class SequenceClassifier(TrainModule):
    """Embed -> encoder (any registered sequence attention) -> masked mean pool -> linear.

    Batches are ``{"tokens": (B, L) long, "mask": (B, L) bool (True = real token), "label": (B,)}``.

    Args:
        vocab_size: number of token ids (id 0 is padding).
        num_classes: number of labels.
        dim: model width.
        depth: encoder layers.
        heads: attention heads.
        mlp_ratio: feed-forward width over ``dim``.
        attention: registry name of the attention kernel (``softmax``, ``linear``, ``sinkhorn`` ...).
        attention_kwargs: keyword arguments of the kernel (e.g. ``{"n_iter": 3}``).
        dropout: dropout in the encoder.

    Positions are fixed sinusoids, so any sequence length works.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        dim: int = 64,
        depth: int = 2,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        attention: str = "softmax",
        attention_kwargs: dict[str, Any] | None = None,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.encoder = Encoder(
            depth, dim, heads, mlp_ratio=mlp_ratio, attention=attention,
            attention_kwargs=attention_kwargs or {}, dropout=dropout,
        )
        self.head = nn.Linear(dim, num_classes)

    def forward(self, tokens: Tensor, mask: Tensor) -> Tensor:
        """Class logits ``(B, num_classes)`` for ``tokens (B, L)`` with ``mask (B, L)``."""
        if tokens.dim() != 2 or mask.shape != tokens.shape:
            raise ValueError(f"tokens must be (B, L) with a mask of the same shape; got {tuple(tokens.shape)} and {tuple(mask.shape)}")
        pos = sinusoidal_encoding(tokens.shape[1], self.dim).to(self.embed.weight)
        h = self.encoder(self.embed(tokens) * self.dim**0.5 + pos, mask=mask)
        weights = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        return self.head(pooled)

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        return F.cross_entropy(self(batch["tokens"], batch["mask"]), batch["label"])

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        return self(batch["tokens"], batch["mask"])
