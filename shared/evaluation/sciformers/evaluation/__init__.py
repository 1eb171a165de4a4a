"""sciformers.evaluation: tasks, metrics, run records, reports, the pipeline runner and the CLI.

>>> from sciformers.evaluation import get_task, list_tasks, run_pipeline
>>> result = run_pipeline("attention/listops", preset="smoke")
"""

from sciformers.evaluation.context import ModelEntry, PipelineConfig, RunContext
from sciformers.evaluation.datasets import (
    DatasetEntry,
    get_dataset,
    PredictRequest,
    PredictResult,
    Predictor,
    get_predictor,
    list_datasets,
    register_dataset,
    register_predictor,
)
from sciformers.evaluation.metrics import (
    Metric,
    get_metric,
    list_metrics,
    metric_direction,
    register_metric,
    register_metric_family,
)
from sciformers.evaluation.pipeline import list_pipelines, resolve, run_pipeline, run_quickstart
from sciformers.evaluation.records import RunRecord, read_records, write_records
from sciformers.evaluation.report import Table, write_report
from sciformers.evaluation.runner import Entry, Job, Result, run_task
from sciformers.evaluation.tasks import (
    MeasurementTask,
    NoSection,
    Splits,
    SupervisedTask,
    TaskSpec,
    get_task,
    import_all_tasks,
    import_tasks,
    list_tasks,
    register_task,
)

# The harness's own trivial baselines register on import; the attention suites (ListOps, kernel
# throughput) are a portion of their own, sciformers.attention_suites, imported on demand.
from sciformers.evaluation import baselines  # noqa: E402,F401  isort: skip
