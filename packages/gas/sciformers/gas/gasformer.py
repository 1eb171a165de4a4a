"""Gasformer: a MiT encoder and a Light-Ham decoder for segmenting gas plumes in OGI frames.

Sarker et al., "Gasformer: A Transformer-based Architecture for Segmenting Methane Emissions
from Livestock in Optical Gas Imaging", CVPR Workshops 2024, https://arxiv.org/abs/2404.10841.
The encoder is SegFormer's Mix Vision Transformer (MiT-B0 by default, :mod:`.mit`); the decoder
is the Light-Ham head over all four stages at 1/4 resolution with NMF matrix decomposition
(:mod:`.hamburger`). Logits are upsampled bilinearly to the input size (sec. 3 of the paper;
architecture and hyperparameters as in the authors' mmsegmentation configs).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from sciformers.core import register_model
from sciformers.gas.hamburger import LightHamHead
from sciformers.gas.mit import MixVisionTransformer
from sciformers.gas.segmentation import SegmentationModule, check_image, example_batch


@register_model("gas.gasformer", test_kwargs={"in_channels": 1, "num_classes": 2, "ham_channels": 32, "channels": 32,
                                             "rank": 4}, example=example_batch)
class Gasformer(SegmentationModule):
    """MiT encoder + Light-Ham decoder; ``forward`` returns logits ``(B, num_classes, H, W)``.

    Args:
        in_channels: input channels (1 for thermal frames, 3 for palette PNGs).
        num_classes: classes including background (2 for binary plume masks, 11 for flow bins).
        variant: MiT size, ``b0`` (default, ~3.7M parameters), ``b1`` or ``b2``.
        drop_path: stochastic-depth rate (0.1).
        ham_channels: width of the squeeze conv and the Hamburger (256).
        channels: width of the align conv (256).
        rank: NMF bases R (16).
        train_steps: NMF multiplicative updates in training (6).
        eval_steps: NMF multiplicative updates at evaluation (7).
        dropout: dropout before the classifier (0.1).
        foreground_weight: loss weight of the plume classes (see :class:`SegmentationModule`).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, variant: str = "b0", drop_path: float = 0.1,
                 ham_channels: int = 256, channels: int = 256, rank: int = 16, train_steps: int = 6,
                 eval_steps: int = 7, dropout: float = 0.1, foreground_weight: float = 1.0) -> None:
        super().__init__(foreground_weight)
        self.in_channels, self.num_classes = in_channels, num_classes
        self.encoder = MixVisionTransformer(in_channels, variant, drop_path)
        self.decoder = LightHamHead(self.encoder.dims, num_classes, ham_channels, channels, rank,
                                    train_steps, eval_steps, dropout)

    def forward(self, image: Tensor) -> Tensor:
        check_image(image, self.in_channels, "gas.gasformer")
        logits = self.decoder(self.encoder(image))
        return F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)
