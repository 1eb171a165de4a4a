"""The training contract every gas segmentation model shares: logits in, cross-entropy, label maps out.

Batches are ``{"image": (B, C, H, W) float, "mask": (B, H, W) long}`` with ``255`` marking
pixels to ignore (mmsegmentation's convention). Models return logits ``(B, K, H, W)`` at the
input size; the loss is plain softmax cross-entropy, as in Gasformer's configs (no class
weights). ``predict`` returns the arg-max label map as ``uint8``, so a whole test set of label
maps stays small.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sciformers.core import TrainModule

IGNORE_INDEX = 255


def check_image(x: Tensor, in_channels: int, name: str) -> None:
    """Raise a clear error unless ``x`` is ``(B, in_channels, H, W)``."""
    if x.dim() != 4 or x.shape[1] != in_channels:
        raise ValueError(f"{name}: expected images (B, {in_channels}, H, W), got {tuple(x.shape)}")


class SegmentationModule(TrainModule):
    """Base class: subclasses implement ``forward(image) -> logits (B, K, H, W)``."""

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        logits = self(batch["image"])
        return F.cross_entropy(logits, batch["mask"].long(), ignore_index=IGNORE_INDEX)

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        return self(batch["image"]).argmax(1).to(torch.uint8)
