"""The pde/kolmogorov2d task: rollout metrics against NumPy, entries and registry, the smoke pipeline end to end."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("neuralop")

from sciformers.core import create_model, get_model_spec  # noqa: E402
from sciformers.evaluation import run_pipeline  # noqa: E402
from sciformers.evaluation.cli import main  # noqa: E402
from sciformers.evaluation.runner import Entry  # noqa: E402
from sciformers.evaluation.tasks import Splits  # noqa: E402
from sciformers.pde.metrics import correlation_per_frame, rel_l2_per_horizon, valid_time  # noqa: E402
from sciformers.pde.task import KOLMOGOROV2D, WindowDataset  # noqa: E402


def test_rel_l2_per_horizon_matches_numpy():
    rng = np.random.default_rng(0)
    t, p = rng.standard_normal((3, 4, 5, 5)), rng.standard_normal((3, 4, 5, 5))
    ref = np.mean(np.linalg.norm((p - t).reshape(3, 4, -1), axis=-1) / np.linalg.norm(t.reshape(3, 4, -1), axis=-1), axis=0)
    np.testing.assert_allclose(rel_l2_per_horizon(torch.from_numpy(p), torch.from_numpy(t)).numpy(), ref, rtol=1e-12)


def test_valid_time_counts_frames_until_correlation_drops_below_0_9():
    target = torch.randn(2, 5, 8, 8, dtype=torch.float64)
    pred = target.clone()
    pred[0, 3:] = -target[0, 3:]        # sample 0: correlation -1 from frame 4 on -> 3 valid frames
    pred[1, 1] = torch.randn(8, 8)      # sample 1: frame 2 decorrelated -> 1 valid frame (no recovery)
    corr = correlation_per_frame(pred, target)
    assert torch.allclose(corr[0, :3], torch.ones(3, dtype=torch.float64))
    assert valid_time(pred, target, frame_dt=0.5) == pytest.approx(0.5 * (3 + 1) / 2)
    pred[1, 2] = float("nan")
    assert valid_time(pred, target) == pytest.approx(2.0)


def test_window_dataset_and_short_trajectories():
    frames = torch.arange(2 * 10 * 2 * 2, dtype=torch.float32).reshape(2, 10, 2, 2)
    ds = WindowDataset(frames, in_steps=3, target_steps=2, stride=2)
    assert len(ds) == 2 * 3
    item = ds[4]
    assert torch.equal(item["inputs"], frames[1, 2:5]) and torch.equal(item["target"], frames[1, 5:7])
    with pytest.raises(ValueError, match="have 10 frames.*needs 12"):
        WindowDataset(frames, in_steps=4, target_steps=8)


def _splits(in_steps=3):
    frames = torch.randn(2, 8, 8, 8)
    return Splits(train=WindowDataset(frames, in_steps, 1), val=WindowDataset(frames, in_steps, 1, 2),
                  test=WindowDataset(frames, in_steps, 4, 2), info={"frame_dt": 1.0, "mean": 0.0, "std": 1.0})


def test_entries_get_in_steps_and_match_params_names_an_earlier_model():
    ff = Entry("ff", "pde.factformer2d", {"dim": 16, "depth": 1, "heads": 2, "dim_head": 8}, "trainable")
    fno = Entry("fno", "fno", {"n_modes": [4, 4], "n_layers": 2, "match_params": "ff"}, "trainable")
    base = Entry("persistence", "persistence", {}, "estimator", baseline=True)
    resolved = {e.name: e for e in KOLMOGOROV2D.resolve_entries(_splits(), [base, ff, fno])}
    assert all(e.kwargs["in_steps"] == 3 for e in resolved.values())
    assert "match_params" not in resolved["fno"].kwargs
    n_ff = KOLMOGOROV2D.count_params(create_model("pde.factformer2d", **resolved["ff"].kwargs))
    n_fno = KOLMOGOROV2D.count_params(create_model("fno", **resolved["fno"].kwargs))
    assert abs(n_fno - n_ff) <= 0.15 * n_ff
    with pytest.raises(ValueError, match="match_params: 'ff' is not a model listed before it"):
        KOLMOGOROV2D.resolve_entries(_splits(), [base, fno, ff])


@pytest.mark.parametrize("name", ["fno", "pde.factformer2d", "pde.factformer3d"])
def test_registry_example_rolls_out(name):
    spec = get_model_spec(name)
    assert spec.kind == "trainable" and spec.example is not None
    model = create_model(name, **spec.test_kwargs)
    batch = spec.example(model)
    with torch.no_grad():
        assert model.predict(batch).shape == batch["target"].shape


def test_persistence_is_an_estimator_that_fits_nothing():
    spec = get_model_spec("persistence")
    assert spec.kind == "estimator"
    model = create_model("persistence", **spec.test_kwargs)
    assert model.fit(*KOLMOGOROV2D.fit_inputs(_splits())) is model


def test_importing_the_domain_loads_no_harness():
    code = ("import sys, sciformers.pde; "
            "print([m for m in sys.modules if m.startswith(('sciformers.evaluation', 'matplotlib'))])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_smoke_pipeline_end_to_end(tmp_path):
    out = tmp_path / "run"
    result = run_pipeline("pde/kolmogorov2d", preset="smoke", out=out, device="cpu", quiet=True)
    lines = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert {r["model"] for r in lines} == {"persistence", "factformer", "fno"}
    for r in lines:
        assert {"rel_l2_h1", "rel_l2_h4", "rel_l2_h8", "rel_l2_h16", "valid_time", "infer_ms_per_step"} <= set(r["metrics"])
        assert all(np.isfinite(v) for v in r["metrics"].values())
        assert r["higher_is_better"]["valid_time"] is True and r["higher_is_better"]["rel_l2_h1"] is False
        assert r["higher_is_better"]["infer_ms_per_step"] is False
        assert ("train_s_per_step" in r["metrics"]) == (r["model"] != "persistence")  # persistence is not trained
    params = {r["model"]: r["n_params"] for r in lines}
    assert params["persistence"] == 0
    assert abs(params["fno"] - params["factformer"]) <= 0.15 * params["factformer"]
    persistence = next(r for r in lines if r["model"] == "persistence")
    assert persistence["metrics"]["rel_l2_h1"] < persistence["metrics"]["rel_l2_h16"]  # error grows with horizon
    report = result.report_md.read_text()
    assert "rollout error by horizon" in report and "| factformer | 1 |" in report and "persistence (baseline)" in report
    assert "plots/pde_kolmogorov2d_error_growth.png" in report
    assert "plots/pde_kolmogorov2d_rollout_fields.png" in report
    assert (out / "plots" / "pde_kolmogorov2d_rollout_fields.png").is_file()
    main(["report", str(out), "--out", str(tmp_path / "later")])  # a later report redraws the fields from disk
    assert (tmp_path / "later" / "plots" / "pde_kolmogorov2d_rollout_fields.png").is_file()
    assert (out / "checkpoints" / "factformer" / "seed0" / "final").is_dir()
