"""Pipelines: find a YAML, resolve preset and overrides, run its task, write records and a report.

``sciformers run attention/listops --preset smoke --set train.steps=50`` ends here. A run
folder receives ``config.yaml`` (the resolved config), ``status.json`` (running / interrupted /
failed / done), ``run.log`` (third-party warnings, once each, instead of the console),
``records.jsonl``, ``report.md``, ``report.html`` and ``checkpoints/``. Re-running into the same
folder with the same resolved config resumes: recorded (model, seed) pairs are skipped and
training resumes from checkpoints (see :mod:`sciformers.evaluation.rundir` for the rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from sciformers.core import (
    ConfigError,
    TrainConfig,
    apply_overrides,
    deep_merge,
    distributed,
    get_model_spec,
    load_yaml,
)
from sciformers.core.progress import progress_display
from sciformers.evaluation.catalog import DEFAULT_PRESET, list_pipelines, pipelines_root
from sciformers.evaluation.context import PipelineConfig, RunContext
from sciformers.evaluation.records import RunRecord, new_run_id, read_records, write_records
from sciformers.evaluation.report import write_report
from sciformers.evaluation.rundir import LOG, RunLog, prepare_run_dir, write_status
from sciformers.evaluation.runner import run_task
from sciformers.evaluation.tasks import MeasurementTask, TaskSpec, get_task

__all__ = ["DEFAULT_PRESET", "ResolvedPipeline", "RunInterrupted", "RunResult", "find_pipeline", "list_pipelines",
           "pipelines_root", "resolve", "run_pipeline", "run_quickstart"]


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


@dataclass
class RunResult:
    """What a pipeline run produced."""

    out_dir: Path
    records: list[RunRecord]
    report_md: Path
    report_html: Path


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run whose folder was written: what was saved, and where to resume.

    A ``KeyboardInterrupt``, so callers that catch that still do; the CLI prints one line.

    Args:
        out_dir: the run folder (``status.json`` says ``interrupted``).
        done: runs (task, model, seed) recorded in ``records.jsonl``.
        total: runs the pipeline has (``None`` for a measurement task, which counts its own).
    """

    def __init__(self, out_dir: Path, done: int, total: int | None) -> None:
        of = f" of {total}" if total is not None else ""
        super().__init__(f"interrupted: {done}{of} runs saved in {out_dir}")
        self.out_dir = out_dir
        self.resume_dir = out_dir  # what --out resumes it (a quickstart: the quickstart folder)
        self.done, self.total = done, total
        self.main = distributed.is_main()


