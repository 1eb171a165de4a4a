"""Token sequences for prompts, A* traces and plans (Searchformer, Lehnert et al. 2024, sec. 3.1, Fig. 1).

Mazes (cells are ``row col``):

- prompt (encoder): ``bos start r c goal r c wall r c ... eos``;
- search-augmented response (decoder): ``bos`` + ``create|close r c c<g> c<h>`` per trace
  event + ``plan r c`` per plan cell (start and goal included) + ``eos``;
- solution-only response: ``bos plan r c ... eos``.

Sokoban: prompt ``bos worker r c box r c ... dock r c ... wall r c ... eos``; trace events
``create|close worker r c box r c ... c<g> c<h>``; plan steps ``plan r c`` (worker cells).

Coordinates are the tokens ``0 .. size-1`` and costs ``c0 .. c<max_cost>``, so one tokenizer
serves every task of a given grid size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from sciformers.planning.astar import TraceStep
from sciformers.planning.maze import Cell, Maze
from sciformers.planning.sokoban import SokobanLevel, SokobanState, make_state

PAD, BOS, EOS = "<pad>", "bos", "eos"
KEYWORDS = ("start", "goal", "wall", "worker", "box", "dock", "create", "close", "plan")


class Tokenizer:
    """Word-level vocabulary for one grid size.

    Args:
        size: largest grid side; coordinates ``0 .. size-1`` get tokens.
        max_cost: largest ``g`` or ``h`` value with a token (default ``size * size``).
    """

    def __init__(self, size: int, max_cost: int | None = None) -> None:
        self.size = size
        self.max_cost = size * size if max_cost is None else max_cost
        self.tokens = [PAD, BOS, EOS, *KEYWORDS, *(str(i) for i in range(size)),
                       *(f"c{i}" for i in range(self.max_cost + 1))]
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.pad_id, self.bos_id, self.eos_id = 0, 1, 2

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, words: Sequence[str]) -> list[int]:
        """Token ids of ``words`` wrapped in ``bos ... eos``.

        Raises:
            ValueError: naming the first word without a token (a coordinate or cost too large).
        """
        try:
            return [self.bos_id, *(self.index[w] for w in words), self.eos_id]
        except KeyError as err:
            raise ValueError(f"Tokenizer(size={self.size}, max_cost={self.max_cost}): no token for {err.args[0]!r}") from None

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Words of ``ids`` without ``bos``/``pad``, stopping at the first ``eos``.

        Raises:
            ValueError: for an id outside the vocabulary.
        """
        words = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"token id {i} outside the vocabulary of {len(self.tokens)}")
            if i == self.eos_id:
                break
            if i not in (self.bos_id, self.pad_id):
                words.append(self.tokens[i])
        return words


def _cell(cell: Cell) -> list[str]:
    return [str(cell[0]), str(cell[1])]


# -- prompts ------------------------------------------------------------------------------------

def maze_prompt(maze: Maze) -> list[str]:
    """``start r c goal r c wall r c ...`` (walls in row-major order)."""
    words = ["start", *_cell(maze.start), "goal", *_cell(maze.goal)]
    for r, c in zip(*maze.walls.nonzero()):
        words += ["wall", str(r), str(c)]
    return words


def sokoban_prompt(level: SokobanLevel) -> list[str]:
    """``worker r c box r c ... dock r c ... wall r c ...``."""
    words = ["worker", *_cell(level.state.worker)]
    for b in level.state.boxes:
        words += ["box", *_cell(b)]
    for d in level.docks:
        words += ["dock", *_cell(d)]
    for r, c in zip(*level.walls.nonzero()):
        words += ["wall", str(r), str(c)]
    return words


# -- responses ----------------------------------------------------------------------------------

def _state_words(state: Any) -> list[str]:
    if isinstance(state, SokobanState):
        return ["worker", *_cell(state.worker), *(w for b in state.boxes for w in ("box", *_cell(b)))]
    return _cell(state)


def response(plan: Sequence[Any], trace: Sequence[TraceStep] | None = None) -> list[str]:
    """Decoder words: the trace events (if given) then ``plan r c`` per plan step.

    ``plan`` holds maze cells or Sokoban states (their worker cell is written).
    """
    words: list[str] = []
    for ev in trace or ():
        words += [ev.kind, *_state_words(ev.state), f"c{ev.g}", f"c{ev.h}"]
    for s in plan:
        words += ["plan", *_cell(s.worker if isinstance(s, SokobanState) else s)]
    return words


@dataclass
class ParsedResponse:
    """A decoded response.

    Attributes:
        valid: the words follow the grammar (trace events, then plan steps, nothing else).
        trace: parsed trace events (maze cells or Sokoban states).
        plan: plan cells ``(row, col)``.
        error: why the response is not valid ("" when valid).
    """

    valid: bool
    trace: list[TraceStep]
    plan: list[Cell]
    error: str = ""


def parse_response(words: Sequence[str], n_boxes: int = 0) -> ParsedResponse:
    """Parse decoder words back into trace events and plan cells.

    Args:
        words: decoded words (no ``bos``/``eos``).
        n_boxes: boxes per Sokoban state (0 for mazes).
    """
    trace: list[TraceStep] = []
    plan: list[Cell] = []
    i, n = 0, len(words)

    def coord(j: int) -> int:
        if j >= n or not words[j].isdigit():
            raise ValueError(f"word {j}: expected a coordinate, got {words[j] if j < n else 'end'!r}")
        return int(words[j])

    def cost(j: int) -> int:
        if j >= n or not (words[j].startswith("c") and words[j][1:].isdigit()):
            raise ValueError(f"word {j}: expected a cost token c<k>, got {words[j] if j < n else 'end'!r}")
        return int(words[j][1:])

    try:
        while i < n and words[i] in ("create", "close"):
            kind, i = words[i], i + 1
            if n_boxes:
                if i >= n or words[i] != "worker":
                    raise ValueError(f"word {i}: expected 'worker'")
                worker, boxes, i = (coord(i + 1), coord(i + 2)), [], i + 3
                for _ in range(n_boxes):
                    if i >= n or words[i] != "box":
                        raise ValueError(f"word {i}: expected 'box'")
                    boxes.append((coord(i + 1), coord(i + 2)))
                    i += 3
                state: Any = make_state(worker, boxes)
            else:
                state, i = (coord(i), coord(i + 1)), i + 2
            trace.append(TraceStep(kind, state, cost(i), cost(i + 1)))  # type: ignore[arg-type]
            i += 2
        while i < n and words[i] == "plan":
            plan.append((coord(i + 1), coord(i + 2)))
            i += 3
        if i != n:
            raise ValueError(f"word {i}: unexpected {words[i]!r} after the plan")
        if not plan:
            raise ValueError("no plan")
    except ValueError as err:
        return ParsedResponse(False, trace, plan, str(err))
    return ParsedResponse(True, trace, plan)
