"""The recording of ``neuro/simulated_circuit``: a cached Brian2 circuit (the ``neuro.circuit``
dataset) or the user's NWB file (``data.path``), split contiguously in time.

A user's recording (``data.path: recording.nwb``) is its units table (every unit a neuron, the
span from ``obs_intervals``) and at most one behaviour series, chosen by name with
``data.behavior`` (needed when the file has several; the error lists them). It has no ground
truth, so connectivity and PSTH are not scored; every model of the pipeline is trained and
scored on it as on a circuit. The circuit fields of ``data:`` are ignored then.

Circuit regimes (``data.regime``): ``easy`` records every neuron for ``duration_s``; ``hard`` weakens
the coupling (``hard_weight_scale``), shortens the recording (``hard_duration_scale``) and
observes only half of the neurons (hidden ones still drive the observed ones). The recording
is split **contiguously in time** into train, validation and test blocks; windows never
straddle a block boundary. For the PSTH metric the first ``psth_duration_s`` of the test block
is re-simulated ``psth_repeats`` times with new noise and the same behaviour and stimulus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from sciformers.core import Config, cache_dir, cached_file
from sciformers.evaluation.datasets import DatasetEntry, register_dataset
from sciformers.evaluation.records import config_hash
from sciformers.neuro.circuit import CircuitConfig, simulate_circuit
from sciformers.neuro.spikes import Behavior, SpikeData, SpikeDataError, Stimulus


class CircuitData(Config):
    """The ``data:`` section of ``neuro/simulated_circuit``.

    Args:
        seed: seeds the circuit (wiring, inputs, noise).
        regime: ``easy`` or ``hard`` (see the module docstring).
        n_neurons: simulated neurons.
        duration_s: recording length in the easy regime.
        stimulus: simulate gratings and feed them to the model.
        stimulus_frames: frames of the stimulus clip of a window (sampled over past + current window).
        resolution, window, past_window: the tokenizer (seconds).
        split: train, validation, test fractions of the recording, in that order in time.
        psth_repeats: repeats of the PSTH segment.
        psth_duration_s: length of the PSTH segment.
        hard_weight_scale, hard_duration_scale, hard_observed: the hard regime.
        circuit: further :class:`CircuitConfig` fields (e.g. ``{w_exc_mv: 2.0}``).
        path: a user's NWB recording instead of the circuit.
        behavior: the behaviour series of ``path`` to decode and feed the models (default: the only one).
    """

    seed: int = 0
    regime: Literal["easy", "hard"] = "easy"
    n_neurons: int = Field(50, ge=2)
    duration_s: float = Field(120.0, gt=0)
    stimulus: bool = False
    stimulus_frames: int = Field(6, ge=1)
    resolution: float = 0.005
    window: float = 0.025
    past_window: float = 0.05
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    psth_repeats: int = Field(4, ge=2)
    psth_duration_s: float = Field(2.0, gt=0)
    hard_weight_scale: float = 0.4
    hard_duration_scale: float = 0.25
    hard_observed: float = 0.5
    circuit: dict[str, Any] = Field(default_factory=dict)
    path: str | None = None
    behavior: str | None = None

    def circuit_config(self) -> CircuitConfig:
        """The simulator config of this regime."""
        base = CircuitConfig.parse({"seed": self.seed, "n_neurons": self.n_neurons, "duration_s": self.duration_s,
                                    "stimulus": self.stimulus, **self.circuit}, where="data.circuit")
        if self.regime == "easy":
            return base
        return base.model_copy(update={"duration_s": base.duration_s * self.hard_duration_scale,
                                       "w_exc_mv": base.w_exc_mv * self.hard_weight_scale,
                                       "w_inh_mv": base.w_inh_mv * self.hard_weight_scale})


@dataclass(frozen=True)
class Recording:
    """The observed part of a recording, its ground truth (circuits only) and its blocks.

    Attributes:
        spikes: observed neurons only, renumbered ``0..n_obs-1``.
        bounds: ``(t0, t_train, t_val, t_stop)`` block edges in seconds.
        weights: ``(n_obs, n_obs)`` true weights among observed neurons (mV); ``None`` for a user's file.
        hubs: observed hubs (new numbering); ``None`` for a user's file.
        repeats: re-simulations of ``[t_val, t_val + psth_duration_s)`` (observed neurons); none for a file.
        behavior_name: the behaviour series the models decode (``None``: the recording has none).
    """

    spikes: SpikeData
    bounds: tuple[float, float, float, float]
    weights: np.ndarray | None = None
    hubs: np.ndarray | None = None
    repeats: list[SpikeData] = field(default_factory=list)
    behavior_name: str | None = None

    def block(self, name: str) -> SpikeData:
        """The ``train``, ``val`` or ``test`` block."""
        i = ("train", "val", "test").index(name)
        return self.spikes.slice(self.bounds[i], self.bounds[i + 1])


def _grid(t: float, step: float) -> float:
    return float(np.floor(t / step + 1e-9) * step)


def split_bounds(t0: float, t1: float, split: tuple[float, float, float], window: float) -> tuple[float, float, float, float]:
    """Contiguous train / validation / test edges of ``[t0, t1)`` on the window grid from ``t0``."""
    span = t1 - t0
    return (t0, t0 + _grid(span * split[0], window), t0 + _grid(span * (split[0] + split[1]), window), t1)


def read_recording(path: str | Path, behavior: str | None) -> SpikeData:
    """A user's NWB file with the behaviour series ``behavior`` (default: the only one; none if it has none).

    Raises:
        FileNotFoundError: if there is no such file.
        SpikeDataError: naming the file: unreadable, malformed, no such series, or several and none chosen.
    """
    from sciformers.neuro.nwb import behavior_names, read_nwb

    names = behavior_names(path)
    if behavior is not None and behavior not in names:
        raise SpikeDataError(f"{path}: processing['behavior']: no behaviour series {behavior!r}; found {names}")
    if behavior is None and len(names) > 1:
        raise SpikeDataError(f"{path}: several behaviour series {names}; choose one with data.behavior")
    return read_nwb(path, behavior_series=[behavior] if behavior else names)


def _save(path: Path, circuit_spikes: SpikeData, weights: np.ndarray, hubs: np.ndarray, repeats: list[SpikeData]) -> None:
    arrays = {"times": circuit_spikes.times, "ids": circuit_spikes.ids, "weights": weights, "hubs": hubs,
              "span": np.array([circuit_spikes.t_start, circuit_spikes.t_stop]),
              "beh_t": circuit_spikes.behavior.t, "beh_v": circuit_spikes.behavior.values}
    if circuit_spikes.stimulus is not None:
        arrays |= {"frames": circuit_spikes.stimulus.frames, "fps": np.array([circuit_spikes.stimulus.fps])}
    for k, r in enumerate(repeats):
        arrays |= {f"rep{k}_times": r.times, f"rep{k}_ids": r.ids, f"rep{k}_span": np.array([r.t_start, r.t_stop])}
    np.savez_compressed(path, **arrays)


def _load(path: Path, n: int, n_repeats: int) -> tuple[SpikeData, np.ndarray, np.ndarray, list[SpikeData]]:
    z = np.load(path)
    beh = Behavior(z["beh_t"], z["beh_v"], ("speed",))
    stim = Stimulus(z["frames"], float(z["fps"][0])) if "frames" in z else None
    spikes = SpikeData(z["times"], z["ids"], n, *map(float, z["span"]), behavior=beh, stimulus=stim)
    reps = [SpikeData(z[f"rep{k}_times"], z[f"rep{k}_ids"], n, *map(float, z[f"rep{k}_span"]), behavior=beh, stimulus=stim)
            for k in range(n_repeats)]
    return spikes, z["weights"], z["hubs"], reps


def circuit_file(cfg: CircuitData) -> Path:
    """Simulate (once) and cache the recording and its PSTH repeats; returns the ``.npz`` path."""
    spec = cfg.model_dump(mode="json")
    path = cache_dir("neuro_circuit", config_hash(spec)[:16]) / "circuit.npz"

    def build(tmp: Path) -> None:
        ccfg = cfg.circuit_config()
        circuit = simulate_circuit(ccfg)
        t_val = _grid(ccfg.duration_s * (cfg.split[0] + cfg.split[1]), cfg.window)
        t_end = min(t_val + cfg.psth_duration_s, ccfg.duration_s)
        reps = [simulate_circuit(ccfg, noise_seed=k + 1, t_start=t_val, t_stop=t_end).spikes for k in range(cfg.psth_repeats)]
        _save(tmp, circuit.spikes, circuit.weights, circuit.hubs, reps)

    return cached_file(path, build)


def load_recording(cfg: CircuitData) -> Recording:
    """The user's file ``cfg.path``, or the cached circuit of ``cfg`` restricted to its observed neurons, with
    its blocks."""
    if cfg.path is not None:
        spikes = read_recording(Path(cfg.path).expanduser(), cfg.behavior)
        bounds = split_bounds(spikes.t_start, spikes.t_stop, cfg.split, cfg.window)
        name = spikes.behavior.names[0] if spikes.behavior is not None else None
        return Recording(spikes=spikes, bounds=bounds, behavior_name=name)
    ccfg = cfg.circuit_config()
    spikes, weights, hubs, reps = _load(circuit_file(cfg), ccfg.n_neurons, cfg.psth_repeats)
    observed = np.arange(ccfg.n_neurons)
    if cfg.regime == "hard":
        rng = np.random.default_rng([cfg.seed, 7])
        observed = np.sort(rng.choice(ccfg.n_neurons, int(round(cfg.hard_observed * ccfg.n_neurons)), replace=False))
    remap = {int(o): k for k, o in enumerate(observed)}
    return Recording(
        spikes=spikes.select(observed), bounds=split_bounds(spikes.t_start, spikes.t_stop, cfg.split, cfg.window),
        weights=weights[np.ix_(observed, observed)],
        hubs=np.array([remap[int(h)] for h in hubs if int(h) in remap], dtype=np.int64),
        repeats=[r.select(observed) for r in reps], behavior_name="speed")


def _build(cfg: Config) -> list[Path]:
    assert isinstance(cfg, CircuitData)
    return [Path(cfg.path)] if cfg.path is not None else [circuit_file(cfg)]


register_dataset(DatasetEntry("neuro.circuit", CircuitData, _build,
                              "Brian2 LIF circuit with known wiring, hubs, Dale's law, running speed (cached .npz)"))
