"""The ``neuro.simulated_circuit`` task: Neuroformer beside GLM, CCG, ridge and Poisson on a circuit with known
wiring, or on the user's NWB recording (``data.path``).

Per seed, on the same contiguous splits: Neuroformer is pretrained on spike tokens (plus
behaviour and stimulus; output biases start at the training log-frequencies, validation
token NLL stops it early), then fine-tuned for behaviour on 1%, 10% and 100% of the training
labels beside the same architecture trained from scratch (the ``stages.behavior`` budget); it
is scored on held-out bits/spike, open-loop ID F1, closed-loop PSTH r, connectivity (the
gradient attribution read-out, and the paper's attention read-out with and without rollout)
and the decoded behaviour. The GLM gives bits/spike and coupling connectivity, the CCG the
connectivity, ridge the behaviour decoding, homogeneous Poisson the null. A user's recording
has no wiring and no repeats: connectivity and PSTH are not scored there. Every model is a
registry entry run by the shared runner; this module says what each fits on and predicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from pydantic import Field

from sciformers.core import Config, get_model_spec
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.runner import Entry, Job, Result, count_params
from sciformers.evaluation.tasks import TaskSpec, register_task
from sciformers.neuro import metrics as M
from sciformers.neuro import plots
from sciformers.neuro.connectivity import attention_connectivity, attribution_connectivity
from sciformers.neuro.data import CircuitData, Recording, load_recording
from sciformers.neuro.generation import generate, sample_id_sets
from sciformers.neuro.model import Neuroformer
from sciformers.neuro.peers import (
    CCGConnectivity,
    HomogeneousPoisson,
    PoissonGLM,
    RidgeDecoder,
    window_count_features,
)
from sciformers.neuro.spikes import SpikeData
from sciformers.neuro.tokenizer import Tokenizer, TruncationReport
from sciformers.neuro.windows import WindowDataset, window_batch

FRACTIONS = {"1pct": 0.01, "10pct": 0.1, "100pct": 1.0}
BEHAVIOR_LEN = 10  # behaviour samples per window fed to the behaviour encoder


class NeuroEval(Config):
    """The ``eval:`` section: sampling, read-out and scoring settings.

    Args:
        temperature, top_p: sampling of generated spikes (the reference scored top-p 0.9).
        readout_windows: training windows the attention read-out averages over.
        attribution_windows: training windows the attribution read-out averages over (a backward
            pass per target position: the costlier read-out).
        psth_bin_s: PSTH bin width.
        glm_alpha: the GLM's L2 penalty, unless the ``glm`` entry's kwargs set ``alpha``.
        ccg_max_lag_s: the CCG's lag range, unless the ``ccg`` entry's kwargs set ``max_lag_s``.
    """

    temperature: float = 1.0
    top_p: float = 0.9
    readout_windows: int = Field(2000, ge=1)
    attribution_windows: int = Field(1000, ge=1)
    psth_bin_s: float = 0.1
    glm_alpha: float = 1e-3
    ccg_max_lag_s: float = 0.01


class BehaviorStage(Config):
    """Budget of each behaviour fit (fine-tuned from the pretrained weights and from scratch).

    Args:
        steps: optimizer steps.
        lr: learning rate.
        models: the Neuroformer entries that get these fits (default: every one).
    """

    steps: int = Field(100, ge=1)
    lr: float = 1e-3
    models: list[str] | None = None


class NeuroStages(Config):
    """The ``stages:`` section: training after Neuroformer's generative pretraining."""

    behavior: BehaviorStage = Field(default_factory=BehaviorStage)


