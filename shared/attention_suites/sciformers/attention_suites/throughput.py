"""The ``attention.throughput`` task: tokens/s and peak memory of every sequence kernel against N.

All timings are taken in one process after measuring a ``torch.mm`` ceiling, each variant
beside ``softmax`` (same causal flag, same N) as a ratio; memory comes from fresh
subprocesses (see :mod:`kernel_timing`). FLOPs per token (D = H·d): softmax ≈ 4·N·D, linear
≈ 4·D·d, so log-log tokens/s against N has slope −1 for quadratic kernels and 0 for linear ones.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

import matplotlib.pyplot as plt
import torch
from pydantic import Field

from sciformers.attention import get_attention_spec
from sciformers.core import Config, ConfigError
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import Table, fmt
from sciformers.attention_suites.kernel_timing import KernelCase, make_call, measure_memory, mm_gflops, time_call
from sciformers.evaluation.metrics import register_metric_family
from sciformers.evaluation.tasks import MeasurementTask, register_task

Mode = Literal["fwd", "fwdbwd"]


class ThroughputData(Config):
    """The ``data:`` section of ``attention/throughput``: the inputs and what to measure.

    Args:
        seed: seeds the random q, k, v.
        lengths: sequence lengths N.
        batch, heads, dim_head: B, H, d of the ``(B, H, N, d)`` inputs.
        dtype: ``float32``, ``float64`` or ``bfloat16``.
        threads: torch threads for every measurement.
        min_run_time: seconds each timing runs at least (``blocked_autorange``).
        modes: ``fwd`` (no grad) and/or ``fwdbwd`` (forward + backward of ``out.sum()``).
        causal: which causal flags to measure (variants that do not support causal are skipped).
        caps: longest N per variant (Sinkhorn stores N² scores: 8192 keeps it under ~3 GB).
        memory: also measure peak memory per config (one subprocess per variant and mode).
    """

    seed: int = 0
    lengths: list[int] = Field(default_factory=lambda: [256, 1024])
    batch: int = 1
    heads: int = 4
    dim_head: int = 64
    dtype: Literal["float32", "float64", "bfloat16"] = "float32"
    threads: int = 2
    min_run_time: float = 0.2
    modes: list[Mode] = Field(default_factory=lambda: ["fwd", "fwdbwd"])
    causal: list[bool] = Field(default_factory=lambda: [False, True])
    caps: dict[str, int] = Field(default_factory=lambda: {"sinkhorn": 8192})
    memory: bool = True


register_metric_family("{mode}_tok_s_n{n}", higher_is_better=True, description="tokens per second at length n")
register_metric_family("{mode}_speedup_n{n}", higher_is_better=True, description="tokens/s over softmax's at length n")
register_metric_family("{mode}_peak_mb_n{n}", higher_is_better=False, description="peak extra memory (MiB) at length n")


def _key(mode: str, what: str, n: int) -> str:
    return f"{mode}_{what}_n{n}"


class ThroughputTask(MeasurementTask):
    """Kernel speed and memory against sequence length, each beside softmax."""

    name = "attention.throughput"
    version = "1"
    domain = "attention"
    description = (
        "Forward and forward+backward tokens/s and peak memory of every sequence attention kernel "
        "against N (B, H, d fixed), each as a ratio to softmax at the same N and causal flag."
    )
    metrics = ()
    baseline = "softmax"
    data_schema = ThroughputData

    def measure(self, ctx: RunContext) -> Iterator[RunRecord]:
        cfg = ctx.data
        assert isinstance(cfg, ThroughputData)
        if self.baseline not in ctx.models:
            raise ConfigError(f"models: throughput ratios need a {self.baseline!r} entry")
        torch.set_num_threads(cfg.threads)
        device = ctx.device_type()
        ceiling = mm_gflops(cfg.threads, device=device)
        ctx.say(f"torch.mm ceiling: {ceiling:.1f} GFLOP/s ({cfg.threads} threads)")
        seed = ctx.seeds[0]
        reference: dict[str, float] = {}
        names = sorted(ctx.models, key=lambda n: n != self.baseline)
        for name in names:
            entry = ctx.models[name]
            spec = get_attention_spec(entry.model)
            if spec.kind != "sequence":
                raise ConfigError(f"models.{name}: {entry.model!r} is a {spec.kind} layer, not a sequence kernel")
            for causal in cfg.causal:
                if causal and not spec.causal:
                    continue
                label = f"{name}-causal" if causal else name
                if ctx.is_done(self.name, label, seed):
                    continue
                lengths = [n for n in cfg.lengths if n <= cfg.caps.get(name, n)]
                metrics: dict[str, float] = {}
                for mode in cfg.modes:
                    case = KernelCase(entry.model, entry.kwargs, causal, mode, cfg.batch, cfg.heads,
                                      cfg.dim_head, cfg.dtype, device)
                    for n in lengths:
                        torch.manual_seed(cfg.seed + n)
                        seconds = time_call(make_call(case, n), cfg.threads, cfg.min_run_time)
                        tok_s = cfg.batch * n / seconds
                        metrics[_key(mode, "tok_s", n)] = tok_s
                        ref_key = f"{causal}:{_key(mode, 'tok_s', n)}"
                        if name == self.baseline:
                            reference[ref_key] = tok_s
                        elif ref_key in reference:
                            metrics[_key(mode, "speedup", n)] = tok_s / reference[ref_key]
                        ctx.say(f"  {label:18s} {mode:6s} N={n:6d}: {tok_s:12.0f} tokens/s")
                    if cfg.memory:
                        for n, mb in measure_memory(case, lengths, cfg.threads).items():
                            metrics[_key(mode, "peak_mb", n)] = mb
                record = ctx.record(task=self, model=label, seed=seed, n_params=0, metrics=metrics)
                record.hardware["mm_gflops"] = ceiling
                yield record

    def tables(self, records: list[RunRecord]) -> list[Table]:
        tables = []
        for what, title in (("tok_s", "tokens/s (× softmax, same causal flag)"), ("peak_mb", "peak extra memory, MiB")):
            for mode in ("fwd", "fwdbwd"):
                cells = _series(records, mode, what)
                if not cells:
                    continue
                lengths = sorted({n for series in cells.values() for n in series})
                rows = []
                for model in sorted(cells, key=lambda m: (m.endswith("-causal"), not m.startswith(self.baseline), m)):
                    row = [model]
                    for n in lengths:
                        value = cells[model].get(n)
                        speed = _series(records, mode, "speedup").get(model, {}).get(n)
                        text = "–" if value is None else fmt(value)
                        row.append(f"{text} ({speed:.2f}×)" if what == "tok_s" and speed is not None else text)
                    rows.append(row)
                ceiling = records[0].hardware.get("mm_gflops")
                notes = [f"B={_cfg(records, 'batch')}, H={_cfg(records, 'heads')}, d={_cfg(records, 'dim_head')}, "
                         f"{_cfg(records, 'dtype')}, {_cfg(records, 'threads')} threads; torch.mm ceiling "
                         f"{fmt(ceiling) if ceiling else '?'} GFLOP/s."]
                tables.append(Table(f"{'forward' if mode == 'fwd' else 'forward + backward'}: {title}",
                                    ["variant"] + [f"N={n}" for n in lengths], rows, notes))
        return tables

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        figures = {}
        for what, ylabel in (("tok_s", "tokens / s"), ("peak_mb", "peak extra MiB")):
            modes = [m for m in ("fwd", "fwdbwd") if _series(records, m, what)]
            if not modes:
                continue
            fig, axes = plt.subplots(1, len(modes), figsize=(5.2 * len(modes), 3.8), squeeze=False)
            for ax, mode in zip(axes[0], modes):
                for model, series in sorted(_series(records, mode, what).items()):
                    ns = sorted(series)
                    ax.loglog(ns, [series[n] for n in ns], "o-" if "causal" not in model else "s--", label=model)
                ax.set_xlabel("sequence length N")
                ax.set_ylabel(ylabel)
                ax.set_title("forward" if mode == "fwd" else "forward + backward")
                ax.grid(True, which="both", alpha=0.3)
            axes[0][-1].legend(fontsize=8)
            fig.tight_layout()
            figures[what] = fig
        return figures


def _series(records: list[RunRecord], mode: str, what: str) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = defaultdict(dict)
    prefix = f"{mode}_{what}_n"
    for r in records:
        for key, value in r.metrics.items():
            if key.startswith(prefix):
                out[r.model][int(key[len(prefix):])] = value
    return dict(out)


def _cfg(records: list[RunRecord], key: str) -> Any:
    return records[0].config.get("data", {}).get(key)


THROUGHPUT = register_task(ThroughputTask())
