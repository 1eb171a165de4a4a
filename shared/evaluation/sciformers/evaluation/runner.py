"""The one runner: every (task, model, seed) of a pipeline, the same way for every domain.

The runner owns what every benchmark repeats: the loop over sub-tasks, seeds and model
entries (the task's baseline first, then the pipeline's ``models``), resume (a recorded
(task, model, seed) is skipped), seeding, building each model from the registry, checkpoint
paths, parameter counts, timings, per-model peak memory and the records. A task is stateless
and supplies only data (:meth:`~sciformers.evaluation.tasks.TaskSpec.prepare`), how a model
of each protocol is fitted on it, scoring, and the artifacts its figures are drawn from.

Models come in two protocols, declared in the registry (``register_model(kind=...)``):

- ``trainable``: a :class:`~sciformers.core.TrainModule`, fitted through :meth:`Job.fit` (the
  shared :class:`~sciformers.core.Trainer`, its checkpoints under the job's folder);
- ``estimator``: an object with ``fit`` / ``predict`` of its own (a GLM, A*, an sktime classifier).

A task that trains in stages (pretrain then fine-tune, expert iteration) calls :meth:`Job.fit`
once per stage with the stage's name; each stage gets its own checkpoint folder and history.

Under ``torchrun`` every rank runs the same jobs in the same order: a trainable job trains with
sharded batches (the Trainer's DDP) and predicts every test sample exactly once, gathered on
every rank; an estimator job runs on rank 0 alone while the others wait. Rank 0 prepares each
dataset first (the others then read its cache), and only rank 0 writes checkpoints, artifacts
and records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import torch
from torch import nn
from torch.utils.data import Dataset

from sciformers.core import (
    FitResult,
    Trainer,
    TrainConfig,
    create_model,
    distributed,
    get_model_spec,
    save_model,
    seed_everything,
)
from sciformers.core.registry import ModelKind
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.records import PeakMemory, RunRecord

if TYPE_CHECKING:
    from sciformers.evaluation.tasks import TaskSpec


@dataclass(frozen=True)
class Entry:
    """One model of a pipeline as the runner builds it.

    Args:
        name: the records' ``model`` (the pipeline's key, or the baseline's registry name).
        model: the registry name.
        kwargs: keyword arguments for the factory (``model_defaults`` and the task's inputs merged in).
        kind: the registry's protocol.
        baseline: whether this is the task's trivial baseline.
    """

    name: str
    model: str
    kwargs: dict[str, Any]
    kind: ModelKind
    baseline: bool = False


@dataclass
class Result:
    """What scoring one job produced: the metrics of one record.

    A job usually scores one record. It scores several when one fit is tested on several test
    sets (``task``: the record's task, e.g. a shifted test set) or when a training stage is
    recorded as a model of its own (``model``: e.g. an expert-iteration round, with its own
    ``fit_s`` / ``eval_s``).

    Args:
        metrics: metric key -> value (every key has a direction in the metric registry).
        n_test: test samples scored (for ``infer_ms_per_sample``).
        task: the record's task (default: the job's).
        model: the record's model name (default: the job's entry).
        fit_s, eval_s: timings of this record when they are not the job's.
    """

    metrics: dict[str, float]
    n_test: int
    task: TaskSpec | None = None
    model: str | None = None
    fit_s: float | None = None
    eval_s: float | None = None


@dataclass
class Job:
    """One (task, model entry, seed): the handle a task trains, predicts and saves through.

    Args:
        ctx: the run's context (validated sections, output folder, device).
        task: the task whose records this job writes.
        entry: the model entry.
        seed: the training seed.
        root: the job's checkpoint folder (``checkpoints/<model>/seed<seed>``).
        fits: each training stage's :class:`~sciformers.core.FitResult` (``""``: the main fit).
        fit_s, eval_s: wall time of the task's ``fit`` and ``predict``, set by the runner before ``score``.
    """

    ctx: RunContext
    task: TaskSpec
    entry: Entry
    seed: int
    root: Path
    fits: dict[str, FitResult] = field(default_factory=dict)
    fit_s: float = 0.0
    eval_s: float = 0.0

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def kwargs(self) -> dict[str, Any]:
        return self.entry.kwargs

    @property
    def is_first_seed(self) -> bool:
        """Whether this is the run's first seed (figures draw examples from it)."""
        return self.seed == self.ctx.seeds[0]

    @property
    def device(self) -> torch.device:
        """The device this process trains and predicts on."""
        return distributed.init_distributed(self.ctx.device)

    def say(self, message: str) -> None:
        """A progress line (unless the run is quiet)."""
        self.ctx.say(f"{self.task.name}: {message}")

    def build(self, **overrides: Any) -> Any:
        """Seed, then build the entry's model from the registry (``overrides`` over its kwargs)."""
        seed_everything(self.seed)
        return create_model(self.entry.model, **{**self.entry.kwargs, **overrides})

    def checkpoint_dir(self, *parts: str) -> Path:
        """A folder under the job's checkpoint root (the root itself without ``parts``)."""
        return self.root.joinpath(*parts)

    def train_config(self, **overrides: Any) -> TrainConfig:
        """The ``train:`` section with ``overrides`` (a stage's budget), validated."""
        return TrainConfig.parse({**self.ctx.train.model_dump(), **overrides}, where="train")

    def fit(self, module: nn.Module, train: Dataset, val: Dataset | None = None, *, stage: str = "",
            config: TrainConfig | None = None, collate: Callable[[list[Any]], Any] | None = None) -> FitResult:
        """Train ``module`` with the shared Trainer; its checkpoints under ``checkpoint_dir(stage)``.

        Args:
            module: a trainable model.
            train: training data; val: validation data (``None``: carved from train).
            stage: the training stage (``""`` for the main fit; ``pretrain``, ``finetune`` ...).
            config: the stage's budget (default: the ``train:`` section).
            collate: batches a list of samples.
        """
        label = f"{self.name} (seed {self.seed}" + (f", {stage})" if stage else ")")
        self.say(f"training {label}")
        trainer = Trainer(config or self.ctx.train, run_dir=self.checkpoint_dir(*([stage] if stage else [])),
                          device=self.ctx.device, seed=self.seed, quiet=self.ctx.quiet, label=label)
        result = trainer.fit(module, train, val, collate_fn=collate)  # type: ignore[arg-type]
        self.fits[stage] = result
        return result

    def predict(self, module: nn.Module, dataset: Dataset, *, collate: Callable[[list[Any]], Any] | None = None,
                config: TrainConfig | None = None) -> Any:
        """``module.predict`` over the whole ``dataset`` in order (the Trainer's eval batches; under
        torchrun a trainable's shards are predicted on every rank and gathered, an estimator's here alone)."""
        trainer = Trainer(config or self.ctx.train, device=self.ctx.device, seed=self.seed, quiet=True)
        return trainer.predict(module, dataset, collate_fn=collate,  # type: ignore[arg-type]
                               shard_ranks=self.entry.kind == "trainable")

    def save(self, module: nn.Module, meta: dict[str, Any] | None = None, stage: str = "final") -> Path:
        """safetensors + JSON of ``module`` under ``checkpoint_dir(stage)`` (``model``, ``kwargs`` and ``meta``);
        rank 0 writes, the others only learn the path."""
        path = self.checkpoint_dir(stage)
        if distributed.is_main():
            save_model(path, module, {"model": self.entry.model, "kwargs": self.entry.kwargs, **(meta or {})})
        return path

    @property
    def history(self) -> list[dict[str, float]]:
        """The main fit's validation history (the first stage's when there is no main fit)."""
        fit = self.fits.get("") or next(iter(self.fits.values()), None)
        return list(fit.history) if fit is not None else []

    @property
    def train_samples_per_s(self) -> float | None:
        fit = self.fits.get("") or next(iter(self.fits.values()), None)
        return fit.train_samples_per_s if fit is not None else None


