"""``sciformers predict gas``: plume masks for OGI frames with a trained segmentation checkpoint.

    sciformers predict gas --checkpoint RUN/checkpoints/gasformer/seed0/final --out DIR \\
        [--skip-invalid] FRAME_OR_FOLDER...

Inputs are frames (8- or 16-bit PNG/TIFF, grey or palette RGB) or folders of them (their
``*.mask.png`` files are left out). Every frame is read and checked before any mask is written;
each is read as in training (:func:`sciformers.gas.folder.read_frame`, standardised
``(x - 0.5) / 0.25``) and segmented at its own size. Its label map (class indices, the
mmsegmentation annotation format) goes under ``DIR`` only, as ``DIR/<stem>.mask.png`` (frames
sharing a stem keep their folders relative to each other), and ``DIR/predictions.csv`` holds
``file,plume_fraction,mask_file`` (plume fraction: plume pixels over all pixels, 0 to 1). Nothing is
written beside the frames. One line per frame: ``file<TAB>plume_fraction<TAB>mask_file``.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sciformers.core import ConfigError, load_model
from sciformers.evaluation.datasets import PredictRequest, PredictResult, Predictor, input_files, register_predictor
from sciformers.gas.folder import IMAGE_SUFFIXES, read_frame
from sciformers.gas.segmentation import SegmentationModule

MASK_SUFFIX = ".mask.png"
TABLE = "predictions.csv"
HEADER = ("file", "plume_fraction", "mask_file")


def _frame(path: Path, channels: int | None) -> np.ndarray:
    """A frame, checked against the checkpoint's input channels.

    Raises:
        ValueError: naming the file, for an unreadable frame or the wrong number of channels.
    """
    frame = read_frame(path)
    if channels is not None and frame.shape[0] != channels:
        raise ValueError(f"{path}: {frame.shape[0]} channel(s) (grey 1, RGB 3); the checkpoint expects {channels}")
    return frame


def _output_names(paths: list[Path], suffix: str) -> dict[Path, Path]:
    """Output path (relative to ``out_dir``) per input: ``<stem><suffix>``, or, for inputs sharing
    a stem, the same below their folder relative to the clashing inputs' common folder (and the
    whole file name where that still clashes: ``a.png`` and ``a.tif`` in one folder)."""
    stems = Counter(p.stem for p in paths)
    clashing = [p.resolve().parent for p in paths if stems[p.stem] > 1]
    root = Path(os.path.commonpath(clashing)) if clashing else None
    names = {p: (Path(p.stem + suffix) if stems[p.stem] == 1 or root is None
                 else p.resolve().parent.relative_to(root) / (p.stem + suffix)) for p in paths}
    counts = Counter(names.values())
    names = {p: (rel.with_name(p.name + suffix) if counts[rel] > 1 else rel) for p, rel in names.items()}
    counts = Counter(names.values())
    return {p: (rel.with_name(f"{rel.name.removesuffix(suffix)}-{i}{suffix}") if counts[rel] > 1 else rel)
            for i, (p, rel) in enumerate(names.items())}


def predict_gas(request: PredictRequest) -> PredictResult:
    """Segment every frame of ``request.inputs``; masks and ``predictions.csv`` under ``request.out_dir``.

    Raises:
        FileNotFoundError, ValueError: for a missing or bad input, naming it (unless ``skip_invalid``).
    """
    if request.options:
        raise ConfigError(f"--option {next(iter(request.options))}: predict gas takes no options")
    model = load_model(request.checkpoint, SegmentationModule)
    channels = getattr(model, "in_channels", None)
    result = PredictResult()

    def bad(item: Path | str, err: Exception) -> None:
        if not request.skip_invalid:
            raise err
        result.skipped.append((str(item), str(err).removeprefix(f"{item}: ")))

    frames: list[Path] = []
    seen: set[Path] = set()
    for item in request.inputs:  # every frame is checked before the first mask is written
        try:
            files = input_files([item], IMAGE_SUFFIXES, "frame", skip=lambda p: p.name.endswith(MASK_SUFFIX))
        except (FileNotFoundError, ValueError) as err:
            bad(item, err)
            continue
        for path in files:
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            try:
                _frame(path, channels)
                frames.append(path)
            except ValueError as err:
                bad(path, err)

    names = _output_names(frames, MASK_SUFFIX)
    rows = []
    for path in frames:
        image = (torch.from_numpy(_frame(path, channels))[None] - 0.5) / 0.25
        with torch.no_grad():
            labels = model.predict({"image": image})[0].numpy().astype(np.uint8)
        out = request.out_dir / names[path]
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(labels).save(out)  # uint8 (H, W): mode "L"
        result.written.append(out)
        fraction = float((labels > 0).mean())
        result.lines.append(f"{path}\t{fraction:.4f}\t{out}")
        rows.append([str(path), f"{fraction:.6f}", str(out)])
    if rows:
        table = request.out_dir / TABLE
        with table.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            writer.writerows(rows)
        result.written.append(table)
    return result


register_predictor("gas", Predictor(
    predict_gas,
    "PNG/TIFF frames (8- or 16-bit, grey or palette RGB, as many channels as the checkpoint was trained on), or "
    "folders of them (*.mask.png left out); writes <stem>.mask.png (class indices) per frame and predictions.csv "
    "(file,plume_fraction,mask_file; plume_fraction = plume pixels / all pixels, 0-1)",
))
