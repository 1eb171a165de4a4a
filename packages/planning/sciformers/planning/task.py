"""The ``planning.maze`` and ``planning.sokoban`` tasks: Searchformer beside A* and a random walk.

For every seed the task trains each pipeline model (search-augmented and solution-only
Searchformers) with the shared Trainer on the A* sequences of the training split, decodes a
response for every test prompt (greedy, or best-of-k sampling), executes each plan in the
gymnasium environment and scores it (:mod:`~sciformers.planning.scoring`). Beside them run
A* itself (the optimum and the trace-length reference) and the random-valid-move walk (the
trivial baseline). Options in ``eval:``: the training-set-size curve (``train_sizes``) and
Searchformer's expert iteration (Lehnert et al. 2024, sec. 3.3): sample responses for the
training prompts, keep the shortest one whose plan is optimal (else the A* sequence), fine-tune
the previous model on them, repeat.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Sequence

import numpy as np
import torch
from pydantic import Field

from sciformers.core import Config, TrainConfig, Trainer, create_model, save_model, seed_everything
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import metric_bar_plot
from sciformers.evaluation.tasks import TaskSpec, register_task
from sciformers.planning.data import (
    Kind,
    PlanningData,
    PlanningExample,
    SequenceDataset,
    collate,
    load_splits,
    pad,
    parse_task,
    sequences,
    tokenizer_for,
)
from sciformers.planning.decoding import generate
from sciformers.planning.model import Searchformer, count_parameters
from sciformers.planning.plots import maze_trace_figure, size_curve_figure
from sciformers.planning.scoring import (
    Scored,
    astar_responses,
    best_of,
    random_responses,
    score_one,
    score_responses,
)
from sciformers.planning.tokenizer import Tokenizer, parse_response

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class PlanningEval(Config):
    """The ``eval:`` section of the planning pipelines.

    Args:
        batch_size: prompts decoded together.
        best_of: responses sampled per prompt; 1 decodes greedily, k > 1 keeps the best sample
            (shortest correct plan, executed in the environment).
        temperature: sampling temperature for best-of-k and expert iteration.
        max_new_tokens: response budget (default 1.5 x the longest training response + 8).
        random_max_steps: move budget of the random walk (default ``4 size^2``).
        train_sizes: extra training-set sizes for the %-optimal curve (``pct_optimal_n<size>``).
        expert_iteration_rounds: Searchformer improvement rounds after training (trace models).
        ei_prompts: training prompts sampled per round (default all).
        ei_samples: responses sampled per prompt.
        ei_steps: fine-tuning steps per round.
        ei_lr: fine-tuning learning rate (paper: 7.5e-5).
    """

    batch_size: int = Field(default=64, ge=1)
    best_of: int = Field(default=1, ge=1)
    temperature: float = Field(default=1.0, gt=0)
    max_new_tokens: int | None = Field(default=None, ge=1)
    random_max_steps: int | None = Field(default=None, ge=1)
    train_sizes: list[int] = Field(default_factory=list)
    expert_iteration_rounds: int = Field(default=0, ge=0)
    ei_prompts: int | None = Field(default=None, ge=1)
    ei_samples: int = Field(default=4, ge=1)
    ei_steps: int = Field(default=200, ge=1)
    ei_lr: float = Field(default=7.5e-5, gt=0)


def decode_responses(module: Searchformer, examples: list[PlanningExample], tok: Tokenizer, kind: Kind,
                     n_boxes: int, max_new: int, batch_size: int, samples: int = 1, temperature: float = 1.0,
                     seed: int = 0, select: bool = True) -> list[list[list[str]]] | list[list[str]]:
    """Decode every prompt: greedily (one draw, ``select``) or by sampling ``samples`` draws.

    With ``select`` one response per prompt is returned (the greedy one, or the best of the
    samples: best-of-k); without it, the list of all sampled draws per prompt.
    """
    gen = torch.Generator().manual_seed(seed)
    device = next(module.parameters()).device
    out: list[Any] = []
    for i in range(0, len(examples), batch_size):
        chunk = examples[i:i + batch_size]
        src, mask = pad([ex.prompt for ex in chunk])
        src, mask = src.repeat_interleave(samples, 0).to(device), mask.repeat_interleave(samples, 0).to(device)
        greedy = select and samples == 1
        ids = generate(module, src, mask, max_new, temperature=0.0 if greedy else temperature, generator=gen)
        words = [tok.decode(row.tolist()) for row in ids.cpu()]
        for j, ex in enumerate(chunk):
            draws = words[j * samples:(j + 1) * samples]
            if not select:
                out.append(draws)
            elif greedy:
                out.append(draws[0])
            else:
                task = parse_task(kind, ex.text, check_solvable=False)
                out.append(best_of(kind, task, draws, ex.optimal_length, n_boxes))
    return out


class PlanningTask(TaskSpec):
    """Shared run loop of the maze and Sokoban tasks."""

    kind: ClassVar[Kind]
    domain = "planning"
    version = "1"
    metrics = ("pct_optimal", "pct_correct", "pct_valid", "swc", "ilr", "trace_len_ratio", "tokens_generated")
    baseline = "random_valid"
    data_schema = PlanningData

    def run(self, ctx: RunContext) -> Iterator[RunRecord]:
        data: PlanningData = ctx.data  # type: ignore[assignment]
        ev = PlanningEval.parse(ctx.pipeline.eval, where="eval")
        train, test, folder = load_splits(self.kind, data)
        ctx.say(f"{self.name}: {len(train)} train / {len(test)} test tasks ({folder})")
        tok = tokenizer_for(self.kind, data)
        peers = {
            "astar": lambda seed: (astar_responses(test, tok), True),
            "random_valid": lambda seed: (random_responses(self.kind, test, seed, ev.random_max_steps or 4 * data.size**2), False),
        }
        for name, respond in peers.items():
            for seed in ctx.seeds:
                if ctx.is_done(self.name, name, seed):
                    continue
                t0 = time.perf_counter()
                responses, with_trace = respond(seed)
                metrics, scored = score_responses(self.kind, test, responses, with_trace, data.n_boxes)
                eval_s = time.perf_counter() - t0
                self._save_responses(ctx, name, seed, test, scored)
                yield ctx.record(task=self, model=name, seed=seed, n_params=0, metrics=metrics, eval_s=eval_s,
                                 infer_ms_per_sample=1000 * eval_s / len(test))
        for name, entry in ctx.models.items():
            for seed in ctx.seeds:
                if not ctx.is_done(self.name, name, seed):
                    yield from self._run_model(ctx, ev, name, entry.model, {**ctx.model_defaults, **entry.kwargs},
                                               seed, train, test, tok)

    # -- one model ------------------------------------------------------------------------

    def _fit(self, ctx: RunContext, cfg: TrainConfig, module: Searchformer, dataset: SequenceDataset,
             run_dir: Path, seed: int) -> float:
        seed_everything(seed)
        trainer = Trainer(cfg, run_dir=run_dir, device=ctx.device, seed=seed, quiet=ctx.quiet)
        return trainer.fit(module, dataset, collate_fn=collate).fit_s

    def _evaluate(self, module: Searchformer, test: list[PlanningExample], tok: Tokenizer, ev: PlanningEval,
                  data: PlanningData, max_new: int, seed: int) -> tuple[dict[str, float], list[Any], float]:
        t0 = time.perf_counter()
        responses = decode_responses(module, test, tok, self.kind, data.n_boxes, max_new, ev.batch_size,
                                     ev.best_of, ev.temperature, seed)
        metrics, scored = score_responses(self.kind, test, responses, module.mode == "trace", data.n_boxes)
        return metrics, scored, time.perf_counter() - t0

    def _run_model(self, ctx: RunContext, ev: PlanningEval, name: str, model_name: str, kwargs: dict[str, Any],
                   seed: int, train: list[PlanningExample], test: list[PlanningExample],
                   tok: Tokenizer) -> Iterator[RunRecord]:
        data: PlanningData = ctx.data  # type: ignore[assignment]
        seed_everything(seed)
        module: Searchformer = create_model(model_name, vocab_size=len(tok), **kwargs)
        key = "trace_response" if module.mode == "trace" else "plan_response"
        max_new = ev.max_new_tokens or int(1.5 * max(len(getattr(ex, key)) for ex in train)) + 8
        module.max_new_tokens = max_new
        run_dir = ctx.out_dir / "checkpoints" / name / f"seed{seed}"
        ctx.say(f"{self.name}: training {name} (seed {seed}, {module.mode} mode, {len(train)} sequences)")
        fit_s = self._fit(ctx, ctx.train, module, sequences(train, module.mode), run_dir, seed)
        metrics, scored, eval_s = self._evaluate(module, test, tok, ev, data, max_new, seed)
        save_model(run_dir / "final", module, {"model": model_name, "kwargs": {**kwargs, "vocab_size": len(tok),
                   "max_new_tokens": max_new}, "kind": self.kind, "size": data.size, "max_cost": tok.max_cost,
                   "n_boxes": data.n_boxes})
        self._save_responses(ctx, name, seed, test, scored)
        extra: dict[str, bool] = {}
        for size in sorted(s for s in ev.train_sizes if s < len(train)):
            ctx.say(f"{self.name}: training {name} on {size} sequences (size curve)")
            seed_everything(seed)
            small: Searchformer = create_model(model_name, vocab_size=len(tok), **kwargs)
            self._fit(ctx, ctx.train, small, sequences(train[:size], small.mode), run_dir.parent / f"seed{seed}_n{size}", seed)
            metrics[f"pct_optimal_n{size}"] = self._evaluate(small, test, tok, ev, data, max_new, seed)[0]["pct_optimal"]
            extra[f"pct_optimal_n{size}"] = True
        if ev.train_sizes:
            metrics[f"pct_optimal_n{len(train)}"] = metrics["pct_optimal"]
            extra[f"pct_optimal_n{len(train)}"] = True
        yield ctx.record(task=self, model=name, seed=seed, n_params=count_parameters(module), metrics=metrics,
                         fit_s=fit_s, eval_s=eval_s, infer_ms_per_sample=1000 * eval_s / len(test),
                         higher_is_better=extra)
        if module.mode == "trace":
            yield from self._expert_iteration(ctx, ev, name, module, seed, train, test, tok, max_new)

    def _expert_iteration(self, ctx: RunContext, ev: PlanningEval, name: str, module: Searchformer, seed: int,
                          train: list[PlanningExample], test: list[PlanningExample], tok: Tokenizer,
                          max_new: int) -> Iterator[RunRecord]:
        """Searchformer rounds: shortest optimal sampled responses replace A*'s, then fine-tune."""
        data: PlanningData = ctx.data  # type: ignore[assignment]
        prompts = train[: ev.ei_prompts] if ev.ei_prompts else train
        cfg = ctx.train.model_copy(update={"steps": ev.ei_steps, "epochs": None, "lr": ev.ei_lr})
        for r in range(1, ev.expert_iteration_rounds + 1):
            label = f"{name}_ei{r}"
            ctx.say(f"{self.name}: expert iteration {r} for {name} (seed {seed}): sampling {len(prompts)} prompts")
            t0 = time.perf_counter()
            draws = decode_responses(module, prompts, tok, self.kind, data.n_boxes, max_new, ev.batch_size,
                                     ev.ei_samples, ev.temperature, seed + 1000 * r, select=False)
            pairs = []
            for ex, cands in zip(prompts, draws):
                task = parse_task(self.kind, ex.text, check_solvable=False)
                best = ex.trace_response
                for words in cands:  # type: ignore[union-attr]
                    s = score_one(self.kind, task, words, ex.optimal_length, data.n_boxes)
                    ids = tok.encode(words)
                    if s.optimal and len(ids) < len(best):
                        best = ids
                pairs.append((ex.prompt, best))
            fit_s = time.perf_counter() - t0
            fit_s += self._fit(ctx, cfg, module, SequenceDataset(pairs), ctx.out_dir / "checkpoints" / label / f"seed{seed}", seed)
            metrics, scored, eval_s = self._evaluate(module, test, tok, ev, data, max_new, seed)
            self._save_responses(ctx, label, seed, test, scored)
            metrics["ei_train_len_ratio"] = float(np.mean([len(b) / len(ex.trace_response) for ex, (_, b) in zip(prompts, pairs)]))
            yield ctx.record(task=self, model=label, seed=seed, n_params=count_parameters(module), metrics=metrics,
                             fit_s=fit_s, eval_s=eval_s, infer_ms_per_sample=1000 * eval_s / len(test),
                             higher_is_better={"ei_train_len_ratio": False})

    def _save_responses(self, ctx: RunContext, name: str, seed: int, test: list[PlanningExample],
                        scored: list[Scored]) -> None:
        """``predictions/<task>/<name>_seed<seed>.json``: every test task with the planner's response
        (words joined by spaces) and whether it is valid, correct and optimal."""
        rows = [{"task": ex.text, "response": " ".join(s.words), "valid": s.parsed.valid, "correct": s.correct,
                 "optimal": s.optimal} for ex, s in zip(test, scored)]
        self.write_predictions(ctx.out_dir, f"{name}_seed{seed}.json", {"model": name, "seed": seed, "responses": rows})

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
