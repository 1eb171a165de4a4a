"""Classical peers on the same splits: homogeneous Poisson, Poisson GLM with coupling filters,
cross-correlogram connectivity, and a ridge decoder for behaviour.

- **Poisson GLM** (Pillow et al. 2008, https://doi.org/10.1038/nature07140): per neuron ``j``,
  ``log E[n_j(t)] = b_j + sum_i sum_k beta_ijk h_k(n_i)(t) + gamma_j . u(t)`` with history
  features ``h_k`` (spike counts summed over lag groups ``k``) of every neuron, behaviour
  covariates ``u`` (the speed at a few lags), fitted by L2-penalised maximum likelihood
  (scikit-learn ``PoissonRegressor``). The coupling score ``i -> j`` is ``sum_k beta_ijk``.
- **CCG** (Perkel et al. 1967; English et al. 2017): the excess of ``j`` spikes within
  ``max_lag`` after ``i`` spikes over the count expected from independent firing, as a z-score.
- **Ridge** decoder: behaviour from the per-neuron counts of the past and current windows.

Each is a registry estimator (``fit`` of its own): ``poisson``, ``glm``, ``ccg``, ``ridge``.
scikit-learn is imported when a GLM or ridge decoder is fitted.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.special import gammaln

from sciformers.core import register_model
from sciformers.neuro.spikes import SpikeData

LAG_GROUPS: tuple[tuple[int, int], ...] = ((1, 1), (2, 2), (3, 4), (5, 8))  # history bins [a, b] of each filter


def poisson_loglik(counts: np.ndarray, rate: np.ndarray) -> float:
    """``sum log Poisson(counts; rate)`` in nats; ``rate`` is the expected count per bin, broadcastable."""
    rate = np.maximum(np.broadcast_to(rate, counts.shape), 1e-12)
    return float(np.sum(counts * np.log(rate) - rate - gammaln(counts + 1)))


@register_model("poisson", kind="estimator")
class HomogeneousPoisson:
    """One constant rate per neuron, fitted on training counts: the null of bits/spike."""

    def fit(self, counts: np.ndarray) -> HomogeneousPoisson:
        """Rates per bin ``(N,)`` from training counts ``(T, N)``."""
        self.rate = np.maximum(counts.mean(0), 1e-6)
        return self

    @property
    def n_params(self) -> int:
        """One rate per neuron."""
        return int(self.rate.size)

    def loglik(self, counts: np.ndarray) -> float:
        """Log-likelihood (nats) of ``counts (T, N)``."""
        return poisson_loglik(counts, self.rate[None])

    def sample_sets(self, n_windows: int, window_bins: int, rng: np.random.Generator) -> list[set[int]]:
        """Neuron-ID sets of ``n_windows`` sampled windows."""
        fired = rng.poisson(self.rate * window_bins, size=(n_windows, len(self.rate))) > 0
        return [set(np.flatnonzero(f).tolist()) for f in fired]


def history_features(counts: np.ndarray) -> np.ndarray:
    """``(T, N * len(LAG_GROUPS))``: each neuron's counts summed over each lag group, zero before t=0."""
    T, N = counts.shape
    csum = np.vstack([np.zeros((1, N)), np.cumsum(counts, 0)])
    feats = []
    for a, b in LAG_GROUPS:
        t = np.arange(T)
        hi, lo = np.clip(t - a + 1, 0, T), np.clip(t - b, 0, T)  # bins [t-b, t-a]
        feats.append(csum[hi] - csum[lo])
    return np.stack(feats, axis=2).reshape(T, N * len(LAG_GROUPS))