def _jobs(task: TaskSpec, ctx: RunContext) -> list[tuple[str, str, int]] | None:
    """Every (task, model, seed) the run trains, in the runner's order (``None``: a measurement task)."""
    if isinstance(task, MeasurementTask):
        return None
    return [(sub.name, e.name, seed) for sub in task.subtasks(ctx) for seed in ctx.seeds for e in sub.entries(ctx)]


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
    force: bool = False,
    echo: Callable[[str], None] = print,
) -> RunResult:
    """Run one pipeline end to end and write its records and report into ``out``.

    Third-party warnings and log messages go to ``<out>/run.log`` (once each), not the console;
    ``<out>/status.json`` follows the run (running, interrupted, failed with the error, done).

    Args:
        force: replace a previous run in ``out`` whatever its config (it is moved aside).

    Raises:
        RunInterrupted: on Ctrl-C once the folder exists (everything recorded so far is kept).

    Under ``torchrun`` every rank runs this function: rank 0 chooses and prepares the run folder
    and tells the others, every rank trains (see :mod:`sciformers.evaluation.runner`), and rank 0
    alone writes records, status and the report.
    """
    log = RunLog()
    with log.capture():
        rp = resolve(name, preset, overrides, seed, models)
        distributed.init_distributed(device)  # joins the process group under torchrun; a no-op alone
        main = distributed.is_main()
        if distributed.is_distributed():
            log.prefix = f"[rank {distributed.rank()}] "
        out = distributed.broadcast_object(out or default_out_dir(rp.config.name))
        prepared = distributed.broadcast_object(prepare_run_dir(out, rp.resolved, force) if main else None)
        log.attach(out / LOG)
        task = get_task(rp.config.task)
        ctx = RunContext(
            pipeline=rp.config, resolved=rp.resolved, data=rp.data, train=rp.train, eval=rp.eval, stages=rp.stages,
            out_dir=out, device=device, quiet=quiet, run_id=distributed.broadcast_object(new_run_id()),
            done=prepared.done, echo=echo,
        )
        started = datetime.now().isoformat(timespec="seconds")
        if main:
            write_status(out, "running", pipeline=rp.config.name, preset=preset, started=started)
        if not quiet and main:
            world = f", {distributed.world_size()} processes" if distributed.is_distributed() else ""
            echo(f"[{rp.config.name}] preset {preset}, task {task.name} v{task.version}, out {out}{world}")
            if prepared.replaced is not None:
                echo(f"[{rp.config.name}] --force: the previous run is now {prepared.replaced}")
            if prepared.reused:
                echo(f"[{rp.config.name}] the previous run here failed before recording anything; "
                     "starting over with this config")
        jobs = _jobs(task, ctx)
        done = [j for j in jobs if ctx.is_done(*j)] if jobs is not None else sorted(ctx.done)
        if ctx.done:
            ctx.say(f"{len(done)} runs done, continuing" if jobs is None else
                    f"all {len(jobs)} runs done; rebuilding the report" if len(done) == len(jobs) else
                    f"{len(done)} of {len(jobs)} runs done, continuing")
        records_file = out / "records.jsonl"
        try:
            md, html = _run_jobs(task, ctx, rp, jobs, done, records_file, quiet)
        except KeyboardInterrupt:
            if main:
                write_status(out, "interrupted", pipeline=rp.config.name, preset=preset, started=started)
            recorded = {(r.task, r.model, r.seed) for r in read_records(records_file)} if records_file.is_file() else set()
            n_done = len(recorded & set(jobs)) if jobs is not None else len(recorded)
            raise RunInterrupted(out, n_done, len(jobs) if jobs is not None else None) from None
        except Exception as err:
            log.error(err)
            if main:
                write_status(out, "failed", pipeline=rp.config.name, preset=preset, started=started,
                             error=f"{type(err).__name__}: {err}")
            raise
        if main:
            write_status(out, "done", pipeline=rp.config.name, preset=preset, started=started)
            if log.count and not quiet:
                echo(f"[{rp.config.name}] {log.count} library warning(s) written to {out / LOG}")
    records = read_records(records_file) if records_file.is_file() else []
    return RunResult(out_dir=out, records=records, report_md=md, report_html=html)


def _run_jobs(task: TaskSpec, ctx: RunContext, rp: ResolvedPipeline, jobs: list[tuple[str, str, int]] | None,
              done: list[Any], records_file: Path, quiet: bool) -> tuple[Path, Path]:
    """The runner's records into ``records_file`` under one progress display, then the report."""
    main = distributed.is_main()
    planned, finished = set(jobs or ()), set(done)
    with progress_display(quiet) as display:
        runs = display.bar(len(jobs) if jobs is not None else 0, f"{rp.config.name}: runs", completed=len(done))
        for record in run_task(task, ctx):
            if main:
                write_records(records_file, [record])
            key = (record.task, record.model, record.seed)
            if key in planned and key not in finished:
                finished.add(key)
                runs.update(1)
    md, html = ctx.out_dir / "report.md", ctx.out_dir / "report.html"
    if main:
        md, html = write_report(read_records(records_file), ctx.out_dir, title=f"sciformers: {rp.config.name} ({rp.preset})")
    distributed.barrier()
    return md, html


def run_quickstart(out: Path | None = None, *, device: str = "auto", quiet: bool = False, force: bool = False,
                   echo: Callable[[str], None] = print) -> RunResult:
    """Every shipped pipeline's ``smoke`` preset in turn (each in ``<out>/<pipeline>``), then one
    combined report; rerunning into the same ``out`` resumes every pipeline."""
    out = out or default_out_dir("quickstart")
    out.mkdir(parents=True, exist_ok=True)
    records: list[RunRecord] = []
    for name in list_pipelines():
        try:
            result = run_pipeline(name, preset="smoke", out=out / name, device=device, quiet=quiet, force=force,
                                  echo=echo)
        except RunInterrupted as err:
            err.resume_dir = out
            raise
        records.extend(result.records)
    md, html = write_report(records, out, title="sciformers quickstart: every smoke pipeline",
                            run_dirs=[out / name for name in list_pipelines()])
    return RunResult(out_dir=out, records=records, report_md=md, report_html=html)
