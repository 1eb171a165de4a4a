"""Loaders and exporters: NetCDF, zarr, PDEBench HDF5, neuraloperator .pt; clear errors on bad files."""

import numpy as np
import pytest
import torch

xr = pytest.importorskip("xarray")
h5py = pytest.importorskip("h5py")

from sciformers.pde.formats import (  # noqa: E402
    export_neuraloperator,
    export_pdebench,
    read_dataset,
    write_netcdf,
    write_zarr,
)


def _ds(n=3, t=6, s=8, seed=0):
    rng = np.random.default_rng(seed)
    axis = 2 * np.pi * np.arange(s) / s
    return xr.Dataset(
        {"vorticity": (("sample", "time", "x", "y"), rng.standard_normal((n, t, s, s)).astype(np.float32))},
        coords={"sample": np.arange(n), "time": 0.125 * np.arange(t), "x": axis, "y": axis,
                "split": ("sample", np.array(["train", "val", "test"][:n]))},
        attrs={"reynolds": 100.0, "forcing_wavenumber": 4},
    )


def test_netcdf_round_trip(tmp_path):
    ds = _ds()
    path = write_netcdf(ds, tmp_path / "a.nc")
    back = read_dataset(path)
    xr.testing.assert_identical(back, ds)


def test_zarr_round_trip(tmp_path):
    pytest.importorskip("zarr")
    ds = _ds()
    back = read_dataset(write_zarr(ds, tmp_path / "a.zarr"))
    np.testing.assert_array_equal(back["vorticity"].values, ds["vorticity"].values)
    np.testing.assert_array_equal(back["split"].values.astype(str), ds["split"].values)
    assert back.attrs["reynolds"] == 100.0
    with pytest.raises(FileExistsError):
        write_zarr(ds, tmp_path / "a.zarr")


def test_pdebench_round_trip(tmp_path):
    ds = _ds()
    path = export_pdebench(ds, tmp_path / "a.h5")
    with h5py.File(path) as f:
        assert f["tensor"].shape == (3, 6, 8, 8)
        assert set(f) == {"tensor", "x-coordinate", "y-coordinate", "t-coordinate"}
    back = read_dataset(path)
    np.testing.assert_array_equal(back["vorticity"].values, ds["vorticity"].values)
    np.testing.assert_allclose(back["time"].values, ds["time"].values)
    np.testing.assert_allclose(back["x"].values, ds["x"].values)


