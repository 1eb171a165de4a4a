"""Reading and writing the formats PDE people have.

In: xarray NetCDF (``.nc``) and zarr (``.zarr`` folders) holding ``vorticity(sample, time, x, y)``
(another variable name may be given), and PDEBench HDF5 (``tensor`` ``[N, T, X, Y]`` with
``x-coordinate``, ``y-coordinate``, ``t-coordinate``; Takamoto et al. 2022,
https://arxiv.org/abs/2210.07182). Out: NetCDF, zarr, PDEBench HDF5 and neuraloperator's
``.pt`` dict of ``{"x", "y"}`` tensors (what ``neuralop``'s ``PTDataset`` reads).

Every reader checks dimensions, finiteness and the length of the time axis, and names the
file, the variable and the shape it found in its error.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

DIMS = ("sample", "time", "x", "y")


def _xr():  # noqa: ANN202
    try:
        import xarray as xr
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("PDE data formats need xarray, h5netcdf and h5py: pip install 'sciformers[pde]'") from err
    return xr


def validate(ds, source: str, variable: str = "vorticity", min_frames: int = 2):  # noqa: ANN001, ANN201
    """Check ``ds[variable]`` is ``(sample, time, x, y)``, finite and at least ``min_frames`` long.

    Raises:
        ValueError: naming ``source``, the variable, its dims/shape and what was expected.
    """
    if variable not in ds.data_vars:
        raise ValueError(f"{source}: no variable {variable!r}; found {sorted(ds.data_vars)}")
    da = ds[variable]
    if tuple(da.dims) != DIMS:
        raise ValueError(f"{source}: variable {variable!r} has dims {tuple(da.dims)} and shape {tuple(da.shape)}; "
                         f"expected dims {DIMS}")
    if da.sizes["time"] < min_frames:
        raise ValueError(f"{source}: variable {variable!r} has {da.sizes['time']} time steps (shape {tuple(da.shape)}); "
                         f"the input window and target need at least {min_frames}")
    values = da.values
    if not np.isfinite(values).all():
        bad = np.argwhere(~np.isfinite(values))[0].tolist()
        raise ValueError(f"{source}: variable {variable!r} (shape {tuple(da.shape)}) has NaN/inf values, "
                         f"first at index (sample, time, x, y) = {tuple(bad)}")
    return ds


def read_dataset(path: str | Path, variable: str = "vorticity", min_frames: int = 2):  # noqa: ANN201
    """Read a NetCDF file, a zarr folder or a PDEBench HDF5 file into a validated ``xarray.Dataset``."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"data.path: {path} not found")
    xr = _xr()
    if path.suffix == ".zarr" or path.is_dir():
        ds = xr.open_zarr(path).load()
    elif path.suffix in (".h5", ".hdf5"):
        ds = read_pdebench(path, variable)
    elif path.suffix in (".nc", ".nc4", ".netcdf"):
        with xr.open_dataset(path, engine="h5netcdf") as opened:
            ds = opened.load()
    else:
        raise ValueError(f"{path}: unknown format {path.suffix!r}; expected .nc, .zarr or a PDEBench .h5/.hdf5")
    return validate(ds, str(path), variable, min_frames)


