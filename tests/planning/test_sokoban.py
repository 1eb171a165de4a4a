"""Sokoban: push rules and dead states worked by hand, A* optimality against BFS, levels as text."""

import numpy as np
import pytest

from sciformers.planning import astar_sokoban, bfs_solve, format_level, generate_levels, is_dead, parse_level
from sciformers.planning.maze import MOVES
from sciformers.planning.sokoban import heuristic, is_solved, make_state, step, successors

UP, DOWN, LEFT, RIGHT = MOVES

ROOM = """\
######
#    #
# $$.#
#@ . #
######"""


def test_push_rules_by_hand():
    level = parse_level(ROOM)
    walls, s = level.walls, level.state
    assert s.worker == (3, 1) and s.boxes == ((2, 2), (2, 3)) and level.docks == ((2, 4), (3, 3))
    assert step(walls, s, LEFT) is None  # wall
    assert step(walls, s, DOWN) is None  # wall
    up = step(walls, s, UP)
    assert up.worker == (2, 1) and up.boxes == s.boxes  # free move
    # pushing the left box right runs into the other box: blocked
    assert step(walls, up, RIGHT) is None
    # walk round and push the right box onto its dock: worker (2,2)? no, box there; go via row 1
    s1 = step(walls, step(walls, step(walls, up, UP), RIGHT), RIGHT)  # worker (1,3)
    assert s1.worker == (1, 3)
    pushed = step(walls, s1, DOWN)  # box (2,3) -> (3,3), a dock
    assert pushed.worker == (2, 3) and pushed.boxes == ((2, 2), (3, 3))
    assert step(walls, pushed, DOWN) is None  # box (3,3) would go into the wall
    assert not is_solved(level.docks, pushed)
    # boxes are pushed, never pulled: stepping away leaves the box
    back = step(walls, pushed, UP)
    assert back.boxes == pushed.boxes and back.worker == (1, 3)
    assert len(successors(walls, s)) == 2  # up and right


def test_dead_states_by_hand():
    corner = parse_level("#####\n#$ .#\n# @ #\n#####")
    assert is_dead(corner.walls, corner.docks, corner.state)
    assert heuristic(corner.walls, corner.docks, corner.state) == float("inf")
    assert not astar_sokoban(corner).solved
    with pytest.raises(ValueError, match="no solution"):
        parse_level("#####\n#$ .#\n# @ #\n#####", check_solvable=True)
    # a box against one wall only can still slide along it; a box in a corner on a dock is fine
    edge = parse_level("######\n# $ .#\n# @  #\n######")
    assert not is_dead(edge.walls, edge.docks, edge.state)
    on_dock = parse_level("#####\n#* @#\n#####")
    assert not is_dead(on_dock.walls, on_dock.docks, on_dock.state)
    # the heuristic: each box's Manhattan distance to its nearest dock
    level = parse_level(ROOM)
    assert heuristic(level.walls, level.docks, level.state) == 2 + 1  # box (2,2): 2, box (2,3): 1


def test_one_push_solution_and_trace():
    level = parse_level("#####\n#@$.#\n#####")
    res = astar_sokoban(level, deterministic=True)
    assert [s.worker for s in res.plan] == [(1, 1), (1, 2)]
    assert [(e.kind, e.state.worker, e.state.boxes, e.g, e.h) for e in res.trace] == [
        ("create", (1, 1), ((1, 2),), 0, 1), ("close", (1, 1), ((1, 2),), 0, 1),
        ("create", (1, 2), ((1, 3),), 1, 0), ("close", (1, 2), ((1, 3),), 1, 0)]


@pytest.mark.parametrize("size,boxes,walls", [(5, 1, 0), (6, 1, 2), (6, 2, 1)])
def test_astar_is_optimal_against_bfs(size, boxes, walls):
    rng = np.random.default_rng(0)
    for level in generate_levels(12, seed=size + boxes, size=size, n_boxes=boxes, n_walls=walls, box_margin=1):
        best = bfs_solve(level)
        for det in (True, False):
            res = astar_sokoban(level, deterministic=det, rng=rng)
            assert res.cost == best
            assert is_solved(level.docks, res.plan[-1])


def test_generator_levels():
    levels = generate_levels(15, seed=1)  # the paper's 7x7, 2 boxes, 2 walls
    for lv in levels:
        assert lv.walls.shape == (7, 7) and lv.walls.sum() == 24 + 2
        assert len(lv.state.boxes) == len(lv.docks) == 2
        assert all(2 <= r <= 4 and 2 <= c <= 4 for r, c in lv.state.boxes)
        assert not set(lv.state.boxes) & set(lv.docks)
        assert astar_sokoban(lv).solved
    assert len({format_level(lv) for lv in levels}) == 15


def test_text_round_trip_and_errors():
    text = "#######\n#.  $ #\n# * @ #\n#  +$ #\n#######"
    with pytest.raises(ValueError, match="exactly one worker"):
        parse_level(text)
    text = "######\n#. $ #\n# *@ #\n######"
    level = parse_level(text)
    assert format_level(level) == text
    assert level.state.boxes == ((1, 3), (2, 2)) and (2, 2) in level.docks
    with pytest.raises(ValueError, match="line 2, column 3"):
        parse_level("#####\n#@x.#\n#####")
    with pytest.raises(ValueError, match="as many boxes"):
        parse_level("#####\n#@$ #\n#####")
    assert make_state((1, 1), [(2, 2), (1, 2)]).boxes == ((1, 2), (2, 2))
