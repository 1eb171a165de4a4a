"""Image folders in the mmsegmentation layout, for real OGI footage (Gasformer's data, GasVid, your own).

::

    root/img_dir/{train,val,test}/NAME.png|.tif     frames: 8-bit grey or RGB (palette exports),
                                                    16-bit counts or float32 radiometric temperatures
    root/ann_dir/{train,val,test}/NAME.png          masks: class indices, as grey or palette ("P") PNGs

A mask pairs with the frame of the same stem. Class ``255`` is ignored in the loss, as in mmseg.
Frames are scaled to ``[0, 1]`` in one place, :func:`read_frame`, which training folders and
``sciformers predict gas`` share: an 8-bit frame is already a display frame (its camera's AGC
and palette applied) and is divided by 255; a 16-bit frame (raw counts, e.g. centi-kelvin) or a
float32 radiometric frame (kelvin or °C) gets the camera's AGC stretch, per frame, between its
0.5 and 99.5 percentiles (:func:`~sciformers.gas.camera.agc_span`), so a 50 mK plume in a scene
spanning a few kelvin keeps a step of several grey levels (divided by 65535 it kept 3e-4). With
``binarize=True`` every non-zero class except 255 becomes plume (1), which turns Gasformer's
11-class flow masks (or 0/1 or 0/128 masks) into binary ones. Missing partners, size
mismatches and bad class values are errors naming the files, raised before any training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from sciformers.gas.camera import agc_span

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")
IGNORE = 255


def read_frame(path: Path) -> np.ndarray:
    """A frame as float32 ``(C, H, W)`` in ``[0, 1]`` (C = 1 for grey, 3 for colour): 8 bits / 255,
    16-bit and float frames by the AGC stretch of their own percentiles (module docstring).

    Raises:
        ValueError: for an unreadable file, an unsupported mode or non-finite values, naming the file.
    """
    try:
        with Image.open(path) as img:
            if img.mode == "P":
                img = img.convert("RGB")
            arr = np.asarray(img)
    except OSError as err:
        raise ValueError(f"{path}: cannot read image ({err})") from None
    if arr.dtype in (np.uint8, bool):
        arr = arr.astype(np.float32) / (255.0 if arr.dtype == np.uint8 else 1.0)
    elif np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating):
        # 16-bit PNG/TIFF counts (PIL gives uint16 or int32) or radiometric float32 temperatures
        values = arr.astype(np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"{path}: non-finite values in a radiometric frame; fill or mask them first")
        arr = agc_span(values).scale(values).astype(np.float32)
    else:
        raise ValueError(f"{path}: unsupported pixel type {arr.dtype}; expected 8-bit, 16-bit or float32 frames")
    if arr.ndim == 2:
        return arr[None]
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return arr[..., :3].transpose(2, 0, 1).copy()
    raise ValueError(f"{path}: expected a grey or RGB image, got array of shape {arr.shape}")


def read_mask(path: Path) -> np.ndarray:
    """A mask of class indices ``(H, W)`` uint8 (palette PNGs give their indices, not colours).

    Raises:
        ValueError: for a colour (RGB) mask or values that do not fit in 8 bits, naming the file.
    """
    try:
        with Image.open(path) as img:
            if img.mode not in ("P", "L", "1", "I", "I;16"):
                raise ValueError(f"{path}: mask mode {img.mode!r}; expected class indices as a grey or palette PNG")
            arr = np.asarray(img)
    except OSError as err:
        raise ValueError(f"{path}: cannot read mask ({err})") from None
    if arr.ndim != 2:
        raise ValueError(f"{path}: mask must be 2-D class indices, got shape {arr.shape}")
    if arr.max(initial=0) > 255:
        raise ValueError(f"{path}: mask values up to {arr.max()}; class indices must be 0-254 (255 = ignore)")
    return arr.astype(np.uint8)


def _files(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def load_image_folder(root: Path | str, split: str, num_classes: int | None = None,
                      binarize: bool = False) -> dict[str, np.ndarray]:
    """Every frame and mask of one split, checked pair by pair.

    Args:
        root: the folder holding ``img_dir/`` and ``ann_dir/``.
        split: ``train``, ``val`` or ``test``.
        num_classes: if given, mask values must be below it (or 255).
        binarize: map every class > 0 (except 255) to 1.

    Returns:
        ``frames`` float32 ``(N, C, H, W)``, ``masks`` uint8 ``(N, H, W)``, ``names`` (stems).

    Raises:
        FileNotFoundError: if a split folder is missing.
        ValueError: for unpaired files, mixed sizes or channels, or bad class values (naming files).
    """
    root = Path(root).expanduser()
    img_dir, ann_dir = root / "img_dir" / split, root / "ann_dir" / split
    for folder in (img_dir, ann_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: missing; expected {root}/img_dir/{split} and {root}/ann_dir/{split}")
    images, masks = _files(img_dir), _files(ann_dir)
    if not images:
        raise ValueError(f"{img_dir}: no frames ({', '.join(IMAGE_SUFFIXES)})")
    unpaired = sorted(set(images) ^ set(masks))
    if unpaired:
        details = [f"{images[s]} has no mask in {ann_dir}" if s in images else f"{masks[s]} has no frame in {img_dir}"
                   for s in unpaired[:5]]
        raise ValueError("image/mask pairs do not match: " + "; ".join(details))
    frames, labels = [], []
    for stem in sorted(images):
        frame, mask = read_frame(images[stem]), read_mask(masks[stem])
        if frame.shape[1:] != mask.shape:
            raise ValueError(f"{images[stem]} is {frame.shape[2]}x{frame.shape[1]} but its mask {masks[stem]} "
                             f"is {mask.shape[1]}x{mask.shape[0]}")
        if frames and frame.shape != frames[0].shape:
            raise ValueError(f"{images[stem]}: shape {frame.shape} differs from {images[min(images)]} "
                             f"{frames[0].shape}; resize the folder to one frame size")
        if binarize:
            mask = np.where(mask == IGNORE, IGNORE, (mask > 0).astype(np.uint8)).astype(np.uint8)
        if num_classes is not None:
            bad = np.unique(mask[(mask >= num_classes) & (mask != IGNORE)])
            if bad.size:
                raise ValueError(f"{masks[stem]}: class values {bad.tolist()} >= num_classes={num_classes} (255 = ignore)")
        frames.append(frame)
        labels.append(mask)
    return {"frames": np.stack(frames), "masks": np.stack(labels), "names": np.array(sorted(images))}


def write_image_folder(root: Path | str, split: str, frames: np.ndarray, masks: np.ndarray,
                       names: list[str] | None = None, palette: bool = False) -> list[Path]:
    """Write frames (uint8/uint16 ``(N, C, H, W)``) and masks (``(N, H, W)``) in the mmseg layout.

    Args:
        root: output root (``img_dir/`` and ``ann_dir/`` are created).
        split: split folder name.
        frames: integer frames, 1 or 3 channels.
        masks: class indices.
        names: file stems (default ``000000``, ``000001`` ...).
        palette: save masks as palette ("P") PNGs instead of grey.

    Returns:
        The files written.
    """
    root = Path(root)
    img_dir, ann_dir = root / "img_dir" / split, root / "ann_dir" / split
    img_dir.mkdir(parents=True, exist_ok=True)
    ann_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, (frame, mask) in enumerate(zip(frames, masks)):
        stem = names[i] if names is not None else f"{i:06d}"
        data = frame[0] if frame.shape[0] == 1 else frame.transpose(1, 2, 0)
        Image.fromarray(data).save(img_dir / f"{stem}.png")
        label = Image.fromarray(mask.astype(np.uint8))
        if palette:
            label = label.convert("P")
            label.putpalette([0, 0, 0, 255, 0, 0] + [v for c in range(2, 256) for v in (c, c, c)])
        label.save(ann_dir / f"{stem}.png")
        written += [img_dir / f"{stem}.png", ann_dir / f"{stem}.png"]
    return written
