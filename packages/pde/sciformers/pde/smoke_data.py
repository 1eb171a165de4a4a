"""3-D smoke buoyancy datasets from PhiFlow: seeded generation into an ``xarray.Dataset``, cached as NetCDF.

FactFormer's second time-dependent benchmark (Li, Shu & Barati Farimani 2023,
https://arxiv.org/abs/2305.17560, sec. 4; the generator ``dataset/3d_smoke.py`` of the reference,
itself from PDEArena, Gupta & Brandstetter 2022, https://arxiv.org/abs/2209.15616). Smoke of density
``ρ`` rises by buoyancy in a closed box ``[0, L]³`` of incompressible fluid:

    ∂ρ/∂t + u·∇ρ = 0,                                                                     (1)
    ∂u/∂t + u·∇u = ν Δu − ∇p + b ρ ẑ,     ∇·u = 0,     u·n = 0 on the walls,              (2)

solved by PhiFlow (Holl et al., https://github.com/tum-pbs/PhiFlow, torch backend) on a marker-and-cell
grid: density at cell centres, each velocity component on the faces normal to it. Per step of ``dt``
(the reference's operator splitting): semi-Lagrangian advection of ``ρ``, then of ``u`` plus
``dt b ρ ẑ`` (``ρ`` resampled to the z-faces), explicit diffusion, and the pressure projection
(``fluid.make_incompressible``, a conjugate-gradient Poisson solve in float64), which makes the
discrete divergence zero. Initial smoke ``|Noise(scale, smoothness)|``, fluid at rest; the first
``skip_frames`` steps are discarded.

Layout (``ij`` indexing, cell size ``h = L / resolution``)::

    density(sample, time, x, y, z)                      at cell centres ((i + ½) h, (j + ½) h, (k + ½) h)
    velocity_x / velocity_y / velocity_z(sample, time, x, y, z)
                                                        on the lower face of cell (i, j, k) normal to
                                                        that axis (the reference's staggered_tensor()[:-1]);
                                                        the upper wall face, omitted, is zero
    coords: sample, time, x, y, z (cell centres), split(sample) in {"train", "val", "test"}
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from pydantic import Field, model_validator

from sciformers.core import Config, cache_dir

GENERATOR_VERSION = "1"
FIELDS = ("density", "velocity_x", "velocity_y", "velocity_z")
DIMS = ("sample", "time", "x", "y", "z")


class SmokeData(Config):
    """The ``data:`` section of ``pde/smoke3d``.

    Args:
        seed: seeds the initial smoke (trajectory ``i`` is drawn with seed ``seed · 100003 + i``).
        resolution: cells per axis.
        domain_size: side ``L`` of the box.
        dt: time step, also the spacing of stored frames.
        buoyancy: ``b`` in (2) (positive: smoke rises along +z).
        viscosity: ``ν`` in (2).
        noise_scale, noise_smoothness: PhiFlow ``Noise`` of the initial smoke (its ``|·|`` is taken).
        skip_frames: steps integrated and discarded before the first frame.
        n_frames: frames per trajectory.
        n_trajectories: trajectories in total.
        n_val, n_test: trajectories held out for validation and test (the last ones; the rest train).
        pressure_tol: relative and absolute tolerance of the pressure solve.
        batch: trajectories simulated together (speed only; the data do not depend on it).
        in_steps: frames in a model's input window.
        eval_horizon: frames rolled out at test time.
        window_stride: frames between the starts of consecutive validation and test samples.
        path: a NetCDF or zarr file with the four fields to use instead of the generator.
    """

    seed: int = 0
    resolution: int = Field(default=32, ge=4)
    domain_size: float = Field(default=8.0, gt=0)
    dt: float = Field(default=0.75, gt=0)
    buoyancy: float = 0.5
    viscosity: float = Field(default=0.003, ge=0)
    noise_scale: float = Field(default=15.0, gt=0)
    noise_smoothness: float = Field(default=4.0, gt=0)
    skip_frames: int = Field(default=8, ge=0)
    n_frames: int = Field(default=20, ge=2)
    n_trajectories: int = Field(default=40, ge=3)
    n_val: int = Field(default=4, ge=1)
    n_test: int = Field(default=8, ge=1)
    pressure_tol: float = Field(default=1e-6, gt=0)
    batch: int = Field(default=8, ge=1)
    in_steps: int = Field(default=4, ge=1)
    eval_horizon: int = Field(default=16, ge=1)
    window_stride: int = Field(default=4, ge=1)
    path: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "SmokeData":
        if self.n_val + self.n_test >= self.n_trajectories:
            raise ValueError(f"n_val + n_test = {self.n_val + self.n_test} leaves no training trajectories "
                             f"out of n_trajectories = {self.n_trajectories}")
        if self.in_steps + self.eval_horizon > self.n_frames:
            raise ValueError(f"a test window of in_steps + eval_horizon = {self.in_steps + self.eval_horizon} frames "
                             f"does not fit in n_frames = {self.n_frames}")
        return self


def _attrs(cfg: SmokeData) -> dict[str, object]:
    return {
        "resolution": int(cfg.resolution), "domain_size": float(cfg.domain_size), "dt": float(cfg.dt),
        "buoyancy": float(cfg.buoyancy), "viscosity": float(cfg.viscosity), "noise_scale": float(cfg.noise_scale),
        "noise_smoothness": float(cfg.noise_smoothness), "skip_frames": int(cfg.skip_frames),
        "pressure_tol": float(cfg.pressure_tol), "seed": int(cfg.seed), "generator_version": GENERATOR_VERSION,
        "solver": "PhiFlow (torch backend): semi-Lagrangian advection, explicit diffusion, CG pressure projection (float64)",
        "grid": "MAC: density at cell centres, velocity_<a> on the lower a-face of each cell; closed box, u.n = 0",
        "equation": "drho/dt + u.grad(rho) = 0; du/dt + u.grad(u) = nu lap(u) - grad(p) + b rho z; div(u) = 0",
    }


def simulate_smoke(cfg: SmokeData, first: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Trajectories ``first … first + count − 1``: density ``(count, T, X, Y, Z)`` and velocity
    ``(count, T, 3, X, Y, Z)`` (lower faces), float32, ``T = n_frames`` after ``skip_frames``."""
    try:
        from phi.torch import flow
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the smoke3d generator needs PhiFlow: pip install 'sciformers[pde]'") from err
    math, res, size = flow.math, cfg.resolution, cfg.domain_size
    bounds = flow.Box(x=size, y=size, z=size)
    solve = flow.Solve("scipy-CG", cfg.pressure_tol, cfg.pressure_tol, max_iterations=10_000)
    with math.precision(64), warnings.catch_warnings():
        # PhiFlow's notes on its sparse matrices and the (expected) rank-deficient closed-box Poisson problem
        warnings.filterwarnings("ignore", module=r"(phi|phiml)(\.|$)")
        initial = []
        for i in range(first, first + count):  # one seed per trajectory: the data do not depend on the batching
            math.seed(cfg.seed * 100003 + i)
            noise = flow.Noise(scale=cfg.noise_scale, smoothness=cfg.noise_smoothness)
            initial.append(abs(flow.CenteredGrid(noise, flow.extrapolation.BOUNDARY, bounds, x=res, y=res, z=res)))
        smoke = flow.stack(initial, flow.batch("sample"))
        velocity = flow.StaggeredGrid(0, flow.extrapolation.ZERO, bounds, x=res, y=res, z=res)
        densities, velocities = [], []
        for step in range(cfg.skip_frames + cfg.n_frames):
            smoke = flow.advect.semi_lagrangian(smoke, velocity, cfg.dt)
            force = (smoke * (0, 0, cfg.buoyancy)).at(velocity)
            velocity = flow.advect.semi_lagrangian(velocity, velocity, cfg.dt) + cfg.dt * force
            velocity = flow.diffuse.explicit(velocity, cfg.viscosity, cfg.dt)
            velocity, _ = flow.fluid.make_incompressible(velocity, (), solve)
            if step >= cfg.skip_frames:
                densities.append(smoke.values.numpy("sample,x,y,z"))
                staggered = velocity.staggered_tensor().numpy("sample,vector,x,y,z")
                velocities.append(staggered[:, :, :-1, :-1, :-1])
    return (np.stack(densities, axis=1).astype(np.float32), np.stack(velocities, axis=1).astype(np.float32))


