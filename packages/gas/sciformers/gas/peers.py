"""Peers trained from scratch on the same data and schedule as Gasformer, and the threshold baseline.

- ``segformer_b0``: Hugging Face ``SegformerForSemanticSegmentation`` with the default config (which
  is exactly B0: 32/64/160/256, sr 8/4/2/1, an all-MLP decoder of width 256), random init
  (Xie et al. 2021, https://arxiv.org/abs/2105.15203). Its logits (1/4 size) are upsampled
  bilinearly to the input, and it gets the same cross-entropy as Gasformer.
- ``unet``: a 4-level UNet (Ronneberger et al. 2015, https://arxiv.org/abs/1505.04597) with
  BatchNorm, whose base width (22) puts it at Gasformer-B0's ~3.7M parameters.
- ``threshold``: the classical OGI detector: ``|frame - median_filter(frame)| > k * NETD``, with
  the NETD estimated per frame from the residual's median absolute deviation and ``k`` fitted
  on the training set (the value with the best plume IoU).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import Tensor, nn

from sciformers.core import register_model
from sciformers.gas.segmentation import IGNORE_INDEX, SegmentationModule, check_image, example_batch


@register_model("segformer_b0", test_kwargs={"in_channels": 1, "num_classes": 2}, example=example_batch)
class SegFormerB0(SegmentationModule):
    """HF SegFormer-B0 with random weights (``transformers`` is imported lazily).

    Args:
        in_channels: input channels.
        num_classes: output classes.
        foreground_weight: loss weight of the plume classes (see :class:`SegmentationModule`).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, foreground_weight: float = 1.0, **_: Any) -> None:
        super().__init__(foreground_weight)
        try:
            from transformers import SegformerConfig, SegformerForSemanticSegmentation
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("segformer_b0 needs transformers: pip install 'sciformers[gas]'") from err
        self.in_channels = in_channels
        self.net = SegformerForSemanticSegmentation(SegformerConfig(num_labels=num_classes, num_channels=in_channels))

    def forward(self, image: Tensor) -> Tensor:
        check_image(image, self.in_channels, "segformer_b0")
        logits = self.net(pixel_values=image).logits
        return F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)


class DoubleConv(nn.Sequential):
    """(3x3 conv, BatchNorm, ReLU) twice."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        )


@register_model("unet", test_kwargs={"in_channels": 1, "num_classes": 2, "width": 4}, example=example_batch)
class UNet(SegmentationModule):
    """A 4-level UNet: widths ``w, 2w, 4w, 8w, 16w``, max-pool down, transposed-conv up, skip concat.

    Args:
        in_channels: input channels.
        num_classes: output classes.
        width: base width (22 matches Gasformer-B0's parameter count).
        foreground_weight: loss weight of the plume classes (see :class:`SegmentationModule`).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 22, foreground_weight: float = 1.0,
                 **_: Any) -> None:
        super().__init__(foreground_weight)
        self.in_channels = in_channels
        widths = [width * 2**i for i in range(5)]
        self.down = nn.ModuleList([DoubleConv(in_channels, widths[0])]
                                  + [DoubleConv(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.up = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in zip(widths[:-1], widths[1:]))
        self.merge = nn.ModuleList(DoubleConv(2 * a, a) for a in widths[:-1])
        self.classifier = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, image: Tensor) -> Tensor:
        check_image(image, self.in_channels, "unet")
        h, w = image.shape[-2:]
        pad = (-w % 16, -h % 16)  # four poolings need sizes divisible by 16
        x = F.pad(image, (0, pad[0], 0, pad[1]), mode="replicate")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for up, merge in zip(reversed(self.up), reversed(self.merge)):
            x = merge(torch.cat([skips.pop(), up(x)], dim=1))
        return self.classifier(x)[..., :h, :w]


@register_model("threshold", kind="estimator", test_kwargs={"size": 5, "candidates": (2.0, 3.0)})
class ThresholdBaseline(SegmentationModule):
    """``|frame - median_filter(frame, size)| > k * NETD_hat`` per channel-averaged frame.

    ``NETD_hat = 1.4826 * MAD`` of the residual (a robust noise estimate that the plume, a
    minority of pixels, barely moves). :meth:`fit` picks ``k`` from ``candidates`` by training
    plume IoU. Multi-class masks get the most frequent training plume class. With temporal
    inputs (``data.temporal``) it reads the current frame only, the first ``channels`` channels.

    Args:
        size: median-filter window, px (larger than a plume's width).
        candidates: the ``k`` values tried.
        channels: leading input channels holding the current frame (``None``: all).
    """

    def __init__(self, size: int = 15, candidates: tuple[float, ...] = (1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0),
                 channels: int | None = None, **_: Any) -> None:
        super().__init__()
        self.size, self.candidates, self.channels = size, tuple(candidates), channels
        self.register_buffer("k", torch.tensor(3.0))
        self.register_buffer("label", torch.tensor(1, dtype=torch.long))

    def residual(self, image: Tensor) -> np.ndarray:
        """Normalised residuals ``|frame - median| / NETD_hat`` ``(B, H, W)``."""
        frames = image[:, :self.channels].detach().cpu().double().mean(1).numpy()
        out = np.empty_like(frames)
        for i, frame in enumerate(frames):
            r = frame - ndimage.median_filter(frame, size=self.size, mode="reflect")
            netd = 1.4826 * np.median(np.abs(r - np.median(r))) + 1e-9
            out[i] = np.abs(r) / netd
        return out

    def fit(self, images: Tensor, masks: Tensor) -> None:
        """Choose ``k`` (and the plume label) on training frames ``(N, C, H, W)`` and masks ``(N, H, W)``."""
        res = self.residual(images)
        masks = masks.numpy()
        valid, truth = masks != IGNORE_INDEX, (masks > 0) & (masks != IGNORE_INDEX)
        scores = []
        for k in self.candidates:
            pred = (res > k) & valid
            union = (pred | truth).sum()
            scores.append((pred & truth).sum() / union if union else 1.0)
        self.k.fill_(self.candidates[int(np.argmax(scores))])
        labels = masks[truth]
        if labels.size:
            self.label.fill_(int(np.bincount(labels).argmax()))

    def forward(self, image: Tensor) -> Tensor:
        """Two-class scores: plume where the residual exceeds ``k`` (one-hot, for the shared API)."""
        plume = torch.from_numpy(self.residual(image) > float(self.k)).to(image.device)
        return torch.stack([~plume, plume], 1).to(image.dtype)

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        return self(batch["image"]).argmax(1).to(torch.uint8) * self.label.to(torch.uint8)
