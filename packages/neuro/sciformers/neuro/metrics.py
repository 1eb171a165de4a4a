"""Scores for spiking models: bits/spike, set-F1 of neuron IDs, PSTH correlation, connectivity.

- **bits/spike** (Pillow et al. 2008, https://doi.org/10.1038/nature07140; NLB'21):
  ``(log L_model - log L_poisson) / (n_spikes ln 2)``, both log-likelihoods of the same binned
  counts, the null a homogeneous Poisson process per neuron fitted on the training split.
- **ID F1**: per window, ``F1 = 2|P∩T| / (|P| + |T|)`` of the predicted and true neuron-ID
  *sets* (1 when both are empty), averaged over windows. The reference sets recall to 1
  whenever there are no false positives; this one does not.
- **PSTH r**: per-neuron Pearson correlation of trial-averaged binned rates, averaged over
  neurons whose PSTHs vary.
- **Connectivity**: every score is 0 for "no connection" (a coupling, a z-score, an attribution,
  a log attention ratio), so ``|score_ij|`` is symmetric about its null and ranks excitatory and
  inhibitory edges alike. AUROC of ``|score_ij|`` against ``W_ij != 0`` (off-diagonal); direction
  accuracy ``|s_ij| > |s_ji|`` over one-way edges; fraction of true hubs among the ``k``
  neurons with the largest outgoing ``sum_j |s_ij|`` (``k`` = number of hubs).

Harness side (imported by the task, listed in ``TASK_MODULES``): every key is declared here
with its direction in the shared metric registry.
"""

from __future__ import annotations

import numpy as np
import torch

from sciformers.evaluation.metrics import auroc, register_metric_family
from sciformers.neuro.peers import poisson_loglik
from sciformers.neuro.spikes import SpikeData

__all__ = ["METRICS", "bits_per_spike", "conn_auroc", "direction_acc", "hubs_found", "poisson_loglik", "psth",
           "psth_r", "set_f1", "window_sets"]


def bits_per_spike(loglik: float, loglik_null: float, n_spikes: int) -> float:
    """Log-likelihood gain over the null in bits per spike."""
    return (loglik - loglik_null) / (max(n_spikes, 1) * np.log(2.0))


def set_f1(pred: list[set[int]], true: list[set[int]]) -> float:
    """Mean over windows of the set-F1 between predicted and true neuron IDs."""
    if len(pred) != len(true) or not pred:
        raise ValueError(f"set_f1: {len(pred)} predicted windows for {len(true)} true windows")
    scores = [1.0 if not p and not t else 2 * len(p & t) / (len(p) + len(t)) for p, t in zip(pred, true)]
    return float(np.mean(scores))


def window_sets(data: SpikeData, starts: np.ndarray, window: float) -> list[set[int]]:
    """The set of neuron IDs firing in each window ``[s, s + window)``."""
    lo = np.searchsorted(data.times, starts - 1e-12)
    hi = np.searchsorted(data.times, starts + window - 1e-12)
    return [set(data.ids[a:b].tolist()) for a, b in zip(lo, hi)]


def psth(runs: list[SpikeData], bin_s: float) -> np.ndarray:
    """Trial-averaged rates ``(bins, N)`` in Hz of repeats on the same interval."""
    return np.mean([r.binned(bin_s) for r in runs], axis=0) / bin_s


def psth_r(real: list[SpikeData], generated: list[SpikeData], bin_s: float = 0.1) -> float:
    """Mean per-neuron Pearson r between real and generated PSTHs (neurons with flat PSTHs skipped; 0 if none)."""
    a, b = psth(real, bin_s), psth(generated, bin_s)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ok = (a.std(0) > 0) & (b.std(0) > 0)
    if not ok.any():
        return 0.0
    r = [np.corrcoef(a[:, j], b[:, j])[0, 1] for j in np.flatnonzero(ok)]
    return float(np.mean(r))


def _offdiag(m: np.ndarray) -> np.ndarray:
    return m[~np.eye(len(m), dtype=bool)]


def conn_auroc(score: np.ndarray, weights: np.ndarray) -> float:
    """AUROC of ``|score|`` (a score whose no-connection value is 0) for the presence of an edge, off-diagonal pairs."""
    truth = _offdiag(weights) != 0  # NaN when every pair, or none, is an edge
    return auroc(torch.as_tensor(np.abs(_offdiag(score))), torch.as_tensor(truth))


def direction_acc(score: np.ndarray, weights: np.ndarray) -> float:
    """Fraction of one-way edges ``i -> j`` with ``|s_ij| > |s_ji|``."""
    one_way = (weights != 0) & (weights.T == 0)
    if not one_way.any():
        return float("nan")
    s = np.abs(score)
    return float(np.mean(s[one_way] > s.T[one_way]))


def hubs_found(score: np.ndarray, hubs: np.ndarray) -> float:
    """Fraction of ``hubs`` among the top-``len(hubs)`` neurons by outgoing ``sum_j |s_ij|``."""
    if len(hubs) == 0:
        return float("nan")
    out = np.abs(score).sum(1) - np.abs(np.diag(score))
    top = np.argsort(-out)[: len(hubs)]
    return float(len(set(top.tolist()) & set(np.asarray(hubs).tolist())) / len(hubs))


# Every metric the neuro task reports and its meaning (higher is better for all).
METRICS: dict[str, str] = {
    "bits_per_spike": "held-out log-likelihood gain over homogeneous Poisson, bits per spike",
    "f1_ids": "per-window set-F1 of generated (open loop) vs true neuron IDs",
    "psth_r": "per-neuron Pearson r of closed-loop generated vs real PSTHs across repeats",
    "conn_auroc": "AUROC of inferred connectivity against the true edges (Neuroformer: gradient attribution)",
    "direction_acc": "fraction of one-way edges whose direction is recovered",
    "hubs_found": "fraction of hub neurons among the top out-strength neurons",
    "conn_auroc_attention": "conn_auroc of Neuroformer's attention read-out (the paper's, past spikes only)",
    "direction_acc_attention": "direction_acc of the attention read-out",
    "hubs_found_attention": "hubs_found of the attention read-out",
    "conn_auroc_rollout": "conn_auroc of the attention read-out with rollout across layers",
    "direction_acc_rollout": "direction_acc of the attention read-out with rollout",
    "behavior_r_1pct": "Pearson r of decoded behaviour, 1% of training labels",
    "behavior_r_10pct": "Pearson r of decoded behaviour, 10% of training labels",
    "behavior_r_100pct": "Pearson r of decoded behaviour, all training labels",
    "behavior_r_1pct_scratch": "behavior_r_1pct of the same architecture trained from scratch",
    "behavior_r_10pct_scratch": "behavior_r_10pct of the same architecture trained from scratch",
    "behavior_r_100pct_scratch": "behavior_r_100pct of the same architecture trained from scratch",
}

for _name, _description in METRICS.items():
    register_metric_family(_name, higher_is_better=True, description=_description)
