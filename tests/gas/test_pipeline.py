"""The smoke pipeline end to end, on generated data and on an image folder the test writes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sciformers.evaluation import run_pipeline
from sciformers.evaluation.cli import main
from sciformers.gas.folder import write_image_folder


def test_smoke_pipeline_synthetic(tmp_path):
    out = tmp_path / "run"
    result = run_pipeline(
        "gas/synthetic_ogi", preset="smoke", out=out, quiet=True,
        overrides=["models={gasformer: {model: gas.gasformer}}",
                   "data.shifts={low_flow: {flow_range: [5.0, 20.0]}}", "train.steps=2"],
    )
    lines = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert {(r["task"], r["model"]) for r in lines} == {
        (t, m) for t in ("gas.synthetic_ogi", "gas.synthetic_ogi_low_flow") for m in ("threshold", "gasformer")}
    for r in lines:
        assert {"plume_iou", "plume_f1", "miou", "latency_ms"} <= set(r["metrics"])
        assert 0.0 <= r["metrics"]["plume_iou"] <= 1.0
        assert r["higher_is_better"]["plume_iou"] is True and r["higher_is_better"]["latency_ms"] is False
    assert len({r["metrics"]["latency_ms"] for r in lines if r["model"] == "gasformer"}) == 1  # one fit, two test sets
    gas = [r for r in lines if r["model"] == "gasformer"][0]
    assert 3.5e6 < gas["n_params"] < 3.8e6
    report = result.report_md.read_text()
    assert "Results: gas.synthetic_ogi" in report and "Results: gas.synthetic_ogi_low_flow" in report
    assert "plume_iou" in report and "gasformer" in report and "threshold (baseline)" in report
    assert (out / "checkpoints" / "gasformer" / "seed0" / "final" / "model.safetensors").is_file()
    assert "plots/gas_synthetic_ogi_examples.png" in report  # in-distribution test frames, outlined
    main(["report", str(out), "--out", str(tmp_path / "later")])  # redrawn later from predictions/
    assert (tmp_path / "later" / "plots" / "gas_synthetic_ogi_examples.png").is_file()


def test_pipeline_on_an_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 4)):
        frames = rng.integers(0, 60, (n, 1, 32, 32)).astype(np.uint8)
        masks = np.zeros((n, 32, 32), np.uint8)
        masks[:, 10:16, 8:24] = 1
        frames[:, 0, 10:16, 8:24] += 150
        write_image_folder(tmp_path / "ogi", split, frames, masks)
    out = tmp_path / "run"
    result = run_pipeline("gas/synthetic_ogi", preset="smoke", out=out, quiet=True,
                          overrides=[f"data.path={tmp_path / 'ogi'}", "models={}"])
    (record,) = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert record["task"] == "gas.synthetic_ogi" and record["model"] == "threshold"
    assert record["metrics"]["plume_iou"] > 0.5
    assert "detection_rate" not in record["metrics"]  # no flows for real footage
    report = result.report_md.read_text()  # the report describes the user's folder, not the generator
    assert f"Data: the image folder {tmp_path / 'ogi'}" in report and "not the synthetic generator" in report
    assert "Data: the synthetic generator" not in report


def test_temporal_input_pipeline_and_per_rate_detection(tmp_path):
    out = tmp_path / "run"
    result = run_pipeline(
        "gas/synthetic_ogi", preset="smoke", out=out, quiet=True,
        overrides=["models={unet: {model: unet, kwargs: {width: 4}}}", "data.temporal=difference",
                   "data.shifts={}", "data.empty_fraction=0.5", "data.n_test=32"],
    )
    lines = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert [r["model"] for r in lines] == ["threshold", "unet"]
    unet = next(r for r in lines if r["model"] == "unet")
    assert unet["config"]["data"]["temporal"] == "difference"
    from sciformers.core import load_model
    from sciformers.gas.segmentation import SegmentationModule

    assert load_model(out / "checkpoints" / "unet" / "seed0" / "final", SegmentationModule).in_channels == 2
    pods = {k for r in lines for k in r["metrics"] if k.startswith("pod_")}
    assert pods and pods <= {f"pod_{10 * k}" for k in range(1, 11)}  # one per release rate of 10..100 SCCM
    assert "temporal input 'difference'" in result.report_md.read_text()


@pytest.mark.parametrize("preset", ["bench", "full"])
def test_every_learned_model_has_a_step_budget_with_early_stopping(preset):
    from sciformers.evaluation.pipeline import resolve

    pipeline = resolve("gas/synthetic_ogi", preset=preset)
    train = pipeline.train
    assert train.steps and train.eval_every and train.patience and train.eval_every < train.steps
    assert pipeline.data.n_val > 0  # stopped on separate validation sequences
    assert set(pipeline.config.models) == {"gasformer", "segformer_b0", "unet"}


def test_dataset_command_builds_the_cache(tmp_path):
    from sciformers.evaluation import get_dataset

    entry = get_dataset("gas.synthetic_ogi")
    cfg = entry.schema.parse({"size": 32, "n_train": 8, "n_val": 0, "n_test": 4, "n_shift": 4, "frames_per_seq": 4,
                              "shifts": {"high_noise": {"netd_mk": [80.0, 90.0]}}}, where="gas.synthetic_ogi")
    files = entry.build(cfg)
    assert sorted(f.name.split("-")[0] for f in files) == ["shift_high_noise", "test", "train"]
    assert all(f.is_file() and f.suffix == ".npz" for f in files)


def test_a_shift_task_tests_on_its_shift_only_and_needs_it_before_training(tmp_path):
    out = tmp_path / "run"
    run_pipeline("gas/synthetic_ogi", preset="smoke", out=out, quiet=True,
                 overrides=["task=gas.synthetic_ogi_low_flow", "models={}"])
    lines = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert [(r["task"], r["model"]) for r in lines] == [("gas.synthetic_ogi_low_flow", "threshold")]
    bad = tmp_path / "bad"
    with pytest.raises(ValueError, match="needs the generator with data.shifts.low_flow"):
        run_pipeline("gas/synthetic_ogi", preset="smoke", out=bad, quiet=True,
                     overrides=["task=gas.synthetic_ogi_low_flow", "data.shifts={high_noise: {netd_mk: [60.0, 90.0]}}"])
    assert not (bad / "checkpoints").exists() and not (bad / "records.jsonl").is_file()


def test_models_get_the_class_count_of_the_data():
    from sciformers.evaluation import get_task

    task = get_task("gas.synthetic_ogi")
    cfg = task.data_schema.parse({"size": 32, "n_train": 4, "n_val": 0, "n_test": 4, "n_shift": 4, "frames_per_seq": 4,
                                  "shifts": {}, "classes": "flow"}, where="data")
    assert task.model_inputs(task.load(cfg)) == {"in_channels": 1, "num_classes": 11}  # declared, not just seen
