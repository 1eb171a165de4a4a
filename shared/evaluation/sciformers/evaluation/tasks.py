"""Benchmark tasks: a versioned ``TaskSpec`` registry (lm-eval / matbench style).

A task names its metrics with their direction and its trivial baseline, validates the
``data:`` section of a pipeline, and knows how to run the models a pipeline lists. Supervised
tasks subclass :class:`SupervisedTask`, which owns the fit / predict / score loop so that
domains write only data loading and scoring.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Sequence

import numpy as np
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.core import Config, Trainer, TrainModule, create_model, import_domain, save_model, seed_everything
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.metrics import Metric, get_metric
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import Table, plots_default, tables_default

class TaskSpec(ABC):
    """A registered benchmark task.

    Subclasses set the class attributes and implement :meth:`run`.

    Attributes:
        name: registry name, ``<domain>.<task>`` (``attention.listops``).
        version: bumped whenever data or scoring change, so old records are not compared.
        domain: the domain package the task belongs to.
        description: one line for ``sciformers list tasks``.
        metrics: metric names (see :mod:`sciformers.evaluation.metrics`); the first is primary.
        baseline: registry name of the trivial baseline run beside every model.
        data_card: file name under ``data_cards/`` describing the data.
        data_schema: the pydantic config that validates the pipeline's ``data:`` section.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    domain: ClassVar[str]
    description: ClassVar[str] = ""
    metrics: ClassVar[tuple[str, ...]]
    baseline: ClassVar[str]
    data_card: ClassVar[str | None] = None
    data_schema: ClassVar[type[Config]]

    def metric_objects(self) -> list[Metric]:
        """The registered :class:`Metric` objects for :attr:`metrics`."""
        return [get_metric(m) for m in self.metrics]

    def higher_is_better(self) -> dict[str, bool]:
        """Direction of every metric the task reports."""
        return {m.name: m.higher_is_better for m in self.metric_objects()}

    @abstractmethod
    def run(self, ctx: RunContext) -> Iterator[RunRecord]:
        """Run every model of the pipeline (and the baseline) and yield one record per (model, seed)."""

    def tables(self, records: list[RunRecord]) -> list[Table]:
        """Report tables: by default every model beside the baseline, mean ± std over seeds."""
        return tables_default(records, self.baseline)

    def predictions_path(self, run_dir: Path, name: str) -> Path:
        """``<run_dir>/predictions/<task>/<name>``: where :meth:`run` keeps what :meth:`plots` draws."""
        return run_dir / "predictions" / self.name / name

    def write_predictions(self, run_dir: Path, name: str, payload: dict[str, Any]) -> Path:
        """Write ``payload`` to :meth:`predictions_path` (its folder created): JSON for a ``.json``
        name, compressed arrays for a ``.npz`` name."""
        path = self.predictions_path(run_dir, name)
        if path.suffix not in (".json", ".npz"):
            raise ValueError(f"write_predictions: {name!r} must end in .json or .npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".npz":
            np.savez_compressed(path, **payload)
        else:
            path.write_text(json.dumps(payload))
        return path

    def saved_predictions(self, run_dirs: Sequence[Path], name: str) -> Path | None:
        """``predictions/<task>/<name>`` of the last of ``run_dirs`` that holds it, else ``None``."""
        found = [path for d in run_dirs if (path := self.predictions_path(d, name)).exists()]
        return found[-1] if found else None

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        """Matplotlib figures for the report, keyed by a file stem: by default the primary metric.

        ``run_dirs`` are the run folders the records were read from: figures drawn from what
        :meth:`run` wrote there (predictions, shapelets) appear in a report of an old run too.
        """
        return plots_default(records, self.baseline, self.metrics[0] if self.metrics else None)


@dataclass
class Splits:
    """Datasets of a supervised task. ``val`` is carved from train by the Trainer when ``None``."""

    train: Dataset
    test: Dataset
    val: Dataset | None = None
    info: dict[str, Any] | None = None


class SupervisedTask(TaskSpec):
    """A task whose models are trained by the shared :class:`~sciformers.core.Trainer`.

    Subclasses implement :meth:`load`, :meth:`targets` and may override :meth:`model_inputs`
    (arguments every model needs, such as vocabulary size) and :attr:`collate`.
    """

    collate: ClassVar[Callable[[list[Any]], Any] | None] = None

    @abstractmethod
    def load(self, data: Config) -> Splits:
        """Build or read the datasets described by the validated ``data`` config."""

    @abstractmethod
    def targets(self, dataset: Dataset) -> Tensor:
        """All targets of ``dataset`` in order, stacked, to score predictions against."""

    def model_inputs(self, splits: Splits) -> dict[str, Any]:
        """Keyword arguments every model of this task receives (e.g. ``num_classes``)."""
        return {}

    def score(self, pred: Tensor, target: Tensor) -> dict[str, float]:
        """Every metric of the task on the whole test set."""
        return {m.name: m(pred, target) for m in self.metric_objects()}

    def run(self, ctx: RunContext) -> Iterator[RunRecord]:
        splits = self.load(ctx.data)
        extra = self.model_inputs(splits)
        entries = [(self.baseline, self.baseline, dict(extra), True)]
        entries += [(name, e.model, {**ctx.model_defaults, **e.kwargs, **extra}, False) for name, e in ctx.models.items()]
        for name, model_name, kwargs, is_baseline in entries:
            for seed in ctx.seeds:
                if not ctx.is_done(self.name, name, seed):
                    yield self._run_one(ctx, splits, name, model_name, kwargs, seed, is_baseline)

    def _run_one(
        self, ctx: RunContext, splits: Splits, name: str, model_name: str, kwargs: dict[str, Any],
        seed: int, is_baseline: bool,
    ) -> RunRecord:
        """Fit (or, for the baseline, fit on training targets), predict the whole test set, score."""
        seed_everything(seed)
        module: TrainModule = create_model(model_name, **kwargs)
        run_dir = ctx.out_dir / "checkpoints" / name / f"seed{seed}"
        trainer = Trainer(ctx.train, run_dir=run_dir, device=ctx.device, seed=seed, quiet=ctx.quiet)
        samples_per_s = None
        t0 = time.perf_counter()
        if is_baseline:
            module.fit(self.targets(splits.train))  # type: ignore[operator]
            fit_s = time.perf_counter() - t0
        else:
            ctx.say(f"{self.name}: training {name} (seed {seed})")
            fit = trainer.fit(module, splits.train, splits.val, collate_fn=self.collate)
            fit_s, samples_per_s = fit.fit_s, fit.train_samples_per_s
        t1 = time.perf_counter()
        pred = trainer.predict(module, splits.test, collate_fn=self.collate)
        eval_s = time.perf_counter() - t1
        if not isinstance(pred, Tensor):
            raise TypeError(f"{model_name}.predict must return a Tensor for {self.name}, got {type(pred).__name__}")
        save_model(run_dir / "final", module, {"model": model_name, "kwargs": kwargs})
        y_test = self.targets(splits.test)
        return ctx.record(
            task=self,
            model=name,
            seed=seed,
            n_params=sum(p.numel() for p in module.parameters()),
            metrics=self.score(pred.float(), y_test),
            fit_s=fit_s,
            eval_s=eval_s,
            train_samples_per_s=samples_per_s,
            infer_ms_per_sample=1000.0 * eval_s / max(len(y_test), 1),
        )


_TASKS: dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add a task instance to the registry (returns it, so it can decorate an instance)."""
    if spec.name in _TASKS:
        raise ValueError(f"task {spec.name!r} is already registered")
    _TASKS[spec.name] = spec
    return spec


def get_task(name: str) -> TaskSpec:
    """The task registered under ``name``, importing ``sciformers.<domain>`` if needed."""
    if name not in _TASKS and "." in name:
        import_domain(name)
    try:
        return _TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; registered: {', '.join(list_tasks())}") from None


def list_tasks() -> list[str]:
    """Sorted names of the registered tasks."""
    return sorted(_TASKS)


def data_card_path(task: TaskSpec) -> Path | None:
    """Where the task's data card lives in a source checkout (``None`` if it has none)."""
    if task.data_card is None:
        return None
    return Path(__file__).resolve().parents[4] / "data_cards" / task.data_card
