"""The ``gas.synthetic_ogi`` task: plume segmentation in OGI frames, in distribution and under shifts.

Every model trains from scratch on the same frames with the same schedule (the shared runner and
Trainer; the threshold baseline, an estimator, fits its ``k`` on the training frames) and is
scored on the whole in-distribution test set and on one test set per generator shift: one fit,
one record per test set. Shifted results are records of their own task,
``gas.synthetic_ogi_<shift>`` (e.g. ``gas.synthetic_ogi_low_flow``); running a pipeline whose
``task`` is a shift task trains in distribution and tests on that shift only.

Metrics (see :mod:`.metrics`): ``plume_iou`` (primary), ``plume_f1``, ``miou``, ``detection_rate``
at ``eval.fpr``, ``dl90`` and ``pod_<flow>`` per flow bin (per release rate when the generator
draws discrete rates, ``data.flow_step``), ``latency_ms`` (batch 1, on the run's device). The
``eval:`` section takes ``fpr``, ``min_area``, ``pod_bins``, ``latency_repeats`` and ``n_examples``.
The report says which data the records came from: the generator's settings, or the user's image
folder (``data.path``).
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from pydantic import Field
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.core import Config
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.datasets import DatasetEntry, register_dataset
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import Table, summary_table
from sciformers.evaluation.runner import Entry, Job, Result
from sciformers.evaluation.tasks import Splits, SupervisedTask, register_task
from sciformers.gas import metrics as gm
from sciformers.gas.data import DEFAULT_SHIFTS, OGIData, OGIDataset, folder_datasets, synthetic_datasets
from sciformers.gas.plots import example_figure, pod_figure
from sciformers.gas.synthetic import FLOW_BINS

TABLE_METRICS = ("plume_iou", "plume_f1", "miou", "detection_rate", "dl90", "latency_ms")


class OGIEval(Config):
    """The ``eval:`` section.

    Args:
        fpr: false-alarm rate (gas-free frames) at which ``detection_rate`` is read.
        min_area: true plume pixels for a frame to count as containing visible gas.
        pod_bins: flow bins of the probability-of-detection curve (discrete release rates: one each).
        latency_repeats: timed forward passes at batch 1.
        n_examples: frames drawn with outlines in the report (0: none).
    """

    fpr: float = Field(default=0.05, gt=0, lt=1)
    min_area: int = Field(default=10, ge=1)
    pod_bins: int = Field(default=5, ge=1)
    latency_repeats: int = Field(default=10, ge=1)
    n_examples: int = Field(default=4, ge=0)


@dataclass(kw_only=True)
class OGISplits(Splits):
    """The splits, every test set a fit is scored on, and the ``data:`` section they came from.

    Args:
        tests: shift name -> test set, the task's own first (``None``: in distribution).
        data: the validated ``data:`` section.
    """

    tests: dict[str | None, OGIDataset]
    data: OGIData


@dataclass
class OGIPredictions:
    """What one fit predicted: label maps per test set (keyed as :attr:`OGISplits.tests`), the
    seconds each took, and the batch-1 latency on the job's device."""

    labels: dict[str | None, Tensor]
    eval_s: dict[str | None, float]
    latency_ms: float


def latency_ms(module: torch.nn.Module, test: Dataset, device: torch.device, repeats: int) -> float:
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


