"""Scores against hand computations, and the peers on data whose answer is known."""

import numpy as np
import pytest
from scipy.stats import poisson

from sciformers.neuro import metrics as M
from sciformers.neuro import SpikeData
from sciformers.neuro.peers import HomogeneousPoisson, PoissonGLM, ccg_connectivity, history_features, window_count_features


def test_poisson_loglik_and_bits_per_spike():
    counts = np.array([[0, 2], [1, 0]])
    rate = np.array([0.5, 1.0])
    assert M.poisson_loglik(counts, rate[None]) == pytest.approx(poisson.logpmf(counts, rate[None]).sum())
    assert M.bits_per_spike(-10.0, -10.0 - 3 * np.log(2), 3) == pytest.approx(1.0)


def test_set_f1_counts_misses_that_the_reference_forgets():
    assert M.set_f1([{1, 2}], [{1, 2, 3, 4}]) == pytest.approx(2 * 2 / 6)  # the reference's bug would give 1
    assert M.set_f1([set(), {1}], [set(), set()]) == pytest.approx(0.5)


def test_connectivity_scores_on_hand_matrices():
    w = np.zeros((4, 4))
    w[0, 1] = w[0, 2] = w[3, 2] = 1.0
    w[2, 3] = -1.0  # 2 <-> 3 is two-way
    score = np.array([[0, 5, 4, 0.1], [0.2, 0, 0, 0], [0, 0.3, 0, -2], [0, 0, -1, 0]], float)
    assert M.conn_auroc(score, w) == pytest.approx(1.0)
    assert M.direction_acc(score, w) == pytest.approx(1.0)  # 0->1 and 0->2 are one-way and recovered
    assert M.hubs_found(score, np.array([0])) == 1.0
    assert M.direction_acc(score.T, w) == 0.0


def test_psth_r_identical_runs_is_one():
    rng = np.random.default_rng(0)
    runs = [SpikeData.from_times(rng.uniform(0, 2, 100), rng.integers(0, 3, 100), n_neurons=3, t_stop=2.0) for _ in range(2)]
    assert M.psth_r(runs, runs, 0.2) == pytest.approx(1.0)


def test_history_features_are_lagged_sums():
    counts = np.arange(20).reshape(10, 2)
    h = history_features(counts).reshape(10, 2, 4)
    t = 9
    assert h[t, 1, 0] == counts[t - 1, 1] and h[t, 1, 1] == counts[t - 2, 1]
    assert h[t, 0, 2] == counts[t - 4:t - 2, 0].sum() and h[t, 0, 3] == counts[t - 8:t - 4, 0].sum()
    assert h[0].sum() == 0


def test_glm_and_ccg_recover_a_planted_coupling():
    rng = np.random.default_rng(0)
    T, n = 20000, 3
    counts = np.zeros((T, n), int)
    for t in range(T):  # 0 excites 1 one bin later; 2 is independent
        lam = np.array([0.05, 0.02 + 0.5 * (counts[t - 1, 0] if t else 0), 0.05])
        counts[t] = rng.poisson(lam)
    glm = PoissonGLM(alpha=1e-4).fit(counts, None, np.arange(T))
    c = glm.coupling()
    assert c[0, 1] > 1.0 and abs(c[2, 1]) < 0.25 * c[0, 1] and c[0, 1] > 4 * abs(c[1, 0])
    null = HomogeneousPoisson().fit(counts)
    ll_glm = M.poisson_loglik(counts, glm.rates(counts, None, np.arange(T)))
    assert ll_glm > null.loglik(counts)
    data = SpikeData.from_binned(counts, 0.001)
    z = ccg_connectivity(data, 0.001, 0.002)
    assert z[0, 1] > 10 and z[0, 1] > abs(z[1, 0]) and abs(z[2, 1]) < 4


def test_window_count_features():
    data = SpikeData.from_times([0.01, 0.03, 0.06, 0.07], [0, 1, 1, 1], n_neurons=2, t_stop=0.1)
    f = window_count_features(data, np.array([0.05]), 0.025, 0.05)
    np.testing.assert_array_equal(f.reshape(3, 2), [[1, 0], [0, 1], [0, 2]])
