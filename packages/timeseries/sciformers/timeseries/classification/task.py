"""The ``timeseries.uea_classification`` task: ShapeFormer beside its peers on every dataset.

For each dataset of ``data.datasets`` (sktime's shipped UCR/UEA files, the planted-shapelet
generator, or a user's ``.ts`` pair), every model of the pipeline and the task's baseline (the
majority class) are fitted on the official TRAIN split and scored on the whole TEST split, once
per seed. All models see the same arrays: series end-padded (last value repeated) to the longest
training length. Each dataset is a sub-task (:class:`DatasetTask`) whose records' ``task`` names
it (``timeseries.basic_motions``), so the report has one table per dataset. The sktime
estimators get ``train.epochs``, ``train.batch_size`` and the seed as ``random_state``;
everything else comes from each model's ``kwargs``. No model sees the test split before predicting.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from pydantic import Field, model_validator
from sklearn.metrics import confusion_matrix

from sciformers.core import Config, cache_dir
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.datasets import DatasetEntry, register_dataset
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import Table, mean_std, plots_default
from sciformers.evaluation.runner import Entry, Job, Result
from sciformers.evaluation.tasks import TaskSpec, get_task, list_tasks, register_task
from sciformers.timeseries import metrics as _metrics  # noqa: F401  (balanced_accuracy)
from sciformers.timeseries.classification import CLASSIFIER_NAME
from sciformers.timeseries.classification.classifier import ShapeFormerClassifier, save_classifier
from sciformers.timeseries.classification.data import SHIPPED, ClassificationData, load_shipped, load_ts_pair, pad_panel
from sciformers.timeseries.classification.peers import count_params
from sciformers.timeseries.classification.planted import PlantedConfig, planted_dataset
from sciformers.timeseries.classification.plots import confusion_figure, shapelet_figure

PLANTED = "PlantedShapelets"
METRICS = ("accuracy", "balanced_accuracy", "f1_macro")


class TsPair(Config):
    """A user's dataset as two ``.ts`` files (sktime's format)."""

    train: str
    test: str


class UEAData(Config):
    """The ``data:`` section of ``timeseries/uea_classification``.

    Args:
        datasets: names from sktime's wheel (``BasicMotions``, ``JapaneseVowels`` ...),
            ``PlantedShapelets`` (the generator) or keys of ``ts_files``.
        planted: settings of the planted-shapelet generator.
        ts_files: user datasets, name -> ``{train: path, test: path}``.
    """

    datasets: list[str] = Field(default_factory=lambda: ["BasicMotions"], min_length=1)
    planted: PlantedConfig = Field(default_factory=PlantedConfig)
    ts_files: dict[str, TsPair] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_names(self) -> "UEAData":
        known = set(SHIPPED) | {PLANTED} | set(self.ts_files)
        unknown = [d for d in self.datasets if d not in known]
        if unknown:
            raise ValueError(f"datasets: unknown {unknown}; expected one of {sorted(known)} (or add ts_files)")
        return self


def task_name(dataset: str) -> str:
    """``BasicMotions`` -> ``timeseries.basic_motions`` (the ``task`` of that dataset's records)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", dataset)
    return "timeseries." + re.sub(r"[^a-z0-9_]", "_", snake.lower())


def load_dataset(name: str, data: UEAData) -> ClassificationData:
    """Read or generate one dataset of the pipeline."""
    if name in data.ts_files:
        return load_ts_pair(name, data.ts_files[name].train, data.ts_files[name].test)
    if name == PLANTED:
        return planted_dataset(data.planted)
    return load_shipped(name)


@dataclass
class Panel:
    """One dataset as every model sees it.

    Args:
        X_train, X_test: ``(N, C, T)`` series edge-padded to the longest training length.
        classes: class names; ``y_train`` / ``y_test`` are codes into them.
    """

    X_train: np.ndarray
    X_test: np.ndarray
    classes: list[str]
    y_train: np.ndarray
    y_test: torch.Tensor


@dataclass
class Predictions:
    """One model's test predictions: scores ``(N, C)`` or class codes ``(N,)``, and ShapeFormer's
    discovered shapelets on the training series they were cut from (empty for the other models)."""

    scores: torch.Tensor
    shapelets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def labels(self) -> torch.Tensor:
        return self.scores.argmax(-1) if self.scores.dim() == 2 else self.scores


def discovered_shapelets(clf: ShapeFormerClassifier, X_train: np.ndarray) -> list[dict[str, Any]]:
    """A fitted ShapeFormer's shapelets (JSON) with the channel of the training series each was cut from."""
    return [{**s, "series": sh.series, "source": X_train[sh.series, sh.channel].tolist()}
            for s, sh in zip(clf.network_kwargs_["shapelets"], clf.shapelets_)]


class DatasetTask(TaskSpec):
    """Classification on one dataset: every model beside the baseline, one record per seed.

    The baseline (``majority``) is fitted on the training codes and predicts one-hot scores; every
    other model is an sktime estimator fitted on the padded training panel and its class names.
    """

    version = "1"
    domain = "timeseries"
    metrics = METRICS
    baseline = "majority"
    data_schema = UEAData

    def __init__(self, dataset: str, card: str) -> None:
        self.dataset = dataset
        self.name = task_name(dataset)
        self.data_card = card
        self.description = (f"{dataset}: time series classification, official train/test split, whole test "
                            "set; ShapeFormer beside MiniRocket, ConvTran, 1-NN DTW and the majority class.")

    def prepare(self, ctx: RunContext) -> Panel:
        """Load the dataset and pad both splits to the longest training length, once."""
        assert isinstance(ctx.data, UEAData)
        data = load_dataset(self.dataset, ctx.data)
        ctx.say(f"{self.name}: {data.summary()}")
        length = max(x.shape[1] for x in data.X_train)
        classes = [str(c) for c in data.classes]
        code = {c: i for i, c in enumerate(classes)}
        return Panel(pad_panel(data.X_train, length), pad_panel(data.X_test, length), classes,
                     np.array([code[c] for c in data.y_train]), torch.tensor([code[c] for c in data.y_test]))

    def model_kwargs(self, prepared: Panel, entry: Entry) -> dict[str, Any]:
        return {"num_classes": len(prepared.classes)} if entry.baseline else {}

    def build(self, job: Job, prepared: Panel) -> Any:
        """The baseline as registered; an sktime estimator with the run's budget under its kwargs."""
        if job.entry.baseline:
            return job.build()
        budget: dict[str, Any] = {"random_state": job.seed, "num_epochs": job.ctx.train.epochs or 1,
                                  "batch_size": job.ctx.train.batch_size}
        if job.entry.model == CLASSIFIER_NAME:  # discovery gets the run's threads (--threads)
            budget["n_jobs"] = torch.get_num_threads()
        return job.build(**{**budget, **job.kwargs})

    def fit(self, job: Job, model: Any, prepared: Panel) -> None:
        if job.entry.baseline:
            model.fit(torch.tensor(prepared.y_train))
        else:
            model.fit(prepared.X_train, np.array(prepared.classes)[prepared.y_train])

    def predict(self, job: Job, model: Any, prepared: Panel) -> Predictions:
        if job.entry.baseline:
            return Predictions(model.predict({"x": torch.zeros(len(prepared.y_test))}))
        code = {c: i for i, c in enumerate(prepared.classes)}
        scores = torch.tensor([code[str(p)] for p in model.predict(prepared.X_test)])
        shapelets = discovered_shapelets(model, prepared.X_train) if isinstance(model, ShapeFormerClassifier) else []
        return Predictions(scores, shapelets)

    def save(self, job: Job, model: Any) -> None:
        """ShapeFormer's network and everything to rebuild the classifier, in the job's folder."""
        if isinstance(model, ShapeFormerClassifier):
            save_classifier(model, job.checkpoint_dir())

    def score(self, job: Job, prepared: Panel, predictions: Predictions) -> Result:
        return Result({m.name: m(predictions.scores, prepared.y_test) for m in self.metric_objects()},
                      n_test=len(prepared.y_test))

    def artifacts(self, job: Job, prepared: Panel, predictions: Predictions) -> dict[str, dict[str, Any]]:
        """``<model>_seed<s>.json``: classes, test codes and predicted codes (and ShapeFormer's shapelets)."""
        saved: dict[str, Any] = {"classes": prepared.classes, "y_true": prepared.y_test.tolist(),
                                 "y_pred": predictions.labels.tolist()}
        if predictions.shapelets:
            saved["shapelets"] = predictions.shapelets
        return {f"{job.name}_seed{job.seed}.json": saved}

    def count_params(self, model: Any) -> int:
        """Network weights, MiniRocket's ridge weights; 0 for 1-NN and the baseline."""
        return count_params(model)

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        """Accuracy bars; from the run folders' predictions, confusion matrices (summed over seeds) and
        the first seed's discovered shapelets."""
        figures = plots_default(records, self.baseline, self.metrics[0])
        confusion: dict[str, np.ndarray] = {}
        classes: list[str] = []
        shapelets: list[dict[str, Any]] = []
        for r in sorted(records, key=lambda r: r.seed):
            path = self.saved_predictions(run_dirs, f"{r.model}_seed{r.seed}.json")
            if path is None:
                continue
            saved = json.loads(path.read_text())
            classes = saved["classes"]
            cm = confusion_matrix(saved["y_true"], saved["y_pred"], labels=np.arange(len(classes)))
            confusion[r.model] = confusion.get(r.model, 0) + cm
            shapelets = shapelets or saved.get("shapelets", [])
        if confusion:
            figures["confusion"] = confusion_figure(confusion, classes, f"{self.dataset}: confusion (summed over seeds)")
        if shapelets:
            figures["shapelets"] = shapelet_figure(classes, shapelets,
                                                   f"{self.dataset}: best discovered shapelet per class")
        stem = self.name.split(".", 1)[1]  # one pipeline holds many datasets: keep their files apart
        return {f"{stem}_{key}": fig for key, fig in figures.items()}


class UEAClassificationTask(TaskSpec):
    """The pipeline's task: one :class:`DatasetTask` per dataset of ``data.datasets``."""

    name = "timeseries.uea_classification"
    version = "1"
    domain = "timeseries"
    description = "ShapeFormer and peers on sktime's shipped classification datasets (one table per dataset)."
    metrics = METRICS
    baseline = "majority"
    data_card = "uea_sktime.md"
    data_schema = UEAData

    def subtasks(self, ctx: RunContext) -> list[TaskSpec]:
        assert isinstance(ctx.data, UEAData)
        return [dataset_task(dataset) for dataset in ctx.data.datasets]

    def prepare(self, ctx: RunContext) -> Any:
        raise TypeError(f"{self.name} prepares each dataset in its sub-task (see subtasks)")

    def score(self, job: Job, prepared: Any, predictions: Any) -> Result:
        raise TypeError(f"{self.name} scores each dataset in its sub-task (see subtasks)")

    def tables(self, records: list[RunRecord]) -> list[Table]:
        """Accuracy per dataset and model, mean ± std over seeds with the ratio to the majority class,
        and the mean over the datasets on which every model has every seed its run planned."""
        acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        planned: dict[str, int] = defaultdict(int)
        for r in records:
            acc[r.task][r.model].append(r.metrics["accuracy"])
            planned[r.task] = max(planned[r.task], len(r.config.get("train", {}).get("seeds", ())))
        models = list(dict.fromkeys(r.model for r in records if r.model != self.baseline)) + [self.baseline]
        rows, complete = [], []
        for task, by_model in acc.items():
            base = statistics.fmean(by_model[self.baseline]) if by_model[self.baseline] else None
            expected = max([planned[task]] + [len(v) for v in by_model.values()])
            row = [task.split(".", 1)[1]]
            for m in models:
                values = by_model[m]
                cell = "{:.3f} ± {:.3f}".format(*mean_std(values)) if values else "–"
                if values and base:
                    cell += f" ({statistics.fmean(values) / base:.2f}×)"
                row.append(cell + (f" [n={len(values)}]" if values and len(values) < expected else ""))
            rows.append(row)
            if all(len(by_model[m]) == expected for m in models):
                complete.append(by_model)
        if complete:
            rows.append([f"mean over {len(complete)}"] + [f"{statistics.fmean(statistics.fmean(c[m]) for c in complete):.3f}"
                                                          for m in models])
        notes = ["accuracy, mean ± std over seeds ([n=k]: only k of the seeds the run planned have finished); in "
                 "brackets the ratio to the majority class; the mean row covers the datasets on which every model "
                 "has every planned seed."]
        return [Table("Accuracy per dataset", ["dataset"] + models, rows, notes)]


def dataset_task(dataset: str) -> DatasetTask:
    """The registered task of ``dataset`` (a user's dataset is registered on first use)."""
    name = task_name(dataset)
    if name not in list_tasks():
        card = "planted_shapelets.md" if dataset == PLANTED else "uea_sktime.md"
        register_task(DatasetTask(dataset, card))
    task = get_task(name)
    assert isinstance(task, DatasetTask)
    return task


UEA_CLASSIFICATION = register_task(UEAClassificationTask())
for _name in list(SHIPPED) + [PLANTED]:
    dataset_task(_name)


# -- `sciformers data` ---------------------------------------------------------------------------


class ExportConfig(Config):
    """``sciformers data timeseries.uea --set name=JapaneseVowels``: copy a shipped dataset's ``.ts`` files."""

    name: str = "BasicMotions"


def _export_shipped(cfg: Config) -> list[Path]:
    assert isinstance(cfg, ExportConfig)
    if cfg.name not in SHIPPED:
        raise KeyError(f"name: unknown {cfg.name!r}; sktime ships {', '.join(SHIPPED)}")
    import sktime.datasets

    src = Path(sktime.datasets.__file__).parent / "data" / cfg.name
    out = cache_dir("timeseries", "uea", cfg.name)
    files = []
    for split in ("TRAIN", "TEST"):
        target = out / f"{cfg.name}_{split}.ts"
        shutil.copyfile(src / f"{cfg.name}_{split}.ts", target)
        files.append(target)
    return files


def write_planted(cfg: Config, folder: Path | None = None) -> list[Path]:
    """Generate the planted-shapelet dataset into ``.ts`` files (the cache by default)."""
    from sktime.datasets import write_ndarray_to_tsfile

    assert isinstance(cfg, PlantedConfig)
    data = planted_dataset(cfg)
    folder = folder or cache_dir("timeseries", "planted", f"seed{cfg.seed}")
    files = []
    for split, X, y in (("TRAIN", data.X_train, data.y_train), ("TEST", data.X_test, data.y_test)):
        write_ndarray_to_tsfile(np.stack(X), str(folder), problem_name=PLANTED, class_label=sorted(set(data.y_train)),
                                class_value_list=list(y), equal_length=True, series_length=cfg.length, fold=f"_{split}")
        files.append(folder / PLANTED / f"{PLANTED}_{split}.ts")
    return files


register_dataset(DatasetEntry("timeseries.uea", ExportConfig, _export_shipped,
                              "copy a UCR/UEA dataset shipped in sktime's wheel into the cache as .ts files"))
register_dataset(DatasetEntry("timeseries.planted_shapelets", PlantedConfig, write_planted,
                              "planted-shapelet generator (motifs in AR(1) noise) written as .ts files"))
