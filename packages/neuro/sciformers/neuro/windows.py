"""Per-window model inputs: tokens, behaviour samples, stimulus clip, behaviour target.

One function builds them for training, evaluation and generation alike, so a model always
sees windows built the same way. Behaviour is z-scored with statistics of the training split
(stored in the model), sampled at ``behavior_len`` points spanning the past and current
windows; the decoding target is the mean behaviour over the current window. The stimulus
clip is ``frame_shape[0]`` frames spanning the same interval.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.neuro.spikes import SpikeData
from sciformers.neuro.tokenizer import Tokenizer, TruncationReport

TARGET_POINTS = 5  # samples averaged into the current-window behaviour target


def window_batch(
    data: SpikeData, starts: np.ndarray, tok: Tokenizer, *, behavior_len: int = 0,
    frame_shape: tuple[int, int, int] | None = None, behavior_mean: np.ndarray | None = None,
    behavior_std: np.ndarray | None = None, report: TruncationReport | None = None,
) -> dict[str, np.ndarray]:
    """Every model input of the windows starting at ``starts``.

    Args:
        data: the recording (its spikes become tokens; its behaviour and stimulus the other inputs).
        starts: current-window starts ``(W,)`` in seconds.
        tok: the tokenizer.
        behavior_len: behaviour samples per window (0: no behaviour inputs).
        frame_shape: ``(F, H, W)`` of the stimulus clip (``None``: no frames).
        behavior_mean: per-variable mean for z-scoring (default 0).
        behavior_std: per-variable standard deviation for z-scoring (default 1).
        report: collects tokenizer truncation counts.

    Returns:
        The tokenizer's arrays plus ``behavior (W, behavior_len, D)`` and ``target (W, D)`` when
        the data has behaviour, and ``frames (W, F, H, W)`` when it has a stimulus.

    Raises:
        ValueError: if the model expects a modality the data lacks, or frames of another size.
    """
    starts = np.asarray(starts, dtype=np.float64)
    out = tok.encode(data, starts, report)
    span = tok.past_window + tok.window
    if behavior_len:
        if data.behavior is None:
            raise ValueError("window_batch: the model takes behaviour but the data has none (SpikeData.behavior)")
        D = data.behavior.values.shape[1]
        mean = np.zeros(D) if behavior_mean is None else np.asarray(behavior_mean)
        std = np.ones(D) if behavior_std is None else np.asarray(behavior_std)
        t = starts[:, None] - tok.past_window + (np.arange(behavior_len) + 0.5) * span / behavior_len
        out["behavior"] = ((data.behavior.at(t.ravel()) - mean) / std).reshape(len(starts), behavior_len, D)
        tt = starts[:, None] + (np.arange(TARGET_POINTS) + 0.5) * tok.window / TARGET_POINTS
        out["target"] = ((data.behavior.at(tt.ravel()) - mean) / std).reshape(len(starts), TARGET_POINTS, D).mean(1)
    if frame_shape is not None:
        if data.stimulus is None:
            raise ValueError("window_batch: the model takes stimulus frames but the data has none (SpikeData.stimulus)")
        n_frames, h, w = frame_shape
        if data.stimulus.frames.shape[1:] != (h, w):
            raise ValueError(f"window_batch: stimulus frames are {data.stimulus.frames.shape[1:]}, the model expects {(h, w)}")
        t = starts[:, None] - tok.past_window + (np.arange(n_frames) + 0.5) * span / n_frames
        out["frames"] = data.stimulus.frames[data.stimulus.frame_index(t)]
    return out


class WindowDataset(Dataset):
    """Windows as a map-style dataset of dicts of tensors (``default_collate`` batches them).

    Args:
        arrays: the output of :func:`window_batch`; every array has the windows on axis 0.
        keep: the keys to serve (default all).
    """

    def __init__(self, arrays: dict[str, np.ndarray], keep: tuple[str, ...] | None = None) -> None:
        keys = keep or tuple(arrays)
        self.tensors = {k: torch.as_tensor(arrays[k], dtype=torch.long if arrays[k].dtype.kind == "i" else torch.float32)
                        for k in keys}
        self.n = len(next(iter(self.tensors.values())))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {k: v[i] for k, v in self.tensors.items()}

    def subset(self, idx: np.ndarray) -> WindowDataset:
        """The windows ``idx`` (in that order) as a new dataset."""
        out = WindowDataset.__new__(WindowDataset)
        out.tensors = {k: v[torch.as_tensor(idx, dtype=torch.long)] for k, v in self.tensors.items()}
        out.n = len(idx)
        return out
