"""sciformers.planning: Searchformer (Lehnert et al. 2024) on mazes and Sokoban as gymnasium environments.

>>> from sciformers.planning import astar, generate_mazes, MazeEnv
>>> maze = generate_mazes(1, size=10, seed=0)[0]
>>> result = astar(maze.walls, maze.start, maze.goal)   # .plan cells, .trace create/close events
"""

try:
    import gymnasium  # noqa: F401
except ImportError as err:  # pragma: no cover
    raise ImportError("sciformers.planning needs gymnasium and networkx: pip install 'sciformers[planning]'") from err

from sciformers.planning.astar import AStarResult, TraceStep, astar, astar_search
from sciformers.planning.maze import Maze, format_maze, generate_mazes, layout_hash, parse_maze
from sciformers.planning.sokoban import (
    SokobanLevel,
    SokobanState,
    astar_sokoban,
    bfs_solve,
    format_level,
    generate_levels,
    is_dead,
    parse_level,
)
from sciformers.planning.envs import MazeEnv, SokobanEnv, register_envs
from sciformers.planning.tokenizer import Tokenizer, parse_response, response
from sciformers.planning.evaluate import check_maze_plan, check_sokoban_plan, ilr, swc
from sciformers.planning.model import Searchformer
from sciformers.planning.peers import AStarPlanner, RandomValidPlanner
from sciformers.planning.decoding import CachedDecoder, generate
from sciformers.planning.data import PlanningData, load_splits

register_envs()

#: The harness side (the metrics' directions, the tasks, the datasets and the predictor), imported
#: on demand by ``sciformers.evaluation``: importing this package loads no harness.
TASK_MODULES = ("sciformers.planning.metrics", "sciformers.planning.task", "sciformers.planning.predict")
