"""``sciformers predict pde``: roll a trained surrogate forward from the end of each trajectory.

    sciformers predict pde --checkpoint RUN/checkpoints/factformer/seed0/final traj.nc [steps=16] [variable=vorticity]

Each input (NetCDF, zarr or PDEBench HDF5, read and checked by :mod:`sciformers.pde.formats`)
holds ``variable(sample, time, x, y)``; the last ``in_steps`` frames of every sample are the
window, and :meth:`Surrogate.rollout` predicts ``steps`` frames after it. The rollout is written
beside the input as ``<stem>.rollout.nc`` (same variable, dims and grid; times continue at the
input's frame spacing). One line per input: ``file<TAB>samples<TAB>steps<TAB>rollout_file``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sciformers.core import load_model
from sciformers.evaluation.datasets import register_predictor
from sciformers.pde.formats import DIMS, _xr, read_dataset, write_netcdf
from sciformers.pde.surrogate import Surrogate

def _split(items: list[str]) -> tuple[list[str], int, str]:
    """Input paths, ``steps`` (default 16) and ``variable`` (default ``vorticity``) from ``key=value`` items."""
    paths, steps, variable = [], 16, "vorticity"
    for item in items:
        key, sep, value = item.partition("=")
        if sep and key == "steps":
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"{item}: steps must be a positive integer")
            steps = int(value)
        elif sep and key == "variable":
            variable = value
        else:
            paths.append(item)
    if not paths:
        raise ValueError("no input files; give NetCDF, zarr or PDEBench HDF5 files")
    return paths, steps, variable


def predict_pde(checkpoint: Path, inputs: list[str]) -> list[str]:
    """Roll out every input's trajectories; write ``<stem>.rollout.nc``; one line per input."""
    paths, steps, variable = _split(inputs)
    model = load_model(checkpoint, Surrogate)
    lines = []
    for item in paths:
        path = Path(item).expanduser()
        ds = read_dataset(path, variable, min_frames=model.in_steps)
        window = torch.from_numpy(np.ascontiguousarray(ds[variable].values[:, -model.in_steps:], dtype=np.float32))
        with torch.no_grad():
            frames = model.rollout(window, steps).numpy()
        times = ds["time"].values.astype(float)
        dt = float(times[-1] - times[-2]) if len(times) > 1 else 1.0
        coords = {"sample": ds["sample"].values, "time": times[-1] + dt * np.arange(1, steps + 1),
                  "x": ds["x"].values, "y": ds["y"].values}
        attrs = {**ds.attrs, "rollout_of": str(path), "rollout_checkpoint": str(checkpoint), "rollout_steps": steps}
        out = _xr().Dataset({variable: (DIMS, frames)}, coords=coords, attrs=attrs)
        target = write_netcdf(out, path.with_name(path.name.removesuffix(path.suffix) + ".rollout.nc"))
        lines.append(f"{path}\t{frames.shape[0]}\t{steps}\t{target}")
    return lines


register_predictor("pde", predict_pde)
