"""ListOps (Nangia & Bowman 2018) as used by Long Range Arena (Tay et al. 2021, https://arxiv.org/abs/2011.04006).

Nested prefix expressions over the digits 0-9 with four list operators, e.g.
``[MAX 4 3 [MIN 2 3 ] 1 0 [MED 1 5 8 9 2 ] ]`` -> 5; the label is the value (10 classes).

- ``MAX`` / ``MIN``: maximum / minimum of the arguments;
- ``MED``: the median, truncated to an integer (``int(median)``, as LRA's generator does);
- ``SM``: the sum modulo 10.

The generator draws trees top-down: a node is a leaf digit with probability ``leaf_prob``
(always at ``max_depth``), otherwise an operator with 2..``max_args`` children; expressions whose
token count falls outside ``[min_len, max_len]`` are redrawn. Files are LRA's TSV layout
(``Source<TAB>Target`` with a header line); LRA's extra ``(`` ``)`` grouping tokens are accepted
and ignored, so the original ``basic_{train,val,test}.tsv`` files load unchanged.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Iterator, Union

import torch
from torch import Tensor
from torch.utils.data import Dataset

OPERATORS = ("[MAX", "[MIN", "[MED", "[SM")
CLOSE = "]"
DIGITS = tuple(str(d) for d in range(10))
PAD = "<pad>"
VOCAB = (PAD, *DIGITS, *OPERATORS, CLOSE)
TOKEN_ID = {t: i for i, t in enumerate(VOCAB)}
NUM_CLASSES = 10

Tree = Union[int, tuple[str, list["Tree"]]]


def apply_op(op: str, args: list[int]) -> int:
    """Value of operator ``op`` on integer ``args``."""
    if op == "[MAX":
        return max(args)
    if op == "[MIN":
        return min(args)
    if op == "[MED":
        s = sorted(args)
        n = len(s)
        return s[n // 2] if n % 2 else int((s[n // 2 - 1] + s[n // 2]) / 2)
    if op == "[SM":
        return sum(args) % 10
    raise ValueError(f"unknown ListOps operator {op!r}; expected one of {OPERATORS}")


def evaluate(tree: Tree) -> int:
    """Value of a tree (recursive definition)."""
    if isinstance(tree, int):
        return tree
    op, children = tree
    return apply_op(op, [evaluate(c) for c in children])


def to_tokens(tree: Tree) -> list[str]:
    """Prefix tokens of a tree: ``[OP arg ... ]``."""
    if isinstance(tree, int):
        return [str(tree)]
    op, children = tree
    return [op, *(t for c in children for t in to_tokens(c)), CLOSE]


def evaluate_tokens(tokens: list[str]) -> int:
    """Value of a token sequence with an explicit stack (independent of the tree form).

    Raises:
        ValueError: for an unknown token or unbalanced brackets.
    """
    stack: list[tuple[str, list[int]]] = []
    result: int | None = None
    for tok in tokens:
        if tok in ("(", ")"):
            continue
        if tok in OPERATORS:
            stack.append((tok, []))
        elif tok == CLOSE:
            if not stack:
                raise ValueError("unbalanced ']' in ListOps expression")
            op, args = stack.pop()
            value = apply_op(op, args)
            if stack:
                stack[-1][1].append(value)
            else:
                result = value
        elif tok in DIGITS:
            if stack:
                stack[-1][1].append(int(tok))
            else:
                result = int(tok)
        else:
            raise ValueError(f"unknown ListOps token {tok!r}")
    if stack or result is None:
        raise ValueError("unbalanced ListOps expression: an operator is never closed")
    return result


def depth(tree: Tree) -> int:
    """Nesting depth (a digit has depth 0)."""
    return 0 if isinstance(tree, int) else 1 + max(depth(c) for c in tree[1])


def random_tree(rng: random.Random, max_depth: int, max_args: int, leaf_prob: float, level: int = 0) -> Tree:
    """Draw one expression tree top-down (the root is always an operator)."""
    if level > 0 and (level >= max_depth or rng.random() < leaf_prob):
        return rng.randrange(10)
    op = rng.choice(OPERATORS)
    n_args = rng.randint(2, max_args)
    return op, [random_tree(rng, max_depth, max_args, leaf_prob, level + 1) for _ in range(n_args)]


def generate(
    n: int, *, seed: int, min_len: int, max_len: int, max_depth: int, max_args: int, leaf_prob: float,
    max_tries: int = 1000,
) -> list[tuple[list[str], int]]:
    """``n`` (tokens, label) pairs with ``min_len <= len(tokens) <= max_len``.

    Raises:
        ValueError: if ``max_tries`` draws in a row miss the length window (the window cannot
            be reached with these depth/argument limits).
    """
    rng = random.Random(seed)
    out: list[tuple[list[str], int]] = []
    misses = 0
    while len(out) < n:
        tree = random_tree(rng, max_depth, max_args, leaf_prob)
        tokens = to_tokens(tree)
        if min_len <= len(tokens) <= max_len:
            out.append((tokens, evaluate(tree)))
            misses = 0
        else:
            misses += 1
            if misses >= max_tries:
                raise ValueError(
                    f"ListOps: {max_tries} draws missed the length window [{min_len}, {max_len}] "
                    f"with max_depth={max_depth}, max_args={max_args}, leaf_prob={leaf_prob}; widen it"
                )
    return out


def write_tsv(path: Path, examples: list[tuple[list[str], int]]) -> None:
    """Write LRA's TSV layout: header ``Source\tTarget``, one expression per line (into the cache
    through :func:`~sciformers.core.cached_file`, which makes the write atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["Source", "Target"])
        for tokens, label in examples:
            writer.writerow([" ".join(tokens), label])


