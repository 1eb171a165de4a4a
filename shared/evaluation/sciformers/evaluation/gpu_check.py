"""``make gpu-check``: the CUDA paths in one table, wherever CUDA exists ("no CUDA" elsewhere).

Checks bf16 autocast against fp32, an nccl process group of one process (an all-reduce), and
each shipped pipeline's ``full`` preset (paper-scale models) for a few optimizer steps on its
``smoke`` data: steps/s, training samples/s and peak GPU memory per model. One row per check.

    python -m sciformers.evaluation.gpu_check [--steps 5] [--pipelines crystals/emt_eform,...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from sciformers.core import load_yaml


def _bf16_autocast() -> dict[str, Any]:
    """A matmul under bf16 autocast: its dtype and relative error against fp32."""
    a, b = torch.randn(512, 512, device="cuda"), torch.randn(512, 512, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        c = a @ b
    ref = a @ b
    err = float((c.float() - ref).norm() / ref.norm())
    return {"check": "bf16 autocast matmul", "ok": c.dtype == torch.bfloat16 and err < 2e-2, "detail": f"rel err {err:.1e}"}


def _nccl_one_process() -> dict[str, Any]:
    """An nccl process group of world size 1 and one all-reduce."""
    import torch.distributed as dist

    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29533")
    dist.init_process_group("nccl", rank=0, world_size=1)
    try:
        x = torch.ones(4, device="cuda")
        dist.all_reduce(x)
        ok = bool((x == 1).all())
    finally:
        dist.destroy_process_group()
    return {"check": "nccl all-reduce (1 process)", "ok": ok, "detail": torch.cuda.get_device_name()}


def _full_preset(pipeline: str, steps: int, out: Path) -> list[dict[str, Any]]:
    """The pipeline's ``full`` models and recipe for ``steps`` steps, on its ``smoke`` data."""
    from sciformers.evaluation.pipeline import find_pipeline, run_pipeline

    _, path = find_pipeline(pipeline)
    smoke_data = (load_yaml(path).get("presets", {}).get("smoke", {}) or {}).get("data", {})
    overrides = [f"data.{k}={v!r}" if isinstance(v, str) else f"data.{k}={v}" for k, v in smoke_data.items()
                 if not isinstance(v, dict)]
    overrides += ["train.seeds=[0]", f"train.steps={steps}", "train.epochs=null", f"train.eval_every={steps}"]
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    result = run_pipeline(pipeline, preset="full", overrides=overrides, out=out, device="cuda", quiet=True)
    wall = time.perf_counter() - t0
    rows = []
    for r in result.records:
        sps = r.timings.train_samples_per_s
        rows.append({"check": f"{pipeline}: {r.model}", "ok": True,
                     "detail": f"{r.n_params:,} params; {'%.0f samples/s' % sps if sps else 'no training'}; "
                               f"fit {r.timings.fit_s:.1f} s"})
    rows.append({"check": f"{pipeline}: all models", "ok": True,
                 "detail": f"wall {wall:.0f} s; peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the checks and print one Markdown table; 0 when CUDA is absent (nothing to check)."""
    parser = argparse.ArgumentParser(prog="gpu-check", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--pipelines", type=lambda v: [p for p in v.split(",") if p], default=None)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu-check: no CUDA on this machine; nothing to check")
        return 0
    from sciformers.evaluation.pipeline import list_pipelines

    rows = [_bf16_autocast(), _nccl_one_process()]
    with tempfile.TemporaryDirectory() as tmp:
        for pipeline in args.pipelines or [p for p in list_pipelines() if p != "attention/throughput"]:
            try:
                rows += _full_preset(pipeline, args.steps, Path(tmp) / pipeline.replace("/", "_"))
            except Exception as err:  # one pipeline's failure is a row of the table, not the end of the check
                rows.append({"check": f"{pipeline}: full preset", "ok": False, "detail": f"{type(err).__name__}: {err}"})
    print(f"| check ({torch.cuda.get_device_name()}) | ok | detail |\n|---|---|---|")
    for row in rows:
        print(f"| {row['check']} | {'yes' if row['ok'] else 'NO'} | {row['detail']} |")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
