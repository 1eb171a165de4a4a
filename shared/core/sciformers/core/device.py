"""Device choice and mixed precision: bf16 autocast on CUDA, full precision on CPU."""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA when available else CPU; ``cuda`` without a GPU is a clear error.

    Args:
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or a ``torch.device``.

    Raises:
        ValueError: for an unknown name or ``cuda`` on a machine without CUDA.
    """
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available (use --device cpu or auto)")
    if not (name == "cpu" or name.startswith("cuda")):
        raise ValueError(f"unknown device {name!r}; expected auto, cpu or cuda")
    return torch.device(name)


def autocast_context(device: torch.device, amp: str) -> ContextManager[object]:
    """bf16 autocast on CUDA when ``amp`` is ``auto`` or ``bf16``; a no-op otherwise (CPU runs fp32).

    Args:
        device: where the forward pass runs.
        amp: ``train.amp``: ``auto``, ``bf16`` or ``off``.
    """
    if device.type == "cuda" and amp in ("auto", "bf16"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
