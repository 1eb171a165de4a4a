"""The ``timeseries/uea_classification`` pipeline end to end (smoke preset, made faster)."""

import json

import pytest
import torch

from sciformers.core import ConfigError
from sciformers.evaluation import get_metric, get_task, read_records, resolve, run_pipeline
from sciformers.evaluation.context import RunContext

FAST = [
    "train.epochs=2",
    "models.minirocket.kwargs.num_kernels=84",
    "data.datasets=[PlantedShapelets]",
    "data.planted.n_train=24",
    "data.planted.n_test=30",
    "data.planted.length=60",
    "data.planted.motif_length=12",
    "data.planted.jitter=5",
]


def test_smoke_pipeline_writes_records_report_and_checkpoints(tmp_path):
    out = tmp_path / "run"
    run_pipeline("timeseries/uea_classification", overrides=FAST, out=out, quiet=True)
    records = read_records(out / "records.jsonl")
    assert sorted(r.model for r in records) == ["convtran", "dtw_1nn", "majority", "minirocket",
                                                "timeseries.shapeformer"]
    for r in records:
        assert r.task == "timeseries.planted_shapelets" and r.seed == 0
        assert set(r.metrics) == {"accuracy", "balanced_accuracy", "f1_macro"}
        assert all(0.0 <= v <= 1.0 for v in r.metrics.values())
        assert r.timings.fit_s >= 0 and r.timings.eval_s > 0
    majority = next(r for r in records if r.model == "majority")
    assert majority.metrics["accuracy"] == pytest.approx(10 / 30)  # balanced classes: 10 of 30 per class
    shapeformer = next(r for r in records if r.model == "timeseries.shapeformer")
    assert shapeformer.n_params > 0
    report = (out / "report.md").read_text()
    assert "timeseries.planted_shapelets" in report and "timeseries.shapeformer" in report
    assert "planted_shapelets_confusion" in report and "planted_shapelets_shapelets" in report
    summary = report.split("## timeseries/uea_classification: summary")[1].split("\n## ")[0]
    assert "| planted_shapelets | " in summary and "| mean over 1 | " in summary
    # a dataset whose planned seeds have not all finished is marked [n=k] and left out of the mean
    task = get_task("timeseries.uea_classification")
    two = [r.model_copy(update={"config": {**r.config, "train": {**r.config["train"], "seeds": [0, 1]}}})
           for r in records]
    partial = task.tables(two)[0].rows
    assert all(cell.endswith("[n=1]") for cell in partial[0][1:]) and len(partial) == 1
    done = task.tables(two + [r.model_copy(update={"seed": 1}) for r in two])[0].rows
    assert not any("[n=" in cell for cell in done[0]) and done[1][0] == "mean over 1"
    ckpt = out / "checkpoints" / "timeseries.shapeformer" / "planted_shapelets" / "seed0"  # <entry>/<sub-task>/seed<s>
    assert json.loads((ckpt / "config.json").read_text())["model"] == "timeseries.shapeformer"
    saved = json.loads((out / "predictions" / "timeseries.planted_shapelets" / "timeseries.shapeformer_seed0.json")
                       .read_text())
    assert sum(p == t for p, t in zip(saved["y_pred"], saved["y_true"])) / 30 == pytest.approx(
        shapeformer.metrics["accuracy"])
    # resuming into the same folder re-runs nothing, and its report still draws the saved figures
    (out / "report.md").unlink()
    again = run_pipeline("timeseries/uea_classification", overrides=FAST, out=out, quiet=True)
    assert len(again.records) == 5
    report = (out / "report.md").read_text()
    assert "planted_shapelets_confusion" in report and "planted_shapelets_shapelets" in report


def test_one_subtask_per_dataset_each_with_the_tasks_baseline_first_and_estimator_peers(tmp_path):
    rp = resolve("timeseries/uea_classification", "smoke", ["data.datasets=[BasicMotions, PlantedShapelets]"])
    ctx = RunContext(pipeline=rp.config, resolved=rp.resolved, data=rp.data, train=rp.train, eval=rp.eval,
                     stages=rp.stages, out_dir=tmp_path, device="cpu", quiet=True, run_id="r")
    subs = get_task("timeseries.uea_classification").subtasks(ctx)
    assert [s.name for s in subs] == ["timeseries.basic_motions", "timeseries.planted_shapelets"]
    first, *models = subs[1].entries(ctx)
    assert first.baseline and first.name == first.model == subs[1].baseline
    assert all(e.kind == "estimator" for e in [first, *models])
    by_name = {e.name: e.model for e in models}
    assert by_name["timeseries.shapeformer"] == "timeseries.shapeformer_classifier"


def test_unknown_dataset_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match="datasets: .*unknown \\['Nope'\\]"):
        resolve("timeseries/uea_classification", "smoke", ["data.datasets=[Nope]"])


def test_every_preset_resolves():
    for preset in ("smoke", "bench", "full"):
        assert resolve("timeseries/uea_classification", preset).data.datasets


def test_balanced_accuracy_matches_a_hand_computation():
    target = torch.tensor([0, 0, 0, 0, 1, 1])
    pred = torch.tensor([0, 0, 0, 1, 1, 0])
    # recall: class 0 = 3/4, class 1 = 1/2 -> 0.625 (plain accuracy would be 4/6)
    assert get_metric("balanced_accuracy")(pred, target) == pytest.approx(0.625)
