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


def test_16bit_tiff_frames_and_binarized_flow_masks(tmp_path):
    (tmp_path / "img_dir" / "test").mkdir(parents=True)
    (tmp_path / "ann_dir" / "test").mkdir(parents=True)
    frame = (np.arange(12 * 16).reshape(12, 16) * 300).astype(np.uint16)
    Image.fromarray(frame).save(tmp_path / "img_dir" / "test" / "a.tif")
    mask = np.zeros((12, 16), np.uint8)
    mask[2:5, 3:9], mask[0, 0] = 7, 255
    Image.fromarray(mask).save(tmp_path / "ann_dir" / "test" / "a.png")
    np.testing.assert_allclose(read_frame(tmp_path / "img_dir" / "test" / "a.tif")[0], frame / 65535.0, rtol=1e-6)
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
