"""Conformance over the model registry (timm style): every entry builds from its test kwargs.

A trainable entry must accept its declared example batch in ``predict`` and come back from a
safetensors + JSON round trip with the same outputs; an estimator must offer ``fit``.
"""

import pytest
import torch

from sciformers.core import TrainModule, create_model, get_model_spec, import_all_domains, list_models, load_model
from sciformers.core import save_model

import_all_domains()
MODELS = list_models()


def _outputs(model: TrainModule, batch) -> list[torch.Tensor]:
    model.eval()
    with torch.no_grad():
        out = model.predict(batch)
    values = out.values() if isinstance(out, dict) else [out]
    return [torch.as_tensor(v).detach().double() for v in values]


def test_every_domain_registers_models():
    prefixes = {name.split(".", 1)[0] for name in MODELS if "." in name}
    assert {"crystals", "pde", "timeseries", "neuro", "genomics", "planning", "gas", "attention"} <= prefixes


@pytest.mark.parametrize("name", MODELS)
def test_entry_declares_its_protocol(name):
    spec = get_model_spec(name)
    assert spec.kind in ("trainable", "estimator")
    if spec.kind == "trainable":
        assert spec.example is not None, f"{name}: a trainable entry must declare an example batch"


@pytest.mark.parametrize("name", MODELS)
def test_entry_builds_runs_and_round_trips(name, tmp_path):
    spec = get_model_spec(name)
    torch.manual_seed(0)
    model = create_model(name, **spec.test_kwargs)
    if spec.kind == "estimator":
        assert callable(getattr(model, "fit", None)), f"{name}: an estimator needs fit"
        return
    assert isinstance(model, TrainModule), f"{name}: a trainable entry must build a TrainModule"
    batch = spec.example(model)
    before = _outputs(model, batch)
    assert before and all(torch.isfinite(t).all() for t in before), f"{name}: non-finite predictions"
    save_model(tmp_path / "m", model, {"model": name, "kwargs": spec.test_kwargs})
    loaded = load_model(tmp_path / "m")
    assert type(loaded) is type(model)
    after = _outputs(loaded, batch)
    assert len(after) == len(before)
    for a, b in zip(before, after):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-8)
