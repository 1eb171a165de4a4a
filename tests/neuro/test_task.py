"""The neuro registry entries (kinds, test kwargs, example batch), the estimators' own fit, lazy import,
and the task's typed sections and model kwargs."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from sciformers.core import ConfigError, create_model, get_model_spec
from sciformers.neuro import CCGConnectivity, HomogeneousPoisson, Neuroformer, RidgeDecoder, SpikeData, ccg_connectivity

PEERS = ("poisson", "glm", "ccg", "ridge")


def test_neuroformer_example_batch_runs_through_predict():
    spec = get_model_spec("neuro.neuroformer")
    assert spec.kind == "trainable" and spec.example is not None
    model = create_model("neuro.neuroformer", **spec.test_kwargs).eval()
    with torch.no_grad():
        out = model.predict(spec.example(model))
    assert out["loglik"].shape == (4,) and torch.isfinite(out["loglik"]).all()


@pytest.mark.parametrize("name", PEERS)
def test_peers_are_estimators_built_from_test_kwargs(name):
    spec = get_model_spec(name)
    assert spec.kind == "estimator" and hasattr(create_model(name, **spec.test_kwargs), "fit")


def test_estimators_report_their_parameters():
    counts = np.random.default_rng(0).poisson(0.1, size=(200, 3))
    assert HomogeneousPoisson().fit(counts).n_params == 3  # one rate per neuron
    x, y = np.random.default_rng(1).normal(size=(50, 4)), np.random.default_rng(2).normal(size=(50, 1))
    ridge = RidgeDecoder(alphas=(0.1, 1.0)).fit(x, y)
    assert ridge.n_params == 5 and ridge.predict(x).shape == (50, 1)


def test_ccg_estimator_is_the_function():
    rng = np.random.default_rng(0)
    data = SpikeData.from_times(rng.uniform(0, 2, 300), rng.integers(0, 4, 300), n_neurons=4, t_stop=2.0)
    np.testing.assert_array_equal(CCGConnectivity(max_lag_s=0.003).fit(data).connectivity(),
                                  ccg_connectivity(data, 0.001, 0.003))


def test_importing_the_domain_loads_no_harness_and_no_simulator():
    """Brian2 loads when a simulation is asked for, scikit-learn when a peer is fitted, pynwb when a file is read."""
    heavy = ("sciformers.evaluation", "matplotlib", "sciformers.neuro.task", "brian2", "sklearn", "pynwb", "h5py")
    code = f"import sys, sciformers.neuro; print([m for m in sys.modules if m.startswith({heavy!r})])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_every_metric_has_a_direction():
    from sciformers.evaluation.tasks import get_task

    task = get_task("neuro.simulated_circuit")
    assert set(task.higher_is_better().values()) == {True}


def test_finetune_budget_is_a_typed_stage_and_eval_keeps_scoring():
    from sciformers.evaluation.pipeline import resolve

    rp = resolve("neuro/simulated_circuit", preset="smoke")
    assert rp.stages.behavior.steps == 10 and rp.stages.behavior.lr == pytest.approx(1e-3)
    assert rp.eval.readout_windows == 200 and rp.eval.glm_alpha == pytest.approx(1e-3)
    with pytest.raises(ConfigError, match="stages.behavior.stpes"):
        resolve("neuro/simulated_circuit", preset="smoke", overrides=["stages.behavior.stpes=3"])
    with pytest.raises(ConfigError, match="eval.finetune_steps"):  # moved to stages
        resolve("neuro/simulated_circuit", preset="smoke", overrides=["eval.finetune_steps=3"])


def test_peer_kwargs_come_from_eval_unless_the_entry_sets_them():
    from sciformers.evaluation.runner import Entry
    from sciformers.neuro.task import SIMULATED_CIRCUIT, NeuroEval

    class Prep:
        ev = NeuroEval(glm_alpha=0.5, ccg_max_lag_s=0.02)

    kwargs = SIMULATED_CIRCUIT.model_kwargs
    assert kwargs(Prep(), Entry("glm", "glm", {}, "estimator")) == {"alpha": 0.5}
    assert kwargs(Prep(), Entry("glm", "glm", {"alpha": 1e-3}, "estimator")) == {"alpha": 1e-3}
    assert kwargs(Prep(), Entry("ccg", "ccg", {}, "estimator")) == {"max_lag_s": 0.02}
    assert kwargs(Prep(), Entry("poisson", "poisson", {}, "estimator", baseline=True)) == {}


def test_neuroformer_is_the_registered_class():
    assert get_model_spec("neuro.neuroformer").factory is Neuroformer
