"""The ``gas.synthetic_ogi`` task: plume segmentation in OGI frames, in distribution and under shifts.

Every model trains from scratch on the same frames with the same schedule (the shared Trainer;
the threshold baseline fits its ``k`` on the training frames) and is scored on the whole
in-distribution test set and on one test set per generator shift. Shifted results are records
of their own task, ``gas.synthetic_ogi_<shift>`` (e.g. ``gas.synthetic_ogi_low_flow``); running a
pipeline whose ``task`` is a shift task trains in distribution and tests on that shift only.

Metrics (see :mod:`.metrics`): ``plume_iou`` (primary), ``plume_f1``, ``miou``, ``detection_rate``
at ``eval.fpr``, ``dl90`` and ``pod_<flow>`` per flow bin, ``latency_ms`` (batch 1, on the run's
device). The ``eval:`` section takes ``fpr``, ``min_area``, ``pod_bins``, ``latency_repeats`` and
``n_examples``.
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from pydantic import Field
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.core import Config, Trainer, create_model, save_model, seed_everything
from sciformers.evaluation import (
    DatasetEntry,
    RunContext,
    RunRecord,
    Splits,
    SupervisedTask,
    Table,
    register_dataset,
    register_task,
)
from sciformers.evaluation.report import summary_table
from sciformers.gas import metrics as gm
from sciformers.gas.data import DEFAULT_SHIFTS, OGIData, OGIDataset, folder_datasets, synthetic_datasets
from sciformers.gas.plots import example_figure, pod_figure

TABLE_METRICS = ("plume_iou", "plume_f1", "miou", "detection_rate", "dl90", "latency_ms")
EXTRA_DIRECTIONS = {"detection_rate": True, "dl90": False, "latency_ms": False}


class OGIEval(Config):
    """The ``eval:`` section.

    Args:
        fpr: false-alarm rate (gas-free frames) at which ``detection_rate`` is read.
        min_area: true plume pixels for a frame to count as containing visible gas.
        pod_bins: flow bins of the probability-of-detection curve.
        latency_repeats: timed forward passes at batch 1.
        n_examples: frames drawn with outlines in the report (0: none).
    """

    fpr: float = Field(default=0.05, gt=0, lt=1)
    min_area: int = Field(default=10, ge=1)
    pod_bins: int = Field(default=5, ge=1)
    latency_repeats: int = Field(default=10, ge=1)
    n_examples: int = Field(default=4, ge=0)


class SyntheticOGITask(SupervisedTask):
    """Plume segmentation on synthetic OGI frames (or a user's image folder)."""

    version = "1"
    domain = "gas"
    metrics = ("plume_iou", "plume_f1", "miou")
    baseline = "threshold"
    data_card = "synthetic_ogi.md"
    data_schema = OGIData

    def __init__(self, shift: str | None = None) -> None:
        self.shift = shift
        self.name = "gas.synthetic_ogi" + (f"_{shift}" if shift else "")
        where = f"under the '{shift}' generator shift" if shift else "in distribution"
        self.description = (f"Methane plume segmentation in synthetic 8-bit OGI frames (advection-diffusion plume, "
                            f"Beer-Lambert contrast, uncooled camera), tested {where}; models trained from scratch.")
        self._declared_classes = 2

    # -- data ---------------------------------------------------------------------------------

    def load(self, data: Config) -> Splits:
        assert isinstance(data, OGIData)
        if data.path is not None:
            sets = folder_datasets(data)
            return Splits(train=sets["train"], val=sets.get("val"), test=sets["test"], info={"eval": {}})
        sets, files = synthetic_datasets(data)
        tests = {name: sets[f"shift_{name}"] for name in data.shifts}
        tests = {self.shift: tests[self.shift]} if self.shift else {None: sets["test"], **tests}
        return Splits(train=sets["train"], val=sets.get("val"), test=next(iter(tests.values())),
                      info={"eval": tests, "files": {k: str(v) for k, v in files.items()}})

    def targets(self, dataset: Dataset) -> Tensor:
        assert isinstance(dataset, OGIDataset)
        return dataset.masks

    def model_inputs(self, splits: Splits) -> dict[str, Any]:
        train = splits.train
        assert isinstance(train, OGIDataset)
        classes = max(2, int(train.masks[train.masks != 255].max()) + 1)
        return {"in_channels": int(train.images.shape[1]), "num_classes": max(classes, self._declared_classes)}

    # -- running ------------------------------------------------------------------------------

    def run(self, ctx: RunContext) -> Iterator[RunRecord]:
        data = ctx.data
        assert isinstance(data, OGIData)
        ev = OGIEval.parse(ctx.pipeline.eval, where="eval")
        if self.shift and (data.path is not None or self.shift not in data.shifts):
            raise ValueError(f"task {self.name}: needs the generator with data.shifts.{self.shift} (got path or no shift)")
        self._declared_classes = 11 if data.classes == "flow" and data.path is None else data.num_classes
        splits = self.load(data)
        extra = self.model_inputs(splits)
        entries = [(self.baseline, self.baseline, dict(extra), True)]
        entries += [(name, e.model, {**ctx.model_defaults, **e.kwargs, **extra}, False) for name, e in ctx.models.items()]
        for name, model_name, kwargs, is_baseline in entries:
            for seed in ctx.seeds:
                if not ctx.is_done(self.name, name, seed):
                    yield from self._run_model(ctx, ev, data, splits, name, model_name, kwargs, seed, is_baseline)

    def _run_model(self, ctx: RunContext, ev: OGIEval, data: OGIData, splits: Splits, name: str, model_name: str,
                   kwargs: dict[str, Any], seed: int, is_baseline: bool) -> Iterator[RunRecord]:
        """Fit one (model, seed), then yield one record per test set (in distribution first)."""
        seed_everything(seed)
        module = create_model(model_name, **kwargs)
        run_dir = ctx.out_dir / "checkpoints" / name / f"seed{seed}"
        trainer = Trainer(ctx.train, run_dir=run_dir, device=ctx.device, seed=seed, quiet=ctx.quiet)
        t0 = time.perf_counter()
        samples_per_s = None
        if is_baseline:
            train = splits.train
            assert isinstance(train, OGIDataset)
            module.fit(train.images, train.masks)
        else:
            ctx.say(f"{self.name}: training {name} (seed {seed})")
            fit = trainer.fit(module, splits.train, splits.val)
            samples_per_s = fit.train_samples_per_s
        fit_s = time.perf_counter() - t0
        save_model(run_dir / "final", module, {"model": model_name, "kwargs": kwargs})
        n_params = sum(p.numel() for p in module.parameters())
        latency = self._latency_ms(module, splits.test, trainer.device, ev.latency_repeats)
        assert splits.info is not None
        tests = splits.info["eval"] or {None: splits.test}
        for shift, test in tests.items():
            task = SHIFT_TASKS[shift] if shift else self
            t1 = time.perf_counter()
            pred = trainer.predict(module, test)
            assert isinstance(pred, Tensor)
            eval_s = time.perf_counter() - t1
            gen = data.generator(shift) if data.path is None else None
            scores = task.score_all(pred, test, gen, ev) | {"latency_ms": latency}
            if task is self and ev.n_examples and seed == ctx.seeds[0]:
                self._save_examples(ctx.out_dir, name, test, pred, ev.n_examples)
            yield ctx.record(task=task, model=name, seed=seed, n_params=n_params, metrics=scores, fit_s=fit_s,
                             eval_s=eval_s, train_samples_per_s=samples_per_s,
                             infer_ms_per_sample=1000.0 * eval_s / max(len(test), 1),
                             higher_is_better=EXTRA_DIRECTIONS | {k: True for k in scores if k.startswith("pod_")})

    def score_all(self, pred: Tensor, test: Dataset, gen: Any, ev: OGIEval) -> dict[str, float]:
        """Segmentation metrics, plus detection metrics when flows are known (synthetic data)."""
        assert isinstance(test, OGIDataset)
        target = test.masks
        scores = {m.name: m(pred, target) for m in self.metric_objects()}
        if test.flows is None or gen is None:
            return scores
        flows = test.flows
        rate = gm.detection_rate(pred, target, flows, ev.fpr, ev.min_area)
        if not math.isnan(rate):
            scores["detection_rate"] = rate
        edges = np.linspace(*gen.flow_range, ev.pod_bins + 1)
        centers = (edges[:-1] + edges[1:]) / 2
        pod = gm.pod_by_flow(pred, flows, edges, ev.fpr)
        scores |= {f"pod_{c:.0f}": float(p) for c, p in zip(centers, pod) if not math.isnan(p)}
        limit = gm.dl90(pod, centers)
        if not math.isnan(limit):  # absent: 90% detection is never reached in the flow range
            scores["dl90"] = limit
        return scores

    @staticmethod
    def _latency_ms(module: torch.nn.Module, test: Dataset, device: torch.device, repeats: int) -> float:
        """Median forward time of one frame (batch 1, eval mode, no grad), ms."""
        image = test[0]["image"][None].to(device)
        module.to(device).eval()
        times = []
        with torch.no_grad():
            module(image)
            for _ in range(repeats):
                t = time.perf_counter()
                module(image)
                times.append(1000.0 * (time.perf_counter() - t))
        return statistics.median(times)

    def _save_examples(self, run_dir: Path, name: str, test: Dataset, pred: Tensor, n: int) -> None:
        """Save ``n`` test frames with visible plumes (evenly spread) and their masks for the report figure."""
        assert isinstance(test, OGIDataset)
        areas = (test.masks > 0).flatten(1).sum(1)
        candidates = torch.nonzero(areas >= 10).flatten()
        if len(candidates) == 0:
            return
        idx = candidates[torch.linspace(0, len(candidates) - 1, min(n, len(candidates))).long()]
        self.write_predictions(run_dir, f"{name}_examples.npz", {
            "frames": test.images[idx, 0].numpy(), "truth": test.masks[idx].numpy(), "pred": pred[idx].numpy()})

    # -- report -------------------------------------------------------------------------------

    def tables(self, records: list[RunRecord]) -> list[Table]:
        slim = [r.model_copy(update={"metrics": {k: v for k, v in r.metrics.items() if k in TABLE_METRICS}})
                for r in records]
        table = summary_table(slim, self.baseline)
        table.title = f"Results: {self.name}"
        table.notes.append("dl90 (SCCM) is left out for a run whose detection never reaches 90% in the flow range; "
                           "latency_ms at batch 1 on the run's device.")
        return [table]

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        figures: dict[str, Any] = {}
        if any(k.startswith("pod_") for r in records for k in r.metrics):
            figures[f"pod_{self.name.split('.')[-1]}"] = pod_figure(records, self.baseline, self.name)
        examples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for model in dict.fromkeys(r.model for r in records if not self.shift):  # in-distribution frames only
            path = self.saved_predictions(run_dirs, f"{model}_examples.npz")
            if path is not None:
                with np.load(path) as saved:
                    examples[model] = (saved["frames"], saved["truth"], saved["pred"])
        if examples:
            figures["examples"] = example_figure(examples)
        return figures


SYNTHETIC_OGI = register_task(SyntheticOGITask())
SHIFT_TASKS: dict[str | None, SyntheticOGITask] = {None: SYNTHETIC_OGI}
SHIFT_TASKS |= {name: register_task(SyntheticOGITask(name)) for name in DEFAULT_SHIFTS}


def _build_synthetic_ogi(cfg: Config) -> list[Path]:
    assert isinstance(cfg, OGIData)
    return list(synthetic_datasets(cfg)[1].values())


register_dataset(DatasetEntry("gas.synthetic_ogi", OGIData, _build_synthetic_ogi,
                              "synthetic OGI frames + plume masks (train/val/test and shifted test sets), seeded"))
