"""Offline Shapelet Discovery: PIPs, information gain, CID distances and recovery of planted motifs."""

import math

import numpy as np
import pytest

from sciformers.timeseries.classification.discovery import (
    candidate_distances,
    complexity,
    discover_shapelets,
    information_gain,
    perceptually_important_points,
    pip_candidates,
    window_complexity,
)
from sciformers.timeseries.classification.planted import PlantedConfig, generate_split


def naive_pips(x, n_pips):
    """Greedy PIPs one point at a time with explicit loops (time scaled to [0, 1])."""
    t = len(x)
    time = np.linspace(0, 1, t)
    pips = [0, t - 1]
    order = [0, t - 1]
    while len(pips) < n_pips:
        best, best_d = None, -1.0
        for i in range(t):
            if i in pips:
                continue
            l = max(p for p in pips if p < i)
            r = min(p for p in pips if p > i)
            (x1, y1), (x2, y2) = (time[l], x[l]), (time[r], x[r])
            d = abs((x2 - x1) * (y1 - x[i]) - (x1 - time[i]) * (y2 - y1)) / math.hypot(x2 - x1, y2 - y1)
            if d > best_d + 1e-12:
                best, best_d = i, d
        pips.append(best)
        order.append(best)
    return order


def test_pips_match_a_naive_greedy_search():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 40)).cumsum(1)
    order = perceptually_important_points(x, 12)
    for row, o in zip(x, order):
        assert o.tolist() == naive_pips(row, 12)


def test_candidates_span_three_consecutive_pips():
    order = np.array([0, 20, 10, 5, 15])
    spans = pip_candidates(order)
    # after 10: (0,10,20); after 5: (0,5,10) and (5,10,20); after 15: (5,10,15), (10,15,20)
    assert spans == [(0, 21), (0, 11), (5, 21), (5, 16), (10, 21)]


def naive_information_gain(d, is_class):
    def h(labels):
        if len(labels) == 0:
            return 0.0
        p = sum(labels) / len(labels)
        return -sum(q * math.log2(q) for q in (p, 1 - p) if q > 0)

    best = 0.0
    for tau in sorted(set(d))[:-1]:
        left = [c for v, c in zip(d, is_class) if v <= tau]
        right = [c for v, c in zip(d, is_class) if v > tau]
        best = max(best, h(list(is_class)) - len(left) / len(d) * h(left) - len(right) / len(d) * h(right))
    return best


def test_information_gain_matches_a_hand_computation():
    # 2 of 5 series in the class; the split d <= 0.2 puts {class, class, other} left, {other, other} right
    d = np.array([[0.1, 0.2, 0.2, 0.5, 0.9]])
    is_class = np.array([[True, True, False, False, False]])
    h_parent = -(0.4 * math.log2(0.4) + 0.6 * math.log2(0.6))
    h_left = -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3))
    expected = h_parent - 3 / 5 * h_left  # the tied 0.2s cannot be separated, so d <= 0.1 is worse
    gain, gap = information_gain(d, is_class)
    assert gain[0] == pytest.approx(expected, abs=1e-12)
    assert gap[0] == pytest.approx((0.7 - 0.5 / 3) / 0.38)  # (mean right - mean left) / mean


def test_information_gain_matches_naive_on_random_rows():
    rng = np.random.default_rng(1)
    d = rng.integers(0, 6, (20, 9)).astype(float)  # many ties
    is_class = rng.random((20, 9)) < 0.4
    gain, _ = information_gain(d, is_class)
    for k in range(20):
        assert gain[k] == pytest.approx(naive_information_gain(d[k], is_class[k]), abs=1e-12)


