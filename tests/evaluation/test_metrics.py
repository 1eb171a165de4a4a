"""Every metric against a NumPy reference on the whole set."""

import numpy as np
import pytest
import torch

from sciformers.evaluation import get_metric, list_metrics

rng = np.random.default_rng(0)


def _np_mcc(y, p, k):
    c = np.zeros((k, k))
    for a, b in zip(y, p):
        c[a, b] += 1
    t, pk, n, s = c.sum(1), c.sum(0), np.trace(c), c.sum()
    return (n * s - t @ pk) / np.sqrt((s**2 - pk @ pk) * (s**2 - t @ t))


def _np_f1_macro(y, p, k):
    scores = []
    for c in range(k):
        tp = np.sum((p == c) & (y == c))
        fp = np.sum((p == c) & (y != c))
        fn = np.sum((p != c) & (y == c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def test_classification_metrics_match_numpy():
    k = 5
    y = rng.integers(0, k, 203)
    logits = rng.normal(size=(203, k))
    logits[np.arange(203) % 3 == 0, y[np.arange(203) % 3 == 0]] += 3
    p = logits.argmax(1)
    pt, yt = torch.tensor(logits), torch.tensor(y)
    assert get_metric("accuracy")(pt, yt) == pytest.approx(np.mean(p == y))
    assert get_metric("mcc")(pt, yt) == pytest.approx(_np_mcc(y, p, k), abs=1e-6)
    assert get_metric("f1_macro")(pt, yt) == pytest.approx(_np_f1_macro(y, p, k), abs=1e-6)


def test_regression_metrics_match_numpy():
    t = rng.normal(size=(37, 4, 3))
    p = t + 0.1 * rng.normal(size=t.shape)
    pt, tt = torch.tensor(p), torch.tensor(t)
    assert get_metric("mae")(pt, tt) == pytest.approx(np.abs(p - t).mean())
    assert get_metric("rmse")(pt, tt) == pytest.approx(np.sqrt(((p - t) ** 2).mean()))
    flat_p, flat_t = p.reshape(37, -1), t.reshape(37, -1)
    ref = np.mean(np.linalg.norm(flat_p - flat_t, axis=1) / np.linalg.norm(flat_t, axis=1))
    assert get_metric("rel_l2")(pt, tt) == pytest.approx(ref)


def test_metric_directions():
    assert get_metric("accuracy").higher_is_better and not get_metric("rel_l2").higher_is_better
    assert {"accuracy", "f1_macro", "mcc", "mae", "rmse", "rel_l2"} <= set(list_metrics())


def test_bad_metric_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="3 predictions for 4 targets"):
        get_metric("accuracy")(torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="zero norm"):
        get_metric("rel_l2")(torch.ones(2, 3), torch.zeros(2, 3))
    with pytest.raises(KeyError, match="unknown metric 'acc'"):
        get_metric("acc")


def test_auroc_is_the_pairwise_win_rate():
    # hand count: positives {0.8, 0.4, 0.4}, negatives {0.4, 0.1}: wins 2 + (1/2 + 1) + (1/2 + 1) = 5 of 6
    scores, y = torch.tensor([0.8, 0.4, 0.4, 0.4, 0.1]), torch.tensor([1, 1, 1, 0, 0])
    assert get_metric("auroc")(scores, y) == pytest.approx(5 / 6)
    # against the O(N^2) definition on random scores with ties
    s = rng.integers(0, 20, 301).astype(float) * 1e3  # large, tied scores: no squashing into [0, 1]
    t = rng.integers(0, 2, 301)
    pos, neg = s[t == 1], s[t == 0]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert get_metric("auroc")(torch.tensor(s), torch.tensor(t)) == pytest.approx(pairs, abs=1e-12)
    # two-class logits score by their difference, i.e. by the positive-class probability
    logits = torch.tensor(rng.normal(size=(301, 2)))
    expected = get_metric("auroc")(torch.softmax(logits, 1)[:, 1], torch.tensor(t))
    assert get_metric("auroc")(logits, torch.tensor(t)) == pytest.approx(expected, abs=1e-12)
    assert np.isnan(get_metric("auroc")(scores, torch.ones(5)))
    with pytest.raises(ValueError, match="auroc: expected scores"):
        get_metric("auroc")(torch.zeros(5, 3), y)
