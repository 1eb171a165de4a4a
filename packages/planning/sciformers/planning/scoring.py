"""Scoring responses of any planner, and the responses of the two non-learned peers (A*, a random walk).

Every planner (a trained Searchformer, A*, the random-valid-move walk) produces one response per
test task as decoder words; :func:`score_all` parses each and executes its plan in the gymnasium
environment (:mod:`~sciformers.planning.evaluate`), and :func:`planning_metrics` turns the
per-task outcomes into the metrics of Searchformer, sec. 4.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from sciformers.planning.evaluate import check_maze_plan, check_sokoban_plan, ilr, swc, trace_len_ratio
from sciformers.planning.data import Kind, PlanningExample, parse_task
from sciformers.planning.maze import MOVES, Maze
from sciformers.planning.sokoban import SokobanLevel, is_solved, make_state, step
from sciformers.planning.tokenizer import ParsedResponse, Tokenizer, parse_response, response


@dataclass
class Scored:
    """Per-task outcome of one response."""

    words: list[str]
    parsed: ParsedResponse
    correct: bool
    optimal: bool
    trace_tokens: int
    tokens: int


def score_one(kind: Kind, task: Maze | SokobanLevel, words: Sequence[str], optimal_length: int,
              n_boxes: int) -> Scored:
    """Parse ``words``, execute the plan in the environment, and compare with A*'s length."""
    parsed = parse_response(words, n_boxes if kind == "sokoban" else 0)
    correct = False
    if parsed.valid:
        check = check_maze_plan(task, parsed.plan) if kind == "maze" else check_sokoban_plan(task, parsed.plan)
        correct = check.correct
    first_plan = next((i for i, w in enumerate(words) if w == "plan"), len(words))
    return Scored(list(words), parsed, correct, correct and len(parsed.plan) <= optimal_length, first_plan, len(words) + 1)


def score_all(kind: Kind, examples: list[PlanningExample], responses: Sequence[Sequence[str]],
              n_boxes: int = 0) -> list[Scored]:
    """:func:`score_one` for every test task and its response."""
    if len(examples) != len(responses):
        raise ValueError(f"{len(responses)} responses for {len(examples)} tasks")
    return [score_one(kind, parse_task(kind, ex.text, check_solvable=False), words, ex.optimal_length, n_boxes)
            for ex, words in zip(examples, responses)]


def planning_metrics(examples: list[PlanningExample], scored: list[Scored], with_trace: bool) -> dict[str, float]:
    """The metrics of Searchformer, sec. 4.1, over the whole test set.

    Args:
        examples: the test tasks.
        scored: the outcome of each task's response (:func:`score_all`).
        with_trace: the planner emits a search trace (adds ``ilr`` and ``trace_len_ratio``).

    Returns:
        ``{pct_valid, pct_correct, pct_optimal, swc, tokens_generated[, ilr, trace_len_ratio]}``.
    """
    correct = np.array([s.correct for s in scored], dtype=np.float64)
    lengths = np.array([len(s.parsed.plan) if s.correct else 0 for s in scored], dtype=np.float64)
    metrics = {
        "pct_valid": float(np.mean([s.parsed.valid for s in scored])),
        "pct_correct": float(np.mean(correct)),
        "pct_optimal": float(np.mean([s.optimal for s in scored])),
        "swc": swc(correct, lengths, np.array([ex.optimal_length for ex in examples])),
        "tokens_generated": float(np.mean([s.tokens for s in scored])),
    }
    if with_trace:
        t_star = np.array([ex.t_star for ex in examples], dtype=np.float64)
        t = np.array([s.trace_tokens for s in scored], dtype=np.float64)
        metrics["ilr"] = ilr(correct, t, t_star)
        traced = np.where([s.parsed.valid and s.trace_tokens > 0 for s in scored], t, np.nan)
        if not np.isnan(traced).all():  # undefined (and left out) when no response has a trace
            metrics["trace_len_ratio"] = trace_len_ratio(traced, t_star)
    return metrics


def score_responses(kind: Kind, examples: list[PlanningExample], responses: list[Sequence[str]],
                    with_trace: bool, n_boxes: int = 0) -> tuple[dict[str, float], list[Scored]]:
    """:func:`planning_metrics` of ``responses`` (decoded words per task), with the per-task outcomes.

    Args:
        kind: ``maze`` or ``sokoban``.
        examples: the test tasks.
        responses: decoded words per task.
        with_trace: the planner emits a search trace.
        n_boxes: boxes per Sokoban state.
    """
    scored = score_all(kind, examples, responses, n_boxes)
    return planning_metrics(examples, scored, with_trace), scored


def astar_responses(examples: list[PlanningExample], tok: Tokenizer) -> list[list[str]]:
    """A*'s own responses (the training-style trace + plan) for every task."""
    return [tok.decode(ex.trace_response) for ex in examples]


def random_valid_plan(kind: Kind, task: Maze | SokobanLevel, rng: np.random.Generator, max_steps: int) -> list[tuple[int, int]]:
    """Cells of a walk that picks uniformly among the moves that change the state, until the
    goal is reached or ``max_steps`` moves were made (the random-valid-move peer)."""
    if kind == "maze":
        walls, cell = task.walls, task.start
        plan = [cell]
        while cell != task.goal and len(plan) <= max_steps:
            moves = [(cell[0] + dr, cell[1] + dc) for dr, dc in MOVES]
            moves = [c for c in moves if 0 <= c[0] < walls.shape[0] and 0 <= c[1] < walls.shape[1] and not walls[c]]
            if not moves:
                break
            cell = moves[rng.integers(len(moves))]
            plan.append(cell)
        return plan
    state = make_state(task.state.worker, task.state.boxes)
    plan = [state.worker]
    while not is_solved(task.docks, state) and len(plan) <= max_steps:
        nxt = [s for m in MOVES if (s := step(task.walls, state, m)) is not None]
        if not nxt:
            break
        state = nxt[rng.integers(len(nxt))]
        plan.append(state.worker)
    return plan


def random_responses(kind: Kind, examples: list[PlanningExample], seed: int, max_steps: int) -> list[list[str]]:
    """Random-valid-move plans as responses (``plan r c ...``)."""
    rng = np.random.default_rng(seed)
    return [response(random_valid_plan(kind, parse_task(kind, ex.text, check_solvable=False), rng, max_steps)) for ex in examples]


def best_of(kind: Kind, task: Any, candidates: list[list[str]], optimal_length: int, n_boxes: int) -> list[str]:
    """The best of several sampled responses: the shortest correct plan (then the shortest
    trace); without a correct one, the first valid response, else the first."""
    scored = [score_one(kind, task, words, optimal_length, n_boxes) for words in candidates]
    correct = [i for i, s in enumerate(scored) if s.correct]
    if correct:
        return candidates[min(correct, key=lambda i: (len(scored[i].parsed.plan), scored[i].trace_tokens))]
    valid = [i for i, s in enumerate(scored) if s.parsed.valid]
    return candidates[valid[0] if valid else 0]
