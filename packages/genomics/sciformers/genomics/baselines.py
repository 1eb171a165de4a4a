"""Alignment-free peers on the same reads: k-mer logistic regression and GC content.

- ``kmer_lr``: counts of canonical k-mers (a k-mer and its reverse complement pooled, since
  reads come from either strand), L1-normalised, into a logistic regression (the classic
  read-classification baseline; e.g. Vervier et al. 2016, https://doi.org/10.1093/bioinformatics/btv683).
  ``k`` is chosen among the configured values on the validation reads, never the test set.
- ``gc_content``: the trivial baseline. A logistic regression on the read's GC fraction, and
  an i.i.d. base-composition model (per-base probabilities from the training reads) that
  gives its bits per base and a length-normalised OOD score, so the LM's numbers have a floor
  to beat (shuffled reads keep their composition, so this model cannot tell them apart).

The Markov-chain references (``markov``, ``markov_mixture``) are in :mod:`.markov`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from sciformers.core import register_model
from sciformers.genomics.seqio import gc_content, reverse_complement


def _sklearn():
    try:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import matthews_corrcoef
        from sklearn.preprocessing import normalize
    except ImportError as err:  # pragma: no cover - the extra installs it
        raise ImportError("the k-mer and GC baselines need scikit-learn: pip install 'sciformers[genomics]'") from err
    return CountVectorizer, LogisticRegression, matthews_corrcoef, normalize


class ReadBaseline:
    """A non-neural read classifier: ``fit`` on reads and labels (and each read's genome),
    ``predict_proba`` on reads; a language model among them also has ``read_nll``."""

    n_params: int = 0

    def fit(self, reads: Sequence[str], labels: Sequence[int], val_reads: Sequence[str] = (),
            val_labels: Sequence[int] = (), genomes: Sequence[str] = ()) -> "ReadBaseline":
        raise NotImplementedError

    def predict_proba(self, reads: Sequence[str]) -> np.ndarray:
        raise NotImplementedError


@register_model("kmer_lr", kind="estimator", test_kwargs={"k": [3, 4], "max_iter": 200})
class KmerLogisticRegression(ReadBaseline):
    """Canonical k-mer frequencies + logistic regression, ``k`` chosen on validation MCC.

    Args:
        k: candidate k-mer lengths (each fitted on train, scored on validation).
        C: inverse L2 regularisation strength.
        max_iter: solver iterations.
    """

    def __init__(self, k: int | Sequence[int] = (4, 5, 6, 7, 8), C: float = 10.0, max_iter: int = 2000, **_: object) -> None:
        self.ks = [k] if isinstance(k, int) else list(k)
        self.C, self.max_iter = C, max_iter
        self.k: int | None = None
        self.val_scores: dict[int, float] = {}

    def _features(self, vectorizer, reads: Sequence[str]):  # noqa: ANN001, ANN202 - sklearn objects
        _, _, _, normalize = _sklearn()
        x = vectorizer.transform(reads) + vectorizer.transform([reverse_complement(r) for r in reads])
        return normalize(x.astype(np.float64), norm="l1")

    def _fit_k(self, k: int, reads: Sequence[str], labels: Sequence[int]):  # noqa: ANN202
        CountVectorizer, LogisticRegression, _, _ = _sklearn()
        vec = CountVectorizer(analyzer="char", ngram_range=(k, k), lowercase=False, dtype=np.float64)
        vec.fit(list(reads) + [reverse_complement(r) for r in reads])
        clf = LogisticRegression(C=self.C, max_iter=self.max_iter)
        clf.fit(self._features(vec, reads), np.asarray(labels))
        return vec, clf

    def fit(self, reads: Sequence[str], labels: Sequence[int], val_reads: Sequence[str] = (),
            val_labels: Sequence[int] = (), genomes: Sequence[str] = ()) -> "KmerLogisticRegression":
        _, _, mcc, _ = _sklearn()
        if len(self.ks) > 1 and not len(val_reads):
            raise ValueError("kmer_lr: choosing k among several values needs validation reads")
        best = None
        for k in self.ks:
            vec, clf = self._fit_k(k, reads, labels)
            if len(self.ks) > 1:
                score = float(mcc(np.asarray(val_labels), clf.predict(self._features(vec, val_reads))))
                self.val_scores[k] = score
                if best is not None and score <= best[0]:
                    continue
                best = (score, k, vec, clf)
            else:
                best = (math.nan, k, vec, clf)
        _, self.k, self._vec, self._clf = best  # type: ignore[misc]
        self.n_params = int(self._clf.coef_.size + self._clf.intercept_.size)
        return self

    def predict_proba(self, reads: Sequence[str]) -> np.ndarray:
        return self._clf.predict_proba(self._features(self._vec, reads))


@register_model("gc_content", kind="estimator", test_kwargs={})
class GCContent(ReadBaseline):
    """GC fraction -> logistic regression; plus an i.i.d. base-composition language model."""

    def __init__(self, **_: object) -> None:
        self.base_logp: dict[str, float] = {}

    def fit(self, reads: Sequence[str], labels: Sequence[int], val_reads: Sequence[str] = (),
            val_labels: Sequence[int] = (), genomes: Sequence[str] = ()) -> "GCContent":
        _, LogisticRegression, _, _ = _sklearn()
        self._clf = LogisticRegression().fit(self._gc(reads), np.asarray(labels))
        counts = {b: 1 + sum(r.count(b) for r in reads) for b in "ACGTN"}  # add-one smoothing
        total = sum(counts.values())
        self.base_logp = {b: math.log(c / total) for b, c in counts.items()}
        self.n_params = 2 + 4
        return self

    @staticmethod
    def _gc(reads: Sequence[str]) -> np.ndarray:
        return np.array([[gc_content(r)] for r in reads])

    def predict_proba(self, reads: Sequence[str]) -> np.ndarray:
        return self._clf.predict_proba(self._gc(reads))

    def read_nll(self, reads: Sequence[str]) -> np.ndarray:
        """Per-read negative log-likelihood in nats under the base-composition model."""
        return np.array([-sum(self.base_logp[b] for b in r) for r in reads])
