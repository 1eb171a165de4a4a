"""Read classification by fine-tuning a pretrained DNA LM: full, or low-rank adapters (LoRA).

METAGENE-1's Pathogen-Detect evaluation fine-tunes the LM with a sequence
classification head on mean-pooled hidden states, with LoRA (Hu et al. 2021,
https://arxiv.org/abs/2106.09685; r = 8, alpha = 16 on the q, k, v and output projections).
LoRA replaces a frozen ``W`` by ``W + (alpha / r) B A`` (eq. 3) with ``A`` Gaussian and
``B`` zero at the start, so fine-tuning starts from the pretrained function.

``peft`` is not a dependency (it pulls in ``transformers`` and ``accelerate``); the adapter
below is the same construction on our own attention projections.
"""

from __future__ import annotations

import copy
import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.core import TrainModule
from sciformers.genomics.model import DNALanguageModel, DNATransformer, mean_pool

LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out")


class LoRALinear(nn.Module):
    """``y = W x + (alpha / r) B A x`` with the base ``W`` frozen (eq. 3).

    Args:
        base: the pretrained linear layer (frozen here).
        r: adapter rank.
        alpha: scaling numerator.
    """

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = 16.0) -> None:
        super().__init__()
        if r < 1:
            raise ValueError(f"LoRA rank must be >= 1, got {r}")
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.lora_a = nn.Parameter(torch.randn(r, base.in_features) / math.sqrt(r))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, r))
        self.scale = alpha / r

    def forward(self, x: Tensor) -> Tensor:
        return self.base(x) + self.scale * F.linear(F.linear(x, self.lora_a), self.lora_b)


def apply_lora(module: nn.Module, r: int = 8, alpha: float = 16.0, targets: tuple[str, ...] = LORA_TARGETS) -> int:
    """Freeze ``module`` and wrap every linear layer named in ``targets`` with :class:`LoRALinear`.

    Returns:
        The number of wrapped layers.
    """
    for p in module.parameters():
        p.requires_grad_(False)
    wrapped = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if name in targets and isinstance(child, nn.Linear):
                setattr(parent, name, LoRALinear(child, r, alpha))
                wrapped += 1
    if wrapped == 0:
        raise ValueError(f"no linear layers named {targets} to adapt")
    return wrapped


class ReadClassifier(TrainModule):
    """A classification head on mean-pooled states of a (pretrained) DNA backbone.

    Args:
        backbone: the DNA transformer (its weights are fine-tuned or adapted in place).
        num_classes: output classes.
        mode: ``full`` fine-tuning or ``lora`` adapters (the head is always trained).
        lora_r: adapter rank.
        lora_alpha: adapter scaling numerator.
    """

    def __init__(self, backbone: DNATransformer, num_classes: int = 2, mode: Literal["full", "lora"] = "full",
                 lora_r: int = 8, lora_alpha: float = 16.0) -> None:
        super().__init__()
        if mode not in ("full", "lora"):
            raise ValueError(f"fine-tuning mode must be 'full' or 'lora', got {mode!r}")
        self.backbone = backbone
        if mode == "lora":
            apply_lora(self.backbone, lora_r, lora_alpha)
        self.head = nn.Linear(backbone.config.dim, num_classes)

    @classmethod
    def from_pretrained(cls, lm: DNALanguageModel, num_classes: int = 2) -> "ReadClassifier":
        """A classifier on a copy of ``lm``'s backbone, fine-tuned as ``lm.finetune`` says (``lm`` is left as it is)."""
        ft = lm.finetune
        return cls(copy.deepcopy(lm.backbone), num_classes, ft.mode, ft.r, ft.alpha)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Class logits ``(B, num_classes)``."""
        hidden = self.backbone(batch["input_ids"], batch["segments"], batch["positions"])
        return self.head(mean_pool(hidden, batch["segments"]))

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        return F.cross_entropy(self(batch), batch["label"])

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        return self(batch)
