"""Grid mazes as in Searchformer (Lehnert et al. 2024, https://arxiv.org/abs/2402.14083, sec. 3.1).

A maze is a boolean wall grid with a start and a goal cell; the agent moves one cell up, down,
left or right. The generator follows the paper: 30-50% of the cells are walls, start and goal
are drawn uniformly over the free cells, and a task is kept only when its optimal plan visits
at least ``max(height, width)`` cells. Each layout gets up to ``attempts`` start/goal draws.

Text format (one row per line): ``#`` wall, ``.`` free, ``S`` start, ``G`` goal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

Cell = tuple[int, int]
# up, down, left, right: the order children are expanded in (actions 0..3 of the env)
MOVES: tuple[Cell, ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))


@dataclass(frozen=True)
class Maze:
    """One maze task.

    Args:
        walls: ``(H, W)`` boolean array, True on walls.
        start: ``(row, col)`` of the start cell.
        goal: ``(row, col)`` of the goal cell.
    """

    walls: np.ndarray
    start: Cell
    goal: Cell

    def __post_init__(self) -> None:
        walls = np.asarray(self.walls)
        if walls.ndim != 2 or walls.dtype != bool:
            raise ValueError(f"Maze.walls must be a 2-D boolean array, got {walls.dtype} of shape {walls.shape}")
        for name, cell in (("start", self.start), ("goal", self.goal)):
            if not in_bounds(walls, cell):
                raise ValueError(f"Maze.{name} {cell} is outside the {walls.shape[0]}x{walls.shape[1]} grid")
            if walls[cell]:
                raise ValueError(f"Maze.{name} {cell} is a wall")

    @property
    def shape(self) -> tuple[int, int]:
        return self.walls.shape  # type: ignore[return-value]


def in_bounds(walls: np.ndarray, cell: Cell) -> bool:
    """Whether ``cell`` lies on the grid."""
    return 0 <= cell[0] < walls.shape[0] and 0 <= cell[1] < walls.shape[1]


def neighbours(walls: np.ndarray, cell: Cell) -> list[Cell]:
    """Free cells one move away from ``cell``, in :data:`MOVES` order."""
    out = []
    for dr, dc in MOVES:
        nxt = (cell[0] + dr, cell[1] + dc)
        if in_bounds(walls, nxt) and not walls[nxt]:
            out.append(nxt)
    return out


def manhattan(a: Cell, b: Cell) -> int:
    """The A* heuristic for mazes: ``|r_a - r_b| + |c_a - c_b|``."""
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def layout_hash(walls: np.ndarray) -> str:
    """A stable hash of a wall layout (shape and cells); splits are made by it."""
    walls = np.asarray(walls, dtype=bool)
    return hashlib.sha1(f"{walls.shape}".encode() + np.packbits(walls).tobytes()).hexdigest()


def parse_maze(text: str, where: str = "maze") -> Maze:
    """Read the text format (``#`` wall, ``.`` free, ``S`` start, ``G`` goal).

    Raises:
        ValueError: naming the line and column of an unknown character, ragged rows, or a
            missing or repeated start or goal.
    """
    rows = [line.rstrip("\n") for line in text.strip("\n").splitlines()]
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise ValueError(f"{where}: rows must be non-empty and of equal length, got lengths {[len(r) for r in rows]}")
    walls = np.zeros((len(rows), len(rows[0])), dtype=bool)
    found: dict[str, list[Cell]] = {"S": [], "G": []}
    for i, row in enumerate(rows):
        for j, ch in enumerate(row):
            if ch == "#":
                walls[i, j] = True
            elif ch in found:
                found[ch].append((i, j))
            elif ch != ".":
                raise ValueError(f"{where}: line {i + 1}, column {j + 1}: unknown character {ch!r}; "
                                 "expected '#' (wall), '.' (free), 'S' (start) or 'G' (goal)")
    for ch, name in (("S", "start"), ("G", "goal")):
        if len(found[ch]) != 1:
            raise ValueError(f"{where}: expected exactly one {ch!r} ({name}), found {len(found[ch])}")
    return Maze(walls, found["S"][0], found["G"][0])


def format_maze(maze: Maze) -> str:
    """The text format of ``maze`` (inverse of :func:`parse_maze`)."""
    grid = np.where(maze.walls, "#", ".").astype(object)
    grid[maze.start], grid[maze.goal] = "S", "G"
    return "\n".join("".join(row) for row in grid)


def bfs_distances(walls: np.ndarray, source: Cell) -> np.ndarray:
    """Shortest move counts from ``source`` to every cell (-1 where unreachable)."""
    dist = np.full(walls.shape, -1, dtype=np.int64)
    dist[source] = 0
    frontier = [source]
    while frontier:
        nxt = []
        for cell in frontier:
            for n in neighbours(walls, cell):
                if dist[n] < 0:
                    dist[n] = dist[cell] + 1
                    nxt.append(n)
        frontier = nxt
    return dist


def random_layout(rng: np.random.Generator, height: int, width: int,
                  wall_fraction: tuple[float, float] = (0.3, 0.5)) -> np.ndarray:
    """A wall layout with a fraction of walls drawn uniformly from ``wall_fraction``."""
    n = height * width
    n_walls = int(round(rng.uniform(*wall_fraction) * n))
    walls = np.zeros(n, dtype=bool)
    walls[rng.choice(n, size=n_walls, replace=False)] = True
    return walls.reshape(height, width)


def sample_task(rng: np.random.Generator, walls: np.ndarray, attempts: int = 100,
                min_plan: int | None = None) -> Maze | None:
    """Draw start and goal uniformly over free cells until the plan has ``min_plan`` cells.

    Args:
        rng: random generator.
        walls: the layout.
        attempts: start/goal draws before giving up on the layout (paper: 100).
        min_plan: shortest accepted plan in cells, start and goal included (paper: ``max(H, W)``).

    Returns:
        A :class:`Maze`, or ``None`` when no draw qualified.
    """
    free = np.argwhere(~walls)
    if len(free) < 2:
        return None
    min_plan = max(walls.shape) if min_plan is None else min_plan
    for _ in range(attempts):
        i, j = rng.choice(len(free), size=2, replace=False)
        start, goal = tuple(int(v) for v in free[i]), tuple(int(v) for v in free[j])
        d = bfs_distances(walls, start)[goal]
        if d >= 0 and d + 1 >= min_plan:
            return Maze(walls, start, goal)  # type: ignore[arg-type]
    return None


def generate_mazes(n: int, size: int, seed: int, attempts: int = 100,
                   wall_fraction: tuple[float, float] = (0.3, 0.5)) -> list[Maze]:
    """``n`` maze tasks on ``size x size`` grids, one task per distinct layout, seeded.

    Layouts are drawn until ``n`` tasks were kept; a repeated layout is skipped so that no
    layout appears twice (the split by layout hash then keeps train and test disjoint).
    """
    rng = np.random.default_rng(seed)
    out: list[Maze] = []
    seen: set[str] = set()
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 1000 * max(n, 1):
            raise RuntimeError(f"generate_mazes: could not find {n} distinct {size}x{size} mazes")
        walls = random_layout(rng, size, size, wall_fraction)
        key = layout_hash(walls)
        if key in seen:
            continue
        task = sample_task(rng, walls, attempts)
        if task is not None:
            seen.add(key)
            out.append(task)
    return out
