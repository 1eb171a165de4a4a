"""Deterministic seeding, and capture/restore of every random generator for exact resume."""

from __future__ import annotations

import math
import random

import numpy as np
import torch
from torch import Tensor


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and every CUDA device) generators.

    Args:
        seed: any non-negative int (NumPy gets it modulo 2**32).
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Tensor]:
    """Every generator's state (Python, NumPy's global one, torch CPU and CUDA) as uint8 tensors.

    Tensors, not pickles, so a checkpoint can hold them in safetensors.
    """
    py = random.getstate()
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": torch.tensor(list(py[1]), dtype=torch.int64).view(torch.uint8),
        # random.gauss caches its second draw; NaN stands for "none cached"
        "python_gauss": torch.tensor([math.nan if py[2] is None else py[2]], dtype=torch.float64).view(torch.uint8),
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)).view(torch.uint8),
        "numpy_pos": torch.tensor([np_state[2], np_state[3]], dtype=torch.int64).view(torch.uint8),
        "numpy_gauss": torch.tensor([np_state[4]], dtype=torch.float64).view(torch.uint8),
    }
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            state[f"cuda{i}"] = s
    return state


def set_rng_state(state: dict[str, Tensor]) -> None:
    """Restore what :func:`rng_state` captured.

    Args:
        state: the dict :func:`rng_state` returned (CUDA entries are ignored without CUDA).
    """
    torch.set_rng_state(state["torch"])
    py = tuple(int(x) for x in state["python"].view(torch.int64).tolist())
    gauss = float(state["python_gauss"].view(torch.float64)[0]) if "python_gauss" in state else math.nan
    random.setstate((3, py, None if math.isnan(gauss) else gauss))
    np.random.set_state((
        "MT19937",
        state["numpy_keys"].view(torch.int64).numpy().astype(np.uint32),
        int(state["numpy_pos"].view(torch.int64)[0]),
        int(state["numpy_pos"].view(torch.int64)[1]),
        float(state["numpy_gauss"].view(torch.float64)[0]),
    ))
    if torch.cuda.is_available():
        cuda = [state[f"cuda{i}"] for i in range(torch.cuda.device_count()) if f"cuda{i}" in state]
        if cuda:
            torch.cuda.set_rng_state_all(cuda)