@dataclass(frozen=True)
class Prepared:
    """The recording, its tokenizer and windows, and what scoring compares against (built once per run).

    Attributes:
        rec: the recording and its ground truth.
        tok: the tokenizer sized on the training windows.
        starts: window starts of each block (``train``, ``val``, ``test``).
        arrays: :func:`window_batch` of each block.
        stats: mean and standard deviation of the training behaviour.
        frame_shape: the stimulus clip of a window (``None``: no stimulus).
        counts: the whole recording's counts at the tokenizer's resolution.
        train_rows, test_rows: bins of the training block and of the test windows.
        ll_null: test log-likelihood (nats) of the homogeneous Poisson null fitted on ``train_rows``.
        ev: the ``eval:`` section (the peers' default kwargs).
    """

    rec: Recording
    tok: Tokenizer
    starts: dict[str, np.ndarray]
    arrays: dict[str, dict[str, np.ndarray]]
    stats: tuple[np.ndarray, np.ndarray]
    frame_shape: tuple[int, int, int] | None
    counts: np.ndarray
    train_rows: np.ndarray
    test_rows: np.ndarray
    ll_null: float
    ev: NeuroEval


@dataclass
class Fitted:
    """What one job fits: the registry model and the behaviour decoders fitted beside it.

    Attributes:
        model: the entry's model (Neuroformer: the pretrained one).
        behavior_name: the behaviour series it was trained with (``None``: none), saved with it.
        decoders: behaviour decoders by metric suffix (``1pct`` ... ``100pct``, ``*_scratch``).
    """

    model: Any
    behavior_name: str | None = None
    decoders: dict[str, Any] = field(default_factory=dict)


@dataclass
class Predictions:
    """A model's outputs on the test block; ``None`` (or empty) where the model does not measure it.

    Attributes:
        loglik: log-likelihood (nats) of the test windows' counts.
        id_sets: open-loop neuron-ID sets of every test window.
        generated: closed-loop generations of the PSTH segment, one per repeat.
        connectivity: ``(N, N)`` inferred score ``i -> j``, 0 without a connection (Neuroformer: the
            attribution read-out); ``None`` without ground truth.
        attention, rollout: the paper's attention read-out, without and with rollout across layers.
        behavior: decoded test behaviour ``(W, D)`` by metric suffix.
    """

    loglik: float | None = None
    id_sets: list[set[int]] | None = None
    generated: list[SpikeData] | None = None
    connectivity: np.ndarray | None = None
    attention: np.ndarray | None = None
    rollout: np.ndarray | None = None
    behavior: dict[str, np.ndarray] = field(default_factory=dict)


def _conn(score: np.ndarray, rec: Recording, suffix: str = "") -> dict[str, float]:
    assert rec.weights is not None
    return {f"conn_auroc{suffix}": M.conn_auroc(score, rec.weights),
            f"direction_acc{suffix}": M.direction_acc(score, rec.weights)}


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0


def label_subsets(n_train: int, seed: int) -> dict[str, np.ndarray]:
    """Training-window indices of each label fraction (nested draws of one seeded permutation)."""
    perm = np.random.default_rng([seed, 11]).permutation(n_train)
    return {k: np.sort(perm[: max(2, int(round(f * n_train)))]) for k, f in FRACTIONS.items()}


def _real_repeats(rec: Recording, generated: list[SpikeData]) -> list[SpikeData]:
    """The recorded repeats on the generated interval."""
    return [r.slice(generated[0].t_start, generated[0].t_stop) for r in rec.repeats]


