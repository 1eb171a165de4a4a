"""RunRecord: one JSON line per (task, model, seed), with the provenance needed to trust a number.

The schema follows DESIGN.md (Run output). ``config_hash`` is the sha256 of the canonical JSON
of the resolved pipeline config, so two records with the same hash ran the same experiment.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import subprocess
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

import torch
from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Timings(BaseModel):
    """Wall-clock timings of one (model, seed) run, in seconds and per-sample rates."""

    model_config = ConfigDict(extra="forbid")

    fit_s: float = 0.0
    eval_s: float = 0.0
    train_samples_per_s: float | None = None
    infer_ms_per_sample: float | None = None


class RunRecord(BaseModel):
    """One result line of ``records.jsonl``."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    schema_version: int = SCHEMA_VERSION
    run_id: str
    pipeline: str
    task: str
    task_version: str
    model: str
    n_params: int
    seed: int
    config: dict[str, Any]
    config_hash: str
    git_sha: str | None
    git_dirty: bool | None
    metrics: dict[str, float]
    higher_is_better: dict[str, bool]
    timings: Timings
    peak_rss_mb: float
    hardware: dict[str, Any]
    versions: dict[str, str]
    timestamp: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the canonical (sorted-key, compact) JSON of ``config``."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def new_run_id() -> str:
    """A short unique id for one pipeline invocation."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class PeakMemory:
    """Peak resident set size within a ``with`` block, in MiB: one model's peak, not the process's.

    On Linux the kernel's high-water mark is reset on entry (``/proc/self/clear_refs``, value 5)
    and read on exit (``VmHWM``); elsewhere, or where that file cannot be written, the process
    peak is reported and :attr:`exact` is ``False``.
    """

    def __init__(self) -> None:
        self.mb = 0.0
        self.exact = False

    def __enter__(self) -> "PeakMemory":
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.exact = True
        except OSError:
            self.exact = False
        return self

    def __exit__(self, *exc: object) -> None:
        self.mb = _vm_hwm_mb() if self.exact else peak_rss_mb()


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return peak_rss_mb()


@lru_cache(maxsize=1)
def git_state() -> tuple[str | None, bool | None]:
    """``(sha, dirty)`` of the sciformers checkout, or ``(None, None)`` outside git."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
        if sha.returncode != 0:
            return None, None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here, capture_output=True, text=True, timeout=10,
        )
        return sha.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: torch.device | str = "cpu") -> dict[str, Any]:
    """What the numbers were measured on: CPU, cores, torch threads, GPU if used."""
    device = torch.device(device)
    info: dict[str, Any] = {
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device.type,
        "platform": platform.platform(),
    }
    if device.type == "cuda" and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def versions() -> dict[str, str]:
    """Versions of Python and the packages a result depends on."""
    out = {"python": platform.python_version(), "torch": torch.__version__}
    for dist in ("sciformers", "numpy", "torchmetrics", "pydantic"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def write_records(path: Path, records: Iterable[RunRecord]) -> None:
    """Append records to a JSON-lines file, one line each, flushed per record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        for record in records:
            fh.write(record.model_dump_json() + "\n")
            fh.flush()


def read_records(path: Path) -> list[RunRecord]:
    """Read ``records.jsonl``; a malformed line is an error naming the file and line."""
    records = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(RunRecord.model_validate_json(line))
        except ValueError as err:
            raise ValueError(f"{path}:{lineno}: not a RunRecord: {err}") from None
    return records
