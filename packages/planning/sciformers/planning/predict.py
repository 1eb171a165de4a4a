"""``sciformers data planning_maze|planning_sokoban`` and ``sciformers predict planning``.

The predictor reads a checkpoint written by the planning tasks and text files of mazes
(``#.SG``) or Boxoban levels (blank-line separated), decodes a response greedily, executes the
plan in the environment and prints one line per task: correct/optimal, plan length, the plan.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sciformers.core import create_model, load_model_state
from sciformers.evaluation.datasets import DatasetEntry, register_dataset, register_predictor
from sciformers.planning.data import PlanningData, load_splits, make_example, parse_task, read_blocks
from sciformers.planning.decoding import generate
from sciformers.planning.scoring import score_one
from sciformers.planning.tokenizer import Tokenizer


def _build(kind: str):
    def build(cfg: PlanningData) -> list[Path]:
        folder = load_splits(kind, cfg)[2]  # type: ignore[arg-type]
        return [folder / "train.jsonl", folder / "test.jsonl"]

    return build


register_dataset(DatasetEntry("planning_maze", PlanningData, _build("maze"),
                              "Searchformer mazes with A* traces (JSON lines), seeded generator"))
register_dataset(DatasetEntry("planning_sokoban", PlanningData, _build("sokoban"),
                              "Searchformer Sokoban levels with A* traces (JSON lines), seeded generator"))


def predict_planning(checkpoint: Path, inputs: list[str]) -> list[str]:
    """One line per task in the input files: ``correct optimal plan_len | plan cells``."""
    state, config = load_model_state(checkpoint)
    for key in ("kind", "size", "max_cost", "n_boxes"):
        if key not in config:
            raise ValueError(f"{checkpoint}: config.json lacks {key!r}; not a planning checkpoint")
    model = create_model(config["model"], **config["kwargs"])
    model.load_state_dict(state)
    model.eval()
    kind, tok = config["kind"], Tokenizer(config["size"], config["max_cost"])
    cfg = PlanningData(size=config["size"], n_boxes=config["n_boxes"], n_astar_samples=1)
    lines = []
    for item in inputs:
        path = Path(item)
        if not path.is_file():
            raise FileNotFoundError(f"predict planning: {path} not found (expected a text file of tasks)")
        for i, block in enumerate(read_blocks(path)):
            task = parse_task(kind, block, where=f"{path}, task {i + 1}")
            ex = make_example(kind, task, tok, cfg, np.random.default_rng(0), with_t_star=False)
            if ex is None:
                raise ValueError(f"{path}, task {i + 1}: A* finds no solution")
            src = torch.tensor([ex.prompt])
            ids = generate(model, src, torch.ones_like(src, dtype=torch.bool), model.max_new_tokens)[0]
            s = score_one(kind, task, tok.decode(ids.tolist()), ex.optimal_length, config["n_boxes"])
            plan = " ".join(f"{r},{c}" for r, c in s.parsed.plan)
            lines.append(f"{path.name}:{i + 1}\tcorrect={int(s.correct)}\toptimal={int(s.optimal)}\t"
                         f"plan_len={len(s.parsed.plan)}\tastar_len={ex.optimal_length}\t{plan}")
    return lines


register_predictor("planning", predict_planning)
