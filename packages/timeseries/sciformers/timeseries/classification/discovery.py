"""Offline Shapelet Discovery (OSD) of ShapeFormer, vectorised with numpy.

Le, Luo, Aickelin and Tran, "ShapeFormer: Shapelet Transformer for Multivariate Time Series
Classification", KDD 2024 (arXiv 2405.14608), Section 3.2:

1. **Candidates.** Per training series and channel, perceptually important points (PIPs) are
   added greedily; each new PIP is the point farthest (perpendicular distance, time axis scaled
   to [0, 1]) from the line joining its neighbouring PIPs. Every new PIP yields the candidates
   spanning three consecutive PIPs that contain it, so candidate lengths vary.
2. **Scoring.** Each candidate is compared with every training series on its own channel, at
   every start within +-``window`` of its own start (the position-constrained search). The
   distance is the Euclidean distance times the complexity-invariance ratio (CID, Batista et
   al. 2014). The score is the best one-vs-rest information gain for the candidate's class.
3. **Selection.** Per class, the highest-IG candidates are kept, skipping any that overlaps a
   kept shapelet of that class on the same channel.

Everything is deterministic: PIP ties go to the earliest point; IG ties (many candidates split
perfectly) go to the widest separation gap (Ye and Keogh 2009), then to the earliest
(series, channel, start, end). The reference code breaks them by loop order instead. Discovery sees only the data it is given (the training set).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_EPS = 1e-8


@dataclass(frozen=True)
class Shapelet:
    """A discovered shapelet.

    Args:
        values: the subsequence, shape ``(length,)``.
        channel: the channel it was cut from.
        start: first index in its source series.
        end: one past the last index (``end - start == len(values)``).
        label: the class (an integer code) it discriminates.
        info_gain: its best one-vs-rest information gain.
        series: index of its source series in the training set.
    """

    values: np.ndarray
    channel: int
    start: int
    end: int
    label: int
    info_gain: float
    series: int

    @property
    def length(self) -> int:
        return self.end - self.start


def perceptually_important_points(x: np.ndarray, n_pips: int) -> np.ndarray:
    """Greedy PIPs of the rows of ``x`` (all of the same length), vectorised over rows.

    Args:
        x: series, shape ``(S, T)``.
        n_pips: number of PIPs per series including both ends (at most ``T``).

    Returns:
        ``(S, n_pips)``: the PIP indices of each row in the order they were added (the two ends
        first).
    """
    s, t = x.shape
    n_pips = min(n_pips, t)
    time = np.linspace(0.0, 1.0, t)
    rows = np.arange(s)
    is_pip = np.zeros((s, t), dtype=bool)
    is_pip[:, [0, t - 1]] = True
    left = np.zeros((s, t), dtype=np.int64)  # nearest PIP at or before each point
    right = np.full((s, t), t - 1, dtype=np.int64)  # nearest PIP at or after each point
    order = np.zeros((s, n_pips), dtype=np.int64)
    order[:, 1] = t - 1
    idx = np.arange(t)
    for k in range(2, n_pips):
        # perpendicular distance of (time_i, x_i) to the line through its neighbouring PIPs
        tl, tr = time[left], time[right]
        xl, xr = np.take_along_axis(x, left, 1), np.take_along_axis(x, right, 1)
        num = np.abs((tr - tl) * (xl - x) - (tl - time) * (xr - xl))
        den = np.sqrt((tr - tl) ** 2 + (xr - xl) ** 2) + _EPS
        dist = np.where(is_pip, -1.0, num / den)
        p = dist.argmax(1)  # first maximum: deterministic ties
        order[:, k] = p
        is_pip[rows, p] = True
        lp, rp = left[rows, p], right[rows, p]
        seg = (idx[None] > lp[:, None]) & (idx[None] < rp[:, None])
        right = np.where(seg & (idx[None] < p[:, None]), p[:, None], right)
        left = np.where(seg & (idx[None] > p[:, None]), p[:, None], left)
        right[rows, p] = p
        left[rows, p] = p
    return order


def pip_candidates(order: np.ndarray) -> list[tuple[int, int]]:
    """Candidate spans ``[start, end)`` from one series' PIP insertion order.

    When PIP ``p`` is inserted between neighbours ``l < p < r``, the triples of consecutive PIPs
    containing it are ``(ll, l, p)``, ``(l, p, r)`` and ``(p, r, rr)``; each gives the span from
    its first to its last point (inclusive). Duplicates are dropped, first occurrence kept.
    """
    pips = sorted(order[:2].tolist())
    spans: dict[tuple[int, int], None] = {}
    for p in order[2:].tolist():
        pos = int(np.searchsorted(pips, p))
        pips.insert(pos, p)
        for a in range(pos - 2, pos + 1):
            if a >= 0 and a + 2 < len(pips):
                spans.setdefault((pips[a], pips[a + 2] + 1), None)
    return list(spans)


def complexity(x: np.ndarray) -> np.ndarray:
    """Complexity estimate ``CE(x) = sqrt(sum (x_{t+1} - x_t)^2)`` over the last axis (CID, eq. 3)."""
    return np.sqrt((np.diff(x, axis=-1) ** 2).sum(-1))


def window_complexity(X: np.ndarray, length: int) -> np.ndarray:
    """``CE`` of every length-``length`` window of ``X (..., T)``, shape ``(..., T - length + 1)``.

    Equals ``complexity(sliding_window_view(X, length, axis=-1))`` up to the rounding of prefix sums
    (about 1e-16 times the series' whole squared-difference sum), from prefix sums of the squared
    first differences: O(T) per length instead of O(T * length).
    """
    sq = np.diff(X, axis=-1) ** 2
    prefix = np.concatenate([np.zeros((*X.shape[:-1], 1)), np.cumsum(sq, axis=-1)], axis=-1)  # (..., T)
    return np.sqrt(np.maximum(prefix[..., length - 1:] - prefix[..., : X.shape[-1] - length + 1], 0.0))


def _entropy(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Binary entropy (bits) of ``p`` positives among ``m`` items (0 for an empty set)."""
    q = np.clip(p / np.maximum(m, 1.0), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.nan_to_num(q * np.log2(q)) - np.nan_to_num((1 - q) * np.log2(1 - q))


def information_gain(distances: np.ndarray, is_class: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best one-vs-rest information gain over all distance thresholds (eq. 4), per row.

    Args:
        distances: ``(K, N)`` distances of K candidates to N training series.
        is_class: ``(K, N)`` booleans, whether each series belongs to the candidate's class.

    Returns:
        ``(gain, gap)``, each ``(K,)``: ``gain = max_tau H(D) - |D_L|/|D| H(D_L) - |D_R|/|D| H(D_R)``
        with ``D_L = {d <= tau}``, thresholds only between distinct distances (ties cannot be
        split); ``gap`` is the separation gap ``mean(D_R) - mean(D_L)`` at the best threshold
        (Ye and Keogh's KDD 2009 tie-breaker) divided by ``mean(D)``, so that it does not grow
        with the candidate's length.
    """
    k, n = distances.shape
    if n < 2:
        return np.zeros(k), np.zeros(k)
    order = np.argsort(distances, axis=1, kind="stable")
    d = np.take_along_axis(distances, order, 1)
    pos = np.take_along_axis(is_class, order, 1).astype(np.float64)
    cum = np.cumsum(pos, 1)[:, :-1]  # positives among the first i + 1 (the left side)
    n_left = np.arange(1, n, dtype=np.float64)[None]
    total = pos.sum(1, keepdims=True)
    parent = _entropy(total, np.full_like(total, n))
    children = (n_left * _entropy(cum, n_left) + (n - n_left) * _entropy(total - cum, n - n_left)) / n
    gain = np.where(d[:, 1:] > d[:, :-1], parent - children, -np.inf)
    best = gain.argmax(1)
    csum = np.cumsum(d, 1)
    left_mean = csum[np.arange(k), best] / (best + 1)
    right_mean = (csum[:, -1] - csum[np.arange(k), best]) / (n - best - 1)
    top = gain[np.arange(k), best]
    valid = np.isfinite(top)
    gap = (right_mean - left_mean) / (csum[:, -1] / n + _EPS)
    return np.where(valid, top, 0.0), np.where(valid, gap, 0.0)


def candidate_distances(
    series: np.ndarray, ce_windows: np.ndarray, cands: np.ndarray, starts: np.ndarray, window: int,
) -> np.ndarray:
    """CID-Euclidean distance of candidates of one length and channel to every series.

    The squared distance is expanded as ``||c||^2 + ||w||^2 - 2 <c, w>``, with the two window
    reductions taken over strided views of each candidate's search segment (``2 window + L - 1``
    points per series), so no ``(N, K, Q, L)`` array is built. Equal windows give equal distances
    (the same products in the same order); the expansion's rounding is about ``1e-16 (||c||^2 +
    ||w||^2)``, so a candidate's distance to its own source window is ~1e-8 of its norm, not 0.

    Args:
        series: ``(N, T)`` the channel in each training series.
        ce_windows: ``(N, P)`` complexity estimates of its ``P = T - L + 1`` windows.
        cands: ``(K, L)`` candidate values.
        starts: ``(K,)`` candidate starts; only starts within ``+-window`` are searched.
        window: the half-width of the position-constrained search.

    Returns:
        ``(K, N)``: the minimum over allowed starts of ``||c - w|| * CID(c, w)``.
    """
    n_pos = ce_windows.shape[1]
    offsets = np.arange(-window, window + 1)
    padded = np.pad(series, ((0, 0), (window, window)))  # segment k starts at starts[k] - window
    segments = padded[:, starts[:, None] + np.arange(len(offsets) + cands.shape[1] - 1)]  # (N, K, Q + L - 1)
    views = sliding_window_view(segments, cands.shape[1], axis=-1)  # (N, K, Q, L), no copy
    sq = (np.einsum("kl,kl->k", cands, cands)[None, :, None] + np.einsum("nkql,nkql->nkq", views, views)
          - 2.0 * np.einsum("nkql,kl->nkq", views, cands))
    pos = starts[:, None] + offsets  # (K, Q)
    allowed = (pos >= 0) & (pos < n_pos)
    ce_c, ce_w = complexity(cands)[None, :, None], ce_windows[:, np.clip(pos, 0, n_pos - 1)]
    ratio = np.maximum(ce_c, ce_w) / (np.minimum(ce_c, ce_w) + _EPS)
    dist = np.where(allowed[None], np.sqrt(np.maximum(sq, 0.0)) * ratio, np.inf)
    return dist.min(-1).T


def score_candidates(
    X: np.ndarray, y: np.ndarray, table: np.ndarray, length: int, window: int, block_floats: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Information gain and separation gap of every candidate of one length.

    Args:
        X: training series ``(N, C, T)``.
        y: class codes ``(N,)``.
        table: all candidates as rows ``(series, channel, start, end)``.
        length: the candidate length scored here.
        window: half-width of the position-constrained search.
        block_floats: candidates are scored in blocks of about this many floats of search segments.

    Returns:
        ``(rows, gains, gaps)``: the table rows of this length and their scores.
    """
    n, c, _ = X.shape
    ce = window_complexity(X, length)  # (N, C, P)
    rows = np.flatnonzero(table[:, 3] - table[:, 2] == length)
    gains, gaps = np.zeros(len(rows)), np.zeros(len(rows))
    chunk = max(1, block_floats // (n * (2 * window + length)))
    for ch in range(c):
        sel = np.flatnonzero(table[rows, 1] == ch)
        for block in np.array_split(sel, max(1, int(np.ceil(len(sel) / chunk)))):
            if len(block) == 0:
                continue
            s_idx, starts = table[rows[block], 0], table[rows[block], 2]
            cands = X[s_idx[:, None], ch, starts[:, None] + np.arange(length)]
            dist = candidate_distances(X[:, ch], ce[:, ch], cands, starts, window)
            gains[block], gaps[block] = information_gain(dist, y[None, :] == y[s_idx][:, None])
    return rows, gains, gaps


def discover_shapelets(
    X: np.ndarray, y: np.ndarray, num_shapelets: int = 3, window: int = 20, pip_ratio: float = 0.2,
    min_pips: int = 5, block_floats: int = 2_000_000, n_jobs: int = 1,
) -> list[Shapelet]:
    """Offline Shapelet Discovery on training series.

    Args:
        X: training series ``(N, C, T)`` (equal length; pad beforehand), finite.
        y: integer class codes ``(N,)``.
        num_shapelets: shapelets kept per class.
        window: half-width of the position-constrained search (README's ``window_size``).
        pip_ratio: PIPs per series as a fraction of its length (``num_pip``).
        min_pips: minimum number of PIPs (the reference uses 5).
        block_floats: candidates are scored in blocks of about this many floats of search segments.
        n_jobs: threads scoring candidate lengths at once (numpy releases the GIL in the distance
            reductions); ``-1`` uses every core. The result does not depend on it.

    Returns:
        ``num_classes * num_shapelets`` shapelets (fewer if a class has too few candidates),
        ordered by class, then by information gain (best first).

    Raises:
        ValueError: on a shape mismatch or non-finite values.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 3:
        raise ValueError(f"discover_shapelets: X must be (n_series, n_channels, length), got shape {X.shape}")
    if len(X) != len(y):
        raise ValueError(f"discover_shapelets: {len(X)} series but {len(y)} labels")
    if not np.isfinite(X).all():
        raise ValueError("discover_shapelets: X contains NaN or inf; impute or pad first")
    n, c, t = X.shape
    n_pips = max(min_pips, int(pip_ratio * t))
    order = perceptually_important_points(X.reshape(n * c, t), n_pips)
    # candidate table: series, channel, start, end
    rows = []
    for sc in range(n * c):
        rows += [(sc // c, sc % c, s, e) for s, e in pip_candidates(order[sc])]
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    gains, gaps = np.zeros(len(table)), np.zeros(len(table))
    lengths = [int(v) for v in np.unique(table[:, 3] - table[:, 2])]
    workers = (os.cpu_count() or 1) if n_jobs == -1 else max(1, n_jobs)
    with ThreadPoolExecutor(workers) as pool:
        for idx, gain, gap in pool.map(lambda L: score_candidates(X, y, table, L, window, block_floats), lengths):
            gains[idx], gaps[idx] = gain, gap
    return select_shapelets(X, y, table, gains, gaps, num_shapelets)


def select_shapelets(
    X: np.ndarray, y: np.ndarray, table: np.ndarray, gains: np.ndarray, gaps: np.ndarray, num_shapelets: int,
) -> list[Shapelet]:
    """Top-IG non-overlapping candidates per class (``find_c_shapelet_non_overlab``).

    Args:
        X: training series ``(N, C, T)``.
        y: class codes ``(N,)``.
        table: candidates as rows ``(series, channel, start, end)``.
        gains: their information gains.
        gaps: their separation gaps (the IG tie-breaker).
        num_shapelets: kept per class.
    """
    labels = y[table[:, 0]]
    # best IG first; IG ties (common: many perfect splits) to the widest separation gap, then to
    # the earliest (series, channel, start, end). IG is rounded so float noise cannot order ties.
    rank = np.lexsort((table[:, 3], table[:, 2], table[:, 1], table[:, 0], -gaps, -np.round(gains, 12)))
    out: list[Shapelet] = []
    for cls in np.unique(y):
        kept: list[tuple[int, int, int]] = []
        for i in rank[labels[rank] == cls]:
            s, ch, a, b = (int(v) for v in table[i])
            if any(ch == kc and a < kb and ka < b for kc, ka, kb in kept):
                continue
            kept.append((ch, a, b))
            out.append(Shapelet(X[s, ch, a:b].copy(), ch, a, b, int(cls), float(gains[i]), s))
            if len(kept) == num_shapelets:
                break
    return out
