"""The resolved pipeline config and the context a task runs in.

A pipeline YAML has ``name, description, task, data, model_defaults, models, train, eval,
stages, presets``. ``model_defaults`` are merged under the kwargs of every trainable pipeline
model (never an estimator's, never the task's baseline). The chosen preset is merged over the base, ``--set`` overrides over that, and the
result is validated: unknown keys anywhere are errors naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pydantic import Field

from sciformers.core import Config, TrainConfig, distributed
from sciformers.evaluation.records import RunRecord, Timings, config_hash, git_state, hardware, versions
from sciformers.evaluation.records import peak_rss_mb as process_peak_rss_mb

if TYPE_CHECKING:
    from sciformers.evaluation.tasks import TaskSpec


class ModelEntry(Config):
    """One model of a pipeline: a registry name and its keyword arguments."""

    model: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


class PipelineConfig(Config):
    """A pipeline YAML after preset and overrides, before the task validates ``data``/``eval``."""

    name: str
    description: str = ""
    task: str
    data: dict[str, Any] = Field(default_factory=dict)
    model_defaults: dict[str, Any] = Field(default_factory=dict)
    models: dict[str, ModelEntry] = Field(default_factory=dict)
    train: dict[str, Any] = Field(default_factory=dict)
    eval: dict[str, Any] = Field(default_factory=dict)
    stages: dict[str, Any] = Field(default_factory=dict)
    presets: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass
class RunContext:
    """Everything a task needs to run: validated sections, output folder, device, resume state.

    Args:
        pipeline: the resolved pipeline config.
        resolved: the resolved config as a plain dict (what is hashed into every record).
        data: the task-validated ``data:`` section.
        train: the validated ``train:`` section.
        eval: the task-validated ``eval:`` section.
        stages: the task-validated ``stages:`` section.
        out_dir: the run folder.
        device: ``auto``, ``cpu`` or ``cuda``.
        quiet: no progress bars or messages.
        run_id: id shared by all records of this invocation.
        done: ``(task, model, seed)`` already in ``records.jsonl`` (resumed runs skip them).
    """

    pipeline: PipelineConfig
    resolved: dict[str, Any]
    data: Config
    train: TrainConfig
    eval: Config
    stages: Config
    out_dir: Path
    device: str
    quiet: bool
    run_id: str
    done: set[tuple[str, str, int]] = field(default_factory=set)
    echo: Callable[[str], None] = print

    @property
    def models(self) -> dict[str, ModelEntry]:
        return self.pipeline.models

    @property
    def model_defaults(self) -> dict[str, Any]:
        return self.pipeline.model_defaults

    @property
    def seeds(self) -> list[int]:
        return list(self.train.seeds)

    def is_done(self, task: str, model: str, seed: int) -> bool:
        """Whether a resumed run already recorded ``(task, model, seed)``."""
        return (task, model, seed) in self.done

    def say(self, message: str) -> None:
        """Print a progress line unless quiet (under torchrun, rank 0 alone speaks)."""
        if not self.quiet and distributed.is_main():
            self.echo(message)

    def record(
        self,
        *,
        task: TaskSpec,
        model: str,
        seed: int,
        n_params: int,
        metrics: dict[str, float],
        fit_s: float = 0.0,
        eval_s: float = 0.0,
        train_samples_per_s: float | None = None,
        infer_ms_per_sample: float | None = None,
        peak_rss_mb: float | None = None,
        device: str | None = None,
    ) -> RunRecord:
        """A :class:`RunRecord` carrying this run's provenance; every metric's direction comes from
        the metric registry (a metric or a metric family)."""
        sha, dirty = git_state()
        directions = task.higher_is_better(list(metrics))
        return RunRecord(
            run_id=self.run_id,
            pipeline=self.pipeline.name,
            task=task.name,
            task_version=task.version,
            model=model,
            n_params=n_params,
            seed=seed,
            config=self.resolved,
            config_hash=config_hash(self.resolved),
            git_sha=sha,
            git_dirty=dirty,
            metrics=metrics,
            higher_is_better=directions,
            timings=Timings(
                fit_s=fit_s,
                eval_s=eval_s,
                train_samples_per_s=train_samples_per_s,
                infer_ms_per_sample=infer_ms_per_sample,
            ),
            peak_rss_mb=process_peak_rss_mb() if peak_rss_mb is None else peak_rss_mb,
            hardware=hardware(device or self.device_type()),
            versions=versions(),
        )

    def device_type(self) -> str:
        """The device the run resolves to (``cpu`` or ``cuda``)."""
        if self.device == "auto":
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device
