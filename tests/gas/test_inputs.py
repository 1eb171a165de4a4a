"""Model inputs: standardisation, temporal context against explicit loops, and the task's per-rate PoD."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sciformers.gas.data import OGIData, OGIDataset
from sciformers.gas.inputs import DIFFERENCE_GAIN, sequence_context, temporal_input
from sciformers.gas.peers import ThresholdBaseline
from sciformers.gas.synthetic import GeneratorConfig, generate_split
from sciformers.gas.task import describe_data, pod_bins


def _timeline(split, s):
    """Sequence ``s`` of a split as one array: its lead frames, then its frames."""
    return np.concatenate([split["lead"][s], split["frames"][split["sequence"] == s]])


def test_sequence_context_is_the_previous_frames_of_the_same_sequence():
    split = generate_split(GeneratorConfig(size=16, frames_per_seq=3, history=2), "train", 8)  # last sequence cut
    context = sequence_context(split["frames"], split["lead"], split["sequence"], split["position"])
    assert context.shape == (8, 2, 1, 16, 16)
    for i, (s, p) in enumerate(zip(split["sequence"], split["position"])):
        line = _timeline(split, s)
        np.testing.assert_array_equal(line[2 + p], split["frames"][i])
        np.testing.assert_array_equal(context[i], line[p:p + 2])  # the two frames before, oldest first


def test_temporal_inputs_against_explicit_formulas():
    rng = np.random.default_rng(0)
    frames = rng.random((3, 1, 5, 6)).astype(np.float32)
    context = rng.random((3, 4, 1, 5, 6)).astype(np.float32)
    f, c = torch.from_numpy(frames), torch.from_numpy(context)
    single = temporal_input(f, None, "none")
    torch.testing.assert_close(single, (f - 0.5) / 0.25)
    diff = temporal_input(f, c, "difference")
    assert diff.shape == (3, 2, 5, 6)
    background = sum(context[:, k] for k in range(4)) / 4
    np.testing.assert_allclose(diff[:, 1:].numpy(), DIFFERENCE_GAIN * (frames - background), rtol=1e-5, atol=1e-5)
    stack = temporal_input(f, c, "stack")
    assert stack.shape == (3, 5, 5, 6)
    torch.testing.assert_close(stack[:, :1], single)
    for k in range(4):  # then the previous frames, newest first
        np.testing.assert_allclose(stack[:, 1 + k].numpy(), (context[:, 3 - k, 0] - 0.5) / 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="data.history >= 1"):
        temporal_input(f, None, "difference")


def test_temporal_config_errors_and_dataset_channels():
    with pytest.raises(ValueError, match="data.temporal='stack' needs data.history"):
        OGIData.parse({"temporal": "stack", "history": 0}, where="data")
    with pytest.raises(ValueError, match="image folders hold no sequences"):
        OGIData.parse({"temporal": "difference", "path": "/tmp/x"}, where="data")
    frames = np.zeros((2, 3, 8, 8), np.uint8)
    ds = OGIDataset(frames, np.zeros((2, 8, 8), np.uint8), context=np.zeros((2, 4, 3, 8, 8), np.uint8),
                    temporal="difference")
    assert ds.images.shape == (2, 6, 8, 8) and ds.frame_channels == 3


def test_threshold_baseline_reads_the_current_frame_only():
    rng = np.random.default_rng(0)
    frame = torch.from_numpy(rng.normal(0, 1, (2, 1, 32, 32))).float()
    frame[:, :, 10:14, 5:25] += 8.0
    noise = torch.from_numpy(rng.normal(0, 50, (2, 1, 32, 32))).float()  # a loud second channel
    model = ThresholdBaseline(size=15, channels=1)
    np.testing.assert_array_equal(model.residual(torch.cat([frame, noise], 1)), model.residual(frame))


def test_pod_bins_one_per_release_rate():
    edges, centers = pod_bins((10, 100), [10.0, 20.0, 30.0], 5)
    np.testing.assert_allclose(centers, [10, 20, 30])
    np.testing.assert_allclose(edges, [5, 15, 25, 35])
    edges, centers = pod_bins((20, 100), None, 4)
    np.testing.assert_allclose(edges, [20, 40, 60, 80, 100])
    np.testing.assert_allclose(centers, [30, 50, 70, 90])


def test_the_data_line_names_the_users_folder_or_the_generator():
    folder = describe_data({"path": "/data/ogi", "binarize": True, "num_classes": 2})
    assert "/data/ogi" in folder and "not the synthetic generator" in folder
    synthetic = describe_data(OGIData().model_dump(mode="json"), "low_flow")
    assert "synthetic generator" in synthetic and "[5.0, 10.0] SCCM" in synthetic and "one grey level" in synthetic
