"""Sokoban rules, levels, A* with dead-state pruning, and the level generator of Searchformer.

Lehnert et al. 2024 (https://arxiv.org/abs/2402.14083, sec. 3.1 and App. A): the worker moves
one cell up, down, left or right at unit cost; walking into a box pushes it one cell further
when that cell is neither a wall nor another box (boxes are never pulled). The level is solved
when every box stands on a dock. A* uses the heuristic

    h(s) = sum over boxes b of min over docks d of |b - d|_1,

and a state in which a box off a dock cannot move along either axis (a wall above or below it
*and* a wall left or right of it, i.e. a wall corner) is a dead state with ``h = inf``: it is
pruned and never logged. Deviation from the paper's notes: the minimum runs over *all* docks,
not only unoccupied ones; that keeps ``h`` admissible and consistent (each step moves at most
one box by one cell), so A* plans are provably optimal and can be checked against BFS.

Text levels use the Boxoban characters: ``#`` wall, `` `` floor, ``@`` worker, ``+`` worker on a
dock, ``$`` box, ``*`` box on a dock, ``.`` dock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from sciformers.planning.astar import INF, AStarResult, astar_search
from sciformers.planning.maze import MOVES, Cell, in_bounds


@dataclass(frozen=True)
class SokobanState:
    """A search state: the worker's cell and the sorted box cells."""

    worker: Cell
    boxes: tuple[Cell, ...]


@dataclass(frozen=True)
class SokobanLevel:
    """A level: static walls and docks, and the initial state.

    Args:
        walls: ``(H, W)`` boolean array, True on walls.
        docks: dock cells (as many as boxes).
        state: the initial :class:`SokobanState`.
    """

    walls: np.ndarray
    docks: tuple[Cell, ...]
    state: SokobanState

    @property
    def shape(self) -> tuple[int, int]:
        return self.walls.shape  # type: ignore[return-value]


def make_state(worker: Cell, boxes: list[Cell] | tuple[Cell, ...]) -> SokobanState:
    """A state with the boxes sorted (so equal configurations compare and hash equal)."""
    return SokobanState(tuple(worker), tuple(sorted(tuple(b) for b in boxes)))  # type: ignore[arg-type]


def _free(walls: np.ndarray, cell: Cell) -> bool:
    return in_bounds(walls, cell) and not walls[cell]


def step(walls: np.ndarray, state: SokobanState, move: Cell) -> SokobanState | None:
    """The state after the worker tries ``move`` (a unit vector); ``None`` if the move is blocked.

    A move into a wall, off the grid, or into a box whose far side is a wall, a box or off the
    grid is blocked; otherwise a box in the way is pushed one cell along ``move``.
    """
    target = (state.worker[0] + move[0], state.worker[1] + move[1])
    if not _free(walls, target):
        return None
    if target not in state.boxes:
        return SokobanState(target, state.boxes)
    beyond = (target[0] + move[0], target[1] + move[1])
    if not _free(walls, beyond) or beyond in state.boxes:
        return None
    return make_state(target, [beyond if b == target else b for b in state.boxes])


def successors(walls: np.ndarray, state: SokobanState) -> list[SokobanState]:
    """States one legal move away, in :data:`~sciformers.planning.maze.MOVES` order."""
    return [s for m in MOVES if (s := step(walls, state, m)) is not None]


def is_solved(docks: tuple[Cell, ...], state: SokobanState) -> bool:
    """Every box stands on a dock."""
    return set(state.boxes) == set(docks)


def is_dead_box(walls: np.ndarray, docks: tuple[Cell, ...], box: Cell) -> bool:
    """A box off a dock that cannot move on either axis (a wall corner): the level is lost."""
    if box in docks:
        return False
    r, c = box
    blocked_v = not _free(walls, (r - 1, c)) or not _free(walls, (r + 1, c))
    blocked_h = not _free(walls, (r, c - 1)) or not _free(walls, (r, c + 1))
    return blocked_v and blocked_h


def is_dead(walls: np.ndarray, docks: tuple[Cell, ...], state: SokobanState) -> bool:
    """Whether any box is in a dead position (:func:`is_dead_box`)."""
    return any(is_dead_box(walls, docks, b) for b in state.boxes)


def heuristic(walls: np.ndarray, docks: tuple[Cell, ...], state: SokobanState) -> float:
    """Sum of each box's Manhattan distance to its nearest dock; ``inf`` in dead states."""
    if is_dead(walls, docks, state):
        return INF
    return float(sum(min(abs(b[0] - d[0]) + abs(b[1] - d[1]) for d in docks) for b in state.boxes))


def state_key(state: SokobanState, width: int = 100000) -> tuple[int, ...]:
    """Deterministic tie-break key: the maze hash ``row + 100000 col`` of worker then boxes."""
    return tuple(r + width * c for r, c in (state.worker, *state.boxes))


def astar_sokoban(level: SokobanLevel, deterministic: bool = False, rng: np.random.Generator | None = None,
                  max_expansions: int | None = 200_000) -> AStarResult:
    """A* over Sokoban states; ``plan`` lists :class:`SokobanState` from start to solution.

    The paper trains Sokoban models on non-deterministic traces only, hence the default.
    """
    walls, docks = level.walls, level.docks
    return astar_search(
        level.state, lambda s: is_solved(docks, s), lambda s: successors(walls, s),
        lambda s: heuristic(walls, docks, s), tie_key=state_key, deterministic=deterministic, rng=rng,
        max_expansions=max_expansions,
    )


