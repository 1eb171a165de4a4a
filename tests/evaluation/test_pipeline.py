"""The pipeline runner end to end: presets, overrides, records, reports, resume, refusal to overwrite."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from sciformers.core import ConfigError
from sciformers.evaluation import RunRecord, get_task, list_pipelines, read_records, resolve, run_pipeline
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.rundir import prepare_run_dir

FAST = ["train.steps=4", "train.eval_every=2", "data.n_train=60", "data.n_test=23"]
RECORD_FIELDS = {
    "schema_version", "run_id", "pipeline", "task", "task_version", "model", "n_params", "seed", "config",
    "config_hash", "git_sha", "git_dirty", "metrics", "higher_is_better", "timings", "peak_rss_mb",
    "hardware", "versions", "timestamp",
}


def test_shipped_pipelines_resolve_in_every_preset():
    assert {"attention/listops", "attention/throughput"} <= set(list_pipelines())
    for name in list_pipelines():
        for preset in ("smoke", "bench", "full"):
            rp = resolve(name, preset)
            assert rp.resolved["preset"] == preset
            get_task(rp.config.task)


def test_overrides_and_presets_compose():
    rp = resolve("attention/listops", "smoke", ["data.max_len=70", "train.seeds=[3, 4]", "model_defaults.dim=16"])
    assert rp.data.max_len == 70 and rp.data.n_train == 300  # override over preset over base
    assert rp.train.seeds == [3, 4] and rp.config.model_defaults["dim"] == 16
    assert resolve("attention/listops", "smoke", seed=7).train.seeds == [7]
    assert list(resolve("attention/listops", "smoke", models=["sinkhorn", "softmax"]).config.models) == ["sinkhorn",
                                                                                                   "softmax"]
    with pytest.raises(ConfigError, match="--models: performer not in attention/listops; it has softmax, linear"):
        resolve("attention/listops", "smoke", models=["performer"])


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["train.stpes=3"], r"train\.stpes: unknown key"),
        (["data.n_trian=3"], r"data\.n_trian: unknown key"),
        (["modles.x.model=y"], r"modles: unknown key"),
        (["data.n_train=many"], r"data\.n_train: .*integer"),
    ],
)
def test_config_errors_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve("attention/listops", "smoke", overrides)


def test_unknown_pipeline_and_preset_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown pipeline 'attention/nope'.*attention/listops"):
        resolve("attention/nope")
    with pytest.raises(ConfigError, match="no preset 'huge'; available: smoke, bench, full"):
        resolve("attention/listops", "huge")


def test_listops_smoke_writes_records_report_and_checkpoints(tmp_path):
    out = tmp_path / "run"
    result = run_pipeline("attention/listops", overrides=FAST, out=out, quiet=True)
    lines = (out / "records.jsonl").read_text().splitlines()
    assert len(lines) == 4  # majority + softmax + linear + sinkhorn, one seed
    for line in lines:
        assert set(json.loads(line)) == RECORD_FIELDS
    by_model = {r.model: r for r in result.records}
    assert set(by_model) == {"majority", "softmax", "linear", "sinkhorn"}
    for r in result.records:
        assert 0.0 <= r.metrics["accuracy"] <= 1.0 and r.higher_is_better["accuracy"] is True
        assert r.task == "attention.listops" and r.seed == 0 and len(r.config_hash) == 64
        assert (out / "checkpoints" / r.model / "seed0" / "final").is_dir()
    assert by_model["majority"].n_params == 0 < by_model["softmax"].n_params
    md = result.report_md.read_text()
    assert "majority (baseline)" in md and "accuracy / majority" in md
    html = result.report_html.read_text()
    assert "data:image/png;base64," in html and "src='plots/" not in html


def test_rerun_into_same_folder_resumes_and_other_config_is_refused(tmp_path):
    out = tmp_path / "run"
    first = run_pipeline("attention/listops", overrides=FAST, out=out, quiet=True)
    again = run_pipeline("attention/listops", overrides=FAST, out=out, quiet=True)
    assert [r.run_id for r in again.records] == [r.run_id for r in first.records]  # nothing re-run
    with pytest.raises(ConfigError, match="holds a run of a different config"):
        run_pipeline("attention/listops", overrides=FAST + ["train.lr=0.01"], out=out, quiet=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a sciformers run"):
        run_pipeline("attention/listops", overrides=FAST, out=tmp_path / "mine", quiet=True)


def test_records_round_trip_and_bad_line_names_file(tmp_path):
    out = tmp_path / "run"
    run_pipeline("attention/listops", overrides=FAST + ["models={}"], out=out, quiet=True)
    records = read_records(out / "records.jsonl")
    assert [r.model for r in records] == ["majority"]
    assert RunRecord.model_validate_json(records[0].model_dump_json()) == records[0]
    (out / "records.jsonl").write_text('{"schema_version": 1}\n')
    with pytest.raises(ValueError, match=r"records\.jsonl:1: not a RunRecord"):
        read_records(out / "records.jsonl")


def test_resume_keys_on_task_model_and_seed(tmp_path):
    """A multi-task pipeline resumes per task: (model, seed) done on one task is not done on another."""
    out = tmp_path / "run"
    run_pipeline("attention/listops", overrides=FAST + ["models={}"], out=out, quiet=True)
    done = prepare_run_dir(out, yaml.safe_load((out / "config.yaml").read_text())).done
    task = read_records(out / "records.jsonl")[0].task
    assert done == {(task, "majority", 0)}
    ctx = SimpleNamespace(done=done)
    assert RunContext.is_done(ctx, task, "majority", 0)
    assert not RunContext.is_done(ctx, "another.task", "majority", 0)
    assert not RunContext.is_done(ctx, task, "majority", 1)


def test_write_predictions_round_trips_json_and_npz(tmp_path):
    task = get_task(resolve("attention/listops", "smoke").config.task)
    assert task.saved_predictions([tmp_path], "m_seed0.json") is None
    written = task.write_predictions(tmp_path, "m_seed0.json", {"y": [1, 2]})
    assert written == tmp_path / "predictions" / task.name / "m_seed0.json"
    assert json.loads(task.saved_predictions([tmp_path], "m_seed0.json").read_text()) == {"y": [1, 2]}
    with np.load(task.write_predictions(tmp_path, "m.npz", {"a": np.arange(3)})) as saved:
        assert saved["a"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="must end in .json or .npz"):
        task.write_predictions(tmp_path, "m.csv", {})