class SimulatedCircuitTask(TaskSpec):
    """Generation, connectivity and behaviour decoding on a simulated LIF circuit."""

    name = "neuro.simulated_circuit"
    version = "1"
    domain = "neuro"
    description = ("Brian2 LIF circuit (Dale's law, hubs, running speed) or a user's NWB file (data.path): held-out "
                   "bits/spike, ID F1, PSTH r, connectivity AUROC / direction / hubs against the true wiring, "
                   "few-shot behaviour decoding.")
    metrics = tuple(M.METRICS)
    baseline = "poisson"
    data_card = "neuro_circuit.md"
    data_schema = CircuitData
    eval_schema = NeuroEval
    stages_schema = NeuroStages

    # -- data ------------------------------------------------------------------------------------

    def prepare(self, ctx: RunContext) -> Prepared:
        data, ev = ctx.data, ctx.eval
        assert isinstance(data, CircuitData) and isinstance(ev, NeuroEval)
        rec = load_recording(data)
        n = rec.spikes.n_neurons
        probe = Tokenizer(n, data.resolution, data.window, data.past_window, 10**6, 10**6)
        starts = {b: probe.window_starts(rec.bounds[i], rec.bounds[i + 1]) for i, b in enumerate(("train", "val", "test"))}
        # block sizes from the training windows only: the busiest window plus half again
        counts = np.diff(np.searchsorted(rec.spikes.times, np.r_[starts["train"], starts["train"][-1] + data.window]))
        past_counts = counts * data.past_window / data.window
        tok = Tokenizer(n, data.resolution, data.window, data.past_window,
                        int(1.5 * counts.max()) + 2, int(1.5 * past_counts.max()) + 2)
        stats = (np.zeros(1), np.ones(1))
        if rec.spikes.behavior is not None:
            beh = rec.spikes.behavior
            mask = (beh.t >= rec.bounds[0]) & (beh.t < rec.bounds[1])
            stats = (beh.values[mask].mean(0), beh.values[mask].std(0) + 1e-8)
        behavior_len = BEHAVIOR_LEN if rec.spikes.behavior is not None else 0
        frame_shape = None
        if data.stimulus and data.path is None:
            frame_shape = (data.stimulus_frames, *rec.spikes.stimulus.frames.shape[1:])
        report = TruncationReport()
        arrays = {b: window_batch(rec.spikes, s, tok, behavior_len=behavior_len, frame_shape=frame_shape,
                                  behavior_mean=stats[0], behavior_std=stats[1], report=report) for b, s in starts.items()}
        # bits/spike is scored on the bins the test windows cover, against a null fitted on the training block
        binned = rec.spikes.binned(tok.resolution)
        first = np.round((starts["test"] - rec.spikes.t_start) / tok.resolution).astype(int)
        test_rows = (first[:, None] + np.arange(tok.window_bins)).ravel()
        train_rows = np.arange(int(round(tok.past_window / tok.resolution)),
                               int(round((rec.bounds[1] - rec.spikes.t_start) / tok.resolution)))
        ll_null = HomogeneousPoisson().fit(binned[train_rows]).loglik(binned[test_rows])
        source = data.path or f"circuit ({data.regime})"
        ctx.say(f"{self.name}: {source}: {n} observed neurons, {len(starts['train'])} training windows; tokenizer: {report}")
        return Prepared(rec, tok, starts, arrays, stats, frame_shape, binned, train_rows, test_rows, ll_null, ev)

    def model_kwargs(self, prepared: Prepared, entry: Entry) -> dict[str, Any]:
        """Neuroformer's tokenizer and modalities; the GLM's ``alpha`` and the CCG's lag from ``eval:``
        unless the entry sets them."""
        if entry.kind == "trainable":
            tok, has_behavior = prepared.tok, prepared.rec.spikes.behavior is not None
            return {"n_neurons": tok.n_neurons, "resolution": tok.resolution, "window": tok.window,
                    "past_window": tok.past_window, "max_current": tok.max_current, "max_past": tok.max_past,
                    "n_behavior": int(has_behavior), "behavior_len": BEHAVIOR_LEN if has_behavior else 0,
                    "frame_shape": prepared.frame_shape}
        factory = get_model_spec(entry.model).factory
        if factory is PoissonGLM:
            return {"alpha": entry.kwargs.get("alpha", prepared.ev.glm_alpha)}
        if factory is CCGConnectivity:
            return {"max_lag_s": entry.kwargs.get("max_lag_s", prepared.ev.ccg_max_lag_s)}
        return {}

    def _covariates(self, prepared: Prepared) -> np.ndarray | None:
        """The z-scored behaviour at a few lags, for every bin of the recording (``None`` without behaviour)."""
        rec = prepared.rec
        if rec.spikes.behavior is None:
            return None
        t = rec.spikes.t_start + np.arange(len(prepared.counts)) * prepared.tok.resolution
        lags = (0.0, 0.05, 0.1, 0.2)
        speed = np.stack([rec.spikes.behavior.at(t - lag)[:, 0] for lag in lags], axis=1)
        return (speed - prepared.stats[0][0]) / prepared.stats[1][0]

    def _window_counts(self, prepared: Prepared, block: str) -> np.ndarray:
        """Ridge features: per-neuron counts of the past and current windows of ``block``."""
        tok = prepared.tok
        return window_count_features(prepared.rec.spikes, prepared.starts[block], tok.window, tok.past_window)

    # -- models ----------------------------------------------------------------------------------

    def _neuroformer(self, job: Job, prepared: Prepared, **overrides: Any) -> Neuroformer:
        """The entry's Neuroformer (seeded, from the registry) with the training behaviour statistics and its
        output biases at the training targets' log-frequencies."""
        model: Neuroformer = job.build(**overrides)
        model.behavior_mean.copy_(torch.as_tensor(prepared.stats[0], dtype=torch.float32))
        model.behavior_std.copy_(torch.as_tensor(prepared.stats[1], dtype=torch.float32))
        train = prepared.arrays["train"]
        model.init_output_bias(train["tgt_id"], train["tgt_dt"])
        return model

    def build(self, job: Job, prepared: Prepared) -> Fitted:
        if job.entry.kind == "trainable":
            return Fitted(self._neuroformer(job, prepared), prepared.rec.behavior_name)
        return Fitted(job.build())

    def fit(self, job: Job, model: Fitted, prepared: Prepared) -> None:
        """Neuroformer: pretraining, then the behaviour fits; each peer on what it needs."""
        m = model.model
        if isinstance(m, Neuroformer):
            arrays = prepared.arrays
            job.fit(m, WindowDataset(arrays["train"]), WindowDataset(arrays["val"]), stage="pretrain")
            stages = job.ctx.stages
            assert isinstance(stages, NeuroStages)
            chosen = stages.behavior.models is None or job.name in stages.behavior.models
            if chosen and m.head_behavior is not None:
                model.decoders = self._fit_behavior(job, m, prepared)
        elif isinstance(m, HomogeneousPoisson):
            m.fit(prepared.counts[prepared.train_rows])
        elif isinstance(m, PoissonGLM):
            m.fit(prepared.counts, self._covariates(prepared), prepared.train_rows)
        elif isinstance(m, CCGConnectivity):
            m.fit(prepared.rec.block("train"))
        elif isinstance(m, RidgeDecoder):
            if "target" not in prepared.arrays["train"]:
                return  # a recording without behaviour: nothing to decode
            x, y = self._window_counts(prepared, "train"), prepared.arrays["train"]["target"]
            # one decoder per label fraction; the entry's own model is the one fitted on every label
            for key, idx in label_subsets(len(x), job.seed).items():
                decoder = m if key == "100pct" else job.build()
                model.decoders[key] = decoder.fit(x[idx], y[idx])
        else:
            raise TypeError(f"{self.name}: no protocol for {job.entry.model!r} ({type(m).__name__})")

    def _fit_behavior(self, job: Job, pretrained: Neuroformer, prepared: Prepared) -> dict[str, Neuroformer]:
        """One behaviour decoder per label fraction, fine-tuned from ``pretrained`` and from scratch."""
        stages = job.ctx.stages
        assert isinstance(stages, NeuroStages)
        cfg = job.train_config(steps=stages.behavior.steps, lr=stages.behavior.lr, val_fraction=0.0, patience=None,
                               eval_every=None, epochs=None)
        train = WindowDataset(prepared.arrays["train"])
        weights = pretrained.state_dict()
        decoders: dict[str, Neuroformer] = {}
        for key, idx in label_subsets(len(train), job.seed).items():
            for suffix in ("", "_scratch"):
                decoder = self._neuroformer(job, prepared, objective="behavior")
                if not suffix:
                    decoder.load_state_dict(weights)
                job.fit(decoder, train.subset(idx), stage=f"behavior_{key}{suffix}", config=cfg)
                decoders[key + suffix] = decoder
        return decoders

    def predict(self, job: Job, model: Fitted, prepared: Prepared) -> Predictions:
        m, counts, rows = model.model, prepared.counts, prepared.test_rows
        if isinstance(m, Neuroformer):
            return self._predict_neuroformer(job, model, prepared)
        if isinstance(m, HomogeneousPoisson):
            rng = np.random.default_rng(job.seed)
            return Predictions(loglik=m.loglik(counts[rows]),
                               id_sets=m.sample_sets(len(prepared.starts["test"]), prepared.tok.window_bins, rng))
        truth = prepared.rec.weights is not None
        if isinstance(m, PoissonGLM):
            rates = m.rates(counts, self._covariates(prepared), rows)
            return Predictions(loglik=M.poisson_loglik(counts[rows], rates), connectivity=m.coupling() if truth else None)
        if isinstance(m, CCGConnectivity):
            return Predictions(connectivity=m.connectivity() if truth else None)
        if isinstance(m, RidgeDecoder):
            x = self._window_counts(prepared, "test")
            return Predictions(behavior={key: d.predict(x) for key, d in model.decoders.items()})
        raise TypeError(f"{self.name}: no protocol for {job.entry.model!r} ({type(m).__name__})")

    def _predict_neuroformer(self, job: Job, model: Fitted, prepared: Prepared) -> Predictions:
        """Token log-likelihood, open-loop ID sets, closed-loop PSTH segment, connectivity read-outs, behaviour."""
        m, tok, rec, arrays = model.model, prepared.tok, prepared.rec, prepared.arrays
        ev = job.ctx.eval
        assert isinstance(m, Neuroformer) and isinstance(ev, NeuroEval)
        test = WindowDataset(arrays["test"])
        # bits/spike: the token log-likelihood of a window is that of its binned counts
        loglik = float(job.predict(m, test)["loglik"].double().sum())
        out = Predictions(loglik=loglik, id_sets=sample_id_sets(m, test.tensors, ev.temperature, ev.top_p, seed=job.seed),
                          behavior={key: job.predict(d, test)["behavior"].numpy() for key, d in model.decoders.items()})
        if rec.repeats:
            seg = rec.repeats[0]
            context = rec.spikes.slice(seg.t_start - tok.past_window, seg.t_stop)
            out.generated = generate(m, context, seg.t_stop - seg.t_start, true_past=False, temperature=ev.temperature,
                                     top_p=ev.top_p, n_samples=len(rec.repeats), seed=job.seed)
        if rec.weights is not None:  # connectivity read-outs, over training windows
            train = WindowDataset(arrays["train"])
            out.connectivity = attribution_connectivity(m, self._chunks(m, train, ev.attribution_windows, 64))
            out.attention = attention_connectivity(m, self._chunks(m, train, ev.readout_windows, 256))
            out.rollout = attention_connectivity(m, self._chunks(m, train, ev.readout_windows, 256), rollout=True)
        return out

    @staticmethod
    def _chunks(m: Neuroformer, windows: WindowDataset, n: int, size: int) -> list[dict[str, torch.Tensor]]:
        """The first ``n`` windows in batches of ``size`` on the model's device."""
        n = min(n, len(windows))
        return [{k: v[c:min(c + size, n)].to(m.cur_pos.device) for k, v in windows.tensors.items()} for c in range(0, n, size)]

    def save(self, job: Job, model: Fitted) -> None:
        """``final/``: the (pretrained) model with its behaviour series; ``behavior_decoder/``: the decoder fitted on
        every label, beside it (``sciformers predict neuro`` decodes behaviour with it)."""
        if not isinstance(model.model, torch.nn.Module):
            return
        meta = {"behavior": model.behavior_name}
        job.save(model.model, meta)
        if "100pct" in model.decoders:
            kwargs = {**job.kwargs, "objective": "behavior"}
            job.save(model.decoders["100pct"], {**meta, "kwargs": kwargs}, stage="behavior_decoder")

    def count_params(self, model: Fitted) -> int:
        return count_params(model.model)

    # -- scoring ---------------------------------------------------------------------------------

    def score(self, job: Job, prepared: Prepared, predictions: Predictions) -> Result:
        p, rec, tok = predictions, prepared.rec, prepared.tok
        ev = job.ctx.eval
        assert isinstance(ev, NeuroEval)
        out: dict[str, float] = {}
        if p.loglik is not None:
            n_spikes = int(prepared.counts[prepared.test_rows].sum())
            out["bits_per_spike"] = M.bits_per_spike(p.loglik, prepared.ll_null, n_spikes)
        if p.id_sets is not None:
            out["f1_ids"] = M.set_f1(p.id_sets, M.window_sets(rec.spikes, prepared.starts["test"], tok.window))
        if p.generated is not None:
            out["psth_r"] = M.psth_r(_real_repeats(rec, p.generated), p.generated, ev.psth_bin_s)
        if p.connectivity is not None:
            out |= {**_conn(p.connectivity, rec), "hubs_found": M.hubs_found(p.connectivity, rec.hubs)}
        if p.attention is not None:
            out |= {**_conn(p.attention, rec, "_attention"), "hubs_found_attention": M.hubs_found(p.attention, rec.hubs)}
        if p.rollout is not None:
            out |= _conn(p.rollout, rec, "_rollout")
        if p.behavior:
            y_test = prepared.arrays["test"]["target"]
            out |= {f"behavior_r_{key}": _pearson(pred, y_test) for key, pred in p.behavior.items()}
        return Result(out, n_test=len(prepared.starts["test"]))

    def artifacts(self, job: Job, prepared: Prepared, predictions: Predictions) -> dict[str, dict[str, Any]]:
        """``<model>_seed<s>.npz``: what the figures draw (connectivity, rasters, decoded behaviour)."""
        p, payload = predictions, {}
        if p.connectivity is not None:
            payload |= {"connectivity": p.connectivity, "weights": prepared.rec.weights}
        if p.attention is not None:
            payload["connectivity_attention"] = p.attention
        if p.generated is not None:
            real, gen = _real_repeats(prepared.rec, p.generated)[0], p.generated[0]
            payload |= dict(zip(plots.RASTER, (real.times, real.ids, gen.times, gen.ids)))
        if "100pct" in p.behavior:
            payload |= dict(zip(plots.BEHAVIOR, (prepared.starts["test"], prepared.arrays["test"]["target"][:, 0],
                                                 p.behavior["100pct"][:, 0])))
        return {f"{job.name}_seed{job.seed}.npz": payload} if payload else {}

    # -- report ----------------------------------------------------------------------------------

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        """The bits/spike bars, then the raster, connectivity and behaviour figures of each model's first seed."""
        figs = {"bits_per_spike": plots.metric_bars(records, "bits_per_spike", self.baseline)}
        saved: dict[str, dict[str, np.ndarray]] = {}
        for r in sorted(records, key=lambda r: r.seed):
            if r.model not in saved and (path := self.saved_predictions(run_dirs, f"{r.model}_seed{r.seed}.npz")):
                with np.load(path) as arrays:
                    saved[r.model] = dict(arrays)
        return figs | plots.figures(saved)


SIMULATED_CIRCUIT = register_task(SimulatedCircuitTask())
