"""sciformers.evaluation: tasks, metrics, run records, reports, the pipeline runner and the CLI.

>>> from sciformers.evaluation import get_task, list_tasks, run_pipeline
>>> result = run_pipeline("attention/listops", preset="smoke")

The names below load on first use (PEP 562): importing the package, or its ``cli`` module,
imports neither torch nor the harness, so ``sciformers --help`` and ``sciformers list`` start
at once. The first name used loads the whole harness, as an eager import did, including the
trivial baselines (``majority``, ``mean``) that register on import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "context": ("ModelEntry", "PipelineConfig", "RunContext"),
    "datasets": ("DatasetEntry", "get_dataset", "PredictRequest", "PredictResult", "Predictor", "get_predictor",
                 "list_datasets", "register_dataset", "register_predictor"),
    "metrics": ("Metric", "get_metric", "list_metrics", "metric_direction", "register_metric",
                "register_metric_family"),
    "pipeline": ("list_pipelines", "resolve", "run_pipeline", "run_quickstart"),
    "records": ("RunRecord", "read_records", "write_records"),
    "report": ("Table", "write_report"),
    "runner": ("Entry", "Job", "Result", "run_task"),
    "tasks": ("MeasurementTask", "NoSection", "Splits", "SupervisedTask", "TaskSpec", "get_task", "import_all_tasks",
              "import_tasks", "list_tasks", "register_task"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """Load the harness on the first use of one of its names."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in (*_EXPORTS, "baselines"):  # the whole harness, as the eager import loaded it
        loaded = importlib.import_module(f"{__name__}.{module}")
        globals().update({n: getattr(loaded, n) for n in _EXPORTS.get(module, ())})
    return globals()[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))


if TYPE_CHECKING:  # for type checkers and editors: the names above, eagerly
    from sciformers.evaluation.context import ModelEntry, PipelineConfig, RunContext
    from sciformers.evaluation.datasets import (DatasetEntry, PredictRequest, PredictResult, Predictor,
                                                get_dataset, get_predictor, list_datasets, register_dataset,
                                                register_predictor)
    from sciformers.evaluation.metrics import (Metric, get_metric, list_metrics, metric_direction, register_metric,
                                               register_metric_family)
    from sciformers.evaluation.pipeline import list_pipelines, resolve, run_pipeline, run_quickstart
    from sciformers.evaluation.records import RunRecord, read_records, write_records
    from sciformers.evaluation.report import Table, write_report
    from sciformers.evaluation.runner import Entry, Job, Result, run_task
    from sciformers.evaluation.tasks import (MeasurementTask, NoSection, Splits, SupervisedTask, TaskSpec, get_task,
                                             import_all_tasks, import_tasks, list_tasks, register_task)