def generate_smoke(cfg: SmokeData):  # -> xarray.Dataset
    """Simulate ``cfg.n_trajectories`` seeded trajectories (``cfg.batch`` at a time) into a Dataset.

    Splits are fixed by index: the last ``n_test`` trajectories are test, the ``n_val`` before
    them validation, the rest train.
    """
    import xarray as xr

    parts = [simulate_smoke(cfg, first, min(cfg.batch, cfg.n_trajectories - first))
             for first in range(0, cfg.n_trajectories, cfg.batch)]
    density = np.concatenate([p[0] for p in parts])
    velocity = np.concatenate([p[1] for p in parts])
    n_train = cfg.n_trajectories - cfg.n_val - cfg.n_test
    split = np.array(["train"] * n_train + ["val"] * cfg.n_val + ["test"] * cfg.n_test)
    h = cfg.domain_size / cfg.resolution
    centres = h * (np.arange(cfg.resolution) + 0.5)
    data = {"density": (DIMS, density, {"long_name": "smoke density", "location": "cell centres"})}
    for a, name in enumerate(FIELDS[1:]):
        axis = name[-1]
        data[name] = (DIMS, velocity[:, :, a], {"long_name": f"velocity {axis}",
                                                 "location": f"lower {axis}-face: {axis} = i h, others at centres"})
    return xr.Dataset(data, coords={"sample": np.arange(cfg.n_trajectories), "time": cfg.dt * np.arange(cfg.n_frames),
                                    "x": centres, "y": centres, "z": centres, "split": ("sample", split)},
                      attrs=_attrs(cfg))


def smoke_cache_file(cfg: SmokeData) -> Path:
    """Where the generated dataset of ``cfg`` is cached (the key hashes every generator setting)."""
    from sciformers.evaluation.records import config_hash

    spec = {**_attrs(cfg), "n_frames": cfg.n_frames, "n_trajectories": cfg.n_trajectories,
            "n_val": cfg.n_val, "n_test": cfg.n_test}
    return cache_dir("pde", "smoke3d") / f"{config_hash(spec)[:16]}.nc"


def load_smoke(cfg: SmokeData):  # -> xarray.Dataset
    """The dataset for ``cfg``: the user's file (``cfg.path``) or the cached generated one."""
    from sciformers.pde.formats import read_fields, write_netcdf

    if cfg.path is not None:
        return read_fields(cfg.path, FIELDS, DIMS, min_frames=cfg.in_steps + 1)
    path = smoke_cache_file(cfg)
    if not path.is_file():
        write_netcdf(generate_smoke(cfg), path)
    return read_fields(path, FIELDS, DIMS, min_frames=cfg.in_steps + 1)
