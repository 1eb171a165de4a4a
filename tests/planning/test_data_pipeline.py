"""Datasets (split by layout, cached, task files) and the smoke pipelines end to end."""

import json

import numpy as np
import pytest

from sciformers.core import create_model, get_model_spec
from sciformers.evaluation import get_dataset, get_predictor, read_records, run_pipeline
from sciformers.evaluation.cli import main
from sciformers.evaluation.datasets import PredictRequest
from sciformers.planning.data import PlanningData, load_splits, make_example, tokenizer_for
from sciformers.planning.evaluate import swc
from sciformers.planning.maze import layout_hash, parse_maze
from sciformers.planning.scoring import astar_responses, random_responses, score_responses


def test_maze_splits_are_disjoint_by_layout_and_cached():
    cfg = PlanningData(size=6, n_train=80, n_test=10, n_astar_samples=4)
    train, test, folder = load_splits("maze", cfg)
    assert len(train) == 80 and len(test) == 10
    hashes = {s: {layout_hash(parse_maze(ex.text).walls) for ex in split} for s, split in (("train", train), ("test", test))}
    assert not hashes["train"] & hashes["test"]
    assert all(int(h[:8], 16) % 10 == 0 for h in hashes["test"])
    assert all(np.isnan(ex.t_star) for ex in train) and all(ex.t_star > 0 for ex in test)
    again = load_splits("maze", cfg)
    assert again[2] == folder and [e.text for e in again[1]] == [e.text for e in test]
    # A* answers score perfectly; a random walk is never better
    tok = tokenizer_for("maze", cfg)
    perfect, _ = score_responses("maze", test, astar_responses(test, tok), with_trace=True)
    assert perfect["pct_valid"] == perfect["pct_correct"] == perfect["pct_optimal"] == perfect["swc"] == 1.0
    assert 0.8 < perfect["trace_len_ratio"] < 1.25
    rand, scored = score_responses("maze", test, random_responses("maze", test, 0, 100), with_trace=False)
    assert rand["swc"] <= 1.0 and rand["pct_valid"] == 1.0 and "ilr" not in rand
    # corrupting one plan step through a wall is caught by execution
    words = astar_responses(test[:1], tok)[0]
    walls = parse_maze(test[0].text).walls
    wall = next(tuple(map(int, w)) for w in np.argwhere(walls))
    i = words.index("plan") + 3
    bad = words[:i + 1] + [str(wall[0]), str(wall[1])] + words[i + 3:]
    assert score_responses("maze", test[:1], [bad], with_trace=True)[0]["pct_correct"] == 0.0


def test_peers_are_registry_estimators():
    cfg = PlanningData(size=5, n_train=20, n_test=4, n_astar_samples=2)
    train, test, _ = load_splits("maze", cfg)
    tok = tokenizer_for("maze", cfg)
    assert get_model_spec("astar").kind == get_model_spec("random_valid").kind == "estimator"
    astar = create_model("astar", size=tok.size, max_cost=tok.max_cost).fit(train)
    assert astar.with_trace and astar.predict(test) == astar_responses(test, tok)
    walk = create_model("random_valid", kind="maze", max_steps=100, seed=3).fit(train)
    assert not walk.with_trace and walk.predict(test) == random_responses("maze", test, 3, 100)
    for name in ("astar", "random_valid"):  # the conformance kwargs build a working planner
        assert len(create_model(name, **get_model_spec(name).test_kwargs).predict(test)) == len(test)


def test_metrics_from_per_task_outcomes():
    maze = parse_maze("S..\n.#.\n..G")
    ex = make_example("maze", maze, tokenizer_for("maze", PlanningData(size=3)), PlanningData(size=3, n_astar_samples=2),
                      np.random.default_rng(0), with_t_star=True)
    optimal = "plan 0 0 plan 0 1 plan 0 2 plan 1 2 plan 2 2".split()
    detour = "plan 0 0 plan 1 0 plan 0 0 plan 0 1 plan 0 2 plan 1 2 plan 2 2".split()
    invalid = "plan 0 0 plan".split()
    metrics, scored = score_responses("maze", [ex] * 3, [optimal, detour, invalid], with_trace=False)
    assert [s.correct for s in scored] == [True, True, False] and [s.optimal for s in scored] == [True, False, False]
    assert metrics["pct_valid"] == metrics["pct_correct"] == pytest.approx(2 / 3)
    assert metrics["pct_optimal"] == pytest.approx(1 / 3)
    assert metrics["swc"] == pytest.approx(swc(np.array([1, 1, 0]), np.array([5, 7, 0]), np.array([5, 5, 5])))
    assert metrics["tokens_generated"] == pytest.approx(np.mean([len(w) + 1 for w in (optimal, detour, invalid)]))


