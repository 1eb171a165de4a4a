"""The non-learned planners of the benchmark as registry estimators: A* itself and a random walk.

Both answer every test task with decoder words, as a Searchformer does, so one scoring path
serves all planners. ``astar`` replays the A* response stored with each task (trace + plan: the
optimum and the trace-length reference); ``random_valid`` is the trivial baseline, a walk over
the moves that change the state.
"""

from __future__ import annotations

from sciformers.core import register_model
from sciformers.planning.data import Kind, PlanningExample
from sciformers.planning.scoring import astar_responses, random_responses
from sciformers.planning.tokenizer import Tokenizer


@register_model("astar", kind="estimator", test_kwargs={"size": 5, "max_cost": 25})
class AStarPlanner:
    """A*'s own responses (the training-style trace + plan) for every task.

    Args:
        size: grid or room side of the tasks (the tokenizer's coordinates).
        max_cost: largest ``g``/``h`` value the tokenizer writes.
    """

    with_trace = True

    def __init__(self, size: int, max_cost: int) -> None:
        self.tokenizer = Tokenizer(size, max_cost)

    def fit(self, train: list[PlanningExample]) -> AStarPlanner:
        """Nothing to learn: A* searches each task."""
        return self

    def predict(self, examples: list[PlanningExample]) -> list[list[str]]:
        return astar_responses(examples, self.tokenizer)


@register_model("random_valid", kind="estimator", test_kwargs={"kind": "maze", "max_steps": 20})
class RandomValidPlanner:
    """A walk that picks uniformly among the moves that change the state, until the goal or
    ``max_steps`` moves (no trace).

    Args:
        kind: ``maze`` or ``sokoban``.
        max_steps: move budget per task.
        seed: seeds the walk.
    """

    with_trace = False

    def __init__(self, kind: Kind, max_steps: int, seed: int = 0) -> None:
        self.kind, self.max_steps, self.seed = kind, max_steps, seed

    def fit(self, train: list[PlanningExample]) -> RandomValidPlanner:
        """Nothing to learn: the walk only needs the rules of the environment."""
        return self

    def predict(self, examples: list[PlanningExample]) -> list[list[str]]:
        return random_responses(self.kind, examples, self.seed, self.max_steps)