@register_model("glm", kind="estimator", test_kwargs={"alpha": 1e-2, "max_iter": 20})
class PoissonGLM:
    """Per-neuron Poisson GLM with coupling filters and behaviour covariates.

    Args:
        alpha: L2 penalty of scikit-learn's ``PoissonRegressor`` (on standardised features).
        max_iter: L-BFGS iterations.
    """

    def __init__(self, alpha: float = 1e-3, max_iter: int = 200) -> None:
        self.alpha, self.max_iter = alpha, max_iter

    def _design(self, counts: np.ndarray, covariates: np.ndarray | None) -> np.ndarray:
        x = history_features(counts)
        return x if covariates is None else np.hstack([x, covariates])

    def fit(self, counts: np.ndarray, covariates: np.ndarray | None, rows: np.ndarray) -> PoissonGLM:
        """Fit on the bins ``rows`` of a recording's ``counts (T, N)`` (history may reach before them).

        Args:
            counts: the whole recording's binned counts.
            covariates: ``(T, C)`` behaviour covariates or ``None``.
            rows: training bin indices.
        """
        from sklearn.linear_model import PoissonRegressor

        x = self._design(counts, covariates)
        self.mean, self.std = x[rows].mean(0), x[rows].std(0) + 1e-8
        z = (x[rows] - self.mean) / self.std
        self.models = [PoissonRegressor(alpha=self.alpha, max_iter=self.max_iter).fit(z, counts[rows, j])
                       for j in range(counts.shape[1])]
        self.n = counts.shape[1]
        return self

    def rates(self, counts: np.ndarray, covariates: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
        """Expected counts ``(len(rows), N)`` of the bins ``rows`` given the true history."""
        z = (self._design(counts, covariates)[rows] - self.mean) / self.std
        return np.stack([m.predict(z) for m in self.models], axis=1)

    def coupling(self) -> np.ndarray:
        """``(N, N)`` coupling ``i -> j``: the summed history coefficients (per unit count)."""
        k = len(LAG_GROUPS)
        out = np.zeros((self.n, self.n))
        for j, m in enumerate(self.models):
            beta = m.coef_[: self.n * k] / self.std[: self.n * k]
            out[:, j] = beta.reshape(self.n, k).sum(1)
        return out

    @property
    def n_params(self) -> int:
        """Coefficients and intercept of every neuron's regression."""
        return sum(m.coef_.size + 1 for m in self.models)


def ccg_connectivity(data: SpikeData, bin_s: float = 0.001, max_lag_s: float = 0.01) -> np.ndarray:
    """``(N, N)`` z-scored excess of ``j`` spikes in ``(0, max_lag]`` after ``i`` spikes.

    ``z_ij = (C_ij - E_ij) / sqrt(E_ij)`` with ``C_ij`` the pair count at lags ``1..K`` bins and
    ``E_ij = K n_i n_j / T`` its expectation under independence; negative for inhibition.
    """
    x = data.binned(bin_s).astype(np.float64)
    T = len(x)
    k = int(round(max_lag_s / bin_s))
    c = sum(x[:-lag].T @ x[lag:] for lag in range(1, k + 1))
    n = x.sum(0)
    expected = np.maximum(k * np.outer(n, n) / T, 1e-9)
    z = (c - expected) / np.sqrt(expected)
    np.fill_diagonal(z, 0.0)
    return z


@register_model("ccg", kind="estimator", test_kwargs={"max_lag_s": 0.002})
class CCGConnectivity:
    """:func:`ccg_connectivity` as an estimator: ``fit`` on a recording, ``connectivity`` its z-scores.

    Args:
        max_lag_s: the lag range ``(0, max_lag]``.
        bin_s: the bin width of the counts.
    """

    def __init__(self, max_lag_s: float = 0.01, bin_s: float = 0.001) -> None:
        self.max_lag_s, self.bin_s = max_lag_s, bin_s

    def fit(self, data: SpikeData) -> CCGConnectivity:
        """The z-scored cross-correlogram excess of every pair of ``data``."""
        self.score = ccg_connectivity(data, self.bin_s, self.max_lag_s)
        return self

    def connectivity(self) -> np.ndarray:
        """``(N, N)`` score ``i -> j``."""
        return self.score


def window_count_features(data: SpikeData, starts: np.ndarray, window: float, past_window: float) -> np.ndarray:
    """Per-neuron counts in the past window (in ``window``-long bins) and the current window, ``(W, F)``."""
    n_bins = int(round(past_window / window)) + 1
    edges = starts[:, None] - past_window + window * np.arange(n_bins + 1)
    idx = np.searchsorted(data.times, edges.ravel() - 1e-12).reshape(edges.shape)
    feats = np.zeros((len(starts), n_bins, data.n_neurons))
    for b in range(n_bins):
        for w in range(len(starts)):
            ids = data.ids[idx[w, b]:idx[w, b + 1]]
            feats[w, b] = np.bincount(ids, minlength=data.n_neurons)
    return feats.reshape(len(starts), -1)


@register_model("ridge", kind="estimator", test_kwargs={"alphas": (0.1, 1.0)})
class RidgeDecoder:
    """Ridge regression with the penalty chosen by efficient leave-one-out on the training windows.

    Args:
        alphas: the penalties tried (default ``10^-2 .. 10^4``, 13 values).
    """

    def __init__(self, alphas: Sequence[float] | None = None) -> None:
        self.alphas = np.logspace(-2, 4, 13) if alphas is None else np.asarray(alphas, dtype=float)

    def fit(self, x: np.ndarray, y: np.ndarray) -> RidgeDecoder:
        """Fit on features ``x (W, F)`` and targets ``y (W, D)``."""
        from sklearn.linear_model import RidgeCV

        self.model = RidgeCV(alphas=self.alphas).fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Decoded targets ``(W, D)``."""
        return np.reshape(self.model.predict(x), (len(x), -1))

    @property
    def n_params(self) -> int:
        """Coefficients and intercepts."""
        return int(np.size(self.model.coef_) + np.size(self.model.intercept_))
