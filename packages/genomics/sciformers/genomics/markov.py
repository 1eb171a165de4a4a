"""Markov-chain references on reads: a pooled order-k chain and a causal mixture of per-genome chains.

An order-k chain over ``ACGTN`` (the classical DNA sequence model; Durbin et al. 1998, ch. 3)
scores a read ``x_1 .. x_n`` as

    p(x) = prod_i p(x_i | x_{i-j_i} .. x_{i-1}),   j_i = min(i - 1, k)                    (1)

so the first ``k`` bases are scored by the chains of order ``0 .. k-1`` (no padding and no end
symbol: the read's length is given, as it is to the LM's scoring path). Each conditional is the
additive estimate

    p(b | c) = (N(c b) + alpha) / (N(c) + 5 alpha)                                           (2)

with ``N`` counted on the training reads *and their reverse complements* (reads come from either
strand). Over groups ``g`` (the genomes, or the two classes) with prior ``pi_g`` (their share of the
training reads) the mixture

    p(x) = sum_g pi_g p_g(x) = prod_i sum_g w_g(x_<i) p_g(x_i | .),  w_g(x_<i) ∝ pi_g p_g(x_<i)   (3)

is causal: every base is predicted from the posterior over groups given the bases before it,
so its bits per base are a sequential code length like the LM's. As a classifier (a likelihood
ratio), the posterior of the pathogen groups:

    P(pathogen | x) = sum_{g in pathogen} pi_g p_g(x) / sum_g pi_g p_g(x)                        (4)

- ``markov``: the pooled chain (one group) is the language model (bits/bp, OOD); it classifies by
  eq. (4) over two class-conditional chains.
- ``markov_mixture``: eq. (3) over per-genome chains is both the language model and, by eq. (4),
  the classifier.

Every order ``k`` is chosen among the configured values on the validation reads' bits per base
(of the language model; of the class mixture for ``markov``'s classifier), never on the test set.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import numpy as np

from sciformers.core import register_model
from sciformers.genomics.baselines import ReadBaseline
from sciformers.genomics.seqio import reverse_complement

SYMBOLS = 5  # A C G T N
_CODE = np.full(256, 4, dtype=np.int64)  # anything but ACGT (either case) is N
for _i, _b in enumerate("ACGT"):
    _CODE[ord(_b)] = _CODE[ord(_b.lower())] = _i


class EncodedReads:
    """Reads as one array of base codes (0..4) with each base's read and position in it.

    Args:
        reads: nucleotide strings.
    """

    def __init__(self, reads: Sequence[str]) -> None:
        lengths = np.array([len(r) for r in reads], dtype=np.int64)
        self.n_reads = len(reads)
        self.x = _CODE[np.frombuffer("".join(reads).encode("ascii"), dtype=np.uint8)]
        self.read = np.repeat(np.arange(len(reads)), lengths)
        starts = np.cumsum(lengths) - lengths
        self.pos = np.arange(len(self.x)) - np.repeat(starts, lengths)

    def contexts(self, k: int) -> list[np.ndarray]:
        """``h[j][i]``: the code of the ``j`` bases before base ``i`` (valid where ``pos >= j``), ``j = 0..k``."""
        h = [np.zeros_like(self.x)]
        for j in range(1, k + 1):
            shifted = np.zeros_like(self.x)
            shifted[j:] = self.x[:-j]
            h.append(shifted * SYMBOLS ** (j - 1) + h[-1])
        return h


class MarkovChain:
    """One order-``k`` chain: the count tables of orders ``0 .. k`` (eq. 2).

    Args:
        k: the highest order counted (a chain of any order up to ``k`` can then score).
        alpha: additive smoothing.
    """

    def __init__(self, k: int, alpha: float = 0.5) -> None:
        if k < 0 or alpha <= 0:
            raise ValueError(f"Markov chain: need k >= 0 and alpha > 0, got k={k}, alpha={alpha}")
        self.k, self.alpha = k, alpha
        self.counts: list[np.ndarray] = []

    def fit(self, reads: Sequence[str]) -> "MarkovChain":
        """Count ``(j+1)``-mers of ``reads`` and their reverse complements, ``j = 0 .. k``."""
        enc = EncodedReads(list(reads) + [reverse_complement(r) for r in reads])
        h = enc.contexts(self.k)
        self.counts = []
        for j in range(self.k + 1):
            valid = enc.pos >= j
            idx = h[j][valid] * SYMBOLS + enc.x[valid]
            self.counts.append(np.bincount(idx, minlength=SYMBOLS ** (j + 1)).reshape(SYMBOLS ** j, SYMBOLS))
        return self

    def log_prob(self, reads: Sequence[str] | EncodedReads, k: int | None = None) -> np.ndarray:
        """``log p(x)`` in nats per read under the chain of order ``k`` (default: the fitted ``k``), eq. (1)."""
        k = self.k if k is None else k
        if not 0 <= k <= self.k or not self.counts:
            raise ValueError(f"Markov chain: order {k} needs a chain fitted to order >= {k} (fitted: {self.k})")
        enc = reads if isinstance(reads, EncodedReads) else EncodedReads(reads)
        h = enc.contexts(k)
        order = np.minimum(enc.pos, k)
        logp = np.zeros(len(enc.x))
        for j in range(k + 1):
            at = order == j
            n = self.counts[j]
            num = n[h[j][at], enc.x[at]] + self.alpha
            den = n.sum(1)[h[j][at]] + SYMBOLS * self.alpha
            logp[at] = np.log(num / den)
        return np.bincount(enc.read, weights=logp, minlength=enc.n_reads)


def mixture_log_prob(chains: Sequence[MarkovChain], log_prior: np.ndarray, reads: EncodedReads,
                     k: int) -> np.ndarray:
    """``(N, G)``: ``log pi_g + log p_g(x)`` per read and group; ``logsumexp`` over groups is eq. (3)."""
    return np.stack([c.log_prob(reads, k) for c in chains], -1) + log_prior


def _logsumexp(a: np.ndarray) -> np.ndarray:
    m = a.max(-1, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(-1, keepdims=True)))[..., 0]


def _bits_per_base(log_p: np.ndarray, reads: Sequence[str]) -> float:
    return float(-log_p.sum() / (math.log(2.0) * max(sum(len(r) for r in reads), 1)))


class MarkovReads(ReadBaseline):
    """Markov-chain language model and likelihood-ratio classifier of reads (module docstring).

    Args:
        k: candidate orders (each scored on the validation reads' bits per base).
        alpha: additive smoothing of every conditional (eq. 2; 0.5: Krichevsky-Trofimov).
        mixture: ``pooled`` (one chain is the LM; class chains classify) or ``genome`` (the causal
            mixture of per-genome chains is the LM and the classifier).
        rc_average: average the class probabilities of a read and its reverse complement.
    """

    def __init__(self, k: int | Sequence[int] = (1, 2, 3, 4, 5, 6, 7, 8), alpha: float = 0.5,
                 mixture: Literal["pooled", "genome"] = "pooled", rc_average: bool = False) -> None:
        self.ks = [k] if isinstance(k, int) else list(k)
        if not self.ks or min(self.ks) < 0:
            raise ValueError(f"{mixture} Markov: k must be orders >= 0, got {k}")
        if mixture not in ("pooled", "genome"):
            raise ValueError(f"Markov: mixture must be 'pooled' or 'genome', got {mixture!r}")
        self.alpha, self.mixture, self.rc_average = alpha, mixture, rc_average
        self.k: int | None = None  # the classifier's order (the ROC legend's k)
        self.k_lm: int | None = None
        self.val_bits: dict[int, float] = {}

    def fit(self, reads: Sequence[str], labels: Sequence[int], val_reads: Sequence[str] = (),
            val_labels: Sequence[int] = (), genomes: Sequence[str] = ()) -> "MarkovReads":
        if len(self.ks) > 1 and not len(val_reads):
            raise ValueError("Markov: choosing k among several values needs validation reads")
        if self.mixture == "genome" and len(genomes) != len(reads):
            raise ValueError(f"genome Markov mixture: needs each training read's genome ({len(genomes)} for "
                             f"{len(reads)} reads)")
        labels = np.asarray(labels)
        groups = list(genomes) if self.mixture == "genome" else [str(c) for c in labels]
        names = sorted(set(groups))
        kmax = max(self.ks)
        self.group_pathogen = np.array([labels[groups.index(g)] == 1 for g in names])
        self.chains = [MarkovChain(kmax, self.alpha).fit([r for r, g in zip(reads, groups) if g == name])
                       for name in names]
        self.log_prior = np.log(np.array([groups.count(name) for name in names]) / len(groups))
        self.pooled = MarkovChain(kmax, self.alpha).fit(reads) if self.mixture == "pooled" else None
        val = EncodedReads(val_reads) if len(val_reads) else None

        def choose(log_p) -> int:  # noqa: ANN001 - k -> (N,) log-likelihoods of the validation reads
            if val is None:
                return self.ks[0]
            bits = {k: _bits_per_base(log_p(k), val_reads) for k in self.ks}
            return min(bits, key=bits.get)

        self.k = choose(lambda k: _logsumexp(mixture_log_prob(self.chains, self.log_prior, val, k)))
        if self.pooled is not None:
            self.k_lm = choose(lambda k: self.pooled.log_prob(val, k))
        else:
            self.k_lm = self.k
        if val is not None:
            self.val_bits = {k: _bits_per_base(self._lm_log_prob(val, k), val_reads) for k in self.ks}
        n_tables = sum(SYMBOLS ** (j + 1) for j in range(kmax + 1))
        self.n_params = n_tables * (len(self.chains) + (self.pooled is not None))
        return self

    def _lm_log_prob(self, reads: EncodedReads, k: int) -> np.ndarray:
        if self.pooled is not None:
            return self.pooled.log_prob(reads, k)
        return _logsumexp(mixture_log_prob(self.chains, self.log_prior, reads, k))

    def read_nll(self, reads: Sequence[str]) -> np.ndarray:
        """Per-read negative log-likelihood in nats under the language model (eq. 1 or 3)."""
        assert self.k_lm is not None, "fit first"
        return -self._lm_log_prob(EncodedReads(reads), self.k_lm)

    def _proba(self, reads: Sequence[str]) -> np.ndarray:
        joint = mixture_log_prob(self.chains, self.log_prior, EncodedReads(reads), self.k)  # type: ignore[arg-type]
        post = np.exp(joint - _logsumexp(joint)[:, None])
        p1 = post[:, self.group_pathogen].sum(1)
        return np.stack([1 - p1, p1], -1)

    def predict_proba(self, reads: Sequence[str]) -> np.ndarray:
        """``(N, 2)`` class posteriors, eq. (4) (strand-averaged with ``rc_average``)."""
        p = self._proba(reads)
        if self.rc_average:
            p = 0.5 * (p + self._proba([reverse_complement(r) for r in reads]))
        return p


@register_model("markov", kind="estimator", test_kwargs={"k": [1, 2]})
def pooled_markov(k: int | Sequence[int] = (1, 2, 3, 4, 5, 6, 7, 8), alpha: float = 0.5,
                  rc_average: bool = False) -> MarkovReads:
    """Pooled order-k chain (k on validation bits/bp); classification by class-chain likelihood ratio."""
    return MarkovReads(k, alpha, "pooled", rc_average)


@register_model("markov_mixture", kind="estimator", test_kwargs={"k": [1, 2]})
def genome_markov_mixture(k: int | Sequence[int] = 3, alpha: float = 0.5, rc_average: bool = False) -> MarkovReads:
    """Causal mixture of per-genome order-k chains (eq. 3), also the classifier (eq. 4)."""
    return MarkovReads(k, alpha, "genome", rc_average)
