"""The 3-D smoke generator (PhiFlow): layout, incompressibility, buoyancy direction; the task's per-field
metrics; the smoke pipeline end to end."""

import json

import numpy as np
import pytest
import torch

pytest.importorskip("phi")
pytest.importorskip("neuralop")

from sciformers.evaluation import run_pipeline  # noqa: E402
from sciformers.pde.metrics import rel_l2_per_horizon, valid_time  # noqa: E402
from sciformers.pde.smoke_data import FIELDS, SmokeData, generate_smoke, load_smoke, smoke_cache_file  # noqa: E402

TINY = dict(resolution=8, skip_frames=1, n_frames=2, n_trajectories=3, n_val=1, n_test=1, in_steps=1, eval_horizon=1)


@pytest.fixture(scope="module")
def smoke():
    return generate_smoke(SmokeData(**TINY, batch=3))  # 3 steps of 3 trajectories at 8³


def _divergence(ds, h):
    """Cell divergence of the MAC velocity: the stored lower faces plus the (zero) upper wall face."""
    div = 0.0
    for axis, name in zip((2, 3, 4), FIELDS[1:]):
        v = ds[name].values.astype(np.float64)
        wall = np.zeros_like(np.take(v, [0], axis=axis))
        div = div + np.diff(np.concatenate([v, wall], axis=axis), axis=axis) / h
    return div


def test_layout_walls_and_divergence_free_velocity(smoke):
    ds, cfg = smoke, SmokeData(**TINY)
    assert all(ds[f].dims == ("sample", "time", "x", "y", "z") and ds[f].shape == (3, 2, 8, 8, 8) for f in FIELDS)
    assert list(ds["split"].values) == ["train", "val", "test"]
    np.testing.assert_allclose(ds["x"].values, (np.arange(8) + 0.5))  # cell centres of the 8-wide box
    np.testing.assert_allclose(np.diff(ds["time"].values), 0.75)
    assert (ds["density"].values >= 0).all()
    for axis, name in zip((2, 3, 4), FIELDS[1:]):  # no flow through the lower walls (the upper ones are not stored)
        assert np.abs(np.take(ds[name].values, 0, axis=axis)).max() == 0.0
    h = cfg.domain_size / cfg.resolution
    speed = max(np.abs(ds[f].values).max() for f in FIELDS[1:])
    assert speed > 0.05
    assert np.abs(_divergence(ds, h)).max() < 1e-4 * speed / h  # the projection leaves a discretely solenoidal field


def _lift(ds):
    """Smoke-weighted velocity ``<ρ w>`` and ``|<ρ u>|`` per sample and frame. The volume mean of
    w is zero in a closed box (incompressible, no flow through the walls), so buoyancy shows in the
    correlation of density and w."""
    rho = ds["density"].values
    return ((rho * ds["velocity_z"].values).mean(axis=(2, 3, 4)),
            np.abs((rho * ds["velocity_x"].values).mean(axis=(2, 3, 4))))


def test_buoyancy_lifts_the_smoke_along_z(smoke):
    """Buoyancy b ρ ẑ with b > 0: the smoke-weighted velocity points up, sideways much less."""
    up, side = _lift(smoke)
    assert (up > 0).all() and (side < 0.25 * up).all()


def test_negative_buoyancy_sinks_the_smoke():
    up, side = _lift(generate_smoke(SmokeData(**{**TINY, "buoyancy": -0.5})))
    assert (up < 0).all() and (side < 0.25 * np.abs(up)).all()


@pytest.mark.slow
def test_trajectories_do_not_depend_on_the_simulation_batch(smoke):
    one_by_one = generate_smoke(SmokeData(**TINY, batch=1))
    for f in FIELDS:
        np.testing.assert_allclose(one_by_one[f].values, smoke[f].values, atol=1e-5)


def test_per_field_metrics_weigh_each_field_alike():
    """per_channel: each field's relative L2 (its own norm), averaged; a small field counts fully."""
    rng = np.random.default_rng(0)
    t = rng.standard_normal((3, 2, 4, 3, 3, 3))
    t[:, :, 1:] *= 1e-3  # a velocity a thousand times smaller than the density
    p = t + 0.1 * rng.standard_normal(t.shape) * np.abs(t).mean(axis=(3, 4, 5), keepdims=True)
    err = np.linalg.norm((p - t).reshape(3, 2, 4, -1), axis=-1) / np.linalg.norm(t.reshape(3, 2, 4, -1), axis=-1)
    got = rel_l2_per_horizon(torch.from_numpy(p), torch.from_numpy(t), per_channel=True).numpy()
    np.testing.assert_allclose(got, err.mean(axis=(0, 2)), rtol=1e-12)
    assert valid_time(torch.from_numpy(t), torch.from_numpy(t), 0.75, per_channel=True) == pytest.approx(1.5)


def test_cache_file_is_keyed_by_the_physics_not_the_batch():
    cfg = SmokeData(**TINY)
    assert smoke_cache_file(SmokeData(**{**TINY, "buoyancy": 1.0})) != smoke_cache_file(cfg)
    assert smoke_cache_file(SmokeData(**{**TINY, "batch": 3})) == smoke_cache_file(cfg)


def test_user_file_with_a_missing_field_names_it(tmp_path, smoke):
    path = tmp_path / "mine.nc"
    smoke.drop_vars("velocity_y").to_netcdf(path, engine="h5netcdf")
    with pytest.raises(ValueError, match="no variable 'velocity_y'"):
        load_smoke(SmokeData(**TINY, path=str(path)))


@pytest.mark.slow
def test_smoke3d_pipeline_end_to_end(tmp_path):
    out = tmp_path / "run"
    result = run_pipeline("pde/smoke3d", preset="smoke", out=out, device="cpu", quiet=True)
    lines = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert {r["model"] for r in lines} == {"persistence", "factformer", "fno"}
    for r in lines:
        assert {"rel_l2_h1", "rel_l2_h16", "valid_time", "rel_l2_density_h1", "rel_l2_velocity_h16"} <= set(r["metrics"])
        assert all(np.isfinite(v) for v in r["metrics"].values())
        assert r["peak_rss_mb"] > 0
    params = {r["model"]: r["n_params"] for r in lines}
    assert abs(params["fno"] - params["factformer"]) <= 0.15 * params["factformer"]
    report = result.report_md.read_text()
    assert "3-D smoke buoyancy: rollout error by horizon" in report and "peak MiB" in report
    assert (out / "plots" / "pde_smoke3d_rollout_fields.png").is_file()