@pytest.mark.parametrize("window", [4, 40])  # 40: the search spans the whole series
def test_candidate_distances_match_a_loop(window):
    rng = np.random.default_rng(2)
    series = rng.standard_normal((3, 30))
    length = 6
    windows = np.lib.stride_tricks.sliding_window_view(series, length, axis=-1)
    cands = np.stack([series[0, 5:11], series[2, 20:26], series[1, 0:6]])
    starts = np.array([5, 20, 0])
    got = candidate_distances(series, complexity(windows), cands, starts, window)
    for k, (c, s) in enumerate(zip(cands, starts)):
        for j in range(3):
            best = np.inf
            for p in range(max(0, s - window), min(30 - length, s + window) + 1):
                w = series[j, p:p + length]
                ce_c, ce_w = complexity(c), complexity(w)
                best = min(best, np.linalg.norm(c - w) * max(ce_c, ce_w) / min(ce_c, ce_w))
            assert got[k, j] == pytest.approx(best, rel=1e-7, abs=1e-6)  # eps-guarded ratio; expansion rounding
    assert got[0, 0] == pytest.approx(0.0, abs=1e-6) and got[1, 2] == pytest.approx(0.0, abs=1e-6)


def test_candidate_distances_keep_ties_between_equal_windows():
    series = np.tile(np.sin(np.linspace(0, 6, 40)), (4, 1))  # four identical series: IG must see a tie
    series[3] += 1.0
    length = 7
    windows = np.lib.stride_tricks.sliding_window_view(series, length, axis=-1)
    got = candidate_distances(series, complexity(windows), series[:1, 10:17], np.array([10]), 3)
    assert got[0, 0] == got[0, 1] == got[0, 2] < got[0, 3]


@pytest.mark.parametrize("length", [2, 5, 30])
def test_window_complexity_from_prefix_sums_equals_the_definition(length):
    X = np.random.default_rng(3).standard_normal((2, 3, 30))
    expected = complexity(np.lib.stride_tricks.sliding_window_view(X, length, axis=-1))
    # prefix sums round to ~eps * (the series' whole squared-difference sum): tiny windows differ by ~1e-11
    np.testing.assert_allclose(window_complexity(X, length), expected, rtol=1e-6, atol=1e-9)


def iou(a, b):
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def test_discovery_recovers_planted_motifs():
    cfg = PlantedConfig(seed=0)
    train = generate_split(cfg, cfg.n_train, 1)
    shapelets = discover_shapelets(train.X, train.y, num_shapelets=2, window=20, pip_ratio=0.2)
    assert [s.label for s in shapelets] == [0, 0, 1, 1, 2, 2]
    for s in shapelets[::2]:  # the best shapelet of each class
        planted = (train.starts[s.series], train.starts[s.series] + cfg.motif_length)
        assert train.y[s.series] == s.label
        assert s.channel == train.channels[s.series]
        assert iou((s.start, s.end), planted) >= 0.5
        np.testing.assert_array_equal(s.values, train.X[s.series, s.channel, s.start:s.end])


def test_discovery_is_deterministic_and_non_overlapping():
    cfg = PlantedConfig(seed=1, n_train=24)
    train = generate_split(cfg, cfg.n_train, 1)
    a = discover_shapelets(train.X, train.y, num_shapelets=3, window=10)
    b = discover_shapelets(train.X.copy(), train.y.copy(), num_shapelets=3, window=10, n_jobs=3)  # threads: same
    assert [(s.series, s.channel, s.start, s.end, s.info_gain) for s in a] == [
        (s.series, s.channel, s.start, s.end, s.info_gain) for s in b]
    for cls in range(cfg.classes):
        kept = [s for s in a if s.label == cls]
        gains = [s.info_gain for s in kept]
        assert gains == sorted(gains, reverse=True)
        for i, s in enumerate(kept):
            for t in kept[i + 1:]:
                assert s.channel != t.channel or s.end <= t.start or t.end <= s.start


def test_discovery_rejects_bad_input():
    X = np.zeros((4, 2, 20))
    with pytest.raises(ValueError, match="4 series but 3 labels"):
        discover_shapelets(X, np.array([0, 1, 0]))
    X[1, 0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        discover_shapelets(X, np.array([0, 1, 0, 1]))
