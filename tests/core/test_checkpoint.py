"""Checkpoints: safetensors + JSON only, atomic, refusing another model's weights."""

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from models import TinyRegressor
from sciformers.core import load_checkpoint, load_model_state, save_checkpoint, save_model
from sciformers.core import checkpoint as ckpt
from sciformers.core.schedule import build_schedule


def _training_state():
    torch.manual_seed(0)
    model = TinyRegressor()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = build_schedule(opt, "cosine", total=10, warmup=2)
    model.training_step([torch.randn(4, 3), torch.randn(4)]).backward()
    opt.step()
    sched.step()
    return model, opt, sched


def test_training_checkpoint_round_trip(tmp_path):
    model, opt, sched = _training_state()
    rng = torch.get_rng_state()
    save_checkpoint(tmp_path / "last", model, opt, sched, {"step": 1, "history": [{"a": 1.0}]},
                    extra={"rng.torch": rng})
    m2 = TinyRegressor()
    o2 = torch.optim.AdamW(m2.parameters(), lr=1e-2)
    s2 = build_schedule(o2, "cosine", total=10, warmup=2)
    state, extra = load_checkpoint(tmp_path / "last", m2, o2, s2)
    assert state == {"step": 1, "history": [{"a": 1.0}]}
    assert torch.equal(extra["rng.torch"], rng)
    for a, b in zip(model.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    sa, sb = opt.state_dict(), o2.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    for idx in sa["state"]:
        for key in sa["state"][idx]:
            assert torch.equal(torch.as_tensor(sa["state"][idx][key]), torch.as_tensor(sb["state"][idx][key]))
    assert s2.get_last_lr() == sched.get_last_lr()
    assert load_checkpoint(tmp_path / "missing", m2, o2, s2) is None


def test_files_are_safetensors_and_json_never_pickle(tmp_path):
    model, opt, sched = _training_state()
    save_checkpoint(tmp_path / "last", model, opt, sched, {"step": 1})
    save_model(tmp_path / "final", model, {"model": "tiny", "kwargs": {}})
    for f in sorted((tmp_path / "last").iterdir()) + sorted((tmp_path / "final").iterdir()):
        if f.suffix == ".safetensors":
            load_file(str(f))
        else:
            assert f.suffix == ".json"
            json.loads(f.read_text())
        assert not f.read_bytes().startswith(b"\x80")  # pickle protocol header


def test_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model, _, _ = _training_state()
    save_model(tmp_path / "final", model, {"model": "tiny", "v": 1})

    def broken(tensors, path, *args, **kwargs):
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(tmp_path / "final", model, {"model": "tiny", "v": 2})
    state, config = load_model_state(tmp_path / "final")
    assert config["v"] == 1 and torch.equal(state["net.0.weight"], model.state_dict()["net.0.weight"])


def test_interrupted_swap_falls_back_to_the_old_checkpoint(tmp_path):
    model, _, _ = _training_state()
    save_model(tmp_path / "final", model, {"model": "tiny"})
    (tmp_path / "final").rename(tmp_path / "final.old")  # crash between the two renames
    assert load_model_state(tmp_path / "final")[1] == {"model": "tiny"}


def test_another_models_checkpoint_is_refused(tmp_path):
    model, _, _ = _training_state()
    save_model(tmp_path / "final", model, {"model": "crystals.icomformer"})
    with pytest.raises(ValueError, match="is of model 'crystals.icomformer', not 'pde.factformer2d'"):
        load_model_state(tmp_path / "final", expected_model="pde.factformer2d")
    with pytest.raises(FileNotFoundError, match="no model checkpoint"):
        load_model_state(tmp_path / "nothing")


def test_tied_weights_are_saved_and_loaded(tmp_path):
    lin = torch.nn.Linear(2, 2)
    tied = torch.nn.Sequential(lin, lin)  # tied weights
    save_model(tmp_path / "m", tied, {"model": "x"})
    state, _ = load_model_state(tmp_path / "m")
    assert torch.equal(state["0.weight"], state["1.weight"]) and not math.isnan(state["0.weight"].sum().item())


def test_save_model_requires_the_registry_name(tmp_path):
    with pytest.raises(ValueError, match=r"needs config\['model'\]"):
        save_model(tmp_path / "m", TinyRegressor(), {"kwargs": {}})
    assert not (tmp_path / "m").exists()


def test_load_model_rebuilds_from_the_registry_and_checks_the_class(tmp_path):
    from sciformers.core import load_model, register_model
    from sciformers.core.registry import list_models

    if "core_tests.tiny" not in list_models():
        register_model("core_tests.tiny")(TinyRegressor)
    torch.manual_seed(0)
    model = TinyRegressor(dropout=0.3)
    save_model(tmp_path / "final", model, {"model": "core_tests.tiny", "kwargs": {"dropout": 0.3}})
    back = load_model(tmp_path / "final", TinyRegressor)
    assert isinstance(back, TinyRegressor) and not back.training
    x = torch.randn(4, 3)
    assert torch.equal(back.predict([x]), model.eval().predict([x]))
    with pytest.raises(ValueError, match="checkpoint holds 'core_tests.tiny', not a Linear"):
        load_model(tmp_path / "final", torch.nn.Linear)