def read_pdebench(path: str | Path, variable: str = "vorticity"):  # noqa: ANN201
    """A PDEBench scalar-field HDF5 file (``tensor [N, T, X, Y]`` + coordinates) as an ``xarray.Dataset``."""
    import h5py

    xr = _xr()
    with h5py.File(path, "r") as f:
        if "tensor" not in f:
            raise ValueError(f"{path}: no dataset 'tensor' (PDEBench scalar layout [N, T, X, Y]); found {sorted(f)}")
        tensor = np.asarray(f["tensor"])
        if tensor.ndim != 4:
            raise ValueError(f"{path}: 'tensor' has shape {tensor.shape}; expected 4 axes [N, T, X, Y]")
        n, t, nx, ny = tensor.shape
        x = np.asarray(f["x-coordinate"]) if "x-coordinate" in f else 2 * math.pi * np.arange(nx) / nx
        y = np.asarray(f["y-coordinate"]) if "y-coordinate" in f else 2 * math.pi * np.arange(ny) / ny
        times = np.asarray(f["t-coordinate"]) if "t-coordinate" in f else np.arange(t, dtype=float)
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    for name, coord, size in (("x-coordinate", x, nx), ("y-coordinate", y, ny)):
        if len(coord) != size:
            raise ValueError(f"{path}: {name} has {len(coord)} entries, 'tensor' {tensor.shape} needs {size}")
    times = times[:t]  # PDEBench stores T+1 time stamps for some PDEs
    return xr.Dataset({variable: (DIMS, tensor.astype(np.float32))},
                      coords={"sample": np.arange(n), "time": times, "x": x, "y": y}, attrs=attrs)


def _atomic(path: Path, write) -> Path:  # noqa: ANN001
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)
    return path


def write_netcdf(ds, path: str | Path) -> Path:  # noqa: ANN001
    """NetCDF4 via h5netcdf, zlib-compressed, one chunk per sample; written atomically."""
    enc = {name: {"zlib": True, "complevel": 4, "chunksizes": (1, *ds[name].shape[1:])}
           for name in ds.data_vars if tuple(ds[name].dims) == DIMS}
    return _atomic(Path(path), lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf", encoding=enc))


def write_zarr(ds, path: str | Path) -> Path:  # noqa: ANN001
    """A zarr store, one chunk per sample (refuses to overwrite an existing store)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; choose another path")
    chunked = ds.chunk({"sample": 1}) if _has_dask() else ds
    chunked.to_zarr(path, mode="w")
    return path


def _has_dask() -> bool:
    try:
        import dask  # noqa: F401
    except ImportError:
        return False
    return True


def export_pdebench(ds, path: str | Path, variable: str = "vorticity") -> Path:  # noqa: ANN001
    """Write ``ds[variable]`` in PDEBench's scalar HDF5 layout (``tensor`` + ``*-coordinate``)."""
    import h5py

    validate(ds, "export_pdebench", variable)

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("tensor", data=ds[variable].values.astype(np.float32), compression="gzip")
            f.create_dataset("x-coordinate", data=ds["x"].values)
            f.create_dataset("y-coordinate", data=ds["y"].values)
            f.create_dataset("t-coordinate", data=ds["time"].values)
            for key, value in ds.attrs.items():
                f.attrs[key] = value

    return _atomic(Path(path), write)


def export_neuraloperator(ds, path: str | Path, variable: str = "vorticity", in_steps: int = 1,  # noqa: ANN001
                          out_steps: int = 1) -> Path:
    """Write ``{"x": inputs, "y": targets}`` tensors as neuraloperator's ``.pt`` files expect.

    Every window of ``in_steps`` consecutive frames is paired with the ``out_steps`` frames that
    follow it; with one frame each, ``x`` and ``y`` are ``(N, X, Y)`` like neuraloperator's
    Navier–Stokes files, otherwise ``(N, steps, X, Y)``. Only tensors are saved (load with
    ``torch.load(path, weights_only=True)``).
    """
    validate(ds, "export_neuraloperator", variable, in_steps + out_steps)
    frames = torch.from_numpy(ds[variable].values.astype(np.float32))
    windows = frames.unfold(1, in_steps + out_steps, 1).movedim(-1, 2).flatten(0, 1)  # (N*W, in+out, X, Y)
    x, y = windows[:, :in_steps], windows[:, in_steps:]
    if in_steps == 1 and out_steps == 1:
        x, y = x[:, 0], y[:, 0]
    return _atomic(Path(path), lambda tmp: torch.save({"x": x.contiguous(), "y": y.contiguous()}, tmp))
