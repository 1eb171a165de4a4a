"""Reading and writing the formats PDE people have.

In: xarray NetCDF (``.nc``) and zarr (``.zarr`` folders) holding ``vorticity(sample, time, x, y)``
(another variable name may be given; 3-D smoke: several ``(sample, time, x, y, z)`` fields), and
the 2-D PDEBench HDF5 layouts (:func:`read_pdebench`: scalar ``tensor``, CFD ``Vx/Vy/density/pressure``,
incompressible NS ``velocity``, per-sample groups; Takamoto et al. 2022, https://arxiv.org/abs/2210.07182).
Out: NetCDF, zarr, PDEBench HDF5 and neuraloperator's ``.pt`` dict of ``{"x", "y"}`` tensors (what
``neuralop``'s ``PTDataset`` reads).

Every reader checks dimensions, finiteness and the length of the time axis, and names the
file, the variable and the shape it found in its error.
"""

from __future__ import annotations

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


def validate(ds, source: str, variable: str = "vorticity", min_frames: int = 2,  # noqa: ANN001, ANN201
             dims: tuple[str, ...] = DIMS):
    """Check ``ds[variable]`` has ``dims`` (default ``(sample, time, x, y)``), is finite and at least
    ``min_frames`` long.

    Raises:
        ValueError: naming ``source``, the variable, its dims/shape and what was expected.
    """
    if variable not in ds.data_vars:
        raise ValueError(f"{source}: no variable {variable!r}; found {sorted(ds.data_vars)}")
    da = ds[variable]
    if tuple(da.dims) != dims:
        raise ValueError(f"{source}: variable {variable!r} has dims {tuple(da.dims)} and shape {tuple(da.shape)}; "
                         f"expected dims {dims}")
    if da.sizes["time"] < min_frames:
        raise ValueError(f"{source}: variable {variable!r} has {da.sizes['time']} time steps (shape {tuple(da.shape)}); "
                         f"the input window and target need at least {min_frames}")
    values = da.values
    if not np.isfinite(values).all():
        bad = np.argwhere(~np.isfinite(values))[0].tolist()
        raise ValueError(f"{source}: variable {variable!r} (shape {tuple(da.shape)}) has NaN/inf values, "
                         f"first at index {dims} = {tuple(bad)}")
    return ds


def _open(path: Path, pdebench_variable: str | None = None):  # noqa: ANN202
    """A NetCDF file, a zarr folder or (with ``pdebench_variable``) a PDEBench HDF5 file, loaded."""
    if not path.exists():
        raise FileNotFoundError(f"data.path: {path} not found")
    xr = _xr()
    if path.suffix == ".zarr" or path.is_dir():
        return xr.open_zarr(path).load()
    if path.suffix in (".h5", ".hdf5") and pdebench_variable is not None:
        return read_pdebench(path, pdebench_variable)
    if path.suffix in (".nc", ".nc4", ".netcdf"):
        with xr.open_dataset(path, engine="h5netcdf") as opened:
            return opened.load()
    known = ".nc, .zarr or a PDEBench .h5/.hdf5" if pdebench_variable is not None else ".nc or .zarr"
    raise ValueError(f"{path}: unknown format {path.suffix!r}; expected {known}")


def read_dataset(path: str | Path, variable: str = "vorticity", min_frames: int = 2):  # noqa: ANN201
    """Read a NetCDF file, a zarr folder or a PDEBench HDF5 file into a validated ``xarray.Dataset``."""
    path = Path(path).expanduser()
    return validate(_open(path, variable), str(path), variable, min_frames)


def read_fields(path: str | Path, variables: tuple[str, ...], dims: tuple[str, ...], min_frames: int = 2):  # noqa: ANN201
    """Read a NetCDF file or zarr folder whose ``variables`` all have ``dims``, validated (3-D smoke)."""
    path = Path(path).expanduser()
    ds = _open(path)
    for variable in variables:
        validate(ds, str(path), variable, min_frames, dims)
    return ds


CFD_FIELDS = ("density", "pressure", "Vx", "Vy")


def _centres(n: int) -> np.ndarray:
    """Cell centres of ``n`` cells on [0, 1], PDEBench's grid where a file stores none."""
    return (np.arange(n) + 0.5) / n