def pipeline_entries(task: TaskSpec, ctx: RunContext) -> list[Entry]:
    """The task's baseline, then every pipeline model; ``model_defaults`` go under the kwargs of
    each trainable one (the shared architecture of the neural models, never an estimator's)."""
    entries = [Entry(task.baseline, task.baseline, {}, get_model_spec(task.baseline).kind, baseline=True)]
    for name, e in ctx.models.items():
        kind = get_model_spec(e.model).kind
        defaults = ctx.model_defaults if kind == "trainable" else {}
        entries.append(Entry(name, e.model, {**defaults, **e.kwargs}, kind))
    return entries


def count_params(model: Any) -> int:
    """Parameters of a torch module; an estimator's ``n_params`` where it reports one; else 0."""
    if isinstance(model, nn.Module):
        return sum(p.numel() for p in model.parameters())
    return int(getattr(model, "n_params", 0) or 0)


def run_task(task: TaskSpec, ctx: RunContext) -> Iterator[RunRecord]:
    """Every (sub-task, seed, model) of ``task`` that ``ctx`` has not recorded yet, one record at a time.

    Seeds are the outer loop, so an interrupted run already compares every model on its first
    seeds. A sub-task's data is prepared once, and only when one of its jobs is left. A
    :class:`~sciformers.evaluation.tasks.MeasurementTask` (kernel timings: nothing is fitted)
    yields its records itself.
    """
    from sciformers.evaluation.tasks import MeasurementTask  # tasks.py imports this module

    if isinstance(task, MeasurementTask):
        yield from task.measure(ctx)
        return
    for sub in task.subtasks(ctx):
        entries = sub.entries(ctx)
        todo = [(seed, e) for seed in ctx.seeds for e in entries if not ctx.is_done(sub.name, e.name, seed)]
        if not todo:
            continue
        prepared = _prepare_once(sub, ctx)
        resolved = {e.name: e for e in sub.resolve_entries(prepared, entries)}
        scope = [] if sub is task else [sub.name.split(".", 1)[-1]]
        for seed, entry in todo:
            root = ctx.out_dir / "checkpoints" / entry.name / Path(*scope, f"seed{seed}")
            yield from run_job(Job(ctx, sub, resolved[entry.name], seed, root), prepared)


