"""sciformers.evaluation: tasks, metrics, run records, reports, the pipeline runner and the CLI.

>>> from sciformers.evaluation import get_task, list_tasks, run_pipeline
>>> result = run_pipeline("attention/listops", preset="smoke")
"""

from sciformers.evaluation.context import ModelEntry, PipelineConfig, RunContext
from sciformers.evaluation.datasets import (
    DatasetEntry,
    get_dataset,
    get_predictor,
    list_datasets,
    register_dataset,
    register_predictor,
)
from sciformers.evaluation.metrics import Metric, get_metric, list_metrics, register_metric
from sciformers.evaluation.pipeline import list_pipelines, resolve, run_pipeline, run_quickstart
from sciformers.evaluation.records import RunRecord, read_records, write_records
from sciformers.evaluation.report import Table, write_report
from sciformers.evaluation.tasks import Splits, SupervisedTask, TaskSpec, get_task, list_tasks, register_task

# The harness's own suites (attention kernels) and baselines register on import.
from sciformers.evaluation import baselines  # noqa: E402,F401  isort: skip
from sciformers.evaluation.suites import listops, sequence_classifier, throughput  # noqa: E402,F401  isort: skip
