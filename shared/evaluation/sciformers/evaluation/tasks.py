"""Benchmark tasks: a versioned ``TaskSpec`` registry (lm-eval / matbench style).

A task names its metrics and its trivial baseline, validates the pipeline's ``data:``,
``eval:`` and ``stages:`` sections (before anything is written), and supplies what the shared
runner (:mod:`sciformers.evaluation.runner`) cannot know: how to load the data, how a model of
each protocol is fitted on it, how predictions are scored, and which artifacts the report's
figures are drawn from. Tasks hold no state between calls: what :meth:`TaskSpec.prepare`
returns is handed back to every other method.
"""

from __future__ import annotations

import importlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Sequence

import numpy as np
from torch import Tensor, nn
from torch.utils.data import Dataset

from sciformers.core import Config, import_domain, registering_portions
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.metrics import Metric, get_metric, metric_direction
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import Table, plots_default, tables_default
from sciformers.evaluation.runner import Entry, Job, Result, count_params, pipeline_entries, resolve_kwargs


class NoSection(Config):
    """An empty section: the task takes no ``eval:`` (or ``stages:``) settings."""


class TaskSpec(ABC):
    """A registered benchmark task.

    Attributes:
        name: registry name, ``<domain>.<task>`` (``attention.listops``).
        version: bumped whenever data or scoring change, so old records are not compared.
        domain: the domain package the task belongs to.
        description: one line for ``sciformers list tasks``.
        metrics: metric names (see :mod:`sciformers.evaluation.metrics`); the first is primary.
            Keys computed per horizon or bin are declared as metric families.
        baseline: registry name of the trivial baseline run beside every model.
        data_card: file name under ``data_cards/`` describing the data.
        data_schema: validates the pipeline's ``data:`` section.
        eval_schema: validates its ``eval:`` section (scoring settings).
        stages_schema: validates its ``stages:`` section (training stages after the main fit).
        collate: batches a list of samples for the Trainer (``None``: torch's default).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    domain: ClassVar[str]
    description: ClassVar[str] = ""
    metrics: ClassVar[tuple[str, ...]] = ()
    baseline: ClassVar[str]
    data_card: ClassVar[str | None] = None
    data_schema: ClassVar[type[Config]]
    eval_schema: ClassVar[type[Config]] = NoSection
    stages_schema: ClassVar[type[Config]] = NoSection
    collate: ClassVar[Callable[[list[Any]], Any] | None] = None

    def metric_objects(self) -> list[Metric]:
        """The registered :class:`Metric` objects for :attr:`metrics`."""
        return [get_metric(m) for m in self.metrics]

    def higher_is_better(self, keys: Sequence[str] | None = None) -> dict[str, bool]:
        """Direction of each of ``keys`` (default: :attr:`metrics`) from the metric registry.

        Raises:
            ValueError: for a key no metric or metric family declares.
        """
        keys = list(self.metrics if keys is None else keys)
        directions = {k: metric_direction(k) for k in keys}
        missing = [k for k, d in directions.items() if d is None]
        if missing:
            raise ValueError(f"task {self.name}: metrics without a direction: {missing} "
                             "(register them with register_metric or register_metric_family)")
        return {k: bool(d) for k, d in directions.items()}

    # -- what the runner asks of a task ---------------------------------------------------

    def subtasks(self, ctx: RunContext) -> Sequence[TaskSpec]:
        """The tasks whose records this pipeline writes (one per dataset for a multi-dataset task)."""
        return [self]

    @abstractmethod
    def prepare(self, ctx: RunContext) -> Any:
        """Load or generate the data described by ``ctx.data``, once per run; returned, never stored."""

    def entries(self, ctx: RunContext) -> list[Entry]:
        """The models to run: the baseline first, then the pipeline's (``model_defaults`` merged in)."""
        return pipeline_entries(self, ctx)

    def model_kwargs(self, prepared: Any, entry: Entry) -> dict[str, Any]:
        """Keyword arguments a model of this data needs (a vocabulary size, a class count)."""
        return {}

    def resolve_entries(self, prepared: Any, entries: list[Entry]) -> list[Entry]:
        """The entries with :meth:`model_kwargs` merged in (a task may also tie one entry to another)."""
        return resolve_kwargs(entries, lambda e: self.model_kwargs(prepared, e))

    def build(self, job: Job, prepared: Any) -> Any:
        """The job's model, seeded and built from the registry."""
        return job.build()

    def fit(self, job: Job, model: Any, prepared: Any) -> None:
        """Fit ``model``: an estimator through its own ``fit``, a trainable through :meth:`Job.fit`."""
        if job.entry.kind == "estimator":
            model.fit(*self.fit_inputs(prepared))
        else:
            job.fit(model, *self.train_sets(prepared, model), collate=self.collate)

    def fit_inputs(self, prepared: Any) -> tuple[Any, ...]:
        """Positional arguments of an estimator's ``fit``."""
        raise NotImplementedError(f"task {self.name} fits no estimator")

    def train_sets(self, prepared: Any, model: Any) -> tuple[Dataset, Dataset | None]:
        """Training and validation data for a trainable (``None`` validation: carved from train)."""
        raise NotImplementedError(f"task {self.name} trains no torch module")

    def predict(self, job: Job, model: Any, prepared: Any) -> Any:
        """Predictions on the whole test set."""
        return job.predict(model, self.test_set(prepared), collate=self.collate)

    def test_set(self, prepared: Any) -> Dataset:
        """The test data :meth:`predict` runs over."""
        raise NotImplementedError(f"task {self.name} has no default test set")

    def save(self, job: Job, model: Any) -> None:
        """Keep the fitted model (safetensors + JSON) under the job's ``final`` folder."""
        if isinstance(model, nn.Module):
            job.save(model)

    @abstractmethod
    def score(self, job: Job, prepared: Any, predictions: Any) -> Result | list[Result]:
        """Every metric on the whole test set: one :class:`Result` per record."""

    def artifacts(self, job: Job, prepared: Any, predictions: Any) -> dict[str, dict[str, Any]]:
        """What the figures are drawn from, ``file name -> payload`` under ``predictions/<task>/``."""
        return {}

    def count_params(self, model: Any) -> int:
        """Parameters of the fitted model."""
        return count_params(model)

    # -- report ------------------------------------------------------------------------------

    def tables(self, records: list[RunRecord]) -> list[Table]:
        """Report tables: by default every model beside the baseline, mean ± std over seeds."""
        return tables_default(records, self.baseline)

    def predictions_path(self, run_dir: Path, name: str) -> Path:
        """``<run_dir>/predictions/<task>/<name>``: where a task's artifacts live."""
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

        ``run_dirs`` are the run folders the records were read from: figures drawn from the
        artifacts saved there appear in a report of an old run too.
        """
        return plots_default(records, self.baseline, self.metrics[0] if self.metrics else None)


class MeasurementTask(TaskSpec):
    """A task that measures instead of fitting (kernel throughput): it yields its own records.

    Its "models" are not registry models and nothing is trained, so the runner's fit / predict
    protocol does not apply; the runner still owns the run folder, resume state and records file.
    """

    @abstractmethod
    def measure(self, ctx: RunContext) -> Iterator[RunRecord]:
        """One record per measured configuration not yet in ``ctx.done``."""

    def prepare(self, ctx: RunContext) -> Any:
        raise TypeError(f"task {self.name} measures; it prepares no data for the runner")

    def score(self, job: Job, prepared: Any, predictions: Any) -> Result:
        raise TypeError(f"task {self.name} measures; it scores no predictions")


@dataclass
class Splits:
    """Datasets of a supervised task. ``val`` is carved from train by the Trainer when ``None``."""

    train: Dataset
    test: Dataset
    val: Dataset | None = None
    info: dict[str, Any] | None = None


class SupervisedTask(TaskSpec):
    """A task with train / validation / test datasets and targets to score predictions against.

    Subclasses implement :meth:`load` and :meth:`targets` and may override :meth:`model_inputs`
    (arguments every model needs, such as vocabulary size). The baseline estimator is fitted on
    the training targets; every trainable through the shared Trainer.
    """

    @abstractmethod
    def load(self, data: Config) -> Splits:
        """Build or read the datasets described by the validated ``data`` config."""

    @abstractmethod
    def targets(self, dataset: Dataset) -> Tensor:
        """All targets of ``dataset`` in order, stacked, to score predictions against."""

    def model_inputs(self, splits: Splits) -> dict[str, Any]:
        """Keyword arguments every model of this task receives (e.g. ``num_classes``)."""
        return {}

    def metric_values(self, pred: Tensor, target: Tensor) -> dict[str, float]:
        """Every metric of the task on the whole test set."""
        return {m.name: m(pred, target) for m in self.metric_objects()}

    def prepare(self, ctx: RunContext) -> Splits:
        return self.load(ctx.data)

    def model_kwargs(self, prepared: Splits, entry: Entry) -> dict[str, Any]:
        return self.model_inputs(prepared)

    def fit_inputs(self, prepared: Splits) -> tuple[Any, ...]:
        return (self.targets(prepared.train),)

    def train_sets(self, prepared: Splits, model: Any) -> tuple[Dataset, Dataset | None]:
        return prepared.train, prepared.val

    def test_set(self, prepared: Splits) -> Dataset:
        return prepared.test

    def score(self, job: Job, prepared: Splits, predictions: Any) -> Result:
        if not isinstance(predictions, Tensor):
            raise TypeError(f"{job.entry.model}.predict must return a Tensor for {self.name}, "
                            f"got {type(predictions).__name__}")
        y_test = self.targets(prepared.test)
        return Result(self.metric_values(predictions.float(), y_test), n_test=len(y_test))


_TASKS: dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add a task instance to the registry (returns it, so it can decorate an instance)."""
    if spec.name in _TASKS:
        raise ValueError(f"task {spec.name!r} is already registered")
    _TASKS[spec.name] = spec
    return spec


