"""``sciformers data planning.maze|planning.sokoban`` and ``sciformers predict planning``.

    sciformers predict planning --checkpoint RUN/checkpoints/planning.searchformer_trace/seed0/final --out DIR \\
        [--option max_new_tokens=N] [--skip-invalid] mazes.txt boxoban-levels/unfiltered/valid/ ...

The predictor reads a checkpoint written by the planning tasks and text files of mazes
(``#.SG``) or Boxoban levels (blank-line separated, ``;`` lines are comments), or folders of
such ``*.txt`` files. Every task of every input is parsed, size-checked and solved by A* before
the first response is decoded; a bad task is an error naming its file and number (with
``--skip-invalid`` it is reported and the rest go on; a file whose tasks are all bad is reported
once). Each response is decoded greedily and its plan executed in the environment; one line per
task (correct/optimal, plan length, the plan) is printed and ``DIR/predictions.csv`` holds
``file,task,correct,optimal,plan_len_cells,astar_len_cells,plan`` (lengths in grid cells, start
and goal included; plan cells as ``row,col``). Nothing is written outside ``DIR``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sciformers.core import ConfigError, create_model, load_model_state
from sciformers.evaluation.datasets import (
    DatasetEntry,
    PredictRequest,
    PredictResult,
    Predictor,
    register_dataset,
    register_predictor,
)
from sciformers.planning.data import PlanningData, load_splits, make_example, parse_task, read_blocks
from sciformers.planning.decoding import generate
from sciformers.planning.scoring import score_one
from sciformers.planning.tokenizer import Tokenizer


def _build(kind: str):
    def build(cfg: PlanningData) -> list[Path]:
        folder = load_splits(kind, cfg)[2]  # type: ignore[arg-type]
        return [folder / "train.jsonl", folder / "test.jsonl"]

    return build


register_dataset(DatasetEntry("planning.maze", PlanningData, _build("maze"),
                              "Searchformer mazes with A* traces (JSON lines), seeded generator",
                              aliases=("planning_maze",)))
register_dataset(DatasetEntry("planning.sokoban", PlanningData, _build("sokoban"),
                              "Searchformer Sokoban levels with A* traces (JSON lines), seeded generator",
                              aliases=("planning_sokoban",)))


TABLE = "predictions.csv"
HEADER = ("file", "task", "correct", "optimal", "plan_len_cells", "astar_len_cells", "plan")
OPTIONS = {"max_new_tokens": "response budget in tokens, a positive integer (default: the checkpoint's)"}


def _max_new_tokens(request: PredictRequest, default: int) -> int:
    unknown = sorted(set(request.options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"--option {unknown[0]}: unknown for planning; it takes {', '.join(OPTIONS)}")
    raw = request.option("max_new_tokens")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"--option max_new_tokens={raw}: max_new_tokens must be a positive integer (tokens)")
    return value


def _task_files(item: str) -> list[Path]:
    """The task files an input names: the file itself, or the ``*.txt`` files of a folder."""
    path = Path(item).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".txt")
        if not files:
            raise ValueError(f"{path}: no task files (*.txt of mazes or Boxoban levels)")
        return files
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file or folder (expected a text file of tasks)")
    return [path]


def _blocks(path: Path) -> list[str]:
    try:
        blocks = read_blocks(path)
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read it as text ({err})") from None
    if not blocks:
        raise ValueError(f"{path}: no tasks (mazes or Boxoban levels separated by blank lines)")
    return blocks


def _example(kind: str, block: str, where: str, tok: Tokenizer, cfg: PlanningData) -> tuple[Any, Any]:
    """The parsed task and its tokenised example, checked against the checkpoint.

    Raises:
        ValueError: naming ``where``, for a malformed, oversized or unsolvable task.
    """
    task = parse_task(kind, block, where=where)
    if kind == "sokoban" and len(task.state.boxes) != cfg.n_boxes:
        raise ValueError(f"{where}: {len(task.state.boxes)} boxes; the checkpoint was trained on {cfg.n_boxes}")
    if task.shape[0] > cfg.size or task.shape[1] > cfg.size:
        raise ValueError(f"{where}: {task.shape[0]}x{task.shape[1]} exceeds the checkpoint's size {cfg.size}")
    try:
        ex = make_example(kind, task, tok, cfg, np.random.default_rng(0), with_t_star=False)
    except ValueError as err:  # a cost or cell the tokenizer has no token for
        raise ValueError(f"{where}: {err}") from None
    if ex is None:
        raise ValueError(f"{where}: no A* solution within {cfg.max_response_tokens} response tokens")
    return task, ex


def predict_planning(request: PredictRequest) -> PredictResult:
    """One line per task of the input files (``correct optimal plan_len | plan cells``) and
    ``predictions.csv`` under ``request.out_dir``.

    Raises:
        FileNotFoundError, ValueError: for a missing file or a bad task, naming it (unless ``skip_invalid``).
    """
    state, config = load_model_state(request.checkpoint)
    for key in ("kind", "size", "max_cost", "n_boxes"):
        if key not in config:
            raise ValueError(f"{request.checkpoint}: config.json lacks {key!r}; not a planning checkpoint")
    model = create_model(config["model"], **config["kwargs"])
    model.load_state_dict(state)
    model.eval()
    max_new_tokens = _max_new_tokens(request, model.max_new_tokens)
    kind, tok = config["kind"], Tokenizer(config["size"], config["max_cost"])
    cfg = PlanningData(size=config["size"], n_boxes=config["n_boxes"], n_astar_samples=1)
    result = PredictResult()

    def bad(item: str, err: Exception) -> None:
        if not request.skip_invalid:
            raise err
        result.skipped.append((item, str(err).removeprefix(f"{item}: ")))

    files: dict[Path, Path] = {}  # resolved -> as named (a file named twice is read once)
    for item in request.inputs:
        try:
            files.update((p.resolve(), p) for p in _task_files(item) if p.resolve() not in files)
        except (FileNotFoundError, ValueError) as err:
            bad(item, err)

    tasks = []  # (file, task number, task, example): every task checked before decoding the first
    for path in files.values():
        try:
            blocks = _blocks(path)
        except ValueError as err:
            bad(str(path), err)
            continue
        good, failed = [], []
        for i, block in enumerate(blocks, 1):
            where = f"{path}, task {i}"
            try:
                good.append((path, i, *_example(kind, block, where, tok, cfg)))
            except ValueError as err:
                if not request.skip_invalid:
                    raise
                failed.append((where, err))
        if failed and not good:  # nothing in the file fits: one report, not one per task
            first = str(failed[0][1]).removeprefix(f"{path}, ")
            result.skipped.append((str(path), f"all {len(blocks)} task(s) invalid; {first}"))
        else:
            result.skipped += [(where, str(err).removeprefix(f"{where}: ")) for where, err in failed]
        tasks += good

    rows = []
    for path, i, task, ex in tasks:
        src = torch.tensor([ex.prompt])
        with torch.no_grad():
            ids = generate(model, src, torch.ones_like(src, dtype=torch.bool), max_new_tokens)[0]
        s = score_one(kind, task, tok.decode(ids.tolist()), ex.optimal_length, config["n_boxes"])
        plan = " ".join(f"{r},{c}" for r, c in s.parsed.plan)
        result.lines.append(f"{path}:{i}\tcorrect={int(s.correct)}\toptimal={int(s.optimal)}\t"
                            f"plan_len={len(s.parsed.plan)}\tastar_len={ex.optimal_length}\t{plan}")
        rows.append([str(path), i, int(s.correct), int(s.optimal), len(s.parsed.plan), ex.optimal_length, plan])
    if rows:
        table = request.out_dir / TABLE
        with table.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            writer.writerows(rows)
        result.written.append(table)
    return result


register_predictor("planning", Predictor(
    predict_planning,
    "text files of mazes (#.SG grids) or Boxoban levels, blank-line separated (';' lines are comments), or folders "
    "of such *.txt files, no larger than the checkpoint's grid; writes predictions.csv "
    "(file,task,correct,optimal,plan_len_cells,astar_len_cells,plan)",
    OPTIONS,
))
