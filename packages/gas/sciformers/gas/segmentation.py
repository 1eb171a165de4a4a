"""The training contract every gas segmentation model shares: logits in, cross-entropy, label maps out.

Batches are ``{"image": (B, C, H, W) float, "mask": (B, H, W) long}`` with ``255`` marking
pixels to ignore (mmsegmentation's convention). Models return logits ``(B, K, H, W)`` at the
input size; the loss is softmax cross-entropy, plain as in Gasformer's configs by default;
``foreground_weight`` > 1 weights every plume class against the background (a from-scratch
model on frames where the plume is a few per cent of the pixels otherwise settles on
"all background"). ``predict`` returns the arg-max label map as ``uint8``, so a whole test set of label
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


def example_batch(model: "SegmentationModule") -> dict[str, Tensor]:
    """Two 32x32 frames in ``model``'s input channels with binary masks (conformance suite)."""
    gen = torch.Generator().manual_seed(0)
    channels = int(getattr(model, "in_channels"))
    return {"image": torch.randn(2, channels, 32, 32, generator=gen),
            "mask": torch.randint(0, 2, (2, 32, 32), generator=gen)}


class SegmentationModule(TrainModule):
    """Base class: subclasses implement ``forward(image) -> logits (B, K, H, W)``.

    Args:
        foreground_weight: cross-entropy weight of every non-background class (background: 1).
    """

    def __init__(self, foreground_weight: float = 1.0) -> None:
        super().__init__()
        if not foreground_weight > 0:
            raise ValueError(f"foreground_weight must be positive, got {foreground_weight}")
        self.foreground_weight = float(foreground_weight)

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        logits = self(batch["image"])
        weight = None
        if self.foreground_weight != 1.0:
            weight = torch.full((logits.shape[1],), self.foreground_weight, device=logits.device, dtype=logits.dtype)
            weight[0] = 1.0
        return F.cross_entropy(logits, batch["mask"].long(), weight=weight, ignore_index=IGNORE_INDEX)

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        return self(batch["image"]).argmax(1).to(torch.uint8)
