"""Timing and peak-memory measurement of attention kernels on ``(B, H, N, d)`` inputs.

Time: ``torch.utils.benchmark.Timer.blocked_autorange`` (median), in the calling process
(the Timer synchronizes CUDA). Memory on CUDA: the allocator's peak minus what the inputs hold.
Memory on CPU: a fresh subprocess per (variant, causal, mode) so that earlier configs cannot leave
cached memory behind; glibc is told to ``mmap`` every allocation of 64 KiB or more (so frees go
back to the OS), the kernel's peak-RSS mark is reset before each length
(``/proc/self/clear_refs``), and the reported number is the peak minus the RSS with inputs
already allocated: the memory the kernel itself needed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils import benchmark

from sciformers.attention import create_attention


@dataclass(frozen=True)
class KernelCase:
    """One kernel configuration to measure."""

    variant: str
    kwargs: dict[str, Any]
    causal: bool
    mode: str  # "fwd" or "fwdbwd"
    batch: int
    heads: int
    dim_head: int
    dtype: str
    device: str = "cpu"


def make_call(case: KernelCase, n: int) -> Callable[[], None]:
    """A closure running the case once at length ``n`` (inputs allocated up front)."""
    attn = create_attention(case.variant, **case.kwargs)
    dtype = getattr(torch, case.dtype)
    g = torch.Generator().manual_seed(n)
    shape = (case.batch, case.heads, n, case.dim_head)
    need_grad = case.mode == "fwdbwd"
    q, k, v = (
        torch.randn(shape, generator=g, dtype=dtype).to(case.device).requires_grad_(need_grad) for _ in range(3)
    )

    def fwd() -> None:
        with torch.no_grad():
            attn(q, k, v, causal=case.causal)

    def fwdbwd() -> None:
        for t in (q, k, v):
            t.grad = None
        attn(q, k, v, causal=case.causal).sum().backward()

    return fwdbwd if need_grad else fwd


def time_call(fn: Callable[[], None], threads: int, min_run_time: float) -> float:
    """Median seconds per call."""
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    return timer.blocked_autorange(min_run_time=min_run_time).median


def mm_gflops(threads: int, size: int = 2048, min_run_time: float = 0.5, device: str = "cpu") -> float:
    """The fp32 ``torch.mm`` ceiling of this machine (or GPU), in GFLOP/s."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    seconds = time_call(lambda: torch.mm(a, b), threads, min_run_time)
    return 2 * size**3 / seconds / 1e9


def _status_mb(field: str) -> float:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"{field}:\s+(\d+) kB", text)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return int(match.group(1)) / 1024


def _peak_extra_mb(case: KernelCase, n: int) -> float:
    fn = make_call(case, n)
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_mb("VmRSS")
    fn()
    return max(_status_mb("VmHWM") - before, 0.0)


def _cuda_peak_extra_mb(case: KernelCase, n: int) -> float:
    fn = make_call(case, n)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before) / 2**20


def measure_memory(case: KernelCase, lengths: list[int], threads: int, timeout_s: float = 900) -> dict[int, float]:
    """Peak extra MiB per length for ``case`` (CPU: in a fresh subprocess).

    Returns an empty dict on a CPU platform that cannot reset the peak mark (non-Linux).
    """
    if case.device.startswith("cuda"):
        return {n: _cuda_peak_extra_mb(case, n) for n in sorted(lengths)}
    if not Path("/proc/self/clear_refs").exists():
        return {}
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0",
           "OMP_NUM_THREADS": str(threads)}
    payload = json.dumps({"case": case.__dict__, "lengths": lengths, "threads": threads})
    proc = subprocess.run(
        [sys.executable, "-m", "sciformers.attention_suites.kernel_timing", payload],
        capture_output=True, text=True, env=env, timeout=timeout_s,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory worker for {case.variant} failed:\n{proc.stderr[-2000:]}")
    return {int(k): v for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}


def _worker(payload: str) -> None:
    args = json.loads(payload)
    torch.set_num_threads(args["threads"])
    case = KernelCase(**args["case"])
    _peak_extra_mb(case, min(args["lengths"]))  # warm up lazy initialisation
    print(json.dumps({n: _peak_extra_mb(case, n) for n in sorted(args["lengths"])}))


if __name__ == "__main__":
    _worker(sys.argv[1])
