"""The shared runner: loop order, resume, seeding, checkpoint paths, stages, several records per job."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from sciformers.core import TrainConfig, register_model
from sciformers.evaluation import Job, ModelEntry, NoSection, PipelineConfig, Result, RunContext, TaskSpec, run_task
from sciformers.evaluation.records import PeakMemory

from tests.core.models import TinyRegressor, regression_data

register_model("test.tiny_regressor", test_kwargs={}, example=lambda m: [torch.zeros(2, 3), torch.zeros(2)])(
    TinyRegressor)


class ToyTask(TaskSpec):
    """Regression on a fixed dataset, scored on a second, shifted test set too (a second task)."""

    name = "test.toy"
    version = "1"
    domain = "test"
    metrics = ("mae",)
    baseline = "mean"
    data_schema = NoSection

    def __init__(self, shifted: TaskSpec | None = None) -> None:
        self.shifted = shifted

    def prepare(self, ctx: RunContext) -> dict[str, TensorDataset]:
        return {"train": regression_data(64, 0), "test": regression_data(20, 1)}

    def fit_inputs(self, prepared: dict[str, TensorDataset]) -> tuple[Any, ...]:
        return (prepared["train"].tensors[1],)

    def train_sets(self, prepared: dict[str, TensorDataset], model: Any) -> tuple[Any, Any]:
        return prepared["train"], None

    def fit(self, job: Job, model: Any, prepared: dict[str, TensorDataset]) -> None:
        super().fit(job, model, prepared)
        if job.entry.kind == "trainable":  # a second stage, with its own budget and folder
            job.fit(model, prepared["train"], None, stage="finetune", config=job.train_config(steps=2))

    def test_set(self, prepared: dict[str, TensorDataset]) -> TensorDataset:
        return prepared["test"]

    def score(self, job: Job, prepared: dict[str, TensorDataset], predictions: Any) -> list[Result]:
        y = prepared["test"].tensors[1]
        mae = float((predictions - y).abs().mean())
        out = [Result({"mae": mae}, n_test=len(y))]
        if self.shifted is not None:
            out.append(Result({"mae": mae + 1.0}, n_test=len(y), task=self.shifted))
        return out

    def artifacts(self, job: Job, prepared: Any, predictions: Any) -> dict[str, dict[str, Any]]:
        return {f"{job.name}_seed{job.seed}.json": {"history": job.history, "n": len(predictions)}}


def _ctx(tmp_path, seeds=(0, 1), done=()) -> RunContext:
    train = TrainConfig.parse({"seeds": list(seeds), "steps": 3, "batch_size": 16, "val_fraction": 0.25})
    pipeline = PipelineConfig(name="toy", task="test.toy",
                              models={"tiny": ModelEntry(model="test.tiny_regressor")}, model_defaults={"dropout": 0.0})
    return RunContext(pipeline=pipeline, resolved={"toy": 1}, data=NoSection(), train=train, eval=NoSection(),
                      stages=NoSection(), out_dir=tmp_path, device="cpu", quiet=True, run_id="r", done=set(done))


def test_seeds_outermost_baseline_first_and_everything_recorded(tmp_path):
    shifted = ToyTask()
    shifted.name = "test.toy_shifted"
    records = list(run_task(ToyTask(shifted), _ctx(tmp_path)))
    assert [(r.task, r.model, r.seed) for r in records] == [
        ("test.toy", "mean", 0), ("test.toy_shifted", "mean", 0), ("test.toy", "tiny", 0), ("test.toy_shifted", "tiny", 0),
        ("test.toy", "mean", 1), ("test.toy_shifted", "mean", 1), ("test.toy", "tiny", 1), ("test.toy_shifted", "tiny", 1)]
    tiny = [r for r in records if r.model == "tiny"]
    assert tiny[0].n_params == sum(p.numel() for p in TinyRegressor().parameters())
    assert tiny[0].higher_is_better == {"mae": False} and tiny[0].timings.train_samples_per_s > 0
    assert all(r.peak_rss_mb > 0 for r in records)
    # checkpoints: the main fit, the stage below it, the final weights; model_defaults reach the model only
    root = tmp_path / "checkpoints" / "tiny" / "seed1"
    assert (root / "checkpoints" / "last").is_dir() and (root / "finetune" / "checkpoints" / "last").is_dir()
    assert (root / "final" / "config.json").is_file()
    assert '"dropout": 0.0' in (root / "final" / "config.json").read_text()
    assert (tmp_path / "checkpoints" / "mean" / "seed0" / "final").is_dir()
    saved = (tmp_path / "predictions" / "test.toy" / "tiny_seed0.json").read_text()
    assert '"step": 3' in saved  # the main fit's history reached the artifacts


def test_resume_skips_recorded_jobs_and_same_seed_gives_same_numbers(tmp_path):
    first = list(run_task(ToyTask(), _ctx(tmp_path / "a", seeds=(0,))))
    again = list(run_task(ToyTask(), _ctx(tmp_path / "b", seeds=(0, 1), done={("test.toy", "mean", 0)})))
    assert [(r.model, r.seed) for r in again] == [("tiny", 0), ("mean", 1), ("tiny", 1)]
    assert again[0].metrics == first[1].metrics  # seeded by the runner: the same seed, the same fit
    assert not list(run_task(ToyTask(), _ctx(tmp_path / "c", seeds=(0,),
                                             done={("test.toy", "mean", 0), ("test.toy", "tiny", 0)})))


def test_a_metric_without_direction_is_an_error(tmp_path):
    class Undeclared(ToyTask):
        def score(self, job, prepared, predictions):
            return Result({"mystery": 1.0}, n_test=1)

    with pytest.raises(ValueError, match="metrics without a direction: \\['mystery'\\]"):
        list(run_task(Undeclared(), _ctx(tmp_path, seeds=(0,))))


def test_peak_memory_is_per_block():
    with PeakMemory() as big:
        block = np.ones(60 * 2**20 // 8)  # 60 MiB, touched
        block.sum()
    del block
    with PeakMemory() as small:
        np.ones(10)
    if big.exact:
        assert big.mb - small.mb > 40
    assert big.mb > 0 and small.mb > 0
