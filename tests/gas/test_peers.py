"""Peers: equal-size UNet, SegFormer-B0 from HF config, and the threshold baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sciformers.core import create_model
from sciformers.gas.peers import ThresholdBaseline


def _n(model):
    return sum(p.numel() for p in model.parameters())


def test_unet_matches_gasformer_size_and_pads_odd_sizes():
    unet = create_model("unet", in_channels=1, num_classes=2)
    gasformer = create_model("gas.gasformer", in_channels=1, num_classes=2)
    assert abs(_n(unet) / _n(gasformer) - 1) < 0.05
    assert unet.eval()(torch.randn(1, 1, 36, 50)).shape == (1, 2, 36, 50)


def test_segformer_b0_peer():
    pytest.importorskip("transformers")
    model = create_model("segformer_b0", in_channels=1, num_classes=2).eval()
    assert 3.6e6 < _n(model) < 3.8e6
    with torch.no_grad():
        assert model(torch.randn(2, 1, 64, 64)).shape == (2, 2, 64, 64)
    loss = model.training_step({"image": torch.randn(2, 1, 32, 32), "mask": torch.randint(0, 2, (2, 32, 32))})
    loss.backward()
    assert torch.isfinite(loss)


def test_threshold_baseline_finds_a_bright_blob_and_fits_k():
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.normal(0, 1, (6, 1, 40, 40))).float()
    masks = torch.zeros(6, 40, 40, dtype=torch.long)
    masks[:, 15:20, 10:30] = 1
    images[:, 0, 15:20, 10:30] += 6.0
    model = ThresholdBaseline(size=15)
    model.fit(images, masks)
    pred = model.predict({"image": images})
    iou = ((pred > 0) & (masks > 0)).sum() / ((pred > 0) | (masks > 0)).sum()
    assert iou > 0.8
    assert float(model.k) >= 3.0  # low k lets noise through; the fit rejects it


def test_foreground_weight_is_a_class_weighted_cross_entropy():
    torch.manual_seed(0)
    image, mask = torch.randn(2, 1, 16, 16), (torch.rand(2, 16, 16) > 0.9).long()
    mask[0, 0, 0] = 255  # ignored pixel
    plain = create_model("unet", in_channels=1, num_classes=2, width=4)
    weighted = create_model("unet", in_channels=1, num_classes=2, width=4, foreground_weight=5.0)
    weighted.load_state_dict(plain.state_dict())
    logits = plain(image)
    batch = {"image": image, "mask": mask}
    expected = torch.nn.functional.cross_entropy(logits, mask, weight=torch.tensor([1.0, 5.0]), ignore_index=255)
    torch.testing.assert_close(weighted.training_step(batch), expected)
    torch.testing.assert_close(plain.training_step(batch), torch.nn.functional.cross_entropy(logits, mask, ignore_index=255))
    with pytest.raises(ValueError, match="foreground_weight must be positive"):
        create_model("gas.gasformer", foreground_weight=0.0)
