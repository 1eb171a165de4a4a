"""``sciformers predict gas``: masks written beside the frames, one line per frame, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from sciformers.core import create_model, save_model
from sciformers.evaluation.cli import main
from sciformers.gas.folder import read_mask
from sciformers.gas.predict import predict_gas


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = create_model("unet", in_channels=1, num_classes=2, width=4)
    save_model(tmp_path / "final", model, {"model": "unet", "kwargs": {"in_channels": 1, "num_classes": 2, "width": 4}})
    return tmp_path / "final", model


def test_masks_match_the_model_and_are_written_beside_the_frames(tmp_path, checkpoint, capsys):
    ckpt, model = checkpoint
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (32, 48), dtype=np.uint8)
    Image.fromarray(grey).save(frames / "a.png")
    Image.fromarray((grey.astype(np.uint16) * 257)).save(frames / "b.tif")  # 16-bit: the same frame
    assert main(["predict", "gas", "--checkpoint", str(ckpt), str(frames)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(frames / "a.png"), str(frames / "b.tif")]
    expected = model.eval().predict({"image": (torch.from_numpy(grey / 255.0).float()[None, None] - 0.5) / 0.25})[0]
    for stem in ("a", "b"):
        mask = read_mask(frames / f"{stem}.mask.png")
        assert mask.shape == (32, 48)
        np.testing.assert_array_equal(mask, expected.numpy())
    fraction = float(lines[0].split("\t")[1])
    assert fraction == pytest.approx(float((expected > 0).float().mean()), abs=1e-4)
    assert len(predict_gas(ckpt, [str(frames)])) == 2  # a second pass skips its own *.mask.png outputs


def test_bad_inputs_are_clear_errors(tmp_path, checkpoint):
    ckpt, _ = checkpoint
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match="rgb.png: 3 channel"):
        predict_gas(ckpt, [str(tmp_path / "rgb.png")])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="notes.txt: not a frame"):
        predict_gas(ckpt, [str(tmp_path / "notes.txt")])
    with pytest.raises(FileNotFoundError, match="missing.png"):
        predict_gas(ckpt, [str(tmp_path / "missing.png")])