class SyntheticOGITask(SupervisedTask):
    """Plume segmentation on synthetic OGI frames (or a user's image folder)."""

    version = "2"  # 2: labels visible in the exported frame, physical ice and hide temperatures
    domain = "gas"
    metrics = ("plume_iou", "plume_f1", "miou")
    baseline = "threshold"
    data_card = "synthetic_ogi.md"
    data_schema = OGIData
    eval_schema = OGIEval

    def __init__(self, shift: str | None = None) -> None:
        self.shift = shift
        self.name = "gas.synthetic_ogi" + (f"_{shift}" if shift else "")
        where = f"under the '{shift}' generator shift" if shift else "in distribution"
        self.description = (f"Methane plume segmentation in OGI frames, tested {where}: the synthetic generator's "
                            f"8-bit frames, or the user's image folder when data.path is set (the tables say which); "
                            f"models trained from scratch.")

    # -- data ---------------------------------------------------------------------------------

    def prepare(self, ctx: RunContext) -> OGISplits:
        """The splits; a shift task first checks that the generator has its shift (before any training)."""
        data = ctx.data
        assert isinstance(data, OGIData)
        if self.shift and (data.path is not None or self.shift not in data.shifts):
            raise ValueError(f"task {self.name}: needs the generator with data.shifts.{self.shift} (got path or no shift)")
        return self.load(data)

    def load(self, data: Config) -> OGISplits:
        assert isinstance(data, OGIData)
        if data.path is not None:
            sets = folder_datasets(data)
            return OGISplits(train=sets["train"], val=sets.get("val"), test=sets["test"], tests={None: sets["test"]},
                             data=data)
        sets, files = synthetic_datasets(data)
        tests = {name: sets[f"shift_{name}"] for name in data.shifts}
        tests = {self.shift: tests[self.shift]} if self.shift else {None: sets["test"], **tests}
        return OGISplits(train=sets["train"], val=sets.get("val"), test=next(iter(tests.values())), tests=tests,
                         data=data, info={"files": {k: str(v) for k, v in files.items()}})

    def targets(self, dataset: Dataset) -> Tensor:
        assert isinstance(dataset, OGIDataset)
        return dataset.masks

    def model_inputs(self, splits: Splits) -> dict[str, Any]:
        """Input channels, and classes: those in the training masks, at least those the data declares."""
        assert isinstance(splits, OGISplits) and isinstance(splits.train, OGIDataset)
        train, data = splits.train, splits.data
        declared = FLOW_BINS + 1 if data.classes == "flow" and data.path is None else data.num_classes
        classes = max(2, int(train.masks[train.masks != 255].max()) + 1)
        return {"in_channels": int(train.images.shape[1]), "num_classes": max(classes, declared)}

    def model_kwargs(self, prepared: OGISplits, entry: Entry) -> dict[str, Any]:
        """:meth:`model_inputs`; an estimator (the threshold) also learns which channels are the current frame."""
        kwargs = self.model_inputs(prepared)
        if entry.kind == "estimator":
            assert isinstance(prepared.train, OGIDataset)
            kwargs["channels"] = prepared.train.frame_channels
        return kwargs

    # -- fitting and scoring ------------------------------------------------------------------

    def fit_inputs(self, prepared: OGISplits) -> tuple[Any, ...]:
        """The threshold baseline's ``fit(images, masks)`` on the training frames."""
        train = prepared.train
        assert isinstance(train, OGIDataset)
        return train.images, train.masks

    def predict(self, job: Job, model: Any, prepared: OGISplits) -> OGIPredictions:
        """The batch-1 latency, then label maps on every test set."""
        ev = job.ctx.eval
        assert isinstance(ev, OGIEval)
        latency = latency_ms(model, prepared.test, job.device, ev.latency_repeats)
        labels: dict[str | None, Tensor] = {}
        seconds: dict[str | None, float] = {}
        for shift, test in prepared.tests.items():
            t0 = time.perf_counter()
            pred = job.predict(model, test)
            seconds[shift] = time.perf_counter() - t0
            assert isinstance(pred, Tensor)
            labels[shift] = pred
        return OGIPredictions(labels, seconds, latency)

    def score(self, job: Job, prepared: OGISplits, predictions: OGIPredictions) -> list[Result]:
        """One result per test set, in distribution first, each under its own (shift) task."""
        ev = job.ctx.eval
        assert isinstance(ev, OGIEval)
        results = []
        for shift, test in prepared.tests.items():
            generator = prepared.data.generator(shift) if prepared.data.path is None else None
            flow_range = generator.flow_range if generator else None
            levels = generator.flow_levels() if generator else None
            metrics = self.score_test(predictions.labels[shift], test, flow_range, ev, levels)
            results.append(Result(metrics | {"latency_ms": predictions.latency_ms}, n_test=len(test),
                                  task=self if shift == self.shift else SHIFT_TASKS[shift],
                                  eval_s=predictions.eval_s[shift]))
        return results

    def score_test(self, pred: Tensor, test: OGIDataset, flow_range: Sequence[float] | None,
                   ev: OGIEval, levels: Sequence[float] | None = None) -> dict[str, float]:
        """Segmentation metrics, plus detection metrics when flows are known (synthetic data); the
        probability of detection per release rate in ``levels`` when the rates are discrete."""
        scores = self.metric_values(pred, test.masks)
        if test.flows is None or flow_range is None:
            return scores
        flows = test.flows
        rate = gm.detection_rate(pred, test.masks, flows, ev.fpr, ev.min_area)
        if not math.isnan(rate):
            scores["detection_rate"] = rate
        edges, centers = pod_bins(flow_range, levels, ev.pod_bins)
        pod = gm.pod_by_flow(pred, flows, edges, ev.fpr)
        scores |= {f"pod_{c:.0f}": float(p) for c, p in zip(centers, pod) if not math.isnan(p)}
        limit = gm.dl90(pod, centers)
        if not math.isnan(limit):  # absent: 90% detection is never reached in the flow range
            scores["dl90"] = limit
        return scores

    def artifacts(self, job: Job, prepared: OGISplits, predictions: OGIPredictions) -> dict[str, dict[str, Any]]:
        """``<model>_examples.npz`` (first seed): ``n_examples`` frames of the task's own test set with
        visible plumes (evenly spread), their masks and the predicted label maps."""
        ev = job.ctx.eval
        assert isinstance(ev, OGIEval)
        test, pred = prepared.test, predictions.labels[self.shift]
        assert isinstance(test, OGIDataset)
        if not (ev.n_examples and job.is_first_seed):
            return {}
        candidates = torch.nonzero((test.masks > 0).flatten(1).sum(1) >= 10).flatten()
        if len(candidates) == 0:
            return {}
        idx = candidates[torch.linspace(0, len(candidates) - 1, min(ev.n_examples, len(candidates))).long()]
        return {f"{job.name}_examples.npz": {
            "frames": test.images[idx, 0].numpy(), "truth": test.masks[idx].numpy(), "pred": pred[idx].numpy()}}

    # -- report -------------------------------------------------------------------------------

    def tables(self, records: list[RunRecord]) -> list[Table]:
        slim = [r.model_copy(update={"metrics": {k: v for k, v in r.metrics.items() if k in TABLE_METRICS}})
                for r in records]
        table = summary_table(slim, self.baseline)
        table.title = f"Results: {self.name}"
        table.notes.append(describe_data(records[0].config.get("data", {}), self.shift) if records else "")
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


