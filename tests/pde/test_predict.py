"""``sciformers predict pde``: rollouts from the end of each trajectory, written as NetCDF under --out only."""

import csv

import numpy as np
import pytest
import torch

xr = pytest.importorskip("xarray")

from sciformers.core import create_model, save_model  # noqa: E402
from sciformers.evaluation.cli import main  # noqa: E402
from sciformers.evaluation.datasets import PredictRequest  # noqa: E402
from sciformers.pde.formats import export_pdebench, read_dataset, write_netcdf, write_zarr  # noqa: E402
from sciformers.pde.predict import SUMMARY_HEADER, predict_pde  # noqa: E402

KW = dict(in_steps=3, dim=8, depth=1, heads=2, dim_head=4, latent_multiplier=1.0, rff_dim=8, residual=True)


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = create_model("pde.factformer2d", **KW)
    model.set_normalization(0.1, 2.0)
    save_model(tmp_path / "final", model, {"model": "pde.factformer2d", "kwargs": KW})
    return tmp_path / "final", model.eval()


def _ds(n=2, t=5, s=8):
    rng = np.random.default_rng(0)
    axis = 2 * np.pi * np.arange(s) / s
    return xr.Dataset({"vorticity": (("sample", "time", "x", "y"), rng.standard_normal((n, t, s, s)).astype(np.float32),
                                     {"units": "1/time"})},
                      coords={"sample": np.arange(n), "time": 0.5 + 0.25 * np.arange(t), "x": axis, "y": axis},
                      attrs={"reynolds": 100.0})


