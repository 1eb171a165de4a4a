"""Datasets of maze and Sokoban tasks with their A* sequences: generated, split by layout, cached.

Tasks are drawn with the seeded generators of :mod:`~sciformers.planning.maze` and
:mod:`~sciformers.planning.sokoban`; the first 8 hex digits of a task's layout hash decide its
split: ``0 mod 10`` test, ``1 mod 10`` validation, else train, so no layout crosses splits
(paper: 90/10 train/test by wall layout; the validation split, for early stopping, is ours).
Each task is stored with its A* response in both modes (trace + plan, plan only), the optimal
plan length and, for test tasks, ``t*``: the mean trace length in tokens of ``n_astar_samples``
non-deterministic A* runs (the ILR reference). Mazes use the deterministic trace for training,
Sokoban a non-deterministic one (as in the paper); ``augment_traces`` adds further
non-deterministic A* runs per training task as extra sequences (the paper's non-deterministic
datasets, as augmentation). Files are JSON lines in one cache entry per config,
``cache_dir("planning") / <kind>-<config hash>/{train,val,test}.jsonl``, written once through
:func:`~sciformers.core.cache.cached_file`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.core import Config, cache_dir, cached_file
from sciformers.planning.astar import AStarResult, astar
from sciformers.planning.maze import Maze, format_maze, layout_hash, parse_maze, random_layout, sample_task
from sciformers.planning.sokoban import (
    SokobanLevel,
    astar_sokoban,
    format_level,
    is_dead,
    parse_level,
    random_level,
)
from sciformers.planning.tokenizer import Tokenizer, maze_prompt, response, sokoban_prompt

Kind = Literal["maze", "sokoban"]


class PlanningData(Config):
    """The ``data:`` section of ``planning/maze`` and ``planning/sokoban``.

    Args:
        seed: seeds the generator.
        size: grid side (mazes) or room side including the border (Sokoban).
        n_train: training tasks.
        n_val: validation tasks (layouts of their own) for early stopping; 0: the Trainer
            carves ``train.val_fraction`` of the training tasks instead.
        n_test: test tasks (evaluated in full).
        n_boxes: boxes per Sokoban level.
        n_walls: interior walls per Sokoban level.
        n_astar_samples: non-deterministic A* runs averaged into ``t*`` (paper: 64).
        max_response_tokens: tasks whose A* trace response is longer are dropped (paper: 10k).
        deterministic: deterministic A* traces for training (mazes: True; Sokoban: False).
        augment_traces: further non-deterministic A* runs stored per training task, each an
            extra training sequence (trace + plan for the search-augmented model, its plan for
            the solution-only one); 0: one sequence per task (the paper's setting).
        path: a file of tasks to use as the test split instead of generated ones (maze text
            blocks or Boxoban levels separated by blank lines; ``;`` lines are comments).
    """

    seed: int = 0
    size: int = Field(default=10, ge=3, le=30)
    n_train: int = Field(default=1000, ge=1)
    n_val: int = Field(default=0, ge=0)
    n_test: int = Field(default=100, ge=1)
    n_boxes: int = Field(default=2, ge=1)
    n_walls: int = Field(default=2, ge=0)
    n_astar_samples: int = Field(default=64, ge=1)
    max_response_tokens: int = Field(default=10000, ge=8)
    deterministic: bool | None = None
    augment_traces: int = Field(default=0, ge=0)
    path: str | None = None


@dataclass
class PlanningExample:
    """One task with its tokenised prompt and A* responses.

    Attributes:
        text: the task in its text format.
        prompt: encoder ids (``bos ... eos``).
        trace_response: decoder ids of trace + plan.
        plan_response: decoder ids of the plan only.
        optimal_length: A*'s plan length in cells (start and goal included).
        t_star: mean trace length (tokens) of non-deterministic A* runs (NaN for train tasks).
        extra_traces: trace + plan responses of further non-deterministic A* runs (``augment_traces``).
        extra_plans: their plan-only responses.
    """

    text: str
    prompt: list[int]
    trace_response: list[int]
    plan_response: list[int]
    optimal_length: int
    t_star: float = float("nan")
    extra_traces: list[list[int]] = field(default_factory=list)
    extra_plans: list[list[int]] = field(default_factory=list)


def tokenizer_for(kind: Kind, cfg: PlanningData) -> Tokenizer:
    """The tokenizer of a task family: costs up to ``size^2`` (mazes) or ``2 size^2`` (Sokoban)."""
    return Tokenizer(cfg.size, cfg.size**2 if kind == "maze" else 2 * cfg.size**2)


def parse_task(kind: Kind, text: str, where: str = "task", check_solvable: bool = True) -> Maze | SokobanLevel:
    """A maze or Sokoban level from its text (Sokoban levels checked for a solution unless told not to)."""
    return parse_maze(text, where) if kind == "maze" else parse_level(text, where, check_solvable=check_solvable)


def run_astar(kind: Kind, task: Any, deterministic: bool, rng: np.random.Generator | None = None) -> AStarResult:
    """A* on a maze (Manhattan) or Sokoban level (box-to-dock, dead-state pruning)."""
    if kind == "maze":
        return astar(task.walls, task.start, task.goal, deterministic=deterministic, rng=rng)
    return astar_sokoban(task, deterministic=deterministic, rng=rng)


def trace_tokens(result: AStarResult) -> int:
    """Trace length in tokens (the response before its first ``plan`` word) of an A* result."""
    return len(response([], result.trace))


def make_example(kind: Kind, task: Any, tok: Tokenizer, cfg: PlanningData, rng: np.random.Generator,
                 with_t_star: bool, augment: int = 0) -> PlanningExample | None:
    """Tokenise ``task`` with its A* responses; ``None`` if unsolvable or over the length cap.

    ``augment`` further non-deterministic A* runs are kept as extra responses (runs over the
    length cap are left out).
    """
    deterministic = cfg.deterministic if cfg.deterministic is not None else kind == "maze"
    result = run_astar(kind, task, deterministic, rng)
    if not result.solved:
        return None
    prompt = maze_prompt(task) if kind == "maze" else sokoban_prompt(task)
    trace_resp = tok.encode(response(result.plan, result.trace))
    if len(trace_resp) > cfg.max_response_tokens:
        return None
    t_star = float("nan")
    if with_t_star:
        t_star = float(np.mean([trace_tokens(run_astar(kind, task, False, rng)) for _ in range(cfg.n_astar_samples)]))
    text = format_maze(task) if kind == "maze" else format_level(task)
    ex = PlanningExample(text, tok.encode(prompt), trace_resp, tok.encode(response(result.plan)), len(result.plan), t_star)
    for _ in range(augment):
        run = run_astar(kind, task, False, rng)
        trace = tok.encode(response(run.plan, run.trace))
        if len(trace) <= cfg.max_response_tokens:
            ex.extra_traces.append(trace)
            ex.extra_plans.append(tok.encode(response(run.plan)))
    return ex


def _draw(kind: Kind, rng: np.random.Generator, cfg: PlanningData) -> tuple[Any, str] | None:
    """One candidate task and its layout hash (mazes: the wall layout; Sokoban: the whole level)."""
    if kind == "maze":
        walls = random_layout(rng, cfg.size, cfg.size)
        task = sample_task(rng, walls)
        return (task, layout_hash(walls)) if task is not None else None
    level = random_level(rng, cfg.size, cfg.n_boxes, cfg.n_walls)
    if is_dead(level.walls, level.docks, level.state):
        return None
    return level, hashlib.sha1(format_level(level).encode()).hexdigest()


SPLITS = ("train", "val", "test")


def split_of(key: str) -> str:
    """The split of a task by its layout hash: ``0 mod 10`` test, ``1 mod 10`` validation, else train."""
    return SPLITS[{0: 2, 1: 1}.get(int(key[:8], 16) % 10, 0)]


def generate_splits(kind: Kind, cfg: PlanningData) -> dict[str, list[PlanningExample]]:
    """Draw tasks until ``n_train``, ``n_val`` and ``n_test`` examples exist, split by layout hash."""
    tok = tokenizer_for(kind, cfg)
    rng = np.random.default_rng(cfg.seed)
    wanted = {"train": cfg.n_train, "val": cfg.n_val, "test": 0 if cfg.path is not None else cfg.n_test}
    splits: dict[str, list[PlanningExample]] = {name: [] for name in SPLITS}
    seen: set[str] = set()
    tries = 0
    while any(len(splits[name]) < n for name, n in wanted.items()):
        tries += 1
        if tries > 200 * sum(wanted.values()):
            raise RuntimeError(f"planning data: could not draw {cfg.n_train}+{cfg.n_val}+{cfg.n_test} distinct "
                               f"{kind} tasks of size {cfg.size}; lower n_train/n_val/n_test or raise "
                               "max_response_tokens")
        drawn = _draw(kind, rng, cfg)
        if drawn is None or drawn[1] in seen:
            continue
        task, key = drawn
        name = split_of(key)
        if len(splits[name]) >= wanted[name]:
            continue
        ex = make_example(kind, task, tok, cfg, rng, with_t_star=name == "test",
                          augment=cfg.augment_traces if name == "train" else 0)
        if ex is not None:
            seen.add(key)
            splits[name].append(ex)
    if cfg.path is not None:
        splits["test"] = read_task_file(kind, Path(cfg.path), tok, cfg, rng)
    return splits


def read_blocks(path: Path) -> list[str]:
    """Blank-line separated blocks of a text file (lines starting with ``;`` are comments)."""
    blocks, current = [], []
    for line in path.read_text().splitlines() + [""]:
        if line.startswith(";"):
            continue
        if line.strip():
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    return blocks


def read_task_file(kind: Kind, path: Path, tok: Tokenizer, cfg: PlanningData,
                   rng: np.random.Generator) -> list[PlanningExample]:
    """Tasks from a text file: blocks separated by blank lines, ``;`` lines are comments.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the block (and line) of a malformed or unsolvable task.
    """
    if not path.is_file():
        raise FileNotFoundError(f"data.path: {path} not found")
    blocks = read_blocks(path)
    out = []
    for i, block in enumerate(blocks):
        task = parse_task(kind, block, where=f"{path}, task {i + 1}")
        if kind == "sokoban" and len(task.state.boxes) != cfg.n_boxes:
            raise ValueError(f"{path}, task {i + 1}: {len(task.state.boxes)} boxes, but data.n_boxes={cfg.n_boxes}")
        if task.shape[0] > cfg.size or task.shape[1] > cfg.size:
            raise ValueError(f"{path}, task {i + 1}: {task.shape[0]}x{task.shape[1]} exceeds data.size={cfg.size}")
        ex = make_example(kind, task, tok, cfg, rng, with_t_star=True)
        if ex is None:
            raise ValueError(f"{path}, task {i + 1}: no A* solution within max_response_tokens={cfg.max_response_tokens}")
        out.append(ex)
    return out


def read_examples(path: Path) -> list[PlanningExample]:
    """The examples of one split file (JSON lines)."""
    return [PlanningExample(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def cached_splits(kind: Kind, cfg: PlanningData) -> Path:
    """The cache entry of ``cfg``: a folder with ``train.jsonl``, ``val.jsonl`` and ``test.jsonl``,
    generated once (concurrent runs wait for the first one) and keyed by the config hash."""
    from sciformers.evaluation.records import config_hash  # here: importing the package loads no harness

    def build(tmp: Path) -> None:
        tmp.mkdir()
        for name, examples in generate_splits(kind, cfg).items():
            (tmp / f"{name}.jsonl").write_text("".join(json.dumps(ex.__dict__) + "\n" for ex in examples))

    key = config_hash({"kind": kind, **cfg.model_dump()})[:16]
    return cached_file(cache_dir("planning") / f"{kind}-{key}", build)


def load_splits(kind: Kind, cfg: PlanningData) -> tuple[list[PlanningExample], list[PlanningExample], Path]:
    """Train and test examples and their cache folder (its ``val.jsonl``: :func:`read_examples`)."""
    folder = cached_splits(kind, cfg)
    return read_examples(folder / "train.jsonl"), read_examples(folder / "test.jsonl"), folder


class SequenceDataset(Dataset):
    """(prompt, response) id pairs for the Trainer.

    Args:
        pairs: ``(prompt ids, response ids)`` per example.
    """

    def __init__(self, pairs: list[tuple[list[int], list[int]]]) -> None:
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[list[int], list[int]]:
        return self.pairs[i]


def pad(seqs: list[list[int]]) -> tuple[Tensor, Tensor]:
    """Right-pad id lists with 0: ids ``(B, L)`` and mask ``(B, L)`` (True on real tokens)."""
    width = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), width, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    mask = torch.arange(width)[None, :] < torch.tensor([len(s) for s in seqs])[:, None]
    return ids, mask


def collate(batch: list[tuple[list[int], list[int]]]) -> dict[str, Tensor]:
    """Batch ``(prompt, response)`` pairs into ``src``/``src_mask``/``tgt``/``tgt_mask``."""
    src, src_mask = pad([p for p, _ in batch])
    tgt, tgt_mask = pad([r for _, r in batch])
    return {"src": src, "src_mask": src_mask, "tgt": tgt, "tgt_mask": tgt_mask}


def sequences(examples: list[PlanningExample], mode: str) -> SequenceDataset:
    """The training pairs of ``examples`` for a model in ``mode`` (``trace`` or ``plan``): each
    task's A* response, then those of its extra non-deterministic runs (``augment_traces``)."""
    pairs = []
    for ex in examples:
        responses = [ex.trace_response, *ex.extra_traces] if mode == "trace" else [ex.plan_response, *ex.extra_plans]
        pairs += [(ex.prompt, r) for r in responses]
    return SequenceDataset(pairs)