def import_tasks(name: str) -> None:
    """Import the harness side of a domain: the modules its ``TASK_MODULES`` names.

    A domain package imports only its models when imported (``import sciformers.crystals`` loads
    no harness and no matplotlib); its tasks, datasets and predictors register when the harness
    asks for them, through this function.
    """
    module = import_domain(name)
    for task_module in getattr(module, "TASK_MODULES", ()):
        importlib.import_module(task_module)


def import_all_tasks() -> None:
    """Import every installed domain's task modules, so the registries list all their entries."""
    for portion in registering_portions():
        import_tasks(portion)


def get_task(name: str) -> TaskSpec:
    """The task registered under ``name``, importing its domain's task modules if needed."""
    if name not in _TASKS and "." in name:
        import_tasks(name)
    try:
        return _TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; registered: {', '.join(list_tasks())}") from None


def list_tasks() -> list[str]:
    """Sorted names of the registered tasks (call :func:`import_all_tasks` first for every domain's)."""
    return sorted(_TASKS)


def data_card_path(task: TaskSpec) -> Path | None:
    """Where the task's data card lives in a source checkout (``None`` if it has none)."""
    if task.data_card is None:
        return None
    return Path(__file__).resolve().parents[4] / "data_cards" / task.data_card


# The harness's own trivial baselines (``majority``, ``mean``) register on import; a task names
# one as its baseline, so they load with the task registry.
from sciformers.evaluation import baselines  # noqa: E402,F401  isort: skip