def _listing(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


def test_rollout_file_equals_the_model_rollout_and_lands_under_out(tmp_path, checkpoint, capsys):
    ckpt, model = checkpoint
    data = tmp_path / "data"
    ds = _ds()
    src = write_netcdf(ds, data / "traj.nc")
    before = _listing(data)
    out_dir = tmp_path / "out"
    assert main(["predict", "pde", "--checkpoint", str(ckpt), "--out", str(out_dir), "--option", "steps=5",
                 str(src)]) == 0
    assert _listing(data) == before  # nothing written beside the input
    name, samples, steps, out = capsys.readouterr().out.strip().split("\t")
    assert (name, samples, steps, out) == (str(src), "2", "5", str(out_dir.resolve() / "traj.rollout.nc"))
    got = read_dataset(out)
    with torch.no_grad():
        expected = model.rollout(torch.from_numpy(ds["vorticity"].values[:, -3:]), 5).numpy()
    np.testing.assert_allclose(got["vorticity"].values, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got["time"].values, 1.5 + 0.25 * np.arange(1, 6))
    np.testing.assert_array_equal(got["x"].values, ds["x"].values)
    assert got.attrs["reynolds"] == 100.0 and got.attrs["rollout_steps"] == 5
    assert got["vorticity"].attrs["units"] == "1/time"
    with (out_dir / "rollouts.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == SUMMARY_HEADER and "time_units" in rows[0] and "variable_units" in rows[0]
    row = dict(zip(rows[0], rows[1]))
    assert (row["file"], row["samples"], row["steps"], row["variable_units"]) == (str(src), "2", "5", "1/time")
    assert float(row["time_start"]) == pytest.approx(1.75) and float(row["time_end"]) == pytest.approx(2.75)


def test_pdebench_input_stem_clashes_and_clear_errors(tmp_path, checkpoint, capsys):
    pytest.importorskip("h5py")
    ckpt, _ = checkpoint
    data = tmp_path / "data"
    h5 = export_pdebench(_ds(), data / "traj.h5")
    nc = write_netcdf(_ds(), data / "traj.nc")  # the same stem in one folder: whole names keep them apart
    other = write_netcdf(_ds(), data / "sub" / "traj.nc")  # and in another folder: its relative folder
    out = tmp_path / "out"
    out.mkdir()
    result = predict_pde(PredictRequest(ckpt, [str(h5), str(nc), str(other)], out, {"steps": "2"}))
    assert {p.relative_to(out).as_posix() for p in result.written} == {
        "traj.h5.rollout.nc", "traj.nc.rollout.nc", "sub/traj.rollout.nc", "rollouts.csv"}
    assert len(result.lines) == 3 and not result.skipped
    short = write_netcdf(_ds(t=2), data / "short.nc")
    base = ["predict", "pde", "--checkpoint", str(ckpt), "--out", str(tmp_path / "o2")]
    assert main(base + [str(short)]) == 2
    assert "short.nc" in (err := capsys.readouterr().err) and "2 time steps" in err
    assert main(base + ["--option", "steps=x", str(h5)]) == 2
    assert "--option steps=x: steps must be a positive integer" in capsys.readouterr().err
    assert main(base + ["--option", "steps=0", str(h5)]) == 2
    assert main(base + ["--option", "frames=3", str(h5)]) == 2
    assert "frames" in capsys.readouterr().err
    assert main(base + [str(h5), "steps=3"]) == 2  # the old positional form: told how to write it now
    assert "--option steps=3" in capsys.readouterr().err
    assert main(base + ["--option", "variable=pressure", str(nc)]) == 2  # (PDEBench files name no variable)
    assert "no variable 'pressure'" in capsys.readouterr().err


def test_skip_invalid_goes_on_and_all_bad_exits_1(tmp_path, checkpoint, capsys):
    ckpt, _ = checkpoint
    data = tmp_path / "data"
    write_netcdf(_ds(), data / "good.nc")
    write_netcdf(_ds(t=2), data / "short.nc")
    (data / "garbage.nc").write_bytes(b"not a netcdf file")
    before = _listing(data)
    base = ["predict", "pde", "--checkpoint", str(ckpt), "--option", "steps=2"]
    assert main(base + ["--out", str(tmp_path / "o1"), str(data)]) == 2  # without --skip-invalid: stops
    assert "garbage.nc" in capsys.readouterr().err
    assert not (tmp_path / "o1" / "good.rollout.nc").exists()  # every input is checked before any is written
    assert main(base + ["--out", str(tmp_path / "o2"), "--skip-invalid", str(data)]) == 0
    captured = capsys.readouterr()
    assert "good.nc" in captured.out and "skipped" in captured.err
    assert "short.nc" in captured.err and "garbage.nc" in captured.err and "2 time steps" in captured.err
    assert (tmp_path / "o2" / "good.rollout.nc").is_file() and (tmp_path / "o2" / "rollouts.csv").is_file()
    assert main(base + ["--out", str(tmp_path / "o3"), "--skip-invalid", str(data / "short.nc"),
                        str(data / "garbage.nc"), str(tmp_path / "missing.nc")]) == 1
    assert "missing.nc" in capsys.readouterr().err
    assert _listing(data) == before


@pytest.mark.filterwarnings("ignore:Consolidated metadata")  # zarr 3 writing a v3 store
def test_zarr_stores_are_inputs_not_folders(tmp_path, checkpoint):
    pytest.importorskip("zarr")
    ckpt, _ = checkpoint
    data = tmp_path / "data"
    data.mkdir()
    write_zarr(_ds(), data / "a.zarr")
    write_zarr(_ds(), tmp_path / "store_without_suffix")
    out = tmp_path / "out"
    out.mkdir()
    result = predict_pde(PredictRequest(ckpt, [str(data), str(tmp_path / "store_without_suffix")], out, {"steps": "2"}))
    assert sorted(p.name for p in result.written) == ["a.rollout.nc", "rollouts.csv", "store_without_suffix.rollout.nc"]


def test_predict_help_lists_inputs_and_options(capsys):
    assert main(["predict", "pde", "--help"]) == 0
    out = capsys.readouterr().out
    assert "inputs:" in out and "NetCDF" in out and "steps" in out and "variable" in out and "default 16" in out
