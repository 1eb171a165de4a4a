"""Data-parallel training through ``torchrun``: gloo on CPU, nccl on GPU.

Launch any script that uses the :class:`~sciformers.core.Trainer` with
``torchrun --standalone --nproc-per-node=N script.py``; the Trainer reads ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` and does the rest. Training batches are split across ranks
(each rank gets ``batch_size / world`` samples of the same global batch), evaluation shards
the data without the padding duplicates ``DistributedSampler`` adds, and metrics are reduced
as sums and counts. FSDP is not supported (gloo lacks what ``fully_shard`` needs on CPU).
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel


def is_distributed() -> bool:
    """Whether this process was launched by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: torch.device) -> None:
    """Join the process group (once) when launched by torchrun; a no-op otherwise."""
    if not is_distributed() or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """Rank 0: the process that logs and writes checkpoints."""
    return rank() == 0


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if dist.is_initialized():
        dist.barrier()


def cleanup() -> None:
    """Leave the process group."""
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap_ddp(module: nn.Module, device: torch.device) -> nn.Module:
    """``DistributedDataParallel(module)`` when distributed, else ``module`` itself."""
    if not dist.is_initialized():
        return module
    return DistributedDataParallel(module, device_ids=[device.index or 0] if device.type == "cuda" else None)


def rank_slice(indices: Tensor) -> Tensor:
    """This rank's contiguous part of one global training batch (sizes differ by at most one)."""
    if not dist.is_initialized():
        return indices
    return torch.tensor_split(indices, world_size())[rank()]


def eval_shard(n: int) -> Tensor:
    """Indices ``rank, rank + world, ...`` of ``n`` samples: every sample on exactly one rank."""
    return torch.arange(rank(), n, world_size())


def all_reduce_sums(values: dict[str, Tensor]) -> dict[str, Tensor]:
    """Sum each tensor over ranks (sums and counts; never average averages)."""
    if not dist.is_initialized():
        return values
    out = {}
    for key, value in values.items():
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        out[key] = value
    return out


def gather_in_order(indices: Tensor, outputs: Any) -> Any:
    """Gather every rank's ``(indices, outputs)`` and return outputs in dataset order.

    ``outputs`` is a tensor or a dict of tensors whose first dimension matches ``indices``.
    """
    if not dist.is_initialized():
        return outputs
    parts: list[Any] = [None] * world_size()
    dist.all_gather_object(parts, (indices, outputs))
    order = torch.argsort(torch.cat([p[0] for p in parts]))
    if isinstance(outputs, dict):
        return {k: torch.cat([p[1][k] for p in parts])[order] for k in outputs}
    return torch.cat([p[1] for p in parts])[order]
