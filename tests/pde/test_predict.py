"""``sciformers predict pde``: rollouts from the end of each trajectory, written as NetCDF beside the input."""

import numpy as np
import pytest
import torch

xr = pytest.importorskip("xarray")

from sciformers.core import create_model, save_model  # noqa: E402
from sciformers.evaluation.cli import main  # noqa: E402
from sciformers.pde.formats import export_pdebench, read_dataset, write_netcdf  # noqa: E402
from sciformers.pde.predict import predict_pde  # noqa: E402

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
    return xr.Dataset({"vorticity": (("sample", "time", "x", "y"), rng.standard_normal((n, t, s, s)).astype(np.float32))},
                      coords={"sample": np.arange(n), "time": 0.5 + 0.25 * np.arange(t), "x": axis, "y": axis},
                      attrs={"reynolds": 100.0})


def test_rollout_file_equals_the_model_rollout(tmp_path, checkpoint, capsys):
    ckpt, model = checkpoint
    ds = _ds()
    src = write_netcdf(ds, tmp_path / "traj.nc")
    assert main(["predict", "pde", "--checkpoint", str(ckpt), str(src), "steps=5"]) == 0
    name, samples, steps, out = capsys.readouterr().out.strip().split("\t")
    assert (name, samples, steps, out) == (str(src), "2", "5", str(tmp_path / "traj.rollout.nc"))
    got = read_dataset(out)
    with torch.no_grad():
        expected = model.rollout(torch.from_numpy(ds["vorticity"].values[:, -3:]), 5).numpy()
    np.testing.assert_allclose(got["vorticity"].values, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got["time"].values, 1.5 + 0.25 * np.arange(1, 6))
    np.testing.assert_array_equal(got["x"].values, ds["x"].values)
    assert got.attrs["reynolds"] == 100.0 and got.attrs["rollout_steps"] == 5


def test_pdebench_input_and_clear_errors(tmp_path, checkpoint):
    pytest.importorskip("h5py")
    ckpt, _ = checkpoint
    h5 = export_pdebench(_ds(), tmp_path / "traj.h5")
    assert predict_pde(ckpt, [str(h5)])[0].endswith("traj.rollout.nc")
    short = write_netcdf(_ds(t=2), tmp_path / "short.nc")
    with pytest.raises(ValueError, match="short.nc.*2 time steps"):
        predict_pde(ckpt, [str(short)])
    with pytest.raises(ValueError, match="steps=x: steps must be a positive integer"):
        predict_pde(ckpt, [str(h5), "steps=x"])
    with pytest.raises(ValueError, match="no input files"):
        predict_pde(ckpt, ["steps=3"])
