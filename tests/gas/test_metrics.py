"""Plume metrics against hand-computed values and a NumPy reference."""

from __future__ import annotations

import math

import numpy as np
import torch

from sciformers.gas import metrics as gm


def test_plume_iou_f1_miou_against_numpy():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 3, (5, 8, 8))
    pred = rng.integers(0, 3, (5, 8, 8))
    target[0, 0, :4] = 255
    keep = target != 255
    p, t = pred[keep] > 0, target[keep] > 0
    iou = (p & t).sum() / (p | t).sum()
    f1 = 2 * (p & t).sum() / (p.sum() + t.sum())
    ious = [((pred[keep] == c) & (target[keep] == c)).sum() / ((pred[keep] == c) | (target[keep] == c)).sum()
            for c in range(3)]
    tp, tt = torch.from_numpy(pred), torch.from_numpy(target)
    assert math.isclose(gm.plume_iou(tp, tt), iou)
    assert math.isclose(gm.plume_f1(tp, tt), f1)
    assert math.isclose(gm.miou(tp, tt), float(np.mean(ious)))
    empty = torch.zeros(2, 4, 4, dtype=torch.long)
    assert gm.plume_iou(empty, empty) == 1.0 and gm.plume_f1(empty, empty) == 1.0


def test_detection_rate_pod_and_dl90():
    # 4 gas-free frames (one false alarm of 3 px), 6 frames with gas at flows 10..60
    pred = torch.zeros(10, 8, 8, dtype=torch.long)
    target = torch.zeros(10, 8, 8, dtype=torch.long)
    pred[0, 0, :3] = 1
    flows = np.array([0, 0, 0, 0, 10, 20, 30, 40, 50, 60], float)
    for i, area in zip(range(4, 10), [0, 2, 5, 20, 30, 40]):
        target[i, :, :5] = 1
        pred[i].view(-1)[:area] = 1
    # fpr 0.25 -> threshold = the 3-px false alarm -> frames with area > 3 detected: 4 of 6
    assert math.isclose(gm.detection_rate(pred, target, flows, fpr=0.25, min_area=10), 4 / 6)
    pod = gm.pod_by_flow(pred, flows, np.array([0, 20, 40, 60]), fpr=0.25)
    np.testing.assert_allclose(pod, [0.0, 0.5, 1.0])  # [0,20): 10; [20,40): 20,30; [40,60]: 40,50,60
    assert math.isclose(gm.dl90(pod, np.array([10.0, 30.0, 50.0])), 30 + 0.4 / 0.5 * 20)
    assert math.isnan(gm.dl90(np.array([0.1, 0.5]), np.array([1.0, 2.0])))
