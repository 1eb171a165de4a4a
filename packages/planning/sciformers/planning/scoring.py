"""Scoring responses of any planner, and the two non-learned peers (A* itself and a random walk).

Every planner (a trained Searchformer, A*, the random-valid-move walk) produces one response per
test task as decoder words; :func:`score_responses` parses each, executes its plan in the
gymnasium environment (:mod:`~sciformers.planning.evaluate`) and returns the metrics of
Searchformer, sec. 4.1, with per-task details for plots and expert iteration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from sciformers.evaluation.metrics import get_metric
from sciformers.planning.evaluate import as_tensor, check_maze_plan, check_sokoban_plan
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


def score_responses(kind: Kind, examples: list[PlanningExample], responses: list[Sequence[str]],
                    with_trace: bool, n_boxes: int = 0) -> tuple[dict[str, float], list[Scored]]:
    """Metrics over the whole test set.

    Args:
        kind: ``maze`` or ``sokoban``.
        examples: the test tasks.
        responses: decoded words per task.
        with_trace: the planner emits a search trace (adds ``ilr`` and ``trace_len_ratio``).
        n_boxes: boxes per Sokoban state.

    Returns:
        ``({pct_valid, pct_correct, pct_optimal, swc, tokens_generated[, ilr, trace_len_ratio]}, per-task)``.
    """
    if len(examples) != len(responses):
        raise ValueError(f"{len(responses)} responses for {len(examples)} tasks")
    scored = [score_one(kind, parse_task(kind, ex.text, check_solvable=False), words, ex.optimal_length, n_boxes)
              for ex, words in zip(examples, responses)]
    valid = as_tensor([s.parsed.valid for s in scored])
    correct = [float(s.correct) for s in scored]
    lengths = [len(s.parsed.plan) if s.correct else 0 for s in scored]
    optimal_len = as_tensor([ex.optimal_length for ex in examples])
    metrics = {
        "pct_valid": get_metric("pct_valid")(valid, valid),
        "pct_correct": get_metric("pct_correct")(as_tensor(correct), valid),
        "pct_optimal": get_metric("pct_optimal")(as_tensor([s.optimal for s in scored]), valid),
        "swc": get_metric("swc")(as_tensor(np.stack([correct, lengths], 1)), optimal_len),
        "tokens_generated": get_metric("tokens_generated")(as_tensor([s.tokens for s in scored]), valid),
    }
    if with_trace:
        t_star = as_tensor([ex.t_star for ex in examples])
        t = [float(s.trace_tokens) for s in scored]
        metrics["ilr"] = get_metric("ilr")(as_tensor(np.stack([correct, t], 1)), t_star)
        traced = [tt if s.parsed.valid and s.trace_tokens > 0 else np.nan for tt, s in zip(t, scored)]
        if not np.isnan(traced).all():  # undefined (and left out) when no response has a trace
            metrics["trace_len_ratio"] = get_metric("trace_len_ratio")(as_tensor(traced), t_star)
    return metrics, scored


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
