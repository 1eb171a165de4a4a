"""``sciformers predict gas``: plume masks for OGI frames with a trained segmentation checkpoint.

Inputs are frames (8- or 16-bit PNG/TIFF, grey or palette RGB) or folders of them. Each frame is
read as in training (:func:`sciformers.gas.folder.read_frame`, standardised ``(x - 0.5) / 0.25``),
segmented at its own size, and its label map is written beside it as ``<stem>.mask.png``
(class indices, the mmsegmentation annotation format). One line per frame:
``file<TAB>plume_fraction<TAB>mask_file``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sciformers.core import load_model
from sciformers.evaluation.datasets import input_files, register_predictor
from sciformers.gas.folder import IMAGE_SUFFIXES, read_frame
from sciformers.gas.segmentation import SegmentationModule

MASK_SUFFIX = ".mask.png"


def predict_gas(checkpoint: Path, inputs: list[str]) -> list[str]:
    """Segment every frame in ``inputs``; write ``<stem>.mask.png`` beside it; one line per frame."""
    model = load_model(checkpoint, SegmentationModule)
    channels = getattr(model, "in_channels", None)
    lines = []
    for path in input_files(inputs, IMAGE_SUFFIXES, "frame", skip=lambda p: p.name.endswith(MASK_SUFFIX)):
        frame = read_frame(path)
        if channels is not None and frame.shape[0] != channels:
            raise ValueError(f"{path}: {frame.shape[0]} channel(s) (grey 1, RGB 3); the checkpoint expects {channels}")
        image = (torch.from_numpy(frame)[None] - 0.5) / 0.25
        with torch.no_grad():
            labels = model.predict({"image": image})[0].numpy().astype(np.uint8)
        out = path.with_name(path.stem + MASK_SUFFIX)
        Image.fromarray(labels, mode="L").save(out)
        lines.append(f"{path}\t{float((labels > 0).mean()):.4f}\t{out}")
    return lines


register_predictor("gas", predict_gas)
