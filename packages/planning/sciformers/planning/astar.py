"""A* search with the execution-trace logging of Searchformer (Lehnert et al. 2024, sec. 3.1, Fig. 1).

The search is logged as a sequence of events: ``create`` when a node is pushed onto the
frontier (the start, and every child whose cost-from-start ``g`` improved) and ``close`` when
it is popped and expanded, each with its ``g`` and heuristic ``h``. Logging stops once the
goal is closed; the plan is then read back through the parent pointers.

Tie-breaking among equal ``f = g + h`` (the paper's two variants):

- **deterministic**: the node with the smaller state key wins; for mazes the key is
  ``row + 100000 * col`` (the reference implementation's hash ``x + 100000 y``), so every run
  of the same task gives the same trace;
- **non-deterministic**: children are expanded in a shuffled order and ties are broken by a
  random number drawn at push time, so repeated runs give different (equally optimal) traces.

Stale frontier entries (a node pushed again with a smaller ``g``) are skipped when popped, and
closed nodes are never reopened (the heuristics used here are consistent).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Literal, Sequence

import numpy as np

from sciformers.planning.maze import in_bounds, manhattan, neighbours

INF = float("inf")


@dataclass(frozen=True)
class TraceStep:
    """One logged A* event: ``kind`` is ``create`` or ``close``; ``state`` the node; ``g``, ``h`` its costs."""

    kind: Literal["create", "close"]
    state: Any
    g: int
    h: int


@dataclass
class AStarResult:
    """What :func:`astar_search` returns.

    Attributes:
        plan: states from start to goal inclusive (cells ``(row, col)`` for mazes); empty if
            the goal is unreachable.
        trace: the logged :class:`TraceStep` events.
        expanded: number of closed nodes.
    """

    plan: list[Any]
    trace: list[TraceStep] = field(default_factory=list)
    expanded: int = 0

    @property
    def solved(self) -> bool:
        return bool(self.plan)

    @property
    def cost(self) -> int:
        """Number of moves of the plan (``len(plan) - 1``)."""
        return len(self.plan) - 1


def astar_search(
    start: Hashable,
    is_goal: Callable[[Any], bool],
    successors: Callable[[Any], Iterable[Any]],
    heuristic: Callable[[Any], float],
    tie_key: Callable[[Any], Any],
    deterministic: bool = True,
    rng: np.random.Generator | None = None,
    max_expansions: int | None = None,
) -> AStarResult:
    """Generic unit-cost A* with Searchformer trace logging.

    Args:
        start: the start state (hashable).
        is_goal: goal test.
        successors: states one unit-cost step away, in a fixed order.
        heuristic: admissible, consistent estimate of the remaining cost; ``inf`` prunes the
            node (Sokoban dead states): it is neither created nor logged.
        tie_key: comparable key that breaks ties among equal ``f`` in deterministic mode.
        deterministic: the paper's deterministic variant; else shuffled children and random ties.
        rng: random generator for the non-deterministic variant (default: a fresh unseeded one).
        max_expansions: give up (empty plan) after this many closes.

    Returns:
        :class:`AStarResult`; ``plan`` is empty when the goal cannot be reached.
    """
    if not deterministic and rng is None:
        rng = np.random.default_rng()
    h0 = heuristic(start)
    if h0 == INF:
        return AStarResult(plan=[])
    trace: list[TraceStep] = [TraceStep("create", start, 0, int(h0))]
    g: dict[Any, int] = {start: 0}
    h: dict[Any, int] = {start: int(h0)}
    parent: dict[Any, Any] = {start: None}
    closed: set[Any] = set()
    counter = 0  # a strictly increasing push index keeps heap entries comparable

    def tie(state: Any) -> Any:
        return tie_key(state) if deterministic else float(rng.random())  # type: ignore[union-attr]

    frontier: list[tuple[int, Any, int, Any]] = [(int(h0), tie(start), counter, start)]
    while frontier:
        f, _, _, state = heapq.heappop(frontier)
        if state in closed or f != g[state] + h[state]:
            continue  # stale entry: the node was pushed again with a smaller g
        closed.add(state)
        trace.append(TraceStep("close", state, g[state], h[state]))
        if is_goal(state):
            plan = [state]
            while parent[plan[-1]] is not None:
                plan.append(parent[plan[-1]])
            return AStarResult(plan=plan[::-1], trace=trace, expanded=len(closed))
        if max_expansions is not None and len(closed) >= max_expansions:
            break
        children = list(successors(state))
        if not deterministic:
            rng.shuffle(children)  # type: ignore[union-attr]
        for child in children:
            if child in closed:
                continue
            g_child = g[state] + 1
            if child in g and g[child] <= g_child:
                continue
            h_child = h[child] if child in h else heuristic(child)
            if h_child == INF:
                continue
            g[child], h[child], parent[child] = g_child, int(h_child), state
            trace.append(TraceStep("create", child, g_child, int(h_child)))
            counter += 1
            heapq.heappush(frontier, (g_child + int(h_child), tie(child), counter, child))
    return AStarResult(plan=[], trace=trace, expanded=len(closed))


def astar(walls: np.ndarray, start: Sequence[int], goal: Sequence[int], deterministic: bool = True,
          rng: np.random.Generator | None = None) -> AStarResult:
    """A* on a grid maze with the Manhattan heuristic (4 moves, unit cost).

    Args:
        walls: ``(H, W)`` boolean array, True on walls.
        start: ``(row, col)``.
        goal: ``(row, col)``.
        deterministic: deterministic tie-breaking (``row + 100000 * col``) or random.
        rng: random generator for the non-deterministic variant.

    Returns:
        :class:`AStarResult` whose ``plan`` lists ``(row, col)`` cells from start to goal inclusive.

    Raises:
        ValueError: if ``walls`` is not a 2-D boolean array or start/goal are off the grid or walls.
    """
    walls = np.asarray(walls)
    if walls.ndim != 2 or walls.dtype != bool:
        raise ValueError(f"astar: walls must be a 2-D boolean array, got {walls.dtype} of shape {walls.shape}")
    s, t = (int(start[0]), int(start[1])), (int(goal[0]), int(goal[1]))
    for name, cell in (("start", s), ("goal", t)):
        if not in_bounds(walls, cell) or walls[cell]:
            raise ValueError(f"astar: {name} {cell} is off the grid or on a wall")
    return astar_search(
        s, lambda c: c == t, lambda c: neighbours(walls, c), lambda c: manhattan(c, t),
        tie_key=lambda c: c[0] + 100000 * c[1], deterministic=deterministic, rng=rng,
    )
