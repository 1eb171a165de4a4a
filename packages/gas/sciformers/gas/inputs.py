"""What a gas model sees: standardised frames, optionally with temporal context (``data.temporal``).

Frames arrive in ``[0, 1]`` (an 8-bit export / 255, or a 16-bit or radiometric frame after the
AGC stretch of :func:`sciformers.gas.folder.read_frame`) and are standardised as

    x = (f - 0.5) / 0.25                                                            (1)

The paper segments single frames (``temporal: none``, the default). OGI operators find gas by
its motion, so two temporal inputs are offered beside it, built from the ``h`` frames before
frame ``t`` of the same sequence (``data.history``), the current frame's channels first:

- ``difference``: ``[x_t, g (f_t - mean(f_{t-h}, ..., f_{t-1}))]``, the frame and its difference from
  a running background, the mean of the previous ``h`` frames (background subtraction, e.g.
  Piccardi 2004; the cue of OGI "high-sensitivity" modes), with ``g = 255 / 4`` so that the
  difference is in units of 4 grey levels and a moving plume's few grey levels are O(1), like (1);
- ``stack``: ``[x_t, x_{t-1}, ..., x_{t-h}]``, the last ``h + 1`` standardised frames.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor

MEAN, STD = 0.5, 0.25
DIFFERENCE_GAIN = 255.0 / 4.0
Temporal = Literal["none", "difference", "stack"]


def standardise(frames: Tensor) -> Tensor:
    """Eq. (1) on frames in ``[0, 1]``."""
    return (frames - MEAN) / STD


def to_unit(frames: np.ndarray) -> Tensor:
    """Frames as float ``[0, 1]``: uint8 exports divided by 255, float frames as they are."""
    scale = 255.0 if frames.dtype == np.uint8 else 1.0
    return torch.from_numpy(frames.astype(np.float32)) / scale


def temporal_input(frames: Tensor, context: Tensor | None, mode: Temporal) -> Tensor:
    """Model inputs ``(N, C', H, W)`` from frames ``(N, C, H, W)`` in ``[0, 1]``.

    Args:
        frames: the current frames.
        context: the ``h`` frames before each, oldest first, ``(N, h, C, H, W)`` in ``[0, 1]``
            (unused for ``none``).
        mode: ``none`` (C' = C), ``difference`` (C' = 2C) or ``stack`` (C' = (h + 1) C).
    """
    if mode == "none":
        return standardise(frames)
    if context is None or context.shape[1] == 0:
        raise ValueError(f"data.temporal={mode!r} needs context frames (data.history >= 1)")
    if mode == "difference":
        return torch.cat([standardise(frames), DIFFERENCE_GAIN * (frames - context.mean(1))], dim=1)
    if mode == "stack":
        return torch.cat([standardise(frames)] + [standardise(context[:, k]) for k in reversed(range(context.shape[1]))],
                         dim=1)
    raise ValueError(f"data.temporal: unknown mode {mode!r}; expected none, difference or stack")


def sequence_context(frames: np.ndarray, lead: np.ndarray, sequence: np.ndarray, position: np.ndarray) -> np.ndarray:
    """The ``h`` frames before every frame of a generated split, oldest first: ``(N, h, C, H, W)``.

    A sequence's timeline is its ``h`` lead frames, then its frames in order; frame ``i`` (at
    ``position[i]`` of sequence ``sequence[i]``) sits at timeline index ``h + position[i]``.

    Args:
        frames: ``(N, C, H, W)``, each sequence's frames contiguous and in order.
        lead: ``(sequences, h, C, H, W)``, the context frames before each sequence's first.
        sequence: ``(N,)`` sequence index per frame.
        position: ``(N,)`` index of each frame in its sequence.
    """
    h = lead.shape[1]
    out = np.empty((len(frames), h) + frames.shape[1:], frames.dtype)
    for i, (s, p) in enumerate(zip(sequence, position)):
        for k in range(h):
            j = p + k  # timeline index of the k-th context frame
            out[i, k] = lead[s, j] if j < h else frames[i - p + j - h]
    return out
