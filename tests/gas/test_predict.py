"""``sciformers predict gas``: masks written under --out only, one line per frame, bad frames skipped or fatal."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from sciformers.core import create_model, save_model
from sciformers.evaluation.cli import main
from sciformers.evaluation.datasets import PredictRequest
from sciformers.gas.folder import load_image_folder, read_mask
from sciformers.gas.predict import predict_gas


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = create_model("unet", in_channels=1, num_classes=2, width=4)
    save_model(tmp_path / "final", model, {"model": "unet", "kwargs": {"in_channels": 1, "num_classes": 2, "width": 4}})
    return tmp_path / "final", model


def _listing(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


def _grey(seed=0, shape=(32, 48)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_masks_match_the_model_and_are_written_under_out(tmp_path, checkpoint, capsys):
    ckpt, model = checkpoint
    frames = tmp_path / "frames"
    frames.mkdir()
    grey = _grey()
    Image.fromarray(grey).save(frames / "a.png")
    Image.fromarray((grey.astype(np.uint16) * 257)).save(frames / "b.tif")  # 16-bit: the same frame
    before = _listing(frames)
    out = tmp_path / "out"
    assert main(["predict", "gas", "--checkpoint", str(ckpt), "--out", str(out), str(frames)]) == 0
    assert _listing(frames) == before  # nothing beside the frames
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(frames / "a.png"), str(frames / "b.tif")]
    assert [line.split("\t")[2] for line in lines] == [str(out / "a.mask.png"), str(out / "b.mask.png")]
    expected = model.eval().predict({"image": (torch.from_numpy(grey / 255.0).float()[None, None] - 0.5) / 0.25})[0]
    for stem in ("a", "b"):
        mask = read_mask(out / f"{stem}.mask.png")
        assert mask.shape == (32, 48)
        np.testing.assert_array_equal(mask, expected.numpy())
    fraction = float(lines[0].split("\t")[1])
    assert fraction == pytest.approx(float((expected > 0).float().mean()), abs=1e-4)
    with (out / "predictions.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["file", "plume_fraction", "mask_file"]
    assert [r[0] for r in rows[1:]] == [str(frames / "a.png"), str(frames / "b.tif")]
    assert float(rows[1][1]) == pytest.approx(fraction, abs=1e-4) and rows[1][2] == str(out / "a.mask.png")


def test_a_predicted_split_still_loads_and_stems_stay_apart(tmp_path, checkpoint):
    """The mmseg folder is untouched (it loaded, then failed, once masks were written into it)."""
    ckpt, _ = checkpoint
    root = tmp_path / "data"
    for split in ("train", "test"):
        (root / "img_dir" / split).mkdir(parents=True)
        (root / "ann_dir" / split).mkdir(parents=True)
        Image.fromarray(_grey(1)).save(root / "img_dir" / split / "f0.png")
        Image.fromarray(np.zeros((32, 48), np.uint8)).save(root / "ann_dir" / split / "f0.png")
    out = tmp_path / "out"
    out.mkdir()
    result = predict_gas(PredictRequest(ckpt, [str(root / "img_dir" / "train"), str(root / "img_dir" / "test")], out))
    assert {p.relative_to(out).as_posix() for p in result.written} == {
        "train/f0.mask.png", "test/f0.mask.png", "predictions.csv"}  # one stem twice: the folders keep them apart
    assert list(load_image_folder(root, "test")["names"]) == ["f0"]
    Image.fromarray(_grey(2)).save(root / "img_dir" / "test" / "f0.tif")  # same folder, same stem
    names = {p.relative_to(out).as_posix() for p in predict_gas(PredictRequest(ckpt, [str(root / "img_dir" / "test")],
                                                                                out)).written}
    assert names == {"f0.png.mask.png", "f0.tif.mask.png", "predictions.csv"}


def test_bad_inputs_are_clear_errors(tmp_path, checkpoint, capsys):
    ckpt, _ = checkpoint
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    (tmp_path / "notes.txt").write_text("x")
    base = ["predict", "gas", "--checkpoint", str(ckpt), "--out", str(tmp_path / "out")]
    for bad, message in (("rgb.png", "rgb.png: 3 channel"), ("notes.txt", "notes.txt: not a frame"),
                         ("missing.png", "missing.png: no such file")):
        assert main(base + [str(tmp_path / bad)]) == 2
        assert message in capsys.readouterr().err
    assert main(base + ["--option", "steps=3", str(tmp_path / "rgb.png")]) == 2
    assert "takes no options" in capsys.readouterr().err


def test_skip_invalid_goes_on_with_the_good_frames_and_all_bad_exits_1(tmp_path, checkpoint, capsys):
    ckpt, _ = checkpoint
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        Image.fromarray(_grey(i)).save(frames / f"f{i}.png")
    (frames / "f1.png").write_bytes(b"truncated, not a PNG")
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(frames / "rgb.png")
    before = _listing(frames)
    base = ["predict", "gas", "--checkpoint", str(ckpt)]
    assert main(base + ["--out", str(tmp_path / "o1"), str(frames)]) == 2  # stops before writing any mask
    assert "f1.png: cannot read image" in capsys.readouterr().err
    assert list((tmp_path / "o1").iterdir()) == []
    assert main(base + ["--out", str(tmp_path / "o2"), "--skip-invalid", str(frames)]) == 0
    captured = capsys.readouterr()
    assert [ln.split("\t")[0] for ln in captured.out.strip().splitlines()] == [str(frames / "f0.png"),
                                                                               str(frames / "f2.png")]
    assert f"skipped {frames / 'f1.png'}: cannot read image" in captured.err
    assert f"skipped {frames / 'rgb.png'}: 3 channel" in captured.err
    assert sorted(p.name for p in (tmp_path / "o2").iterdir()) == ["f0.mask.png", "f2.mask.png", "predictions.csv"]
    assert main(base + ["--out", str(tmp_path / "o3"), "--skip-invalid", str(frames / "f1.png"),
                        str(frames / "rgb.png")]) == 1
    assert "skipped" in capsys.readouterr().err
    assert _listing(frames) == before


def test_predict_help_lists_inputs(capsys):
    assert main(["predict", "gas", "--help"]) == 0
    out = capsys.readouterr().out
    assert "inputs:" in out and "PNG/TIFF" in out and "plume_fraction" in out
