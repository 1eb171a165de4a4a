"""Gymnasium environments for the Searchformer tasks: ``MazeEnv`` and ``SokobanEnv``.

Both are grid worlds with four actions (0 up, 1 down, 2 left, 3 right, as
:data:`~sciformers.planning.maze.MOVES`), a ``(H, W)`` ``uint8`` observation of cell codes, and
``render()`` returning an ``(H * cell, W * cell, 3)`` RGB array drawn with NumPy. A task is fixed
at construction (``maze=`` / ``level=``) or drawn from the seeded generator at every ``reset``;
``reset(options={"maze": ...})`` / ``options={"level": ...}`` swaps it (a :class:`Maze`, a
:class:`SokobanLevel` or their text). Registered as ``sciformers/Maze-v0`` and
``sciformers/Sokoban-v0``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sciformers.planning.maze import MOVES, Maze, format_maze, generate_mazes, in_bounds, parse_maze
from sciformers.planning.sokoban import (
    SokobanLevel,
    format_level,
    generate_levels,
    is_dead,
    is_solved,
    parse_level,
    step,
)

# RGB colours per cell code
_MAZE_COLOURS = np.array([[235, 235, 235], [40, 40, 40], [60, 170, 75], [220, 60, 50]], dtype=np.uint8)
_SOKOBAN_COLOURS = np.array([[235, 235, 235], [40, 40, 40], [240, 200, 60], [150, 95, 40], [60, 170, 75],
                             [220, 60, 50], [220, 120, 50]], dtype=np.uint8)


def draw_grid(codes: np.ndarray, colours: np.ndarray, cell: int) -> np.ndarray:
    """Upscale a grid of colour codes to an RGB image with a one-pixel grey grid line."""
    img = colours[codes].repeat(cell, axis=0).repeat(cell, axis=1)
    img[::cell, :, :] = 180
    img[:, ::cell, :] = 180
    return img


class MazeEnv(gym.Env):
    """Navigate a grid maze from start to goal.

    Observation codes: 0 free, 1 wall, 2 goal, 3 agent. Reward ``-1`` per step (so the return is
    minus the plan cost) and the episode terminates on the goal; a move into a wall or off the
    grid leaves the agent in place.

    Args:
        maze: a fixed task (:class:`Maze` or its text); ``None`` draws one per reset.
        size: grid size of generated mazes.
        max_steps: truncation length (default ``4 * H * W``).
        render_mode: ``"rgb_array"`` or ``None``.
        cell: pixels per cell in renders.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, maze: Maze | str | None = None, size: int = 10, max_steps: int | None = None,
                 render_mode: str | None = None, cell: int = 16) -> None:
        self._fixed = parse_maze(maze) if isinstance(maze, str) else maze
        shape = self._fixed.shape if self._fixed is not None else (size, size)
        self.size, self.cell, self.render_mode = size, cell, render_mode
        self.max_steps = max_steps or 4 * shape[0] * shape[1]
        self.observation_space = spaces.Box(0, 3, shape=shape, dtype=np.uint8)
        self.action_space = spaces.Discrete(4)
        self.maze: Maze = self._fixed  # type: ignore[assignment]
        self.agent = self._fixed.start if self._fixed is not None else (0, 0)
        self.steps = 0

    def _obs(self) -> np.ndarray:
        grid = self.maze.walls.astype(np.uint8)
        grid[self.maze.goal] = 2
        grid[self.agent] = 3
        return grid

    def _info(self) -> dict[str, Any]:
        return {"agent": self.agent, "goal": self.maze.goal, "text": format_maze(self.maze)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        task = (options or {}).get("maze")
        if task is not None:
            task = parse_maze(task) if isinstance(task, str) else task
            if task.shape != self.observation_space.shape:
                raise ValueError(f"MazeEnv.reset: maze shape {task.shape} != {self.observation_space.shape}")
            self.maze = task
        elif self._fixed is None:
            self.maze = generate_mazes(1, self.size, int(self.np_random.integers(2**31)))[0]
        self.agent, self.steps = self.maze.start, 0
        return self._obs(), self._info()

    def step(self, action: int):
        if not self.action_space.contains(action):
            raise ValueError(f"MazeEnv.step: action must be 0..3, got {action!r}")
        dr, dc = MOVES[int(action)]
        nxt = (self.agent[0] + dr, self.agent[1] + dc)
        if in_bounds(self.maze.walls, nxt) and not self.maze.walls[nxt]:
            self.agent = nxt
        self.steps += 1
        terminated = self.agent == self.maze.goal
        return self._obs(), -1.0, terminated, self.steps >= self.max_steps and not terminated, self._info()

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return draw_grid(self._obs(), _MAZE_COLOURS, self.cell)


class SokobanEnv(gym.Env):
    """Push every box onto a dock.

    Observation codes: 0 floor, 1 wall, 2 dock, 3 box, 4 box on dock, 5 worker, 6 worker on dock.
    Rewards follow Boxoban: ``-0.1`` per step, ``+1`` / ``-1`` for a box pushed onto / off a dock,
    ``+10`` when solved. The episode terminates when solved or in a dead state (a box in a wall
    corner off a dock, ``info["dead"]``); blocked moves leave the state unchanged.

    Args:
        level: a fixed level (:class:`SokobanLevel` or Boxoban text); ``None`` draws one per reset.
        size: room size of generated levels (border included).
        n_boxes: boxes in generated levels.
        n_walls: interior walls in generated levels.
        max_steps: truncation length (default 120).
        render_mode: ``"rgb_array"`` or ``None``.
        cell: pixels per cell in renders.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, level: SokobanLevel | str | None = None, size: int = 7, n_boxes: int = 2, n_walls: int = 2,
                 max_steps: int = 120, render_mode: str | None = None, cell: int = 16) -> None:
        self._fixed = parse_level(level) if isinstance(level, str) else level
        shape = self._fixed.shape if self._fixed is not None else (size, size)
        self.size, self.n_boxes, self.n_walls = size, n_boxes, n_walls
        self.max_steps, self.cell, self.render_mode = max_steps, cell, render_mode
        self.observation_space = spaces.Box(0, 6, shape=shape, dtype=np.uint8)
        self.action_space = spaces.Discrete(4)
        self.level: SokobanLevel = self._fixed  # type: ignore[assignment]
        self.state = self._fixed.state if self._fixed is not None else None
        self.steps = 0

    def _obs(self) -> np.ndarray:
        grid = self.level.walls.astype(np.uint8)
        for d in self.level.docks:
            grid[d] = 2
        for b in self.state.boxes:
            grid[b] = 4 if b in self.level.docks else 3
        w = self.state.worker
        grid[w] = 6 if w in self.level.docks else 5
        return grid

    def _info(self) -> dict[str, Any]:
        return {"worker": self.state.worker, "boxes": self.state.boxes,
                "dead": is_dead(self.level.walls, self.level.docks, self.state),
                "text": format_level(self.level, self.state)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        task = (options or {}).get("level")
        if task is not None:
            task = parse_level(task) if isinstance(task, str) else task
            if task.shape != self.observation_space.shape:
                raise ValueError(f"SokobanEnv.reset: level shape {task.shape} != {self.observation_space.shape}")
            self.level = task
        elif self._fixed is None:
            self.level = generate_levels(1, int(self.np_random.integers(2**31)), self.size, self.n_boxes,
                                         self.n_walls)[0]
        self.state, self.steps = self.level.state, 0
        return self._obs(), self._info()

    def step(self, action: int):
        if not self.action_space.contains(action):
            raise ValueError(f"SokobanEnv.step: action must be 0..3, got {action!r}")
        before = sum(b in self.level.docks for b in self.state.boxes)
        nxt = step(self.level.walls, self.state, MOVES[int(action)])
        if nxt is not None:
            self.state = nxt
        self.steps += 1
        placed = sum(b in self.level.docks for b in self.state.boxes)
        solved = is_solved(self.level.docks, self.state)
        reward = -0.1 + (placed - before) + (10.0 if solved else 0.0)
        terminated = solved or is_dead(self.level.walls, self.level.docks, self.state)
        return self._obs(), reward, terminated, self.steps >= self.max_steps and not terminated, self._info()

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return draw_grid(self._obs(), _SOKOBAN_COLOURS, self.cell)


def register_envs() -> None:
    """Register ``sciformers/Maze-v0`` and ``sciformers/Sokoban-v0`` with gymnasium (idempotent)."""
    for env_id, entry in (("sciformers/Maze-v0", "sciformers.planning.envs:MazeEnv"),
                          ("sciformers/Sokoban-v0", "sciformers.planning.envs:SokobanEnv")):
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry)
