"""Kolmogorov-flow datasets: seeded generation into an ``xarray.Dataset``, cached as NetCDF.

Layout (one variable, ``ij`` indexing, x and y on [0, 2π) with the endpoint excluded)::

    vorticity(sample, time, x, y)  float32
    coords: sample, time, x, y, split(sample) in {"train", "val", "test"}
    attrs:  reynolds, forcing_wavenumber, drag, solver, solver_resolution, solver_dt, frame_dt,
            warmup, ic_alpha, ic_tau, ic_rms, seed, generator_version

Trajectories are solved by :class:`~sciformers.pde.solver.KolmogorovSolver` from Gaussian random
field initial conditions; the warm-up is discarded. The cache key is a hash of the attributes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from pydantic import Field, model_validator

from sciformers.core import Config, cache_dir
from sciformers.pde.solver import KolmogorovPhysics, KolmogorovSolver, gaussian_random_field, spectral_downsample

GENERATOR_VERSION = "2"  # 2: frames from a finer solve are Fourier-truncated, not point-subsampled


class KolmogorovData(Config):
    """The ``data:`` section of ``pde/kolmogorov2d``.

    Args:
        seed: seeds the initial conditions (train, val and test trajectories are disjoint draws).
        reynolds: Reynolds number (viscosity 1/Re).
        forcing_wavenumber: ``n`` in the vorticity forcing ``−n cos(n y)``.
        drag: linear drag coefficient.
        resolution: grid points per axis of the stored fields.
        solver_resolution: grid of the solver (a multiple of ``resolution``; default the same);
            stored frames are its Fourier modes below the stored grid's Nyquist wavenumber
            (:func:`~sciformers.pde.solver.spectral_downsample`; FactFormer's data took every
            k-th point, which aliases the finer scales).
        dt: solver time step.
        frame_dt: time between stored frames (a multiple of ``dt``).
        warmup: time units integrated and discarded before the first frame.
        n_frames: frames per trajectory.
        n_trajectories: trajectories in total.
        n_val, n_test: trajectories held out for validation and test (the rest train).
        ic_alpha, ic_tau: Gaussian-random-field prior of the initial vorticity.
        ic_rms: RMS of the initial vorticity.
        in_steps: frames in a model's input window.
        eval_horizon: frames rolled out at test time.
        window_stride: frames between the starts of consecutive samples.
        path: a NetCDF/zarr/PDEBench-HDF5 file to use instead of the generator.
    """

    seed: int = 0
    reynolds: float = Field(default=100.0, gt=0)
    forcing_wavenumber: int = Field(default=4, ge=0)
    drag: float = Field(default=0.1, ge=0)
    resolution: int = Field(default=64, ge=8)
    solver_resolution: int | None = Field(default=None, ge=8)
    dt: float = Field(default=0.0125, gt=0)
    frame_dt: float = Field(default=0.125, gt=0)
    warmup: float = Field(default=5.0, ge=0)
    n_frames: int = Field(default=64, ge=2)
    n_trajectories: int = Field(default=48, ge=3)
    n_val: int = Field(default=8, ge=1)
    n_test: int = Field(default=8, ge=1)
    ic_alpha: float = 2.5
    ic_tau: float = 7.0
    ic_rms: float = Field(default=3.0, gt=0)
    in_steps: int = Field(default=4, ge=1)
    eval_horizon: int = Field(default=16, ge=1)
    window_stride: int = Field(default=4, ge=1)
    path: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "KolmogorovData":
        if self.n_val + self.n_test >= self.n_trajectories:
            raise ValueError(f"n_val + n_test = {self.n_val + self.n_test} leaves no training trajectories "
                             f"out of n_trajectories = {self.n_trajectories}")
        solver_res = self.solver_resolution or self.resolution
        if solver_res % self.resolution:
            raise ValueError(f"solver_resolution {solver_res} must be a multiple of resolution {self.resolution}")
        ratio = self.frame_dt / self.dt
        if abs(ratio - round(ratio)) > 1e-6:
            raise ValueError(f"frame_dt {self.frame_dt} must be a whole multiple of dt {self.dt}")
        return self


def _attrs(cfg: KolmogorovData) -> dict[str, object]:
    return {
        "reynolds": float(cfg.reynolds), "forcing_wavenumber": int(cfg.forcing_wavenumber), "drag": float(cfg.drag),
        "solver": "pseudo-spectral, Crank-Nicolson (diffusion, drag) + Heun (advection, forcing), 2/3 dealiasing",
        "solver_resolution": int(cfg.solver_resolution or cfg.resolution), "solver_dt": float(cfg.dt),
        "downsampling": "Fourier truncation to the stored grid's resolved modes (no aliasing)",
        "frame_dt": float(cfg.frame_dt), "warmup": float(cfg.warmup), "ic_alpha": float(cfg.ic_alpha),
        "ic_tau": float(cfg.ic_tau), "ic_rms": float(cfg.ic_rms), "seed": int(cfg.seed),
        "generator_version": GENERATOR_VERSION, "domain": "[0, 2pi)^2 periodic",
        "equation": "dw/dt + u.grad(w) = (1/Re) lap(w) - drag w - n cos(n y)",
    }


def generate_kolmogorov(cfg: KolmogorovData, device: str = "cpu"):  # -> xarray.Dataset
    """Solve ``cfg.n_trajectories`` seeded trajectories and return the ``xarray.Dataset``.

    Splits are fixed by index: the last ``n_test`` trajectories are test, the ``n_val`` before
    them validation, the rest train.
    """
    xr = _xarray()
    solver_res = cfg.solver_resolution or cfg.resolution
    physics = KolmogorovPhysics(cfg.reynolds, cfg.forcing_wavenumber, cfg.drag)
    solver = KolmogorovSolver(solver_res, physics, cfg.dt, device=device)
    gen = torch.Generator().manual_seed(cfg.seed)
    w0 = cfg.ic_rms * gaussian_random_field(cfg.n_trajectories, solver_res, cfg.ic_alpha, cfg.ic_tau, generator=gen)
    frames = solver.trajectory(w0.to(device), cfg.n_frames, cfg.frame_dt, cfg.warmup)
    frames = spectral_downsample(frames, cfg.resolution).float().cpu().numpy()
    n_train = cfg.n_trajectories - cfg.n_val - cfg.n_test
    split = np.array(["train"] * n_train + ["val"] * cfg.n_val + ["test"] * cfg.n_test)
    axis = 2 * math.pi * np.arange(cfg.resolution) / cfg.resolution
    return xr.Dataset(
        {"vorticity": (("sample", "time", "x", "y"), frames, {"long_name": "vorticity", "units": "1/time"})},
        coords={"sample": np.arange(cfg.n_trajectories), "time": cfg.frame_dt * np.arange(cfg.n_frames),
                "x": axis, "y": axis, "split": ("sample", split)},
        attrs=_attrs(cfg),
    )


def kolmogorov_cache_file(cfg: KolmogorovData) -> Path:
    """Where the generated dataset of ``cfg`` is cached (the key hashes every generator setting)."""
    from sciformers.evaluation.records import config_hash

    spec = {**_attrs(cfg), "resolution": cfg.resolution, "n_frames": cfg.n_frames,
            "n_trajectories": cfg.n_trajectories, "n_val": cfg.n_val, "n_test": cfg.n_test}
    return cache_dir("pde", "kolmogorov2d") / f"{config_hash(spec)[:16]}.nc"


def load_kolmogorov(cfg: KolmogorovData, device: str = "cpu"):  # -> xarray.Dataset
    """The dataset for ``cfg``: the user's file (``cfg.path``) or the cached generated one."""
    from sciformers.pde.formats import read_dataset, write_netcdf

    if cfg.path is not None:
        return read_dataset(cfg.path, min_frames=cfg.in_steps + 1)
    path = kolmogorov_cache_file(cfg)
    if not path.is_file():
        write_netcdf(generate_kolmogorov(cfg, device=device), path)
    return read_dataset(path, min_frames=cfg.in_steps + 1)


def _xarray():  # noqa: ANN202
    try:
        import xarray as xr
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("Kolmogorov datasets need xarray: pip install 'sciformers[pde]'") from err
    return xr
