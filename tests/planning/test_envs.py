"""Gymnasium environments: check_env, dynamics, rendering, registration, plan checking by execution."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from sciformers.planning import MazeEnv, SokobanEnv, astar, astar_sokoban, parse_level, parse_maze
from sciformers.planning.evaluate import check_maze_plan, check_sokoban_plan

MAZE = parse_maze("S#G\n.#.\n...")


@pytest.mark.parametrize("make", [lambda: MazeEnv(size=6), lambda: MazeEnv(MAZE),
                                  lambda: SokobanEnv(size=6, n_boxes=1, n_walls=1), lambda: SokobanEnv("#####\n#@$.#\n#####")])
def test_check_env_passes(make):
    check_env(make(), skip_render_check=True)


def test_registered_and_rendering():
    env = gym.make("sciformers/Maze-v0", size=6, render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    img = env.render()
    assert img.shape == (6 * 16, 6 * 16, 3) and img.dtype == np.uint8
    env = gym.make("sciformers/Sokoban-v0", size=6, n_boxes=1, n_walls=1, render_mode="rgb_array", cell=8)
    env.reset(seed=1)
    assert env.render().shape == (48, 48, 3)
    # generated tasks are reproducible from the reset seed
    a, b = MazeEnv(size=6), MazeEnv(size=6)
    assert (a.reset(seed=5)[0] == b.reset(seed=5)[0]).all()


def test_maze_dynamics():
    env = MazeEnv(MAZE)
    obs, info = env.reset()
    assert obs[0, 0] == 3 and obs[0, 2] == 2 and obs[0, 1] == 1
    _, r, term, trunc, info = env.step(3)  # right: a wall, stays
    assert info["agent"] == (0, 0) and r == -1.0 and not term
    for a in (1, 1, 3, 3, 0):
        _, _, term, _, info = env.step(a)
    assert info["agent"] == (1, 2) and not term
    _, _, term, _, _ = env.step(0)
    assert term
    obs, _ = env.reset(options={"maze": "S..\n.#.\n..G"})
    assert obs[1, 1] == 1


def test_sokoban_dynamics_rewards_and_dead_end():
    env = SokobanEnv("#####\n#@$.#\n#####")
    env.reset()
    _, r, term, _, info = env.step(3)
    assert term and np.isclose(r, -0.1 + 1 + 10) and info["boxes"] == ((1, 3),)
    env = SokobanEnv("######\n#    #\n# $. #\n#  @ #\n######")
    env.reset()
    env.step(2)  # worker (3,3) -> (3,2)
    _, _, term, _, info = env.step(0)  # pushes the box (2,2) -> (1,2): a wall above only, still movable
    assert info["boxes"] == ((1, 2),) and not info["dead"] and not term
    env.step(3)  # worker (2,2) -> (2,3)
    env.step(0)  # -> (1,3)
    _, _, term, _, info = env.step(2)  # pushes the box (1,2) -> (1,1): a wall corner
    assert info["boxes"] == ((1, 1),) and info["dead"] and term


def test_plan_checker_rejects_bad_plans():
    good = astar(MAZE.walls, MAZE.start, MAZE.goal).plan
    assert check_maze_plan(MAZE, good).correct
    through_wall = [(0, 0), (0, 1), (0, 2)]
    assert "wall" in check_maze_plan(MAZE, through_wall).reason
    off_grid = [(0, 0), (-1, 0), (0, 0)]
    assert "off the grid" in check_maze_plan(MAZE, off_grid).reason
    short = good[:-1]
    assert "not at the goal" in check_maze_plan(MAZE, short).reason
    jump = [(0, 0), (2, 0)]
    assert "not a unit move" in check_maze_plan(MAZE, jump).reason
    assert "not at the start" in check_maze_plan(MAZE, good[1:]).reason
    assert not check_maze_plan(MAZE, []).correct
    detour = good[:2] + [good[0]] + good[1:]  # correct but not shortest
    assert check_maze_plan(MAZE, detour).correct


def test_sokoban_plan_checker():
    level = parse_level("######\n#    #\n# $. #\n#  @ #\n######")
    plan = [s.worker for s in astar_sokoban(level, deterministic=True).plan]
    assert check_sokoban_plan(level, plan).correct
    assert "not all on docks" in check_sokoban_plan(level, plan[:-1]).reason
    assert "wall" in check_sokoban_plan(level, [(3, 3), (4, 3)]).reason
