"""The mmseg image-folder loader, on folders the tests write."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sciformers.gas.folder import load_image_folder, read_frame, read_mask, write_image_folder


def _data(n=3, h=12, w=16, c=1, seed=0):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (n, c, h, w), dtype=np.uint8)
    masks = rng.integers(0, 2, (n, h, w), dtype=np.uint8)
    return frames, masks


@pytest.mark.parametrize("channels, palette", [(1, False), (3, True)])
def test_round_trip(tmp_path, channels, palette):
    frames, masks = _data(c=channels)
    write_image_folder(tmp_path, "train", frames, masks, palette=palette)
    out = load_image_folder(tmp_path, "train", num_classes=2)
    np.testing.assert_allclose(out["frames"], frames / 255.0, atol=1e-7)
    np.testing.assert_array_equal(out["masks"], masks)
    assert list(out["names"]) == ["000000", "000001", "000002"]
    if palette:
        with Image.open(tmp_path / "ann_dir" / "train" / "000000.png") as img:
            assert img.mode == "P"


def _thermal_scene(h=48, w=64):
    """20 °C with a 25 °C object (a 5 K scene) and a 50 mK plume on the 20 °C part."""
    t = np.full((h, w), 293.15)
    t[:, 3 * w // 4:] = 298.15
    plume = np.zeros((h, w), bool)
    plume[10:30, 8:30] = True
    t[plume] += 0.05
    return t, plume


@pytest.mark.parametrize("encoding", ["uint16_centikelvin", "float32_kelvin"])
def test_thermal_tiffs_keep_a_50mk_plume_above_one_grey_level(tmp_path, encoding):
    t, plume = _thermal_scene()
    data = np.round(100 * t).astype(np.uint16) if encoding.startswith("uint16") else t.astype(np.float32)
    Image.fromarray(data).save(tmp_path / "f.tif")
    for frame in (read_frame(tmp_path / "f.tif"), _through_a_folder(tmp_path, data, plume)):
        assert frame.shape == (1, 48, 64) and frame.dtype == np.float32
        assert 0.0 <= frame.min() and frame.max() <= 1.0
        step = frame[0][plume].mean() - frame[0][~plume & (t < 295)].mean()
        assert step >= 1 / 255, step  # ~0.01: 50 mK of a 5 K span (was 7.6e-5 for 16 bits / 65535)


def _through_a_folder(root, data, plume):
    """The training path: the same file read by load_image_folder."""
    (root / "img_dir" / "train").mkdir(parents=True, exist_ok=True)
    (root / "ann_dir" / "train").mkdir(parents=True, exist_ok=True)
    Image.fromarray(data).save(root / "img_dir" / "train" / "a.tif")
    Image.fromarray(plume.astype(np.uint8)).save(root / "ann_dir" / "train" / "a.png")
    return load_image_folder(root, "train", num_classes=2)["frames"][0]


def test_non_finite_radiometric_frames_are_named(tmp_path):
    t, _ = _thermal_scene()
    t[0, 0] = np.nan
    Image.fromarray(t.astype(np.float32)).save(tmp_path / "nan.tif")
    with pytest.raises(ValueError, match="nan.tif: non-finite"):
        read_frame(tmp_path / "nan.tif")


def test_16bit_tiff_frames_and_binarized_flow_masks(tmp_path):
    (tmp_path / "img_dir" / "test").mkdir(parents=True)
    (tmp_path / "ann_dir" / "test").mkdir(parents=True)
    frame = (np.arange(12 * 16).reshape(12, 16) * 300).astype(np.uint16)
    Image.fromarray(frame).save(tmp_path / "img_dir" / "test" / "a.tif")
    mask = np.zeros((12, 16), np.uint8)
    mask[2:5, 3:9], mask[0, 0] = 7, 255
    Image.fromarray(mask).save(tmp_path / "ann_dir" / "test" / "a.png")
    lo, hi = np.percentile(frame, (0.5, 99.5))  # the camera's AGC stretch, per frame
    expected = np.clip((frame - lo) / (hi - lo), 0, 1)
    np.testing.assert_allclose(read_frame(tmp_path / "img_dir" / "test" / "a.tif")[0], expected, atol=1e-6)
    out = load_image_folder(tmp_path, "test", num_classes=2, binarize=True)
    assert out["masks"][0, 3, 4] == 1 and out["masks"][0, 0, 0] == 255 and out["masks"][0, 8, 8] == 0
    with pytest.raises(ValueError, match=r"a\.png: class values \[7\]"):
        load_image_folder(tmp_path, "test", num_classes=2, binarize=False)


def test_unpaired_and_mismatched_files_are_named(tmp_path):
    frames, masks = _data()
    write_image_folder(tmp_path, "val", frames, masks)
    (tmp_path / "ann_dir" / "val" / "000001.png").unlink()
    with pytest.raises(ValueError, match="000001.png has no mask"):
        load_image_folder(tmp_path, "val")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "ann_dir" / "val" / "000001.png")
    with pytest.raises(ValueError, match="000001.png is 16x12 but its mask .*000001.png is 5x5"):
        load_image_folder(tmp_path, "val")
    with pytest.raises(FileNotFoundError, match="img_dir/train"):
        load_image_folder(tmp_path, "train")


def test_bad_files_are_named(tmp_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="x.png: cannot read image"):
        read_frame(bad)
    rgb = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(rgb)
    with pytest.raises(ValueError, match="rgb.png: mask mode 'RGB'"):
        read_mask(rgb)