def pod_bins(flow_range: Sequence[float], levels: Sequence[float] | None, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges and centres of the probability-of-detection bins: ``bins`` equal bins over
    ``flow_range``, or one bin per discrete release rate (edges halfway between rates)."""
    if levels:
        centers = np.asarray(levels, float)
        half = np.diff(centers) / 2 if len(centers) > 1 else np.array([max(centers[0], 1.0) / 2])
        edges = np.concatenate([[centers[0] - half[0]], centers[:-1] + half, [centers[-1] + half[-1]]])
        return edges, centers
    edges = np.linspace(*flow_range, bins + 1)
    return edges, (edges[:-1] + edges[1:]) / 2


def describe_data(data: dict[str, Any], shift: str | None = None) -> str:
    """One line for the report saying which data the records came from (``data:`` of a record)."""
    temporal = data.get("temporal", "none")
    inputs = "single frames" if temporal == "none" else f"temporal input '{temporal}' ({data.get('history')} frames)"
    if data.get("path"):
        return (f"Data: the image folder {data['path']} (mmseg layout, the user's footage, not the synthetic "
                f"generator); 8-bit frames / 255, 16-bit and float32 radiometric frames AGC-stretched per frame; "
                f"masks {'binarized' if data.get('binarize') else 'as class indices'} "
                f"({data.get('num_classes')} classes); no release rates, so no detection metrics, and no shifts.")
    gen = {**data, **(data.get("shifts", {}).get(shift, {}) if shift else {})}
    flows = f"{gen.get('flow_range')} SCCM" + (f" in steps of {gen['flow_step']}" if gen.get("flow_step") else "")
    return (f"Data: the synthetic generator (data card synthetic_ogi.md){f', shift {shift}' if shift else ''}: "
            f"{gen.get('size')}² frames, flows {flows}, backgrounds {gen.get('backgrounds')}, NETD {gen.get('netd_mk')} mK, "
            f"|dT| {gen.get('delta_t')} K; plume where the contrast >= max({gen.get('k_netd')} NETD, one grey level "
            f"of the frame); {inputs}.")


SYNTHETIC_OGI = register_task(SyntheticOGITask())
SHIFT_TASKS: dict[str | None, SyntheticOGITask] = {None: SYNTHETIC_OGI}
SHIFT_TASKS |= {name: register_task(SyntheticOGITask(name)) for name in DEFAULT_SHIFTS}


def _build_synthetic_ogi(cfg: Config) -> list[Path]:
    assert isinstance(cfg, OGIData)
    return list(synthetic_datasets(cfg)[1].values())


register_dataset(DatasetEntry("gas.synthetic_ogi", OGIData, _build_synthetic_ogi,
                              "synthetic OGI frames + plume masks (train/val/test and shifted test sets), seeded"))