def _curl(u: np.ndarray, v: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``ω = ∂v/∂x − ∂u/∂y`` of ``(..., X, Y)`` fields by second-order differences (one-sided at the edges)."""
    return (np.gradient(v, x, axis=-2, edge_order=2) - np.gradient(u, y, axis=-1, edge_order=2)).astype(np.float32)


def _pdebench_fields(f, path: Path | str, variable: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:  # noqa: ANN001
    """``{name: (N, T, X, Y)}`` fields and the coordinates found in an open PDEBench file, by layout."""
    import h5py

    keys = sorted(f)
    coords = {name: np.asarray(f[key]) for name, key in (("x", "x-coordinate"), ("y", "y-coordinate"),
                                                           ("time", "t-coordinate")) if key in f}
    if "tensor" in f:  # scalar PDEs: tensor [N, T, X, Y]
        tensor = np.asarray(f["tensor"])
        if tensor.ndim != 4:
            raise ValueError(f"{path}: 'tensor' has shape {tensor.shape}; expected 4 axes [N, T, X, Y]")
        return {variable: tensor}, coords
    if any(k in f for k in CFD_FIELDS):  # 2-D CFD: density, pressure, Vx, Vy [N, T, X, Y]
        fields = {k: np.asarray(f[k]) for k in CFD_FIELDS if k in f}
        if variable == "vorticity" and variable not in fields:
            if not {"Vx", "Vy"} <= set(fields):
                raise ValueError(f"{path}: vorticity needs 'Vx' and 'Vy'; found {keys}")
            nx, ny = fields["Vx"].shape[-2:]
            fields["vorticity"] = _curl(fields["Vx"], fields["Vy"], coords.get("x", _centres(nx)),
                                        coords.get("y", _centres(ny)))
        return fields, coords
    if "velocity" in f:  # 2-D incompressible NS: velocity [N, T, X, Y, 2], particles [N, T, X, Y, 1], t [N, T]
        velocity = np.asarray(f["velocity"])
        if velocity.ndim != 5 or velocity.shape[-1] != 2:
            raise ValueError(f"{path}: 'velocity' has shape {velocity.shape}; expected [N, T, X, Y, 2]")
        fields = {"velocity_x": velocity[..., 0], "velocity_y": velocity[..., 1]}
        if "particles" in f:
            fields["particles"] = np.asarray(f["particles"])[..., 0]
        if variable == "vorticity":
            nx, ny = velocity.shape[2:4]
            fields["vorticity"] = _curl(velocity[..., 0], velocity[..., 1], _centres(nx), _centres(ny))
        if "t" in f:
            coords["time"] = np.asarray(f["t"])[0]
        return fields, coords
    groups = [k for k in keys if isinstance(f[k], h5py.Group) and "data" in f[k]]
    if groups:  # one group per sample: 0000/data [T, X, Y, C], 0000/grid/{x, y, t}
        data = np.stack([np.asarray(f[g]["data"]) for g in groups])
        if data.ndim == 4:
            data = data[..., None]
        if data.ndim != 5:
            raise ValueError(f"{path}: '{groups[0]}/data' has shape {data.shape[1:]}; expected [T, X, Y, C]")
        grid = f[groups[0]].get("grid", {})
        coords.update({name: np.asarray(grid[name]) for name in ("x", "y") if name in grid})
        if "t" in grid:
            coords["time"] = np.asarray(grid["t"])
        chans = data.shape[-1]
        fields = {variable: data[..., 0]} if chans == 1 else {f"data_{c}": data[..., c] for c in range(chans)}
        return fields, coords
    raise ValueError(f"{path}: no PDEBench layout ('tensor'; CFD 'density'/'pressure'/'Vx'/'Vy'; incompressible "
                     f"NS 'velocity'; per-sample groups '0000/data'); found {keys}")


def read_pdebench(path: str | Path, variable: str = "vorticity"):  # noqa: ANN201
    """A 2-D PDEBench HDF5 file as an ``xarray.Dataset`` of ``(sample, time, x, y)`` fields.

    The layouts PDEBench ships (Takamoto et al. 2022, https://arxiv.org/abs/2210.07182):

    - scalar PDEs: ``tensor [N, T, X, Y]`` (read as ``variable``) with ``x-/y-/t-coordinate``;
    - 2-D CFD: ``density``, ``pressure``, ``Vx``, ``Vy`` ``[N, T, X, Y]``, each by its name;
      ``vorticity`` is computed from ``Vx`` and ``Vy`` when asked for;
    - 2-D incompressible NS: ``velocity [N, T, X, Y, 2]`` (``velocity_x``, ``velocity_y``), ``particles``
      and ``t [N, T]``; ``vorticity`` is computed from the velocity when asked for;
    - per-sample groups (reaction-diffusion, shallow water): ``0000/data [T, X, Y, C]`` with
      ``0000/grid/{x, y, t}``; one channel reads as ``variable``, several as ``data_0``, ``data_1``, ….

    Vorticity is ``∂v/∂x − ∂u/∂y`` by second-order differences on the file's grid. Where a file
    stores no coordinates, they are PDEBench's cell centres ``(i + ½)/N`` on [0, 1] (time: the frame
    index). Some files store ``T + 1`` time stamps; the first ``T`` are kept.
    """
    import h5py

    xr = _xr()
    with h5py.File(path, "r") as f:
        fields, coords = _pdebench_fields(f, path, variable)
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    n, t, nx, ny = next(iter(fields.values())).shape
    x, y = coords.get("x", _centres(nx)), coords.get("y", _centres(ny))
    for name, coord, size in (("x-coordinate", x, nx), ("y-coordinate", y, ny)):
        if len(coord) != size:
            raise ValueError(f"{path}: {name} has {len(coord)} entries, the fields ({n}, {t}, {nx}, {ny}) need {size}")
    times = coords.get("time", np.arange(t, dtype=float))[:t]  # PDEBench stores T+1 time stamps for some PDEs
    data = {name: (DIMS, values.astype(np.float32)) for name, values in fields.items()}
    return xr.Dataset(data, coords={"sample": np.arange(n), "time": times, "x": x, "y": y}, attrs=attrs)


def _atomic(path: Path, write) -> Path:  # noqa: ANN001
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)
    return path


def write_netcdf(ds, path: str | Path) -> Path:  # noqa: ANN001
    """NetCDF4 via h5netcdf, zlib-compressed, one chunk per sample; written atomically."""
    enc = {name: {"zlib": True, "complevel": 4, "chunksizes": (1, *ds[name].shape[1:])}
           for name in ds.data_vars if ds[name].dims[:2] == ("sample", "time")}
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
