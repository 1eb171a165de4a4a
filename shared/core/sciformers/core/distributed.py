"""Data-parallel training through ``torchrun``: gloo on CPU, nccl on GPU.

Launch any script that uses the :class:`~sciformers.core.Trainer` with
``torchrun --standalone --nproc-per-node=N script.py``; the Trainer reads ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` and does the rest:

- ``train.batch_size`` is the *global* batch: every rank draws the same seeded permutation of
  the epoch (DistributedSampler semantics with ``set_epoch``), and each global batch is split
  into contiguous per-rank parts of ``batch_size / world`` samples (sizes differ by at most one).
  Each rank's mean loss is weighted by its share of the global batch, so the averaged DDP
  gradient is the gradient of the global mean loss, uneven last batch included.
- Evaluation and prediction shard the data without the padding duplicates
  ``DistributedSampler`` adds; metrics are reduced as sums and counts, never averages of averages.
- Only rank 0 draws progress bars and writes checkpoints.

FSDP is not supported: gloo lacks what ``fully_shard`` needs on CPU (reduce_scatter only landed
in 2025, pytorch#149869; ``fully_shard`` + gloo has segfaulted, pytorch#132471). Modules whose
``training_step`` leaves some parameters unused need ``find_unused_parameters``, which
:func:`wrap_ddp` does not set; keep such heads out of the trained module.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from sciformers.core.device import resolve_device


def is_distributed() -> bool:
    """Whether this process was launched by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: torch.device | str = "auto") -> torch.device:
    """Join the process group (once) when launched by torchrun, and return this rank's device.

    Args:
        device: ``auto``, ``cpu``, ``cuda`` or a ``torch.device``; under torchrun a CUDA device
            becomes ``cuda:LOCAL_RANK`` (backend nccl), a CPU device uses gloo.

    Returns:
        The device this rank should train on (``device`` itself when not distributed).
    """
    device = resolve_device(device)
    if not is_distributed():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """Rank 0: the process that logs and writes checkpoints (also true when not distributed)."""
    return rank() == 0


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if dist.is_initialized():
        dist.barrier()


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (``obj`` itself when not distributed): a run folder, resume state."""
    if not dist.is_initialized():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def cleanup() -> None:
    """Leave the process group (call once at the end of a torchrun script)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap_ddp(module: nn.Module, device: torch.device | None = None) -> nn.Module:
    """``DistributedDataParallel(module)`` when distributed, else ``module`` itself.

    Args:
        module: already on ``device``; DDP broadcasts rank 0's parameters to every rank.
        device: the rank's device (default: where ``module``'s first parameter lives).
    """
    if not dist.is_initialized():
        return module
    if device is None:
        device = next(module.parameters()).device
    return DistributedDataParallel(module, device_ids=[device] if device.type == "cuda" else None)


def train_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[tuple[list[int], float]]:
    """This rank's part of every global batch of one epoch, with its loss weight.

    The epoch's order is a permutation from a generator seeded by ``(seed, epoch)``, identical
    on every rank. The weight ``len(part) * world / len(batch)`` makes the DDP-averaged gradient
    equal the gradient of the global batch's mean loss; it is 1.0 in a single process. A rank
    whose part would be empty (a last batch smaller than the world) gets one sample at weight 0,
    because every rank must take part in the gradient all-reduce.

    Args:
        n: training samples.
        batch_size: the global batch size.
        seed: training seed.
        epoch: epoch number (plays the role of ``DistributedSampler.set_epoch``).
    """
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    out = []
    for start in range(0, n, batch_size):
        batch = order[start:start + batch_size]
        part = torch.tensor_split(batch, world_size())[rank()]
        if len(part) == 0:
            out.append((batch[:1].tolist(), 0.0))
        else:
            out.append((part.tolist(), len(part) * world_size() / len(batch)))
    return out


def eval_shard(n: int) -> Tensor:
    """Indices ``rank, rank + world, ...`` of ``n`` samples: every sample on exactly one rank."""
    return torch.arange(rank(), n, world_size())


def all_reduce_sums(values: dict[str, Tensor]) -> dict[str, Tensor]:
    """Sum each tensor over ranks (reduce sums and counts, then divide; never average averages)."""
    if not dist.is_initialized():
        return values
    out = {}
    for key, value in values.items():
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        out[key] = value
    return out


def gather_in_order(indices: Tensor, outputs: Any) -> Any:
    """Gather every rank's ``(indices, outputs)`` and return the outputs in dataset order.

    Args:
        indices: dataset indices of this rank's outputs.
        outputs: a CPU tensor or dict of tensors whose first dimension matches ``indices``;
            ``None`` for a rank whose shard is empty.
    """
    if not dist.is_initialized():
        return outputs
    parts: list[Any] = [None] * world_size()
    dist.all_gather_object(parts, (indices, outputs))
    parts = [p for p in parts if p[1] is not None]
    order = torch.argsort(torch.cat([p[0] for p in parts]))
    if isinstance(parts[0][1], dict):
        return {k: torch.cat([p[1][k] for p in parts])[order] for k in parts[0][1]}
    return torch.cat([p[1] for p in parts])[order]
