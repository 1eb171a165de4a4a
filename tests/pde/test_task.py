"""The pde/kolmogorov2d task: rollout metrics against NumPy, the smoke pipeline end to end."""

import json

import numpy as np
import pytest
import torch

pytest.importorskip("neuralop")

from sciformers.evaluation import run_pipeline  # noqa: E402
from sciformers.evaluation.cli import main  # noqa: E402
from sciformers.pde.metrics import correlation_per_frame, rel_l2_per_horizon, valid_time  # noqa: E402
from sciformers.pde.task import WindowDataset  # noqa: E402


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


def test_smoke_pipeline_end_to_end(tmp_path):
    out = tmp_path / "run"
    result = run_pipeline("pde/kolmogorov2d", preset="smoke", out=out, device="cpu", quiet=True)
    lines = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert {r["model"] for r in lines} == {"persistence", "factformer", "fno"}
    for r in lines:
        assert {"rel_l2_h1", "rel_l2_h4", "rel_l2_h8", "rel_l2_h16", "valid_time", "infer_ms_per_step"} <= set(r["metrics"])
        assert all(np.isfinite(v) for v in r["metrics"].values())
        assert r["higher_is_better"]["valid_time"] is True and r["higher_is_better"]["rel_l2_h1"] is False
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