def read_tsv(path: Path) -> list[tuple[list[str], int]]:
    """Read an LRA ListOps TSV; a bad line is an error naming the file and line number."""
    examples = []
    with path.open(newline="") as fh:
        rows: Iterator[list[str]] = csv.reader(fh, delimiter="\t")
        header = next(rows, None)
        if header is None or [h.strip() for h in header[:2]] != ["Source", "Target"]:
            raise ValueError(f"{path}:1: expected header 'Source<TAB>Target', got {header!r}")
        for lineno, row in enumerate(rows, start=2):
            if len(row) != 2:
                raise ValueError(f"{path}:{lineno}: expected 2 tab-separated fields, got {len(row)}")
            tokens = [t for t in row[0].split() if t not in ("(", ")")]
            unknown = sorted({t for t in tokens if t not in TOKEN_ID or t == PAD})
            if unknown:
                raise ValueError(f"{path}:{lineno}: unknown tokens {unknown}; expected digits, {OPERATORS} and ']'")
            try:
                label = int(row[1])
            except ValueError:
                raise ValueError(f"{path}:{lineno}: Target {row[1]!r} is not an integer 0-9") from None
            if not 0 <= label < NUM_CLASSES:
                raise ValueError(f"{path}:{lineno}: Target {label} outside 0-9")
            examples.append((tokens, label))
    return examples


class ListOpsDataset(Dataset):
    """Token-id tensors and labels; items are ``{"tokens": LongTensor[L], "label": LongTensor[]}``."""

    def __init__(self, examples: list[tuple[list[str], int]]) -> None:
        self.tokens = [torch.tensor([TOKEN_ID[t] for t in toks], dtype=torch.long) for toks, _ in examples]
        self.labels = torch.tensor([label for _, label in examples], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"tokens": self.tokens[i], "label": self.labels[i]}


def collate(items: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Pad a batch to its longest sequence; ``mask`` is True on real tokens."""
    lengths = torch.tensor([len(it["tokens"]) for it in items])
    tokens = torch.full((len(items), int(lengths.max())), TOKEN_ID[PAD], dtype=torch.long)
    for i, it in enumerate(items):
        tokens[i, : len(it["tokens"])] = it["tokens"]
    mask = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]
    return {"tokens": tokens, "mask": mask, "label": torch.stack([it["label"] for it in items])}