def bfs_solve(level: SokobanLevel, max_states: int = 500_000) -> int | None:
    """Length (moves) of a shortest solution by breadth-first search without pruning; ``None`` if none."""
    start = level.state
    seen = {start}
    queue: deque[tuple[SokobanState, int]] = deque([(start, 0)])
    while queue:
        state, d = queue.popleft()
        if is_solved(level.docks, state):
            return d
        for nxt in successors(level.walls, state):
            if nxt not in seen:
                if len(seen) >= max_states:
                    raise RuntimeError(f"bfs_solve: more than {max_states} states")
                seen.add(nxt)
                queue.append((nxt, d + 1))
    return None


# -- text levels ------------------------------------------------------------------------------

_CHARS = {"#": "wall", " ": "floor", "-": "floor", "_": "floor", "@": "worker", "+": "worker+dock",
          "$": "box", "*": "box+dock", ".": "dock"}


def parse_level(text: str, where: str = "level", check_solvable: bool = False) -> SokobanLevel:
    """Read a Boxoban-style level.

    Args:
        text: rows of ``# @+$*.`` characters (``-`` and ``_`` also read as floor); rows shorter
            than the longest are padded with floor.
        where: name used in error messages (a file name, ``level 3`` ...).
        check_solvable: also run A* and refuse unsolvable levels.

    Raises:
        ValueError: naming the line and column of an unknown character, a missing or repeated
            worker, box and dock counts that differ, or (with ``check_solvable``) no solution.
    """
    rows = [r for r in text.strip("\n").splitlines() if not r.startswith(";")]
    if not rows:
        raise ValueError(f"{where}: empty level")
    width = max(len(r) for r in rows)
    walls = np.zeros((len(rows), width), dtype=bool)
    workers, boxes, docks = [], [], []
    for i, row in enumerate(rows):
        for j, ch in enumerate(row.ljust(width)):
            if ch not in _CHARS:
                raise ValueError(f"{where}: line {i + 1}, column {j + 1}: unknown character {ch!r}; "
                                 "expected one of '#', ' ', '@', '+', '$', '*', '.'")
            walls[i, j] = ch == "#"
            if ch in "@+":
                workers.append((i, j))
            if ch in "$*":
                boxes.append((i, j))
            if ch in ".+*":
                docks.append((i, j))
    if len(workers) != 1:
        raise ValueError(f"{where}: expected exactly one worker ('@' or '+'), found {len(workers)}")
    if not boxes or len(boxes) != len(docks):
        raise ValueError(f"{where}: expected as many boxes ('$', '*') as docks ('.', '*', '+') and at least one; "
                         f"found {len(boxes)} boxes and {len(docks)} docks")
    level = SokobanLevel(walls, tuple(sorted(docks)), make_state(workers[0], boxes))
    if check_solvable and not astar_sokoban(level, deterministic=True).solved:
        raise ValueError(f"{where}: the level has no solution")
    return level


def format_level(level: SokobanLevel, state: SokobanState | None = None) -> str:
    """The Boxoban text of ``level`` (in ``state``, default the initial one)."""
    state = state or level.state
    grid = np.where(level.walls, "#", " ").astype(object)
    for d in level.docks:
        grid[d] = "."
    for b in state.boxes:
        grid[b] = "*" if b in level.docks else "$"
    grid[state.worker] = "+" if state.worker in level.docks else "@"
    return "\n".join("".join(row) for row in grid)


# -- generator --------------------------------------------------------------------------------

def random_level(rng: np.random.Generator, size: int = 7, n_boxes: int = 2, n_walls: int = 2,
                 box_margin: int = 2) -> SokobanLevel:
    """A ``size x size`` room (border included) with ``n_walls`` interior walls, boxes at least
    ``box_margin`` cells from the border, docks and worker on the remaining free cells (paper's
    7x7, 2 boxes, 2 walls by default). Boxes never start on docks. Solvability is not checked."""
    interior = [(r, c) for r in range(1, size - 1) for c in range(1, size - 1)]
    box_cells = [(r, c) for r, c in interior if min(r, c, size - 1 - r, size - 1 - c) >= box_margin]
    if len(box_cells) < n_boxes or len(interior) < 2 * n_boxes + n_walls + 1:
        raise ValueError(f"random_level: a {size}x{size} room cannot hold {n_boxes} boxes {box_margin} cells "
                         f"from the border and {n_walls} walls")
    walls = np.ones((size, size), dtype=bool)
    walls[1:-1, 1:-1] = False
    boxes = [box_cells[i] for i in rng.choice(len(box_cells), n_boxes, replace=False)]
    rest = [c for c in interior if c not in boxes]
    picks = [rest[i] for i in rng.choice(len(rest), n_walls + n_boxes + 1, replace=False)]
    for w in picks[:n_walls]:
        walls[w] = True
    docks, worker = picks[n_walls:n_walls + n_boxes], picks[-1]
    return SokobanLevel(walls, tuple(sorted(docks)), make_state(worker, boxes))


def generate_levels(n: int, seed: int, size: int = 7, n_boxes: int = 2, n_walls: int = 2,
                    box_margin: int = 2) -> list[SokobanLevel]:
    """``n`` distinct solvable levels (A*-checked), seeded; dead starts are redrawn."""
    rng = np.random.default_rng(seed)
    out: list[SokobanLevel] = []
    seen: set[str] = set()
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 1000 * max(n, 1):
            raise RuntimeError(f"generate_levels: could not find {n} distinct solvable levels")
        level = random_level(rng, size, n_boxes, n_walls, box_margin)
        text = format_level(level)
        if text in seen or is_dead(level.walls, level.docks, level.state):
            continue
        if astar_sokoban(level, deterministic=True).solved:
            seen.add(text)
            out.append(level)
    return out
