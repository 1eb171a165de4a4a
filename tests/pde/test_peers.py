"""Peers: neuraloperator FNO at a matched parameter count, persistence; checkpoints round-trip."""

import pytest
import torch

pytest.importorskip("neuralop")

from sciformers.core import create_model, load_model_state, save_model  # noqa: E402
from sciformers.evaluation.pipeline import resolve  # noqa: E402
from sciformers.pde import FNOSurrogate, Persistence, fno_width_for  # noqa: E402


def _n(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("pipeline,channels", [("pde/kolmogorov2d", 1), ("pde/smoke3d", 4)])
@pytest.mark.parametrize("preset", ["smoke", "bench", "full"])
def test_fno_width_matches_factformer_params_within_15_percent(pipeline, channels, preset):
    rp = resolve(pipeline, preset)
    entry = rp.config.models["factformer"]
    extra = {"channels": channels} if channels > 1 else {}
    with torch.device("meta"):
        ff = create_model(entry.model, **{**rp.config.model_defaults, **entry.kwargs, "in_steps": rp.data.in_steps, **extra})
    fno_kw = rp.config.models["fno"].kwargs
    out_steps = rp.config.model_defaults.get("out_steps", 1)
    width = fno_width_for(_n(ff), rp.data.in_steps, out_steps, fno_kw["n_modes"], fno_kw["n_layers"], channels=channels)
    with torch.device("meta"):
        fno = FNOSurrogate(rp.data.in_steps, out_steps, fno_kw["n_modes"], width, fno_kw["n_layers"], channels)
    assert abs(_n(fno) - _n(ff)) <= 0.15 * _n(ff)


def test_fno_predicts_frames_and_saves_tensors_only(tmp_path):
    model = create_model("fno", in_steps=3, out_steps=2, n_modes=(4, 4), hidden_channels=8, n_layers=2)
    model.set_normalization(1.0, 2.0)
    x = torch.randn(2, 3, 16, 16)
    assert model(x).shape == (2, 2, 16, 16)
    assert model.rollout(x, 5).shape == (2, 5, 16, 16)
    save_model(tmp_path / "fno", model, {"model": "fno", "kwargs": {}})
    state, _ = load_model_state(tmp_path / "fno")
    other = create_model("fno", in_steps=3, out_steps=2, n_modes=(4, 4), hidden_channels=8, n_layers=2)
    other.load_state_dict(state)
    assert torch.equal(other(x), model(x))


def test_persistence_repeats_the_last_frame():
    model = Persistence(in_steps=2, out_steps=3)
    x = torch.randn(2, 2, 5, 5)
    out = model.rollout(x, 4)
    assert torch.equal(out, x[:, -1:].expand(-1, 4, -1, -1))
    with pytest.raises(RuntimeError, match="nothing to train"):
        model.training_step({"inputs": x, "target": x})


def test_no_fno_width_within_tolerance_is_an_error():
    with pytest.raises(ValueError, match="no FNO width"):
        fno_width_for(10, 4, 1)
