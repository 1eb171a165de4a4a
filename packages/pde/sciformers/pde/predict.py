"""``sciformers predict pde``: roll a trained surrogate forward from the end of each trajectory.

    sciformers predict pde --checkpoint RUN/checkpoints/factformer/seed0/final --out DIR \\
        [--option steps=16] [--option variable=vorticity] [--skip-invalid] traj.nc more/ ...

Each input (NetCDF, zarr or PDEBench HDF5, read and checked by :mod:`sciformers.pde.formats`;
a folder stands for the trajectory files in it) holds ``variable(sample, time, x, y)``; the last
``in_steps`` frames of every sample are the window, and :meth:`Surrogate.rollout` predicts
``steps`` frames after it. Every input is read and checked before anything is written. The
rollouts go under ``DIR`` only, as ``<stem>.rollout.nc`` (same variable, attributes, dims and
grid; times continue at the input's frame spacing; inputs sharing a stem keep their relative
folders), with ``rollouts.csv`` summarising them. One line per input:
``file<TAB>samples<TAB>steps<TAB>rollout_file``.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sciformers.core import ConfigError, load_model
from sciformers.evaluation.datasets import PredictRequest, PredictResult, Predictor, input_files, register_predictor
from sciformers.pde.formats import DIMS, _xr, read_dataset, write_netcdf
from sciformers.pde.surrogate import Surrogate

SUFFIXES = (".nc", ".nc4", ".netcdf", ".zarr", ".h5", ".hdf5")
_ZARR_MARKERS = (".zgroup", ".zmetadata", "zarr.json")
ROLLOUT_SUFFIX = ".rollout.nc"
SUMMARY = "rollouts.csv"
SUMMARY_HEADER = ("file", "variable", "samples", "steps", "time_start", "time_end", "time_units", "variable_units",
                  "rollout_file")
OPTIONS = {
    "steps": "frames to predict after each trajectory's last frame, a positive integer (default 16)",
    "variable": "the field to roll out, dims (sample, time, x, y) (default vorticity)",
}


@dataclass
class _Window:
    """What a rollout needs from one validated input (the full trajectory is not kept)."""

    path: Path
    window: np.ndarray  # (sample, in_steps, x, y) float32
    times: np.ndarray
    coords: dict[str, np.ndarray]
    attrs: dict[str, Any]
    var_attrs: dict[str, Any]
    time_attrs: dict[str, Any]


def _options(request: PredictRequest) -> tuple[int, str]:
    """``steps`` and ``variable`` from ``--option``, checked."""
    unknown = sorted(set(request.options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"--option {unknown[0]}: unknown for pde; it takes {', '.join(OPTIONS)}")
    raw = request.option("steps", "16")
    try:
        steps = int(raw)
    except (TypeError, ValueError):
        steps = 0
    if steps < 1:
        raise ConfigError(f"--option steps={raw}: steps must be a positive integer (frames to predict)")
    variable = (request.option("variable", "vorticity") or "").strip()
    if not variable:
        raise ConfigError("--option variable=: give the name of the field to roll out (default vorticity)")
    return steps, variable


def _files(item: str) -> list[Path]:
    """The trajectory files an input names: the file (or zarr store) itself, or those in a folder."""
    path = Path(item).expanduser()
    if path.exists() and (path.suffix.lower() == ".zarr" or any((path / m).exists() for m in _ZARR_MARKERS)):
        return [path]  # a zarr store is a folder, but one input
    if not path.exists():
        key, sep, _ = item.partition("=")
        if sep and key in OPTIONS:
            raise ValueError(f"{item}: not a file; options are given as --option {item}")
    return input_files([item], SUFFIXES, "trajectory file (NetCDF, zarr or PDEBench HDF5)")


def _read(path: Path, variable: str, in_steps: int) -> _Window:
    """Read and check one input; keep its last ``in_steps`` frames and its coordinates.

    Raises:
        ValueError: naming the file, for a wrong layout, too few frames, NaN/inf or an unreadable file.
    """
    try:
        ds = read_dataset(path, variable, min_frames=max(in_steps, 1))
    except OSError as err:  # not HDF5/NetCDF at all, truncated file
        raise ValueError(f"{path}: cannot read it as NetCDF, zarr or PDEBench HDF5 ({err})") from None
    values = ds[variable].values
    window = np.ascontiguousarray(values[:, -in_steps:], dtype=np.float32)
    return _Window(path, window, ds["time"].values.astype(float),
                   {name: ds[name].values for name in ("sample", "x", "y")}, dict(ds.attrs),
                   dict(ds[variable].attrs), dict(ds["time"].attrs))


def _output_names(paths: list[Path], suffix: str) -> dict[Path, Path]:
    """Output path (relative to ``out_dir``) per input: ``<stem><suffix>``, or, for inputs sharing
    a stem, the same below their folder relative to the clashing inputs' common folder (and the
    whole file name where that still clashes: ``a.nc`` and ``a.h5`` in one folder)."""
    stems = Counter(p.stem for p in paths)
    clashing = [p.resolve().parent for p in paths if stems[p.stem] > 1]
    root = Path(os.path.commonpath(clashing)) if clashing else None
    names = {p: (Path(p.stem + suffix) if stems[p.stem] == 1 or root is None
                 else p.resolve().parent.relative_to(root) / (p.stem + suffix)) for p in paths}
    counts = Counter(names.values())
    names = {p: (rel.with_name(p.name + suffix) if counts[rel] > 1 else rel) for p, rel in names.items()}
    counts = Counter(names.values())
    return {p: (rel.with_name(f"{rel.name.removesuffix(suffix)}-{i}{suffix}") if counts[rel] > 1 else rel)
            for i, (p, rel) in enumerate(names.items())}


def _reason(err: Exception, path: Path | str) -> str:
    """An error message without the leading ``path:`` (the CLI names the input already)."""
    return str(err).removeprefix(f"{path}: ")


def predict_pde(request: PredictRequest) -> PredictResult:
    """Roll out every input's trajectories into ``request.out_dir``; one line per input.

    Raises:
        ConfigError: for a bad ``--option``.
        FileNotFoundError, ValueError: for a missing or bad input, naming it (unless ``skip_invalid``).
    """
    steps, variable = _options(request)
    model = load_model(request.checkpoint, Surrogate)
    result = PredictResult()

    def bad(item: Path | str, err: Exception) -> None:
        if not request.skip_invalid:
            raise err
        result.skipped.append((str(item), _reason(err, item)))

    windows: list[_Window] = []
    seen: set[Path] = set()
    for item in request.inputs:
        try:
            files = _files(item)
        except (FileNotFoundError, ValueError) as err:
            bad(item, err)
            continue
        for path in files:
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            try:
                windows.append(_read(path, variable, model.in_steps))
            except (FileNotFoundError, ValueError) as err:
                bad(path, err)

    names = _output_names([w.path for w in windows], ROLLOUT_SUFFIX)
    rows = []
    for w in windows:
        with torch.no_grad():
            frames = model.rollout(torch.from_numpy(w.window), steps).numpy()
        dt = float(w.times[-1] - w.times[-2]) if len(w.times) > 1 else 1.0
        times = w.times[-1] + dt * np.arange(1, steps + 1)
        coords = {"sample": w.coords["sample"], "time": ("time", times, w.time_attrs), "x": w.coords["x"],
                  "y": w.coords["y"]}
        attrs = {**w.attrs, "rollout_of": str(w.path), "rollout_checkpoint": str(request.checkpoint),
                 "rollout_steps": steps}
        out = _xr().Dataset({variable: (DIMS, frames, w.var_attrs)}, coords=coords, attrs=attrs)
        target = write_netcdf(out, request.out_dir / names[w.path])
        result.written.append(target)
        result.lines.append(f"{w.path}\t{frames.shape[0]}\t{steps}\t{target}")
        rows.append([str(w.path), variable, frames.shape[0], steps, f"{times[0]:.8g}", f"{times[-1]:.8g}",
                     w.time_attrs.get("units", ""), w.var_attrs.get("units", ""), str(target)])
    if rows:
        summary = request.out_dir / SUMMARY
        with summary.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(SUMMARY_HEADER)
            writer.writerows(rows)
        result.written.append(summary)
    return result


register_predictor("pde", Predictor(
    predict_pde,
    "NetCDF (.nc), zarr (.zarr) or PDEBench HDF5 (.h5/.hdf5) trajectory files, or folders of them, each holding "
    "variable(sample, time, x, y) with at least the checkpoint's in_steps frames; writes <stem>.rollout.nc per "
    "input and rollouts.csv (times in the input's time units)",
    OPTIONS,
))
