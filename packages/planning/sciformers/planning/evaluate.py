"""Plan checking by execution in the gymnasium environments, and the Searchformer metrics.

Lehnert et al. 2024 (https://arxiv.org/abs/2402.14083, sec. 4.1): a plan is **correct** when it
starts at the start, moves one cell at a time without entering a wall or leaving the grid, and
ends in a goal state; it is **optimal** when correct and as short as A*'s plan. Over ``n``
test tasks, with ``c_i`` = 1 for a correct plan, ``l_i`` / ``l*_i`` the model's / A*'s plan
lengths and ``t_i`` / ``t*_i`` the model's / A*'s trace lengths,

    SWC = 1/n sum_i c_i l*_i / max(l_i, l*_i)      (Success Weighted by Cost)
    ILR = 1/n sum_i c_i t*_i / t_i                 (Improved Length Ratio of the search)

where ``t*_i`` is the mean trace length of repeated non-deterministic A* runs. The metrics are
plain NumPy functions of the per-task outcomes; their directions are registered with the
harness in :mod:`~sciformers.planning.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from sciformers.planning.envs import MazeEnv, SokobanEnv
from sciformers.planning.maze import MOVES, Cell, Maze, in_bounds
from sciformers.planning.sokoban import SokobanLevel, is_solved


@dataclass(frozen=True)
class PlanCheck:
    """Outcome of executing a plan: ``correct`` and, if not, the first ``reason``."""

    correct: bool
    reason: str = ""


def _execute(env: MazeEnv | SokobanEnv, walls: np.ndarray, start: Cell, plan: Sequence[Cell],
             position: str) -> PlanCheck | None:
    """Step ``env`` along ``plan``; a failed :class:`PlanCheck` at the first illegal step, else ``None``."""
    if not plan:
        return PlanCheck(False, "empty plan")
    if tuple(plan[0]) != tuple(start):
        return PlanCheck(False, f"plan starts at {tuple(plan[0])}, not at the start {tuple(start)}")
    for i, (a, b) in enumerate(zip(plan[:-1], plan[1:])):
        delta = (b[0] - a[0], b[1] - a[1])
        if delta not in MOVES:
            return PlanCheck(False, f"step {i + 1}: {tuple(a)} -> {tuple(b)} is not a unit move")
        if not in_bounds(walls, b):
            return PlanCheck(False, f"step {i + 1}: {tuple(b)} is off the grid")
        _, _, _, _, info = env.step(MOVES.index(delta))
        if tuple(info[position]) != tuple(b):
            reason = "a wall" if walls[tuple(b)] else "a blocked push"
            return PlanCheck(False, f"step {i + 1}: {tuple(a)} -> {tuple(b)} runs into {reason}")
    return None


def check_maze_plan(maze: Maze, plan: Sequence[Cell]) -> PlanCheck:
    """Execute ``plan`` (cells from start to goal) in a :class:`MazeEnv` of ``maze``."""
    env = MazeEnv(maze, max_steps=len(plan) + 1)
    env.reset()
    failed = _execute(env, maze.walls, maze.start, plan, "agent")
    if failed is not None:
        return failed
    return PlanCheck(True) if env.agent == maze.goal else PlanCheck(False, f"plan ends at {env.agent}, not at the goal {maze.goal}")


def check_sokoban_plan(level: SokobanLevel, plan: Sequence[Cell]) -> PlanCheck:
    """Execute ``plan`` (worker cells) in a :class:`SokobanEnv`; correct when every box ends on a dock."""
    env = SokobanEnv(level, max_steps=len(plan) + 1)
    env.reset()
    failed = _execute(env, level.walls, level.state.worker, plan, "worker")
    if failed is not None:
        return failed
    if not is_solved(level.docks, env.state):
        return PlanCheck(False, "the boxes are not all on docks at the end of the plan")
    return PlanCheck(True)


# -- metrics ------------------------------------------------------------------------------------

def swc(correct: np.ndarray, length: np.ndarray, optimal_length: np.ndarray) -> float:
    """Success Weighted by Cost: ``mean c_i l*_i / max(l_i, l*_i)``."""
    c, l, ls = (np.asarray(v, dtype=np.float64) for v in (correct, length, optimal_length))
    return float(np.mean(c * ls / np.maximum(l, ls)))


def ilr(correct: np.ndarray, trace_length: np.ndarray, reference_length: np.ndarray) -> float:
    """Improved Length Ratio: ``mean c_i t*_i / t_i`` (tasks without a correct plan count 0)."""
    c, t, ts = (np.asarray(v, dtype=np.float64) for v in (correct, trace_length, reference_length))
    ratio = np.divide(ts, t, out=np.zeros_like(ts), where=t > 0)
    return float(np.mean(np.where(c > 0, ratio, 0.0)))


def trace_len_ratio(trace_length: np.ndarray, reference_length: np.ndarray) -> float:
    """Mean of ``t_i / t*_i`` over tasks with a parsed trace (NaN marks none)."""
    t, ts = np.asarray(trace_length, dtype=np.float64), np.asarray(reference_length, dtype=np.float64)
    keep = ~np.isnan(t)
    return float(np.mean(t[keep] / ts[keep])) if keep.any() else float("nan")
