"""Pipelines: find a YAML, resolve preset and overrides, run its task, write records and a report.

``sciformers run attention/listops --preset smoke --set train.steps=50`` ends here. A run
folder receives ``config.yaml`` (the resolved config), ``records.jsonl``, ``report.md``,
``report.html`` and ``checkpoints/``. Re-running into the same folder with the same resolved
config resumes: recorded (model, seed) pairs are skipped and training resumes from checkpoints.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import yaml

from sciformers.core import (
    ConfigError,
    TrainConfig,
    apply_overrides,
    deep_merge,
    distributed,
    get_model_spec,
    load_yaml,
)
from sciformers.evaluation.context import PipelineConfig, RunContext
from sciformers.evaluation.records import RunRecord, config_hash, new_run_id, read_records, write_records
from sciformers.evaluation.report import write_report
from sciformers.evaluation.runner import run_task
from sciformers.evaluation.tasks import MeasurementTask, get_task

DEFAULT_PRESET = "smoke"


def pipelines_root() -> Path:
    """The folder holding ``<domain>/<name>.yaml``: the checkout's ``pipelines/`` or the wheel's copy."""
    checkout = Path(__file__).resolve().parents[4] / "pipelines"
    if checkout.is_dir():
        return checkout
    return Path(str(importlib.resources.files("sciformers.evaluation") / "_pipelines"))


def list_pipelines() -> list[str]:
    """Names (``domain/name``) of every shipped pipeline, sorted."""
    root = pipelines_root()
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.glob("*/*.yaml"))


def find_pipeline(name: str) -> tuple[str, Path]:
    """Resolve a pipeline name or a path to a YAML file into ``(name, path)``."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path.stem, path
    candidate = pipelines_root() / f"{name}.yaml"
    if candidate.is_file():
        return name, candidate
    raise ConfigError(f"unknown pipeline {name!r}; available: {', '.join(list_pipelines())}")


@dataclass
class ResolvedPipeline:
    """A pipeline after preset and overrides, validated against its task."""

    config: PipelineConfig
    resolved: dict[str, Any]
    preset: str
    data: Any
    train: TrainConfig
    eval: Any
    stages: Any


def resolve(name: str, preset: str = DEFAULT_PRESET, overrides: list[str] | None = None, seed: int | None = None,
            models: list[str] | None = None) -> ResolvedPipeline:
    """Merge ``preset`` and ``overrides`` into the pipeline ``name`` and validate every section.

    ``seed`` keeps one training seed; ``models`` keeps only those pipeline models (the task's
    baseline always runs).

    Raises:
        ConfigError: for an unknown preset, an unknown key anywhere (``data``, ``train``,
            ``eval``, ``stages``), an unknown model, or a bad value; the message names the key as
            ``data.reynolds`` / ``train.stpes``.
    """
    pipeline_name, path = find_pipeline(name)
    raw = load_yaml(path)
    raw.setdefault("name", pipeline_name)
    presets = raw.get("presets") or {}
    if preset not in presets:
        raise ConfigError(f"{path}: no preset {preset!r}; available: {', '.join(presets) or 'none'}")
    merged = deep_merge({k: v for k, v in raw.items() if k != "presets"}, presets[preset])
    merged = apply_overrides(merged, overrides or [])
    if seed is not None:
        merged = apply_overrides(merged, [f"train.seeds=[{seed}]"])
    if models is not None:
        available = merged.get("models") or {}
        unknown = [m for m in models if m not in available]
        if unknown:
            raise ConfigError(f"--models: {', '.join(unknown)} not in {pipeline_name}; it has {', '.join(available)}")
        merged["models"] = {m: available[m] for m in models}
    config = PipelineConfig.parse({**merged, "presets": presets}, where=str(path.name))
    task = get_task(config.task)
    if not isinstance(task, MeasurementTask):  # a measurement suite's models are attention kernels
        _check_registered(task.name, task.baseline, config)
    data = task.data_schema.parse(config.data, where="data")
    train = TrainConfig.parse(config.train, where="train")
    evaluation = task.eval_schema.parse(config.eval, where="eval")
    stages = task.stages_schema.parse(config.stages, where="stages")
    resolved = {k: v for k, v in config.model_dump(mode="json").items() if k not in ("presets", "stages")}
    resolved["data"] = data.model_dump(mode="json")
    resolved["train"] = train.model_dump(mode="json")
    resolved["eval"] = evaluation.model_dump(mode="json")
    if config.stages:  # absent from the configs (and hashes) of pipelines without stages
        resolved["stages"] = stages.model_dump(mode="json")
    resolved["preset"] = preset
    return ResolvedPipeline(config=config, resolved=resolved, preset=preset, data=data, train=train,
                            eval=evaluation, stages=stages)


