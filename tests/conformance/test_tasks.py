"""Conformance over the task registry (lm-eval style): every task's baseline runs on a tiny fixture.

Every registered task declares a registered baseline, metric directions and a data card. Each
shipped pipeline runs its smoke preset with no model but the task's baseline; every record must
carry the full schema, a direction for each metric, and belong to a registered task.
"""

from pathlib import Path

import pytest

from sciformers.core import get_model_spec
from sciformers.evaluation import (
    MeasurementTask,
    get_task,
    import_all_tasks,
    list_pipelines,
    list_tasks,
    resolve,
    run_pipeline,
)
from sciformers.evaluation.records import RunRecord

import_all_tasks()
TASKS = list_tasks()
PIPELINES = [p for p in list_pipelines() if not isinstance(get_task(resolve(p, "smoke").config.task), MeasurementTask)]
SCHEMA = set(RunRecord.model_fields)
CARDS = Path(__file__).resolve().parents[2] / "data_cards"


@pytest.mark.parametrize("name", TASKS)
def test_task_declares_baseline_metrics_and_card(name):
    task = get_task(name)
    assert task.name == name and name.split(".")[0] == task.domain
    task.higher_is_better()  # every declared metric has a direction
    if not isinstance(task, MeasurementTask):
        assert get_model_spec(task.baseline).name == task.baseline
    if task.data_card is not None:
        assert (CARDS / task.data_card).is_file(), f"{name}: no data card {task.data_card}"


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_baseline_on_the_smoke_fixture(pipeline, tmp_path):
    rp = resolve(pipeline, "smoke")
    task = get_task(rp.config.task)
    result = run_pipeline(pipeline, preset="smoke", models=[], out=tmp_path / "run", quiet=True,
                          overrides=["train.seeds=[0]"])
    assert result.records, f"{pipeline}: the baseline wrote no record"
    for r in result.records:
        assert set(r.model_dump()) == SCHEMA
        assert r.task in list_tasks()
        assert r.model == task.baseline
        assert r.metrics and set(r.higher_is_better) == set(r.metrics)
        assert r.peak_rss_mb > 0 and r.timings.fit_s >= 0
    assert result.report_md.is_file()