def test_pdebench_file_written_by_hand_with_extra_time_stamp(tmp_path):
    """PDEBench files may store T+1 time stamps; coordinates are optional."""
    path = tmp_path / "2D_NS.hdf5"
    data = np.random.default_rng(0).standard_normal((2, 5, 4, 4)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f["tensor"] = data
        f["t-coordinate"] = np.linspace(0, 1, 6)
    back = read_dataset(path)
    assert back["vorticity"].shape == (2, 5, 4, 4)
    assert len(back["time"]) == 5


def test_neuraloperator_export(tmp_path):
    ds = _ds()
    pairs = torch.load(export_neuraloperator(ds, tmp_path / "ns_train_8.pt"), weights_only=True)
    assert pairs["x"].shape == (3 * 5, 8, 8) and pairs["y"].shape == (3 * 5, 8, 8)
    v = torch.from_numpy(ds["vorticity"].values)
    assert torch.equal(pairs["x"][0], v[0, 0]) and torch.equal(pairs["y"][0], v[0, 1])
    assert torch.equal(pairs["x"][6], v[1, 1]) and torch.equal(pairs["y"][6], v[1, 2])
    windows = torch.load(export_neuraloperator(ds, tmp_path / "w.pt", in_steps=2, out_steps=3), weights_only=True)
    assert windows["x"].shape == (3 * 2, 2, 8, 8) and windows["y"].shape == (3 * 2, 3, 8, 8)
    assert torch.equal(windows["y"][1], v[0, 3:6])


def test_wrong_dims_are_a_clear_error(tmp_path):
    ds = _ds().transpose("time", "sample", "x", "y")
    path = write_netcdf(ds, tmp_path / "t.nc")
    with pytest.raises(ValueError, match=r"'vorticity' has dims \('time', 'sample', 'x', 'y'\).*expected dims"):
        read_dataset(path)


def test_nan_is_a_clear_error(tmp_path):
    ds = _ds()
    ds["vorticity"].values[1, 2, 3, 4] = np.nan
    path = write_netcdf(ds, tmp_path / "n.nc")
    with pytest.raises(ValueError, match=r"n.nc: variable 'vorticity' \(shape \(3, 6, 8, 8\)\) has NaN.*\(1, 2, 3, 4\)"):
        read_dataset(path)


def test_short_time_axis_is_a_clear_error(tmp_path):
    path = write_netcdf(_ds(t=3), tmp_path / "s.nc")
    with pytest.raises(ValueError, match="has 3 time steps.*at least 5"):
        read_dataset(path, min_frames=5)


def test_missing_variable_and_bad_hdf5(tmp_path):
    path = write_netcdf(_ds().rename({"vorticity": "u"}), tmp_path / "u.nc")
    with pytest.raises(ValueError, match="no variable 'vorticity'; found \\['u'\\]"):
        read_dataset(path)
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f["foo"] = np.zeros((1, 2, 3, 3))
    with pytest.raises(ValueError, match=r"no PDEBench layout.*found \['foo'\]"):
        read_dataset(bad)
    half = tmp_path / "half.h5"
    with h5py.File(half, "w") as f:
        f["density"] = np.zeros((1, 2, 3, 3))
    with pytest.raises(ValueError, match="vorticity needs 'Vx' and 'Vy'; found \['density'\]"):
        read_dataset(half)
    assert read_dataset(half, "density")["density"].shape == (1, 2, 3, 3)
    with pytest.raises(FileNotFoundError, match="not found"):
        read_dataset(tmp_path / "nope.nc")


def _taylor_green(n, t=3):
    """u = ∂ψ/∂y, v = −∂ψ/∂x for ψ = sin(2πx) sin(2πy) at cell centres on [0, 1]²: ω = ∂v/∂x − ∂u/∂y = 8π² ψ."""
    c = (np.arange(n) + 0.5) / n
    x, y = np.meshgrid(c, c, indexing="ij")
    k = 2 * np.pi
    u, v = k * np.sin(k * x) * np.cos(k * y), -k * np.cos(k * x) * np.sin(k * y)
    amp = np.linspace(1.0, 0.5, t)[None, :, None, None]  # decaying in time, two samples
    return (amp * u * np.ones((2, 1, 1, 1)), amp * v * np.ones((2, 1, 1, 1)),
            amp * 2 * k**2 * np.sin(k * x) * np.sin(k * y) * np.ones((2, 1, 1, 1)), c)


def test_pdebench_2d_cfd_fields_and_vorticity_from_vx_vy(tmp_path):
    """2-D CFD (``density``, ``pressure``, ``Vx``, ``Vy`` [N, T, X, Y], T+1 time stamps): each field by
    name; ``vorticity`` computed from Vx and Vy on request."""
    u, v, w, c = _taylor_green(64)
    path = tmp_path / "2D_CFD_Rand_M0.1_periodic_64_Train.hdf5"
    with h5py.File(path, "w") as f:
        f["Vx"], f["Vy"] = u.astype(np.float32), v.astype(np.float32)
        f["density"], f["pressure"] = np.ones_like(u, dtype=np.float32), 2 * np.ones_like(u, dtype=np.float32)
        f["x-coordinate"], f["y-coordinate"], f["t-coordinate"] = c, c, np.linspace(0, 1, 4)
    ds = read_dataset(path, "pressure")
    assert float(ds["pressure"].max()) == 2.0 and len(ds["time"]) == 3
    vort = read_dataset(path)["vorticity"].values
    assert vort.shape == (2, 3, 64, 64)
    assert np.abs(vort - w).max() < 0.01 * np.abs(w).max()  # second-order differences at 64²


def test_pdebench_incompressible_ns_velocity_converted_to_vorticity(tmp_path):
    """2-D incompressible NS (``velocity`` [N, T, X, Y, 2], ``particles``, ``force``, ``t`` [N, T]; no
    coordinates): cell centres on [0, 1], vorticity from the velocity, the tracer by name."""
    u, v, w, c = _taylor_green(64)
    path = tmp_path / "ns_incom_inhom_2d_64-0.h5"
    with h5py.File(path, "w") as f:
        f["velocity"] = np.stack([u, v], axis=-1).astype(np.float32)
        f["particles"] = np.zeros((*u.shape, 1), dtype=np.float32)
        f["force"] = np.zeros((2, 64, 64, 2), dtype=np.float32)
        f["t"] = np.tile(np.array([0.0, 0.5, 1.0]), (2, 1))
    ds = read_dataset(path)
    np.testing.assert_allclose(ds["x"].values, c)
    np.testing.assert_allclose(ds["time"].values, [0.0, 0.5, 1.0])
    assert np.abs(ds["vorticity"].values - w).max() < 0.01 * np.abs(w).max()
    assert read_dataset(path, "particles")["particles"].shape == (2, 3, 64, 64)


def test_pdebench_per_sample_groups(tmp_path):
    """Reaction-diffusion / shallow-water layout: one group per sample (``0000/data`` [T, X, Y, C],
    ``0000/grid/{x,y,t}``); one channel reads as the requested variable, several as ``data_<c>``."""
    rng = np.random.default_rng(0)
    one, two = tmp_path / "2D_rdb_NA_NA.h5", tmp_path / "2D_diff-react_NA_NA.h5"
    for path, chans in ((one, 1), (two, 2)):
        with h5py.File(path, "w") as f:
            for i in range(3):
                g = f.create_group(f"{i:04d}")
                g["data"] = rng.standard_normal((5, 4, 4, chans)).astype(np.float32)
                g["grid/x"], g["grid/y"], g["grid/t"] = (np.arange(4) + 0.5) / 4, (np.arange(4) + 0.5) / 4, np.arange(5) * 0.1
    ds = read_dataset(one)
    assert ds["vorticity"].shape == (3, 5, 4, 4)
    with h5py.File(one) as f:
        np.testing.assert_array_equal(ds["vorticity"].values[2], f["0002/data"][..., 0])
    np.testing.assert_allclose(ds["time"].values, np.arange(5) * 0.1)
    assert read_dataset(two, "data_1")["data_1"].shape == (3, 5, 4, 4)
    with pytest.raises(ValueError, match=r"no variable 'vorticity'; found \['data_0', 'data_1'\]"):
        read_dataset(two)