def _check_registered(task: str, baseline: str, config: PipelineConfig) -> None:
    """Every model the run builds is a registry entry (checked before the run folder is written)."""
    for where, name in [(f"task {task}'s baseline", baseline)] + [(f"models.{k}.model", e.model)
                                                                 for k, e in config.models.items()]:
        try:
            get_model_spec(name)
        except KeyError as err:
            raise ConfigError(f"{where}: {err.args[0]}") from None


def default_out_dir(name: str) -> Path:
    """``runs/<pipeline>/<timestamp>`` under the working directory."""
    return Path("runs") / name / datetime.now().strftime("%Y%m%d-%H%M%S")


def _prepare_out_dir(out: Path, resolved: dict[str, Any]) -> set[tuple[str, str, int]]:
    """Create ``out`` or resume into it; never overwrite another experiment's folder."""
    cfg_file = out / "config.yaml"
    if out.exists() and any(out.iterdir()):
        if not cfg_file.is_file():
            raise ConfigError(f"{out}: folder exists and is not a sciformers run; choose another --out")
        previous = yaml.safe_load(cfg_file.read_text())
        if config_hash(previous) != config_hash(resolved):
            raise ConfigError(
                f"{out}: holds a run of a different config (hash {config_hash(previous)[:12]}); "
                "choose another --out to keep both"
            )
        records = out / "records.jsonl"
        return {(r.task, r.model, r.seed) for r in read_records(records)} if records.is_file() else set()
    out.mkdir(parents=True, exist_ok=True)
    cfg_file.write_text(yaml.safe_dump(resolved, sort_keys=False))
    return set()


@dataclass
class RunResult:
    """What a pipeline run produced."""

    out_dir: Path
    records: list[RunRecord]
    report_md: Path
    report_html: Path


def run_pipeline(
    name: str,
    *,
    preset: str = DEFAULT_PRESET,
    overrides: list[str] | None = None,
    out: Path | None = None,
    device: str = "auto",
    seed: int | None = None,
    models: list[str] | None = None,
    quiet: bool = False,
    echo: Callable[[str], None] = print,
) -> RunResult:
    """Run one pipeline end to end and write its records and report into ``out``.

    Under ``torchrun`` every rank runs this function: rank 0 chooses and prepares the run folder
    and tells the others, every rank trains (see :mod:`sciformers.evaluation.runner`), and rank 0
    alone writes records and the report.
    """
    rp = resolve(name, preset, overrides, seed, models)
    distributed.init_distributed(device)  # joins the process group under torchrun; a no-op alone
    main = distributed.is_main()
    out = distributed.broadcast_object(out or default_out_dir(rp.config.name))
    done = distributed.broadcast_object(_prepare_out_dir(out, rp.resolved) if main else None)
    task = get_task(rp.config.task)
    ctx = RunContext(
        pipeline=rp.config, resolved=rp.resolved, data=rp.data, train=rp.train, eval=rp.eval, stages=rp.stages,
        out_dir=out, device=device, quiet=quiet, run_id=distributed.broadcast_object(new_run_id()), done=done,
        echo=echo,
    )
    if not quiet and main:
        world = f", {distributed.world_size()} processes" if distributed.is_distributed() else ""
        echo(f"[{rp.config.name}] preset {preset}, task {task.name} v{task.version}, out {out}{world}")
    records_file = out / "records.jsonl"
    for record in run_task(task, ctx):
        if main:
            write_records(records_file, [record])
    md, html = out / "report.md", out / "report.html"
    if main:
        md, html = write_report(read_records(records_file), out, title=f"sciformers: {rp.config.name} ({preset})")
    distributed.barrier()
    records = read_records(records_file) if records_file.is_file() else []
    return RunResult(out_dir=out, records=records, report_md=md, report_html=html)


def run_quickstart(out: Path | None = None, *, device: str = "auto", quiet: bool = False,
                   echo: Callable[[str], None] = print) -> RunResult:
    """Every shipped pipeline's ``smoke`` preset in turn, then one combined report."""
    out = out or default_out_dir("quickstart")
    out.mkdir(parents=True, exist_ok=True)
    records: list[RunRecord] = []
    for name in list_pipelines():
        result = run_pipeline(name, preset="smoke", out=out / name, device=device, quiet=quiet, echo=echo)
        records.extend(result.records)
    md, html = write_report(records, out, title="sciformers quickstart: every smoke pipeline",
                            run_dirs=[out / name for name in list_pipelines()])
    return RunResult(out_dir=out, records=records, report_md=md, report_html=html)
