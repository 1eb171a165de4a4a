"""The ``planning.maze`` and ``planning.sokoban`` tasks: Searchformer beside A* and a random walk.

For every seed the shared runner builds each model of the pipeline: the random-valid-move walk
(the trivial baseline), A* itself (the optimum and the trace-length reference) and the
Searchformers (search-augmented and solution-only), trained with the shared Trainer on the A*
sequences of the training split, each stopped early on the validation split's loss (tasks of
their own layouts, ``data.n_val``); the search-augmented model's budget is ``train:`` with
``stages.trace_train`` over it (its responses are several times longer). Every planner answers
each test prompt (a Searchformer greedily, or by best-of-k sampling); each plan is executed in
the gymnasium environment and scored (:mod:`~sciformers.planning.scoring`). Training stages in
``stages:``: the training-set-size curve (``train_sizes``: the same model trained again on the
first ``size`` tasks, validated on the same split; the paper's data-efficiency figure) and
Searchformer's expert iteration (Lehnert et al. 2024, sec. 3.3): sample responses for the
training prompts, keep the shortest one whose plan is optimal (else the A* sequence), fine-tune
the previous model on them for a fixed budget, repeat; each round is recorded as model
``<name>_ei<r>``.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np
from pydantic import Field, field_validator

from sciformers.core import Config, TrainConfig
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import metric_bar_plot
from sciformers.evaluation.runner import Entry, Job, Result
from sciformers.evaluation.tasks import TaskSpec, register_task
from sciformers.planning import metrics as _metrics  # noqa: F401  (the metrics' directions)
from sciformers.planning.data import (
    Kind,
    PlanningData,
    PlanningExample,
    SequenceDataset,
    collate,
    load_splits,
    parse_task,
    read_examples,
    sequences,
    tokenizer_for,
)
from sciformers.planning.decoding import decode_responses
from sciformers.planning.model import MODES, Searchformer, count_parameters
from sciformers.planning.plots import maze_trace_figure, size_curve_figure
from sciformers.planning.scoring import Scored, planning_metrics, score_all, score_one
from sciformers.planning.tokenizer import Tokenizer, parse_response

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class PlanningEval(Config):
    """The ``eval:`` section of the planning pipelines: decoding and the random walk's budget.

    Args:
        batch_size: prompts decoded together.
        best_of: responses sampled per prompt; 1 decodes greedily, k > 1 keeps the best sample
            (shortest correct plan, executed in the environment).
        temperature: sampling temperature for best-of-k and expert iteration.
        max_new_tokens: response budget (default 1.5 x the longest training response + 8).
        random_max_steps: move budget of the random walk (default ``4 size^2``).
    """

    batch_size: int = Field(default=64, ge=1)
    best_of: int = Field(default=1, ge=1)
    temperature: float = Field(default=1.0, gt=0)
    max_new_tokens: int | None = Field(default=None, ge=1)
    random_max_steps: int | None = Field(default=None, ge=1)


class PlanningStages(Config):
    """The ``stages:`` section: training after the main fit of each Searchformer.

    Args:
        trace_train: ``train:`` keys overridden for the search-augmented model's fits (main fit
            and size curve), e.g. ``{steps: 8000}``: its responses are several times longer than
            the solution-only model's, so it needs more steps to converge. Same early-stopping rule.
        train_sizes: extra training-set sizes for the %-optimal curve (``pct_optimal_n<size>``);
            each trains a fresh model on the first ``size`` training tasks.
        expert_iteration_rounds: Searchformer improvement rounds after training (trace models).
        ei_prompts: training prompts sampled per round (default all).
        ei_samples: responses sampled per prompt.
        ei_steps: fine-tuning steps per round (a fixed budget, no early stopping, as the paper's 10k).
        ei_lr: fine-tuning learning rate (paper: 7.5e-5).
    """

    trace_train: dict[str, Any] = Field(default_factory=dict)
    train_sizes: list[int] = Field(default_factory=list)
    expert_iteration_rounds: int = Field(default=0, ge=0)
    ei_prompts: int | None = Field(default=None, ge=1)
    ei_samples: int = Field(default=4, ge=1)
    ei_steps: int = Field(default=200, ge=1)
    ei_lr: float = Field(default=7.5e-5, gt=0)

    @field_validator("trace_train")
    @classmethod
    def _train_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Only ``train:`` keys with valid values (``seeds`` is the pipeline's, not a model's)."""
        if "seeds" in value:
            raise ValueError("seeds are the pipeline's (train.seeds), not one model's")
        TrainConfig.parse(value, where="stages.trace_train")
        return value


@dataclass(frozen=True)
class PlanningSplits:
    """What :meth:`PlanningTask.prepare` returns.

    Attributes:
        train, test: the tasks with their A* sequences.
        val: validation tasks (early stopping); empty: the Trainer carves them from train.
        tokenizer: ids <-> words of this task family.
        n_boxes: boxes per Sokoban state.
        random_max_steps: the random walk's move budget.
        max_new_tokens: the response budget of a Searchformer of each mode.
    """

    train: list[PlanningExample]
    val: list[PlanningExample]
    test: list[PlanningExample]
    tokenizer: Tokenizer
    n_boxes: int
    random_max_steps: int
    max_new_tokens: dict[str, int]


@dataclass
class Round:
    """One expert-iteration round: the fine-tuned model, its time (sampling + training) and its
    training responses' length over A*'s."""

    module: Searchformer
    fit_s: float
    train_len_ratio: float


@dataclass
class Trained:
    """The models of one Searchformer job: the main fit, the size curve's fits and the rounds."""

    module: Searchformer
    curve: dict[int, Searchformer] = field(default_factory=dict)
    rounds: list[Round] = field(default_factory=list)


@dataclass
class Outcome:
    """One planner's scored responses to the test tasks and the time they took."""

    scored: list[Scored]
    with_trace: bool
    eval_s: float


@dataclass
class Predictions:
    """The outcomes of one job: its model's, the size curve's (by training-set size) and the rounds'."""

    main: Outcome
    curve: dict[int, Outcome] = field(default_factory=dict)
    rounds: list[tuple[Round, Outcome]] = field(default_factory=list)


class PlanningTask(TaskSpec):
    """The maze and Sokoban tasks: planners answer test prompts; plans are executed and scored."""

    kind: ClassVar[Kind]
    domain = "planning"
    version = "2"
    metrics = ("pct_optimal", "pct_correct", "pct_valid", "swc", "ilr", "trace_len_ratio", "tokens_generated")
    baseline = "random_valid"
    data_schema = PlanningData
    eval_schema = PlanningEval
    stages_schema = PlanningStages
    collate = staticmethod(collate)

    def prepare(self, ctx: RunContext) -> PlanningSplits:
        data, ev = ctx.data, ctx.eval
        assert isinstance(data, PlanningData) and isinstance(ev, PlanningEval)
        train, test, folder = load_splits(self.kind, data)
        val = read_examples(folder / "val.jsonl")
        ctx.say(f"{self.name}: {len(train)} train / {len(val)} validation / {len(test)} test tasks ({folder})")
        longest = {"trace": max(len(r) for ex in train for r in [ex.trace_response, *ex.extra_traces]),
                   "plan": max(len(r) for ex in train for r in [ex.plan_response, *ex.extra_plans])}
        return PlanningSplits(train, val, test, tokenizer_for(self.kind, data), data.n_boxes,
                              ev.random_max_steps or 4 * data.size**2,
                              {mode: ev.max_new_tokens or int(1.5 * n) + 8 for mode, n in longest.items()})

    def model_kwargs(self, prepared: PlanningSplits, entry: Entry) -> dict[str, Any]:
        """The tokenizer's size for a Searchformer (and its mode's response budget), the task
        family for the peers."""
        tok = prepared.tokenizer
        if entry.kind == "trainable":
            return {"vocab_size": len(tok), "max_new_tokens": prepared.max_new_tokens[MODES[entry.model]]}
        if entry.model == "astar":
            return {"size": tok.size, "max_cost": tok.max_cost}
        return {"kind": self.kind, "max_steps": prepared.random_max_steps}

    def build(self, job: Job, prepared: PlanningSplits) -> Any:
        """The job's planner; a Searchformer inside a :class:`Trained` that its stages fill."""
        if job.entry.kind == "trainable":
            return Trained(job.build())
        return job.build(seed=job.seed) if job.entry.model == self.baseline else job.build()  # the walk's seed

    def fit_inputs(self, prepared: PlanningSplits) -> tuple[Any, ...]:
        return (prepared.train,)

    def budget(self, job: Job, mode: str) -> TrainConfig:
        """The ``train:`` section of a Searchformer in ``mode``; ``stages.trace_train`` over it for traces."""
        stages: PlanningStages = job.ctx.stages  # type: ignore[assignment]
        return job.train_config(**(stages.trace_train if mode == "trace" else {}))

    def fit(self, job: Job, model: Any, prepared: PlanningSplits) -> None:
        """The main fit, the size curve's smaller fits (each stopped early on the same validation
        tasks) and expert iteration."""
        if not isinstance(model, Trained):
            return super().fit(job, model, prepared)
        stages: PlanningStages = job.ctx.stages  # type: ignore[assignment]
        module, train = model.module, prepared.train
        config = self.budget(job, module.mode)
        val = sequences(prepared.val, module.mode) if prepared.val else None
        job.fit(module, sequences(train, module.mode), val, config=config, collate=collate)
        for size in sorted(s for s in stages.train_sizes if s < len(train)):
            small: Searchformer = job.build()
            job.fit(small, sequences(train[:size], small.mode), val, stage=f"n{size}", config=config, collate=collate)
            model.curve[size] = small
        if module.mode == "trace":
            self._expert_iteration(job, model, prepared, stages)

    def _expert_iteration(self, job: Job, model: Trained, prepared: PlanningSplits, stages: PlanningStages) -> None:
        """Searchformer rounds: shortest optimal sampled responses replace A*'s, then fine-tune a
        copy of the previous round's model (the main model is kept for its own record)."""
        ev: PlanningEval = job.ctx.eval  # type: ignore[assignment]
        tok, n_boxes = prepared.tokenizer, prepared.n_boxes
        prompts = prepared.train[: stages.ei_prompts] if stages.ei_prompts else prepared.train
        config = job.train_config(**{**stages.trace_train, "steps": stages.ei_steps, "epochs": None, "lr": stages.ei_lr,
                                     "val_fraction": 0.0, "patience": None})
        current = model.module
        for r in range(1, stages.expert_iteration_rounds + 1):
            job.say(f"expert iteration {r} for {job.name} (seed {job.seed}): sampling {len(prompts)} prompts")
            t0 = time.perf_counter()
            draws = decode_responses(current, prompts, tok, self.kind, n_boxes, current.max_new_tokens,
                                     ev.batch_size, stages.ei_samples, ev.temperature, job.seed + 1000 * r,
                                     select=False)
            pairs = []
            for ex, cands in zip(prompts, draws):
                task = parse_task(self.kind, ex.text, check_solvable=False)
                best = ex.trace_response
                for words in cands:  # type: ignore[union-attr]
                    s = score_one(self.kind, task, words, ex.optimal_length, n_boxes)
                    ids = tok.encode(words)
                    if s.optimal and len(ids) < len(best):
                        best = ids
                pairs.append((ex.prompt, best))
            sample_s = time.perf_counter() - t0
            current = copy.deepcopy(current)
            fit = job.fit(current, SequenceDataset(pairs), stage=f"ei{r}", config=config, collate=collate)
            ratio = float(np.mean([len(b) / len(ex.trace_response) for ex, (_, b) in zip(prompts, pairs)]))
            model.rounds.append(Round(current, sample_s + fit.fit_s, ratio))

    def predict(self, job: Job, model: Any, prepared: PlanningSplits) -> Predictions:
        """Every planner's responses to the test tasks, executed and scored per task."""
        if not isinstance(model, Trained):
            t0 = time.perf_counter()
            scored = score_all(self.kind, prepared.test, model.predict(prepared.test), prepared.n_boxes)
            return Predictions(Outcome(scored, model.with_trace, time.perf_counter() - t0))
        return Predictions(self._decode(job, model.module, prepared),
                           {size: self._decode(job, small, prepared) for size, small in model.curve.items()},
                           [(r, self._decode(job, r.module, prepared)) for r in model.rounds])

    def _decode(self, job: Job, module: Searchformer, prepared: PlanningSplits) -> Outcome:
        ev: PlanningEval = job.ctx.eval  # type: ignore[assignment]
        t0 = time.perf_counter()
        responses = decode_responses(module, prepared.test, prepared.tokenizer, self.kind, prepared.n_boxes,
                                     module.max_new_tokens, ev.batch_size, ev.best_of, ev.temperature, job.seed)
        scored = score_all(self.kind, prepared.test, responses, prepared.n_boxes)  # type: ignore[arg-type]
        return Outcome(scored, module.with_trace, time.perf_counter() - t0)

    def save(self, job: Job, model: Any) -> None:
        """The main Searchformer with what ``sciformers predict planning`` needs to rebuild its tokenizer."""
        if isinstance(model, Trained):
            data: PlanningData = job.ctx.data  # type: ignore[assignment]
            job.save(model.module, {"kind": self.kind, "size": data.size,
                                    "max_cost": tokenizer_for(self.kind, data).max_cost, "n_boxes": data.n_boxes})

    def count_params(self, model: Any) -> int:
        return count_parameters(model.module) if isinstance(model, Trained) else super().count_params(model)

    def score(self, job: Job, prepared: PlanningSplits, predictions: Predictions) -> list[Result]:
        """The job's record (with ``pct_optimal_n<size>`` and ``pct_valid_n<size>`` of the size curve)
        and one per round."""
        test, n = prepared.test, len(prepared.test)
        main = predictions.main
        metrics = planning_metrics(test, main.scored, main.with_trace)
        for size, outcome in predictions.curve.items():
            at_size = planning_metrics(test, outcome.scored, outcome.with_trace)
            metrics[f"pct_optimal_n{size}"], metrics[f"pct_valid_n{size}"] = at_size["pct_optimal"], at_size["pct_valid"]
        stages: PlanningStages = job.ctx.stages  # type: ignore[assignment]
        if job.entry.kind == "trainable" and stages.train_sizes:
            full = len(prepared.train)
            metrics[f"pct_optimal_n{full}"], metrics[f"pct_valid_n{full}"] = metrics["pct_optimal"], metrics["pct_valid"]
        fit = job.fits.get("")
        results = [Result(metrics, n, fit_s=fit.fit_s if fit is not None else None, eval_s=main.eval_s)]
        for r, (rnd, outcome) in enumerate(predictions.rounds, 1):
            results.append(Result({**planning_metrics(test, outcome.scored, outcome.with_trace),
                                   "ei_train_len_ratio": rnd.train_len_ratio}, n, model=f"{job.name}_ei{r}",
                                  fit_s=rnd.fit_s, eval_s=outcome.eval_s))
        return results

    def artifacts(self, job: Job, prepared: PlanningSplits, predictions: Predictions) -> dict[str, dict[str, Any]]:
        """``<model>_seed<seed>.json`` for the job's planner and each expert-iteration round: every
        test task with the response (words joined by spaces) and whether it is valid, correct and
        optimal."""
        named = [(job.name, predictions.main)] + [(f"{job.name}_ei{r}", outcome)
                                                   for r, (_, outcome) in enumerate(predictions.rounds, 1)]
        return {f"{name}_seed{job.seed}.json": {
            "model": name, "seed": job.seed,
            "responses": [{"task": ex.text, "response": " ".join(s.words), "valid": s.parsed.valid,
                           "correct": s.correct, "optimal": s.optimal} for ex, s in zip(prepared.test, outcome.scored)]}
            for name, outcome in named}

    # -- report ----------------------------------------------------------------------------

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        figs: dict[str, Any] = {"pct_optimal": metric_bar_plot(records, "pct_optimal", self.baseline)}
        if any(k.startswith("pct_optimal_n") for r in records for k in r.metrics):
            figs["pct_optimal_vs_train_size"] = size_curve_figure(records)
        if self.kind == "maze":
            example = self._trace_example(records, run_dirs)
            if example is not None:
                figs["maze_trace_example"] = example
        return figs

    def _trace_example(self, records: list[RunRecord], run_dirs: Sequence[Path]) -> Figure | None:
        """The first test maze searched by A* and by the first Searchformer that writes a trace
        (lowest seed, then name), from the run folders' saved responses; ``None`` without them."""
        traced = sorted((r for r in records if "ilr" in r.metrics and r.model != "astar"), key=lambda r: (r.seed, r.model))
        for r in traced:
            model_file = self.saved_predictions(run_dirs, f"{r.model}_seed{r.seed}.json")
            astar_file = self.saved_predictions(run_dirs, f"astar_seed{r.seed}.json")
            if model_file is None or astar_file is None:
                continue
            model, astar = (json.loads(f.read_text())["responses"][0] for f in (model_file, astar_file))
            return maze_trace_figure(model["task"], parse_response(astar["response"].split()),
                                     parse_response(model["response"].split()), r.model)
        return None


class MazeTask(PlanningTask):
    """Searchformer on grid mazes."""

    kind = "maze"
    name = "planning.maze"
    description = ("Grid mazes (30-50% walls, plan >= grid width) from a seeded generator, split by wall layout; "
                   "Searchformer (trace + plan) vs solution-only vs A* vs a random walk; plans executed in MazeEnv.")
    data_card = "planning_maze.md"


class SokobanTask(PlanningTask):
    """Searchformer on Sokoban levels."""

    kind = "sokoban"
    name = "planning.sokoban"
    description = ("Sokoban rooms (boxes away from the border, solvable only) from a seeded generator; Searchformer "
                   "(non-deterministic A* traces) vs solution-only vs A* vs a random walk; plans executed in SokobanEnv.")
    data_card = "planning_sokoban.md"


MAZE = register_task(MazeTask())
SOKOBAN = register_task(SokobanTask())
