"""The smoke pipeline end to end: records for every model and the report with its plots."""

import json

import pytest

from sciformers.evaluation.cli import main
from sciformers.evaluation.pipeline import run_pipeline
from sciformers.evaluation.tasks import get_task


def test_smoke_pipeline_end_to_end(tmp_path, brian2):
    overrides = ["data.n_neurons=10", "data.duration_s=8.0", "data.psth_duration_s=0.25", "train.steps=6",
                 "train.eval_every=3", "stages.behavior.steps=2", "eval.readout_windows=50"]
    result = run_pipeline("neuro/simulated_circuit", preset="smoke", overrides=overrides, out=tmp_path / "run", quiet=True)
    records = [json.loads(line) for line in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    by_model = {r["model"]: r for r in records}
    assert set(by_model) == {"poisson", "neuroformer", "glm", "ccg", "ridge"}
    nf = by_model["neuroformer"]["metrics"]
    for key in ("bits_per_spike", "f1_ids", "psth_r", "conn_auroc", "direction_acc", "hubs_found",
                "behavior_r_1pct", "behavior_r_10pct", "behavior_r_100pct", "behavior_r_10pct_scratch"):
        assert key in nf
    assert 0.0 <= nf["f1_ids"] <= 1.0 and 0.0 <= nf["conn_auroc"] <= 1.0
    assert by_model["poisson"]["metrics"]["bits_per_spike"] == 0.0
    assert set(by_model["glm"]["metrics"]) >= {"bits_per_spike", "conn_auroc", "direction_acc", "hubs_found"}
    assert all(r["higher_is_better"]["conn_auroc"] for r in records if "conn_auroc" in r["metrics"])
    report = result.report_md.read_text()
    assert "poisson (baseline)" in report and "neuroformer" in report and "bits_per_spike" in report
    for stem in ("raster", "connectivity", "behavior"):
        assert f"neuro_simulated_circuit_{stem}.png" in report
        assert (tmp_path / "run" / "plots" / f"neuro_simulated_circuit_{stem}.png").is_file()
    main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "later")])  # redrawn from predictions/
    for stem in ("raster", "connectivity", "behavior"):
        assert (tmp_path / "later" / "plots" / f"neuro_simulated_circuit_{stem}.png").is_file()
    seed_dir = tmp_path / "run" / "checkpoints" / "neuroformer" / "seed0"
    assert (seed_dir / "final" / "model.safetensors").is_file()
    assert (seed_dir / "pretrain").is_dir() and (seed_dir / "behavior_10pct_scratch").is_dir()  # one folder per stage
    saved = sorted(p.name for p in (tmp_path / "run" / "predictions" / "neuro.simulated_circuit").iterdir())
    assert saved == ["ccg_seed0.npz", "glm_seed0.npz", "neuroformer_seed0.npz", "ridge_seed0.npz"]  # per job
    assert vars(get_task("neuro.simulated_circuit")) == {}  # the task keeps no state
    run_pipeline("neuro/simulated_circuit", preset="smoke", overrides=overrides, out=tmp_path / "run", quiet=True)
    assert len((tmp_path / "run" / "records.jsonl").read_text().splitlines()) == len(records)  # resumed: nothing rerun


def test_bad_data_key_is_named():
    from sciformers.core import ConfigError

    with pytest.raises(ConfigError, match="data.regmie"):
        run_pipeline("neuro/simulated_circuit", preset="smoke", overrides=["data.regmie=hard"], quiet=True)


def test_data_command_builds_the_cached_circuit(brian2, capsys):
    from sciformers.evaluation.cli import main

    args = ["data", "neuro.circuit", "--set", "n_neurons=6", "--set", "duration_s=2.0", "--set", "psth_repeats=2",
            "--set", "psth_duration_s=0.2"]
    assert main(args) == 0
    path = capsys.readouterr().out.strip().splitlines()[-1]
    assert path.endswith("circuit.npz")
