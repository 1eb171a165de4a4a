"""Reads as token batches: context stuffing with block-diagonal attention (METAGENE-1 training data pipeline).

Each read becomes ``[BOS] tokens [EOS]`` (the tokenizer's template); a read that does not fit
the window is an error, never cut (size the context from the reads). With
context stuffing, whole reads are concatenated into windows of ``context + 1`` tokens (inputs
are the first ``context``, targets the last ``context``); every position carries its read's
*segment* id (0 = padding) and its position inside the read. Attention is restricted to equal
segments (:func:`segment_mask`), and rotary positions restart at every read, so a packed read
is computed exactly as if it were alone, which the tests check. The target of a read's last
token (the next read's ``[BOS]``) is ignored.

One batch format serves packed windows and single padded reads alike: a dict of ``(B, N)``
tensors ``input_ids, segments, positions, targets`` (``-100`` = no target) and ``bases``
(bases covered by each target token, for bits per base).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.genomics.tokenizer import BOS, EOS, PAD

IGNORE = -100


def read_units(token_ids: Sequence[Sequence[int]], max_len: int) -> list[list[int]]:
    """``[BOS] ids [EOS]`` per read.

    Raises:
        ValueError: if a unit would exceed ``max_len`` tokens (naming the read): reads are never cut.
    """
    if max_len < 3:
        raise ValueError(f"a window must hold at least [BOS], one token and [EOS]; got {max_len}")
    for i, ids in enumerate(token_ids):
        if len(ids) + 2 > max_len:
            raise ValueError(f"read {i} has {len(ids)} tokens: with [BOS] and [EOS] it needs {len(ids) + 2} "
                             f"positions, more than the {max_len} available; raise the context (reads are never cut)")
    return [[BOS, *ids, EOS] for ids in token_ids]


def longest_unit(token_ids: Sequence[Sequence[int]]) -> int:
    """Tokens of the longest ``[BOS] ids [EOS]`` unit: the positions a single read needs."""
    return max((len(ids) for ids in token_ids), default=1) + 2


def pack_units(units: Sequence[Sequence[int]], context: int) -> list[tuple[list[int], list[int]]]:
    """Greedily concatenate whole units into windows of at most ``context + 1`` tokens.

    Args:
        units: token lists (from :func:`read_units` with ``max_len <= context + 1``).
        context: model context length (inputs per window).

    Returns:
        ``(tokens, segments)`` per window, segments numbering the units 1, 2, ... inside it.
    """
    windows: list[tuple[list[int], list[int]]] = []
    tokens: list[int] = []
    segments: list[int] = []
    for unit in units:
        if len(unit) > context + 1:
            raise ValueError(f"a unit of {len(unit)} tokens does not fit a window of {context + 1}")
        if len(tokens) + len(unit) > context + 1:
            windows.append((tokens, segments))
            tokens, segments = [], []
        seg = (segments[-1] + 1) if segments else 1
        tokens += list(unit)
        segments += [seg] * len(unit)
    if tokens:
        windows.append((tokens, segments))
    return windows


def window_tensors(tokens: Sequence[int], segments: Sequence[int], context: int,
                   token_bases: Tensor) -> dict[str, Tensor]:
    """The batch entries of one window, padded to ``context`` positions.

    Args:
        tokens: up to ``context + 1`` token ids.
        segments: their segment ids (1, 2, ...).
        context: positions per window.
        token_bases: ``(vocab,)`` bases per token id (0 for specials).
    """
    tok = torch.full((context + 1,), PAD, dtype=torch.long)
    seg = torch.zeros(context + 1, dtype=torch.long)
    tok[: len(tokens)] = torch.tensor(tokens, dtype=torch.long)
    seg[: len(segments)] = torch.tensor(segments, dtype=torch.long)
    inp, nxt, seg_in, seg_nxt = tok[:-1], tok[1:], seg[:-1], seg[1:]
    same = (seg_in == seg_nxt) & (seg_in > 0)
    targets = torch.where(same, nxt, torch.full_like(nxt, IGNORE))
    starts = torch.ones_like(seg_in, dtype=torch.bool)
    starts[1:] = seg_in[1:] != seg_in[:-1]
    idx = torch.arange(context)
    start_idx = torch.cummax(torch.where(starts, idx, torch.zeros_like(idx)), 0).values
    positions = torch.where(seg_in > 0, idx - start_idx, torch.zeros_like(idx))
    bases = torch.where(same, token_bases[nxt], torch.zeros_like(nxt))
    return {"input_ids": inp, "segments": seg_in, "positions": positions, "targets": targets, "bases": bases}


def segment_mask(segments: Tensor) -> Tensor:
    """Block-diagonal attention mask ``(B, 1, N, N)``: True where query and key share a segment.

    Padding (segment 0) attends to padding only, so no row is empty; combined with
    ``causal=True`` it is the block-diagonal causal mask of varlen attention.
    """
    return (segments[:, :, None] == segments[:, None, :])[:, None]


class PackedReads(Dataset):
    """Reads packed into fixed windows for language-model training.

    Args:
        token_ids: token ids per read (no specials).
        context: positions per window.
        token_bases: ``(vocab,)`` bases per token id.
    """

    def __init__(self, token_ids: Sequence[Sequence[int]], context: int, token_bases: Tensor) -> None:
        self.context = context
        self.token_bases = token_bases
        self.windows = pack_units(read_units(token_ids, context + 1), context)

    @property
    def fill(self) -> float:
        """Fraction of the windows' ``context + 1`` slots that hold read tokens (the rest is padding)."""
        return sum(len(t) for t, _ in self.windows) / max(len(self.windows) * (self.context + 1), 1)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        tokens, segments = self.windows[i]
        return window_tensors(tokens, segments, self.context, self.token_bases)


class SingleReads(Dataset):
    """One read per sample, padded to ``max_len`` (for scoring, embedding and classification).

    Every position of ``[BOS] ids [EOS]`` is an input (the ``[EOS]`` state has seen the whole
    read: the classifier's ``last`` pooling), and ``[EOS]`` is the last target.

    Args:
        token_ids: token ids per read (no specials).
        max_len: positions per sample (a longer read is an error); ``None``: :func:`longest_unit`.
        token_bases: ``(vocab,)`` bases per token id.
        labels: optional class per read, returned as ``label``.
    """

    def __init__(self, token_ids: Sequence[Sequence[int]], max_len: int | None, token_bases: Tensor,
                 labels: Sequence[int] | None = None) -> None:
        max_len = longest_unit(token_ids) if max_len is None else max_len
        self.units = read_units(token_ids, max_len)
        self.max_len = max_len
        self.token_bases = token_bases
        self.labels = None if labels is None else torch.as_tensor(labels, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.units)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        unit = self.units[i]
        out = window_tensors(unit, [1] * len(unit), self.max_len, self.token_bases)
        if self.labels is not None:
            out["label"] = self.labels[i]
        return out
