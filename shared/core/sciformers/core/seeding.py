"""Deterministic seeding, and capture/restore of every random generator for exact resume."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch import Tensor


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and CUDA) generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Tensor]:
    """Every generator's state as uint8 tensors (safetensors-friendly)."""
    py = random.getstate()
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": torch.tensor(list(py[1]), dtype=torch.int64).view(torch.uint8),
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)).view(torch.uint8),
        "numpy_pos": torch.tensor([np_state[2], np_state[3]], dtype=torch.int64).view(torch.uint8),
        "numpy_gauss": torch.tensor([np_state[4]], dtype=torch.float64).view(torch.uint8),
    }
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            state[f"cuda{i}"] = s
    return state


def set_rng_state(state: dict[str, Tensor]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    py = tuple(int(x) for x in state["python"].view(torch.int64).tolist())
    random.setstate((3, py, None))
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
