"""Tokenizer round trips, response grammar, and the SWC / ILR metrics against hand computations."""

import numpy as np
import pytest

from sciformers.evaluation import get_task
from sciformers.evaluation.metrics import metric_direction
from sciformers.planning import Tokenizer, astar, astar_sokoban, generate_levels, generate_mazes, parse_response, response
from sciformers.planning.evaluate import ilr, swc, trace_len_ratio
from sciformers.planning.tokenizer import maze_prompt, sokoban_prompt


def test_maze_round_trip():
    tok = Tokenizer(8)
    for maze in generate_mazes(10, 8, seed=2):
        res = astar(maze.walls, maze.start, maze.goal)
        ids = tok.encode(response(res.plan, res.trace))
        assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
        parsed = parse_response(tok.decode(ids))
        assert parsed.valid and parsed.plan == res.plan and parsed.trace == res.trace
        plan_only = parse_response(tok.decode(tok.encode(response(res.plan))))
        assert plan_only.valid and plan_only.plan == res.plan and plan_only.trace == []
        prompt = tok.decode(tok.encode(maze_prompt(maze)))
        assert prompt[:6] == ["start", *map(str, maze.start), "goal", *map(str, maze.goal)]
        assert prompt.count("wall") == maze.walls.sum()


def test_sokoban_round_trip():
    tok = Tokenizer(7, 98)
    for level in generate_levels(5, seed=0):
        res = astar_sokoban(level, rng=np.random.default_rng(0))
        words = tok.decode(tok.encode(response(res.plan, res.trace)))
        assert words[:10] == ["create", "worker", *map(str, level.state.worker), "box",
                             *map(str, level.state.boxes[0]), "box", *map(str, level.state.boxes[1])]
        parsed = parse_response(words, n_boxes=2)
        assert parsed.valid and parsed.trace == res.trace and parsed.plan == [s.worker for s in res.plan]
        assert sokoban_prompt(level).count("dock") == 2


def test_grammar_errors_and_vocabulary():
    tok = Tokenizer(4)
    assert len(tok) == 3 + 9 + 4 + 17
    assert not parse_response(["create", "0", "0", "c0"]).valid  # truncated event
    assert not parse_response(["plan", "0", "0", "create", "0", "0", "c0", "c1"]).valid  # trace after plan
    assert not parse_response([]).valid  # no plan
    assert "no plan" in parse_response(["close", "1", "1", "c0", "c2"]).error
    with pytest.raises(ValueError, match="no token for '4'"):
        tok.encode(["plan", "4", "0"])
    assert tok.decode([1, tok.index["plan"], tok.index["0"], tok.index["1"], 2, tok.index["plan"]]) == ["plan", "0", "1"]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([999])


def test_swc_and_ilr_by_hand():
    correct = np.array([1, 1, 0, 1])
    lengths = np.array([5, 7, 4, 9])
    optimal = np.array([5, 5, 4, 3])
    # (5/5 + 5/7 + 0 + 3/9) / 4
    assert swc(correct, lengths, optimal) == pytest.approx((1 + 5 / 7 + 1 / 3) / 4)
    t = np.array([100.0, 50.0, 80.0, 0.0])
    t_star = np.array([80.0, 60.0, 80.0, 40.0])
    # (80/100 + 60/50 + 0 + 0) / 4; an empty trace of a correct plan counts 0
    assert ilr(correct, t, t_star) == pytest.approx((0.8 + 1.2) / 4)
    assert trace_len_ratio(np.array([100.0, np.nan, 40.0]), np.array([50.0, 10.0, 80.0])) == pytest.approx((2 + 0.5) / 2)


def test_metric_directions_are_registered():
    directions = get_task("planning.maze").higher_is_better()  # every metric of the task has one
    assert directions["swc"] and directions["ilr"] and directions["pct_optimal"]
    assert not directions["trace_len_ratio"] and not directions["tokens_generated"]
    assert metric_direction("pct_optimal_n500") is True and metric_direction("ei_train_len_ratio") is False