def _prepare_once(task: TaskSpec, ctx: RunContext) -> Any:
    """``task.prepare(ctx)``; under torchrun rank 0 first, so that one process generates the data."""
    if not distributed.is_main():
        distributed.barrier()
    prepared = task.prepare(ctx)
    if distributed.is_main():
        distributed.barrier()
    return prepared


def run_job(job: Job, prepared: Any) -> Iterator[RunRecord]:
    """Build, fit, predict, save and score one job; write its artifacts; yield its records.

    Under torchrun an estimator job runs on rank 0 only (the other ranks wait and yield nothing).
    """
    if job.entry.kind == "estimator" and distributed.is_distributed():
        if distributed.is_main():
            yield from _run_job(job, prepared)
        distributed.barrier()
        return
    yield from _run_job(job, prepared)


def _run_job(job: Job, prepared: Any) -> Iterator[RunRecord]:
    task, ctx = job.task, job.ctx
    if job.entry.kind == "estimator" or job.entry.baseline:
        job.say(f"fitting {job.name} (seed {job.seed})")
    with PeakMemory() as memory:
        model = task.build(job, prepared)
        t0 = time.perf_counter()
        task.fit(job, model, prepared)
        job.fit_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        predictions = task.predict(job, model, prepared)
        job.eval_s = time.perf_counter() - t1
        task.save(job, model)
        scored = task.score(job, prepared, predictions)
        results = [scored] if isinstance(scored, Result) else list(scored)
        for name, payload in task.artifacts(job, prepared, predictions).items():
            if distributed.is_main():
                task.write_predictions(ctx.out_dir, name, payload)
    n_params = task.count_params(model)
    for r in results:
        r_eval = job.eval_s if r.eval_s is None else r.eval_s
        yield ctx.record(
            task=r.task or task, model=r.model or job.name, seed=job.seed, n_params=n_params, metrics=r.metrics,
            fit_s=job.fit_s if r.fit_s is None else r.fit_s, eval_s=r_eval,
            train_samples_per_s=job.train_samples_per_s if r.model is None else None,
            infer_ms_per_sample=1000.0 * r_eval / max(r.n_test, 1), peak_rss_mb=memory.mb,
        )


def resolve_kwargs(entries: Sequence[Entry], extra: Callable[[Entry], dict[str, Any]]) -> list[Entry]:
    """Each entry with ``extra(entry)`` merged over its kwargs."""
    return [replace(e, kwargs={**e.kwargs, **extra(e)}) for e in entries]


__all__ = ["Entry", "Job", "Result", "count_params", "pipeline_entries", "resolve_kwargs", "run_job",
           "run_task"]
