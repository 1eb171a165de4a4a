"""``timeseries/forecast_ettlike`` end to end: presets resolve, the smoke run writes records, report and plots."""

import json

import pytest

from sciformers.core import ConfigError
from sciformers.evaluation import get_task, read_records, resolve, run_pipeline
from sciformers.evaluation.context import RunContext

PIPELINE = "timeseries/forecast_ettlike"
MODELS = {"seasonal_naive", "timeseries.itransformer", "timeseries.pathformer", "dlinear", "patchtst"}


def test_presets_resolve_with_the_papers_protocol():
    full = resolve(PIPELINE, "full")
    assert full.data.seq_len == 96 and full.data.horizons == [96, 192, 336, 720] and full.data.split == "ett_hour"
    assert len(resolve(PIPELINE, "bench").train.seeds) == 3
    assert set(resolve(PIPELINE, "smoke").config.models) == MODELS - {"seasonal_naive"}
    with pytest.raises(ConfigError, match=r"data\.horizon: unknown key"):
        resolve(PIPELINE, "smoke", ["data.horizon=[5]"])
    with pytest.raises(ConfigError, match="horizons must be distinct positive integers"):
        resolve(PIPELINE, "smoke", ["data.horizons=[0, 4]"])


def test_smoke_run_writes_records_report_and_plots(tmp_path):
    out = tmp_path / "run"
    result = run_pipeline(PIPELINE, preset="smoke", out=out, quiet=True)
    lines = (out / "records.jsonl").read_text().splitlines()
    assert {json.loads(line)["model"] for line in lines} == MODELS
    for r in read_records(out / "records.jsonl"):
        assert set(r.metrics) == {"mse_h24", "mae_h24", "mse_h48", "mae_h48"}
        assert all(v > 0 for v in r.metrics.values()) and not any(r.higher_is_better.values())
        assert r.task == "timeseries.long_horizon"
        assert (out / "checkpoints" / r.model / "seed0" / "h48" / "final").is_dir()
        # one training stage per horizon; seasonal naive has no parameters and is never trained
        trained = (out / "checkpoints" / r.model / "seed0" / "h24" / "checkpoints").is_dir()
        assert trained == (r.model != "seasonal_naive")
    md = result.report_md.read_text()
    assert "seasonal_naive (baseline)" in md and "mse_h24 ↓" in md and "mae_h48 ↓" in md and "fit s (all horizons)" in md
    assert "(1.00×)" in md and "timeseries.pathformer" in md
    assert "plots/timeseries_forecast_ettlike_error_vs_horizon.png" in md
    assert "plots/timeseries_forecast_ettlike_forecasts.png" in md
    assert (out / "plots" / "timeseries_forecast_ettlike_forecasts.png").stat().st_size > 1000
    # a report written later from the run folder draws the forecasts too (they are kept in predictions/)
    from sciformers.evaluation.cli import main

    main(["report", str(out), "--out", str(tmp_path / "later")])
    assert (tmp_path / "later" / "plots" / "timeseries_forecast_ettlike_forecasts.png").stat().st_size > 1000


def test_user_csv_goes_through_the_same_protocol(tmp_path):
    from sciformers.timeseries.forecasting import ETTLikeConfig, generate_ettlike

    path = tmp_path / "mine.csv"
    generate_ettlike(ETTLikeConfig(n_rows=500, seed=5)).to_csv(path)
    out = tmp_path / "run"
    result = run_pipeline(PIPELINE, preset="smoke", out=out, quiet=True,
                          overrides=[f"data.path={path}", "data.columns=[HUFL, OT]", "data.horizons=[12]", "models={}"])
    (record,) = result.records
    assert record.model == "seasonal_naive" and set(record.metrics) == {"mse_h12", "mae_h12"}
    with pytest.raises(ValueError, match=r"data\.columns: \['XX'\] not in"):
        run_pipeline(PIPELINE, preset="smoke", out=tmp_path / "bad", quiet=True,
                     overrides=[f"data.path={path}", "data.columns=[XX]", "models={}"])


def test_airline_smoke_scores_mase_and_smape_per_model(tmp_path):
    pytest.importorskip("sktime")
    result = run_pipeline("timeseries/forecast_airline", preset="smoke", out=tmp_path / "air", quiet=True,
                          overrides=["models.theta.kwargs={deseasonalize: false}"])
    by_model = {r.model: r for r in result.records}
    assert set(by_model) == {"seasonal_naive", "theta", "dlinear", "timeseries.itransformer", "timeseries.pathformer"}
    naive = by_model["seasonal_naive"].metrics
    assert set(naive) == {"mase_h12", "smape_h12"} and 0 < naive["smape_h12"] < 2
    assert by_model["timeseries.itransformer"].n_params > 0
    assert "mase_h12 / seasonal_naive" in result.report_md.read_text()
    # sktime's DLinear draws from torch's global generator: seeded per model, it scores the same alone
    alone = run_pipeline("timeseries/forecast_airline", preset="smoke", out=tmp_path / "dlinear", quiet=True,
                         models=["dlinear"])
    assert {r.model: r.metrics for r in alone.records}["dlinear"] == by_model["dlinear"].metrics


def test_airline_models_are_sktime_estimator_entries_and_the_baseline_keeps_its_name(tmp_path):
    rp = resolve("timeseries/forecast_airline", "smoke")
    ctx = RunContext(pipeline=rp.config, resolved=rp.resolved, data=rp.data, train=rp.train, eval=rp.eval,
                     stages=rp.stages, out_dir=tmp_path, device="cpu", quiet=True, run_id="r")
    task = get_task("timeseries.expanding_window")
    first, *models = task.entries(ctx)
    assert (first.name, first.model, first.baseline) == (task.baseline, "seasonal_naive_forecaster", True)
    assert all(e.kind == "estimator" for e in [first, *models])
    assert {e.name: e.model for e in models} == {
        "timeseries.itransformer": "timeseries.itransformer_forecaster",
        "timeseries.pathformer": "timeseries.pathformer_forecaster",
        "dlinear": "dlinear_forecaster", "theta": "theta"}
