"""Recipes: a validation split of its own layouts, per-mode budgets, augmentation, the fast decoder path."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from sciformers.core import ConfigError
from sciformers.evaluation import run_pipeline
from sciformers.planning import data as planning_data
from sciformers.planning.data import (
    PlanningData,
    cached_splits,
    load_splits,
    make_example,
    read_examples,
    sequences,
    split_of,
    tokenizer_for,
)
from sciformers.planning.maze import layout_hash, parse_maze
from sciformers.planning.model import Searchformer, is_right_padded
from sciformers.planning.scoring import score_one
from sciformers.planning.task import PlanningStages


def test_validation_split_has_layouts_of_its_own_and_is_cached_once(monkeypatch):
    cfg = PlanningData(seed=3, size=5, n_train=40, n_val=12, n_test=6, n_astar_samples=2)
    folder = cached_splits("maze", cfg)
    splits = {name: read_examples(folder / f"{name}.jsonl") for name in ("train", "val", "test")}
    assert [len(splits[n]) for n in ("train", "val", "test")] == [40, 12, 6]
    keys = {n: {layout_hash(parse_maze(ex.text).walls) for ex in exs} for n, exs in splits.items()}
    assert {split_of(k) for k in keys["val"]} == {"val"} and {split_of(k) for k in keys["test"]} == {"test"}
    assert not (keys["train"] & keys["val"]) and not (keys["val"] & keys["test"]) and not (keys["train"] & keys["test"])
    # the entry is built once: a second load reads it without generating anything
    monkeypatch.setattr(planning_data, "generate_splits", lambda *a: pytest.fail("regenerated a cached entry"))
    train, test, again = load_splits("maze", cfg)
    assert again == folder and [e.text for e in train] == [e.text for e in splits["train"]]


def test_augmented_traces_are_optimal_extra_sequences():
    cfg = PlanningData(size=6, n_astar_samples=2)
    tok = tokenizer_for("maze", cfg)
    maze = parse_maze("S.....\n.##.#.\n......\n.#.##.\n......\n.#...G")
    ex = make_example("maze", maze, tok, cfg, np.random.default_rng(0), with_t_star=False, augment=3)
    assert len(ex.extra_traces) == len(ex.extra_plans) == 3
    assert len({tuple(t) for t in ex.extra_traces}) > 1  # random tie-breaking: different searches
    for response in ex.extra_traces + ex.extra_plans:
        assert score_one("maze", maze, tok.decode(response), ex.optimal_length, 0).optimal
    assert len(sequences([ex, ex], "trace")) == len(sequences([ex, ex], "plan")) == 8
    plain = make_example("maze", maze, tok, cfg, np.random.default_rng(0), with_t_star=False)
    assert len(sequences([plain], "trace")) == 1 and plain.extra_traces == []


def test_trace_budget_keys_are_validated():
    assert PlanningStages.parse({"trace_train": {"steps": 30, "batch_size": 8}}).trace_train["steps"] == 30
    with pytest.raises(ConfigError, match=r"stages.trace_train.stpes: unknown key"):
        PlanningStages.parse({"trace_train": {"stpes": 30}}, where="stages")
    with pytest.raises(ConfigError, match="seeds"):
        PlanningStages.parse({"trace_train": {"seeds": [1]}}, where="stages")


def _run_key(stage_dir):
    return json.loads((stage_dir / "checkpoints" / "last" / "state.json").read_text())["run"]


def test_every_fit_validates_on_the_validation_tasks_with_its_budget(tmp_path):
    out = tmp_path / "run"
    run_pipeline("planning/maze", preset="smoke", out=out, quiet=True,
                 models=["planning.searchformer_trace", "planning.searchformer_plan"],
                 overrides=["data.n_val=8", "stages.trace_train={steps: 14}", "stages.ei_steps=2"])
    trace = out / "checkpoints" / "planning.searchformer_trace" / "seed0"
    plan = out / "checkpoints" / "planning.searchformer_plan" / "seed0"
    main, small, ei = _run_key(trace), _run_key(trace / "n40"), _run_key(trace / "ei1")
    assert (main["val_samples"], main["train_samples"], main["train.steps"]) == (8, 120, 14)
    assert (small["val_samples"], small["train_samples"], small["train.steps"]) == (8, 40, 14)
    assert (ei["val_samples"], ei["train.steps"]) == (0, 2)  # expert iteration: a fixed budget
    assert (_run_key(plan)["val_samples"], _run_key(plan)["train.steps"]) == (8, 12)


def _model():
    torch.manual_seed(0)
    return Searchformer(vocab_size=20, dim=16, heads=2, encoder_depth=1, decoder_depth=2, mlp_ratio=2).double().eval()


def test_right_padded_targets_skip_the_self_attention_mask_exactly():
    model = _model()
    src = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 2, 0, 0]])
    tgt = torch.tensor([[1, 10, 11, 12, 2], [1, 13, 2, 0, 0]])
    mask = tgt > 0
    assert is_right_padded(mask) and not is_right_padded(torch.tensor([[False, True]]))
    with torch.no_grad():
        fast = model(src, src > 0, tgt, mask)
        memory = model.encode(src, src > 0)  # reference: the explicit key-padding mask
        ref = model.head(model.net.decoder(model.embed(tgt), context=memory, mask=mask, context_mask=src > 0))
    torch.testing.assert_close(fast[mask], ref[mask], rtol=1e-12, atol=1e-12)
    # a left-padded target keeps its mask
    left = torch.tensor([[0, 0, 1, 13, 2]])
    with torch.no_grad():
        out = model(src[1:], src[1:] > 0, left, left > 0)
        ref = model.head(model.net.decoder(model.embed(left), context=model.encode(src[1:], src[1:] > 0),
                                           mask=left > 0, context_mask=src[1:] > 0))
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)


def test_gymnasium_makes_the_environments_by_module_prefix_in_a_fresh_interpreter():
    code = ("import gymnasium as gym\n"
            "env = gym.make('sciformers.planning:sciformers/Maze-v0', size=5)\n"
            "obs, _ = env.reset(seed=0)\n"
            "env = gym.make('sciformers.planning:sciformers/Sokoban-v0', size=6, n_boxes=1, n_walls=1)\n"
            "env.reset(seed=0)\n"
            "print(obs.shape)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(5, 5)"



def test_data_efficiency_smoke_records_the_curve_of_both_modes(tmp_path):
    result = run_pipeline("planning/maze_data_efficiency", preset="smoke", out=tmp_path / "run", quiet=True,
                          models=["planning.searchformer_trace", "planning.searchformer_plan"])
    for name in ("planning.searchformer_trace", "planning.searchformer_plan"):
        record = next(r for r in result.records if r.model == name)
        for size in (30, 60, 120):
            assert 0.0 <= record.metrics[f"pct_optimal_n{size}"] <= record.metrics[f"pct_valid_n{size}"] <= 1.0
    assert "pct_optimal_vs_train_size" in result.report_md.read_text()
