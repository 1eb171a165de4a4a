"""The ``neuro.simulated_circuit`` task: Neuroformer beside GLM, CCG, ridge and Poisson on a circuit with known wiring.

Per seed, on the same contiguous splits: Neuroformer is pretrained on spike tokens (plus
behaviour and stimulus), scored on held-out bits/spike, open-loop ID F1, closed-loop PSTH r
and attention connectivity, then fine-tuned for behaviour on 1%, 10% and 100% of the training
labels beside the same architecture trained from scratch. The GLM gives bits/spike and coupling
connectivity, the CCG connectivity, ridge the behaviour decoding, homogeneous Poisson the null.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from pydantic import Field

from sciformers.core import Config, Trainer, TrainConfig, create_model, register_model, save_model, seed_everything
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.tasks import TaskSpec, register_task
from sciformers.neuro import metrics as M
from sciformers.neuro import plots
from sciformers.neuro.connectivity import attention_connectivity
from sciformers.neuro.data import CircuitData, Recording, load_recording
from sciformers.neuro.generation import generate, sample_windows
from sciformers.neuro.model import Neuroformer
from sciformers.neuro.peers import (
    HomogeneousPoisson,
    PoissonGLM,
    ccg_connectivity,
    ridge_decoder,
    window_count_features,
)
from sciformers.neuro.tokenizer import Tokenizer, TruncationReport
from sciformers.neuro.windows import WindowDataset, window_batch

FRACTIONS = {"1pct": 0.01, "10pct": 0.1, "100pct": 1.0}
BEHAVIOR_LEN = 10  # behaviour samples per window fed to the behaviour encoder

register_model("glm")(PoissonGLM)
register_model("poisson")(HomogeneousPoisson)
register_model("ccg")(ccg_connectivity)
register_model("ridge")(ridge_decoder)


class NeuroEval(Config):
    """The ``eval:`` section: sampling and fine-tuning settings.

    Args:
        temperature, top_p: sampling of generated spikes (the reference scored top-p 0.9).
        finetune_steps: optimizer steps of each behaviour fit (fine-tuned and from scratch).
        finetune_lr: their learning rate.
        readout_windows: training windows the attention read-out averages over.
        psth_bin_s: PSTH bin width.
        glm_alpha: the GLM's L2 penalty.
        ccg_max_lag_s: the CCG's lag range.
    """

    temperature: float = 1.0
    top_p: float = 0.9
    finetune_steps: int = Field(100, ge=1)
    finetune_lr: float = 1e-3
    readout_windows: int = Field(2000, ge=1)
    psth_bin_s: float = 0.1
    glm_alpha: float = 1e-3
    ccg_max_lag_s: float = 0.01


def _conn(score: np.ndarray, rec: Recording, suffix: str = "") -> dict[str, float]:
    return {f"conn_auroc{suffix}": M.conn_auroc(score, rec.weights),
            f"direction_acc{suffix}": M.direction_acc(score, rec.weights)}


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0


class SimulatedCircuitTask(TaskSpec):
    """Generation, connectivity and behaviour decoding on a simulated LIF circuit."""

    name = "neuro.simulated_circuit"
    version = "1"
    domain = "neuro"
    description = ("Brian2 LIF circuit (Dale's law, hubs, running speed): held-out bits/spike, ID F1, PSTH r, "
                   "connectivity AUROC / direction / hubs against the true wiring, few-shot behaviour decoding.")
    metrics = tuple(M.METRICS)
    baseline = "poisson"
    data_card = "neuro_circuit.md"
    data_schema = CircuitData

    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}

    def higher_is_better(self) -> dict[str, bool]:
        return {m: True for m in M.METRICS}

    # -- shared preparation ------------------------------------------------------------------

    def _prepare(self, data: CircuitData) -> dict[str, Any]:
        rec = load_recording(data)
        n = rec.spikes.n_neurons
        probe = Tokenizer(n, data.resolution, data.window, data.past_window, 10**6, 10**6)
        starts = {b: probe.window_starts(rec.bounds[i], rec.bounds[i + 1]) for i, b in enumerate(("train", "val", "test"))}
        # block sizes from the training windows only: the busiest window plus half again
        counts = np.diff(np.searchsorted(rec.spikes.times, np.r_[starts["train"], starts["train"][-1] + data.window]))
        past_counts = counts * data.past_window / data.window
        tok = Tokenizer(n, data.resolution, data.window, data.past_window,
                        int(1.5 * counts.max()) + 2, int(1.5 * past_counts.max()) + 2)
        beh = rec.block("train").behavior
        mask = (beh.t >= rec.bounds[0]) & (beh.t < rec.bounds[1])
        stats = (beh.values[mask].mean(0), beh.values[mask].std(0) + 1e-8)
        frame_shape = None
        if data.stimulus:
            frame_shape = (data.stimulus_frames, *rec.spikes.stimulus.frames.shape[1:])
        report = TruncationReport()
        arrays = {b: window_batch(rec.spikes, s, tok, behavior_len=BEHAVIOR_LEN, frame_shape=frame_shape, behavior_mean=stats[0],
                                  behavior_std=stats[1], report=report) for b, s in starts.items()}
        return {"rec": rec, "tok": tok, "starts": starts, "arrays": arrays, "stats": stats, "frame_shape": frame_shape,
                "truncation": report}

    def run(self, ctx: RunContext) -> Iterator[RunRecord]:
        data = ctx.data
        assert isinstance(data, CircuitData)
        ev = NeuroEval.parse(ctx.pipeline.eval, where="eval")
        figure_file = self.predictions_path(ctx.out_dir, "figures.npz")  # a resumed run keeps earlier figures
        self.figures = plots.load_figure_data(figure_file) if figure_file.is_file() else {}
        prep = self._prepare(data)
        ctx.say(f"{self.name}: {prep['rec'].spikes.n_neurons} observed neurons, "
                f"{len(prep['starts']['train'])} training windows; tokenizer: {prep['truncation']}")
        runners = {"glm": self._run_glm, "ccg": self._run_ccg, "ridge": self._run_ridge,  # peers by registry name
                   "neuro.neuroformer": self._run_neuroformer}
        entries = [("poisson", "poisson", {})] + [(k, e.model, e.kwargs) for k, e in ctx.models.items()]
        for name, model, kwargs in entries:
            if model != "poisson" and model not in runners:
                raise ValueError(f"{self.name}: no runner for model {model!r}; expected one of {sorted(runners)}")
            for seed in ctx.seeds:
                if ctx.is_done(self.name, name, seed):
                    continue
                seed_everything(seed)
                t0 = time.perf_counter()
                if model == "poisson":
                    metrics, n_params = self._run_poisson(prep, seed), prep["rec"].spikes.n_neurons
                else:  # model_defaults are the Neuroformer's; peers take only their own kwargs
                    kw = {**ctx.model_defaults, **kwargs} if model == "neuro.neuroformer" else dict(kwargs)
                    metrics, n_params = runners[model](ctx, prep, ev, name, kw, seed)
                record = ctx.record(task=self, model=name, seed=seed, n_params=n_params, metrics=metrics,
                                    fit_s=time.perf_counter() - t0)
                self.write_predictions(ctx.out_dir, figure_file.name, plots.figure_arrays(self.figures))
                yield record

    # -- bits/spike on the test windows' bins ------------------------------------------------------

    @staticmethod
    def _test_bins(prep: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Counts of the whole recording, the bin indices covered by the test windows, training bin indices."""
        tok, rec = prep["tok"], prep["rec"]
        counts = rec.spikes.binned(tok.resolution)
        first = np.round((prep["starts"]["test"] - rec.spikes.t_start) / tok.resolution).astype(int)
        test_rows = (first[:, None] + np.arange(tok.window_bins)).ravel()
        train_rows = np.arange(int(round(tok.past_window / tok.resolution)),
                               int(round((rec.bounds[1] - rec.spikes.t_start) / tok.resolution)))
        return counts, test_rows, train_rows

    def _null(self, prep: dict[str, Any]) -> tuple[HomogeneousPoisson, float, np.ndarray, np.ndarray]:
        counts, test_rows, train_rows = self._test_bins(prep)
        null = HomogeneousPoisson().fit(counts[train_rows])
        return null, null.loglik(counts[test_rows]), counts, test_rows

    def _run_poisson(self, prep: dict[str, Any], seed: int) -> dict[str, float]:
        null, _, _, _ = self._null(prep)
        tok, rec = prep["tok"], prep["rec"]
        true = M.window_sets(rec.spikes, prep["starts"]["test"], tok.window)
        pred = null.sample_sets(len(true), tok.window_bins, np.random.default_rng(seed))
        return {"bits_per_spike": 0.0, "f1_ids": M.set_f1(pred, true)}

    # -- peers -------------------------------------------------------------------------------------

    def _covariates(self, prep: dict[str, Any], n_bins: int) -> np.ndarray:
        tok, rec = prep["tok"], prep["rec"]
        t = rec.spikes.t_start + np.arange(n_bins) * tok.resolution
        lags = (0.0, 0.05, 0.1, 0.2)
        speed = np.stack([rec.spikes.behavior.at(t - lag)[:, 0] for lag in lags], axis=1)
        return (speed - prep["stats"][0][0]) / prep["stats"][1][0]

    def _run_glm(self, ctx: RunContext, prep: dict[str, Any], ev: NeuroEval, name: str, kwargs: dict[str, Any],
                 seed: int) -> tuple[dict[str, float], int]:
        null, ll_null, counts, test_rows = self._null(prep)
        _, _, train_rows = self._test_bins(prep)
        cov = self._covariates(prep, len(counts))
        glm = PoissonGLM(alpha=kwargs.get("alpha", ev.glm_alpha)).fit(counts, cov, train_rows)
        ll = M.poisson_loglik(counts[test_rows], glm.rates(counts, cov, test_rows))
        score = glm.coupling()
        out = {"bits_per_spike": M.bits_per_spike(ll, ll_null, int(counts[test_rows].sum())), **_conn(score, prep["rec"]),
               "hubs_found": M.hubs_found(score, prep["rec"].hubs)}
        self.figures[f"conn_{name}"] = score
        return out, sum(m.coef_.size + 1 for m in glm.models)

    def _run_ccg(self, ctx: RunContext, prep: dict[str, Any], ev: NeuroEval, name: str, kwargs: dict[str, Any],
                 seed: int) -> tuple[dict[str, float], int]:
        score = ccg_connectivity(prep["rec"].block("train"), max_lag_s=kwargs.get("max_lag_s", ev.ccg_max_lag_s))
        self.figures[f"conn_{name}"] = score
        return {**_conn(score, prep["rec"]), "hubs_found": M.hubs_found(score, prep["rec"].hubs)}, 0

    def _label_subsets(self, n_train: int, seed: int) -> dict[str, np.ndarray]:
        perm = np.random.default_rng([seed, 11]).permutation(n_train)
        return {k: np.sort(perm[: max(2, int(round(f * n_train)))]) for k, f in FRACTIONS.items()}

    def _run_ridge(self, ctx: RunContext, prep: dict[str, Any], ev: NeuroEval, name: str, kwargs: dict[str, Any],
                   seed: int) -> tuple[dict[str, float], int]:
        tok, rec = prep["tok"], prep["rec"]
        x = {b: window_count_features(rec.spikes, prep["starts"][b], tok.window, tok.past_window) for b in ("train", "test")}
        y = {b: prep["arrays"][b]["target"] for b in ("train", "test")}
        out = {}
        for key, idx in self._label_subsets(len(x["train"]), seed).items():
            model = ridge_decoder(x["train"][idx], y["train"][idx])
            out[f"behavior_r_{key}"] = _pearson(model.predict(x["test"]), y["test"])
        return out, x["train"].shape[1] + 1

    # -- Neuroformer ---------------------------------------------------------------------------------

    def _model_kwargs(self, prep: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        tok = prep["tok"]
        return {**kwargs, "n_neurons": tok.n_neurons, "resolution": tok.resolution, "window": tok.window,
                "past_window": tok.past_window, "max_current": tok.max_current, "max_past": tok.max_past,
                "n_behavior": 1, "behavior_len": BEHAVIOR_LEN, "frame_shape": prep["frame_shape"]}

    def _new_model(self, kw: dict[str, Any], prep: dict[str, Any]) -> Neuroformer:
        model: Neuroformer = create_model("neuro.neuroformer", **kw)
        model.behavior_mean.copy_(torch.as_tensor(prep["stats"][0], dtype=torch.float32))
        model.behavior_std.copy_(torch.as_tensor(prep["stats"][1], dtype=torch.float32))
        return model

    def _run_neuroformer(self, ctx: RunContext, prep: dict[str, Any], ev: NeuroEval, name: str,
                         kwargs: dict[str, Any], seed: int) -> tuple[dict[str, float], int]:
        tok, rec, arrays = prep["tok"], prep["rec"], prep["arrays"]
        kw = self._model_kwargs(prep, kwargs)
        model = self._new_model(kw, prep)
        run_dir = ctx.out_dir / "checkpoints" / name / f"seed{seed}"
        trainer = Trainer(ctx.train, run_dir=run_dir / "pretrain", device=ctx.device, seed=seed, quiet=ctx.quiet)
        ctx.say(f"{self.name}: pretraining {name} (seed {seed})")
        trainer.fit(model, WindowDataset(arrays["train"]), WindowDataset(arrays["val"]))
        save_model(run_dir / "final", model, {"model": "neuro.neuroformer", "kwargs": kw})
        # bits/spike: the token log-likelihood of a window is that of its binned counts
        _, ll_null, counts, test_rows = self._null(prep)
        test = WindowDataset(arrays["test"])
        ll = float(trainer.predict(model, test)["loglik"].double().sum())
        out = {"bits_per_spike": M.bits_per_spike(ll, ll_null, int(counts[test_rows].sum()))}
        # open-loop ID F1 over every test window
        g = torch.Generator(device=model.cur_pos.device).manual_seed(seed)
        pred: list[set[int]] = []
        for c in range(0, len(test), 256):
            batch = {k: v[c:c + 256].to(model.cur_pos.device) for k, v in test.tensors.items()}
            ids, _ = sample_windows(model, batch, ev.temperature, ev.top_p, g)
            pred += [set(row[row < tok.n_neurons].tolist()) for row in ids.cpu().numpy()]
        out["f1_ids"] = M.set_f1(pred, M.window_sets(rec.spikes, prep["starts"]["test"], tok.window))
        # closed-loop PSTH over the repeated segment
        seg = rec.repeats[0]
        context = rec.spikes.slice(seg.t_start - tok.past_window, seg.t_stop)
        gen = generate(model, context, seg.t_stop - seg.t_start, true_past=False, temperature=ev.temperature,
                       top_p=ev.top_p, n_samples=len(rec.repeats), seed=seed)
        real = [r.slice(gen[0].t_start, gen[0].t_stop) for r in rec.repeats]
        out["psth_r"] = M.psth_r(real, gen, ev.psth_bin_s)
        # connectivity from attention, over training windows
        n_read = min(ev.readout_windows, len(arrays["train"]["cur_id"]))
        train = WindowDataset(arrays["train"]).subset(np.arange(n_read))
        batches = [{k: v[c:c + 256].to(model.cur_pos.device) for k, v in train.tensors.items()} for c in range(0, n_read, 256)]
        score = attention_connectivity(model, batches)
        out |= {**_conn(score, rec), "hubs_found": M.hubs_found(score, rec.hubs)}
        out |= _conn(attention_connectivity(model, batches, rollout=True), rec, "_rollout")
        out |= self._behavior(ctx, prep, ev, kw, model.state_dict(), seed)
        self.figures |= {f"conn_{name}": score, "raster": (real[0].times, real[0].ids, gen[0].times, gen[0].ids),
                         "weights": rec.weights}
        return out, sum(p.numel() for p in model.parameters())

    def _behavior(self, ctx: RunContext, prep: dict[str, Any], ev: NeuroEval, kw: dict[str, Any],
                  pretrained: dict[str, torch.Tensor], seed: int) -> dict[str, float]:
        """Behaviour r at each label fraction, fine-tuned from the pretrained weights and from scratch."""
        arrays = prep["arrays"]
        train, test = WindowDataset(arrays["train"]), WindowDataset(arrays["test"])
        y_test = arrays["test"]["target"]
        cfg = TrainConfig.parse({**ctx.train.model_dump(), "steps": ev.finetune_steps, "lr": ev.finetune_lr,
                                 "val_fraction": 0.0, "patience": None, "eval_every": None, "epochs": None})
        out = {}
        for key, idx in self._label_subsets(len(train), seed).items():
            for start in ("pretrained", "scratch"):
                seed_everything(seed)
                model = self._new_model({**kw, "objective": "behavior"}, prep)
                if start == "pretrained":
                    model.load_state_dict(pretrained)
                trainer = Trainer(cfg, device=ctx.device, seed=seed, quiet=True)
                trainer.fit(model, train.subset(idx))
                pred = trainer.predict(model, test)["behavior"].numpy()
                out[f"behavior_r_{key}" + ("" if start == "pretrained" else "_scratch")] = _pearson(pred, y_test)
                if key == "100pct" and start == "pretrained":
                    self.figures["behavior"] = (prep["starts"]["test"], y_test[:, 0], pred[:, 0])
        return out

    # -- report --------------------------------------------------------------------------------------

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        figs = {"bits_per_spike": plots.metric_bars(records, "bits_per_spike", self.baseline)}
        path = self.saved_predictions(run_dirs, "figures.npz")
        if path is not None:  # the rasters, connectivity scores and decoded behaviour the run saved
            figs |= plots.figures(plots.load_figure_data(path))
        return figs


SIMULATED_CIRCUIT = register_task(SimulatedCircuitTask())