def test_task_file_and_errors(tmp_path):
    f = tmp_path / "mazes.txt"
    f.write_text("; two mazes\nS#G\n.#.\n...\n\nS..\n.#.\n..G\n")
    cfg = PlanningData(size=5, n_train=5, n_test=1, n_astar_samples=2, path=str(f))
    _, test, _ = load_splits("maze", cfg)
    assert [ex.optimal_length for ex in test] == [7, 5]
    f.write_text("S#G\n.x.\n...\n")
    with pytest.raises(ValueError, match=r"mazes.txt, task 1: line 2, column 2"):
        load_splits("maze", cfg.model_copy(update={"seed": 1}))
    levels = tmp_path / "levels.txt"
    levels.write_text("#####\n#$ .#\n# @ #\n#####\n")
    with pytest.raises(ValueError, match="task 1: the level has no solution"):
        load_splits("sokoban", PlanningData(size=5, n_boxes=1, n_walls=0, n_train=2, n_test=1, path=str(levels)))
    with pytest.raises(FileNotFoundError, match="data.path"):
        load_splits("maze", PlanningData(size=5, n_train=2, path=str(tmp_path / "missing.txt")))


@pytest.mark.parametrize("name", ["planning/maze", "planning/sokoban"])
def test_smoke_pipeline_end_to_end(tmp_path, name):
    out = tmp_path / "run"
    result = run_pipeline(name, preset="smoke", out=out, quiet=True)
    records = read_records(out / "records.jsonl")
    models = {r.model for r in records}
    assert {"astar", "random_valid", "planning.searchformer_trace", "planning.searchformer_plan",
            "planning.searchformer_trace_ei1"} <= models
    for r in records:
        assert {"pct_valid", "pct_correct", "pct_optimal", "swc"} <= set(r.metrics)
        assert all(0.0 <= r.metrics[k] <= 1.0 for k in ("pct_valid", "pct_correct", "pct_optimal"))
    astar = next(r for r in records if r.model == "astar")
    assert astar.metrics["pct_optimal"] == 1.0 and astar.metrics["ilr"] > 0
    trace = next(r for r in records if r.model == "planning.searchformer_trace")
    plan = next(r for r in records if r.model == "planning.searchformer_plan")
    assert "ilr" in trace.metrics and "ilr" not in plan.metrics and trace.n_params == plan.n_params > 0
    report = result.report_md.read_text()
    assert "random_valid (baseline)" in report and "planning.searchformer_trace" in report
    if name == "planning/maze":
        assert "pct_optimal_n40" in trace.metrics and "pct_optimal_n120" in trace.metrics
        assert "plots/planning_maze_maze_trace_example.png" in report and "pct_optimal_vs_train_size" in report
        main(["report", str(out), "--out", str(tmp_path / "later")])  # redrawn later from predictions/
        assert (tmp_path / "later" / "plots" / "planning_maze_maze_trace_example.png").is_file()
    saved = json.loads((out / "predictions" / name.replace("/", ".") / "random_valid_seed0.json").read_text())
    assert len(saved["responses"]) == len(json.loads((out / "predictions" / name.replace("/", ".") /
                                                      "astar_seed0.json").read_text())["responses"]) > 0
    # the saved model answers through `sciformers predict planning`
    ckpt = out / "checkpoints" / "planning.searchformer_trace" / "seed0" / "final"
    tasks = tmp_path / "tasks.txt"
    tasks.write_text("S#..G\n.#.#.\n.....\n#....\n.....\n" if name == "planning/maze"
                     else "######\n#    #\n# $. #\n#  @ #\n# #  #\n######\n")
    (tmp_path / "pred").mkdir()
    lines = get_predictor("planning").run(PredictRequest(ckpt, [str(tasks)], tmp_path / "pred")).lines
    assert len(lines) == 1 and "correct=" in lines[0] and "astar_len=" in lines[0]
    assert json.loads((ckpt / "config.json").read_text())["kind"] == name.split("/")[1]


def test_datasets_registered():
    entry = get_dataset("planning.maze")
    files = entry.build(PlanningData(size=5, n_train=20, n_test=3, n_astar_samples=2))
    assert all(f.is_file() for f in files)
    assert get_dataset("planning.sokoban").schema is PlanningData


def test_best_of_k_keeps_the_shortest_correct_sample():
    from sciformers.planning.scoring import best_of

    maze = parse_maze("S..\n.#.\n..G")
    optimal = "plan 0 0 plan 0 1 plan 0 2 plan 1 2 plan 2 2".split()
    detour = "plan 0 0 plan 1 0 plan 0 0 plan 0 1 plan 0 2 plan 1 2 plan 2 2".split()
    invalid = "plan 0 0 plan".split()
    wrong = "plan 0 0 plan 1 0".split()
    assert best_of("maze", maze, [invalid, detour, optimal], 5, 0) == optimal
    assert best_of("maze", maze, [invalid, detour], 5, 0) == detour
    assert best_of("maze", maze, [invalid, wrong], 5, 0) == wrong  # no correct one: the first valid
    assert best_of("maze", maze, [invalid, invalid], 5, 0) == invalid
