"""The ``data:`` section of ``gas/synthetic_ogi`` and the datasets it builds.

Synthetic data comes from :mod:`.synthetic` (cached by config hash); a user's footage comes from
an mmseg image folder (``data.path``, :mod:`.folder`). Either way a sample is
``{"image": float (C, H, W), "mask": long (H, W)}``, frames scaled to ``[0, 1]`` then
standardised as ``(x - 0.5) / 0.25``, with ``data.temporal`` the running-background difference
or the previous frames as extra channels (:mod:`.inputs`; synthetic sequences only). Training
samples are flipped left-right with p = 0.5 (Gasformer's RandomFlip; the random resize/crop and
photometric distortion are not used).

Generator shifts (``data.shifts``) are named overrides of the generator settings; each becomes
a test set of its own, reported as the task ``gas.synthetic_ogi_<name>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.gas.folder import load_image_folder
from sciformers.gas.inputs import Temporal, sequence_context, temporal_input, to_unit
from sciformers.gas.synthetic import GeneratorConfig, cached_split, load_split

# The shifted generator settings of the issue: each changes one thing from in-distribution.
DEFAULT_SHIFTS: dict[str, dict[str, Any]] = {
    "low_flow": {"flow_range": [5.0, 10.0], "flow_step": None},
    "other_wind": {"wind_speed": [1.5, 3.0], "wind_direction_deg": 0.0, "wind_spread_deg": 30.0},
    "unseen_background": {"backgrounds": ["sky", "ground"]},
    "high_noise": {"netd_mk": [60.0, 100.0]},
    "low_contrast": {"delta_t": [2.0, 5.0]},
}
GENERATOR_FIELDS = tuple(GeneratorConfig.model_fields)


class OGIData(GeneratorConfig):
    """Generator settings (see :class:`~sciformers.gas.synthetic.GeneratorConfig`) plus split sizes.

    Args:
        n_train: training frames.
        n_val: validation frames (separate sequences; used for early stopping only).
        n_test: in-distribution test frames.
        n_shift: test frames per shifted setting.
        shifts: shift name -> generator overrides (names from :data:`DEFAULT_SHIFTS`).
        temporal: ``none`` (single frames, the paper's setting), ``difference`` or ``stack``
            (:mod:`.inputs`; the context is the ``history`` frames before each frame).
        path: an mmseg image folder to use instead of the generator (no shifts, no flow metrics).
        num_classes: classes of the folder's masks (folder data only; default 2).
        binarize: map every folder mask class > 0 to plume.
    """

    n_train: int = Field(default=2000, ge=1)
    n_val: int = Field(default=300, ge=0)
    n_test: int = Field(default=500, ge=1)
    n_shift: int = Field(default=500, ge=1)
    shifts: dict[str, dict[str, Any]] = Field(default_factory=lambda: dict(DEFAULT_SHIFTS))
    temporal: Temporal = "none"
    path: str | None = None
    num_classes: int = Field(default=2, ge=2)
    binarize: bool = True

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        unknown = sorted(set(self.shifts) - set(DEFAULT_SHIFTS))
        if unknown:
            raise ValueError(f"data.shifts: unknown shift(s) {unknown}; expected some of {sorted(DEFAULT_SHIFTS)}")
        for name in self.shifts:
            self.generator(name)  # validates the overrides now, before any training
        if self.temporal != "none" and self.path is not None:
            raise ValueError("data.temporal: image folders hold no sequences yet; use temporal: none with data.path")
        if self.temporal != "none" and self.history < 1:
            raise ValueError(f"data.temporal={self.temporal!r} needs data.history >= 1 context frames")

    def generator(self, shift: str | None = None) -> GeneratorConfig:
        """Generator settings in distribution, or with the overrides of ``shift``."""
        base = self.model_dump(include=set(GENERATOR_FIELDS))
        return GeneratorConfig.parse({**base, **(self.shifts[shift] if shift else {})},
                                     where=f"data.shifts.{shift}" if shift else "data")


class OGIDataset(Dataset):
    """Model inputs and masks in memory.

    Args:
        frames: ``(N, C, H, W)`` uint8 (scaled by 1/255) or float in ``[0, 1]``.
        masks: ``(N, H, W)`` class indices (255 = ignore).
        flows: release rate per frame, SCCM (``None`` for real data).
        augment: random left-right flips (training only).
        context: ``(N, h, C, H, W)``, the frames before each, oldest first (for ``temporal``).
        temporal: ``none``, ``difference`` or ``stack`` (:func:`~sciformers.gas.inputs.temporal_input`).

    Attributes:
        images: ``(N, C', H, W)`` model inputs, the current frame's ``frame_channels`` first.
    """

    def __init__(self, frames: np.ndarray, masks: np.ndarray, flows: np.ndarray | None = None,
                 augment: bool = False, context: np.ndarray | None = None, temporal: Temporal = "none") -> None:
        self.images = temporal_input(to_unit(frames), None if context is None else to_unit(context), temporal)
        self.frame_channels = int(frames.shape[1])
        self.masks = torch.from_numpy(masks.astype(np.int64))
        self.flows = flows
        self.augment = augment

    def __len__(self) -> int:
        return len(self.masks)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        image, mask = self.images[i], self.masks[i]
        if self.augment and torch.rand(()) < 0.5:
            image, mask = image.flip(-1), mask.flip(-1)
        return {"image": image, "mask": mask}


def synthetic_datasets(cfg: OGIData) -> tuple[dict[str, OGIDataset], dict[str, Path]]:
    """Train / val / test and one test set per shift from the generator (cached)."""
    sizes = {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test}
    files = {split: cached_split(cfg.generator(), split, n) for split, n in sizes.items() if n > 0}
    files |= {f"shift_{name}": cached_split(cfg.generator(name), f"shift_{name}", cfg.n_shift) for name in cfg.shifts}
    sets = {}
    for split, path in files.items():
        arrays = load_split(path)
        context = None
        if cfg.temporal != "none":
            context = sequence_context(arrays["frames"], arrays["lead"], arrays["sequence"], arrays["position"])
        sets[split] = OGIDataset(arrays["frames"], arrays["masks"], arrays["flow"], augment=split == "train",
                                 context=context, temporal=cfg.temporal)
    return sets, files


def folder_datasets(cfg: OGIData) -> dict[str, OGIDataset]:
    """Train / (val) / test from the mmseg image folder at ``cfg.path``."""
    assert cfg.path is not None
    root = Path(cfg.path).expanduser()
    sets = {}
    for split in ("train", "val", "test"):
        if split == "val" and not (root / "img_dir" / "val").is_dir():
            continue
        arrays = load_image_folder(root, split, cfg.num_classes, cfg.binarize)
        sets[split] = OGIDataset(arrays["frames"], arrays["masks"], None, augment=split == "train")
    return sets
