"""The Kolmogorov dataset generator: layout, physics of the stored frames, caching, config errors."""

import numpy as np
import pytest
import torch

from sciformers.core import ConfigError
from sciformers.pde.kolmogorov_data import KolmogorovData, generate_kolmogorov, kolmogorov_cache_file, load_kolmogorov
from sciformers.pde.solver import KolmogorovPhysics, KolmogorovSolver, gaussian_random_field, spectral_downsample

SMALL = dict(resolution=16, n_frames=6, n_trajectories=4, n_val=1, n_test=1, warmup=0.5)


def test_generated_dataset_layout_and_physics():
    cfg = KolmogorovData(**SMALL, solver_resolution=32)
    ds = generate_kolmogorov(cfg)
    v = ds["vorticity"]
    assert v.dims == ("sample", "time", "x", "y") and v.shape == (4, 6, 16, 16) and v.dtype == np.float32
    assert list(ds["split"].values) == ["train", "train", "val", "test"]
    np.testing.assert_allclose(ds["x"].values, 2 * np.pi * np.arange(16) / 16)
    np.testing.assert_allclose(np.diff(ds["time"].values), 0.125)
    assert ds.attrs["reynolds"] == 100.0 and ds.attrs["solver_resolution"] == 32
    assert np.isfinite(v.values).all()
    # frames are the solver's: advancing a stored frame reproduces the next one (same grid, no subsampling)
    cfg1 = KolmogorovData(**SMALL)
    frames = torch.from_numpy(generate_kolmogorov(cfg1)["vorticity"].values)
    assert frames.mean(dim=(-2, -1)).abs().max() < 1e-5  # zero-mean vorticity, every frame
    solver = KolmogorovSolver(16, KolmogorovPhysics(100.0, 4, 0.1), cfg1.dt)
    assert torch.allclose(solver.advance(frames[:, 2], cfg1.frame_dt), frames[:, 3], atol=1e-3)


def test_frames_from_a_finer_solve_are_spectrally_filtered():
    """solver_resolution 32 -> stored 16: each stored frame is the fine solve's, Fourier-truncated
    to the modes the 16-point grid resolves (no aliasing), not every other grid point."""
    cfg = KolmogorovData(**SMALL, solver_resolution=32)
    stored = torch.from_numpy(generate_kolmogorov(cfg)["vorticity"].values).double()
    solver = KolmogorovSolver(32, KolmogorovPhysics(100.0, 4, 0.1), cfg.dt)
    w0 = cfg.ic_rms * gaussian_random_field(4, 32, cfg.ic_alpha, cfg.ic_tau, generator=torch.Generator().manual_seed(0))
    fine = solver.trajectory(w0, cfg.n_frames, cfg.frame_dt, cfg.warmup).double()
    assert torch.allclose(stored, spectral_downsample(fine, 16), atol=1e-5)
    assert not torch.allclose(stored, fine[..., ::2, ::2], atol=1e-3)


def test_cache_is_reused_and_keyed_by_the_physics():
    cfg = KolmogorovData(**SMALL)
    path = kolmogorov_cache_file(cfg)
    ds = load_kolmogorov(cfg)
    assert path.is_file()
    mtime = path.stat().st_mtime_ns
    again = load_kolmogorov(cfg)
    assert path.stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(again["vorticity"].values, ds["vorticity"].values)
    assert kolmogorov_cache_file(KolmogorovData(**{**SMALL, "reynolds": 200})) != path
    assert kolmogorov_cache_file(KolmogorovData(**{**SMALL, "window_stride": 2})) == path  # sampling only


def test_seed_changes_the_data():
    a = generate_kolmogorov(KolmogorovData(**{**SMALL, "warmup": 0.0}))["vorticity"].values
    b = generate_kolmogorov(KolmogorovData(**{**SMALL, "warmup": 0.0, "seed": 1}))["vorticity"].values
    assert not np.allclose(a, b)


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="data.reynolds"):
        KolmogorovData.parse({"reynolds": -1}, where="data")
    with pytest.raises(ConfigError, match="data.reynold: unknown key"):
        KolmogorovData.parse({"reynold": 100}, where="data")
    with pytest.raises(ConfigError, match="leaves no training trajectories"):
        KolmogorovData.parse({"n_trajectories": 4, "n_val": 2, "n_test": 2}, where="data")
    with pytest.raises(ConfigError, match="whole multiple of dt"):
        KolmogorovData.parse({"dt": 0.01, "frame_dt": 0.125}, where="data")
