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
        f["density"] = np.zeros((1, 2, 3, 3))
    with pytest.raises(ValueError, match="no dataset 'tensor'"):
        read_dataset(bad)
    with pytest.raises(FileNotFoundError, match="not found"):
        read_dataset(tmp_path / "nope.nc")
