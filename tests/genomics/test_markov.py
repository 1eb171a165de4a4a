"""Markov-chain references against hand computations on tiny sequences."""

import math

import numpy as np
import pytest

from sciformers.core import create_model
from sciformers.genomics.markov import MarkovChain, MarkovReads
from sciformers.genomics.seqio import reverse_complement


def test_pooled_chain_equals_the_hand_computation():
    """Trained on ACG and its reverse complement CGT, order 1, alpha 1 (eq. 1-2)."""
    chain = MarkovChain(1, alpha=1.0).fit(["ACG"])
    # order 0: A 1, C 2, G 2, T 1, N 0 of 6 bases -> (n + 1) / 11; order 1: AC 1, CG 2, GT 1
    p_acgt = (2 / 11) * (2 / 6) * (3 / 7) * (2 / 6)  # A, C|A, G|C, T|G
    p_tt = (2 / 11) * (1 / 5)  # T, T|T (T never seen as a context: uniform)
    p_n = 1 / 11
    np.testing.assert_allclose(chain.log_prob(["ACGT", "TT", "n"]), np.log([p_acgt, p_tt, p_n]), rtol=1e-12)
    np.testing.assert_allclose(chain.log_prob(["ACGT"], k=0), [np.log(2 * 3 * 3 * 2 / 11 ** 4)], rtol=1e-12)
    with pytest.raises(ValueError, match="order 2"):
        chain.log_prob(["ACGT"], k=2)


def test_genome_mixture_is_causal_and_classifies_by_likelihood_ratio():
    """Genomes AAA (pathogen) and CCC, order 0, alpha 1: p_1(A) = 4/11, p_1(C) = 1/11 and vice versa."""
    model = MarkovReads(k=0, alpha=1.0, mixture="genome").fit(["AAA", "CCC"], [1, 0], genomes=["g1", "g2"])
    # eq. (3) as a sequence of predictions: base 1 by the prior-weighted chains, base 2 by the posterior
    first = 0.5 * (4 / 11 + 1 / 11)
    w1 = 0.5 * 4 / 11 / first
    second = w1 * 4 / 11 + (1 - w1) * 1 / 11
    np.testing.assert_allclose(model.read_nll(["AA"]), [-math.log(first * second)], rtol=1e-12)
    np.testing.assert_allclose(model.read_nll(["AA"]), [-math.log(0.5 * 16 / 121 + 0.5 * 1 / 121)], rtol=1e-12)
    proba = model.predict_proba(["AA", "AC", "TT"])  # eq. (4); TT: A's complement, learnt from AAA's strand
    np.testing.assert_allclose(proba[:, 1], [16 / 17, 0.5, 16 / 17], rtol=1e-12)


def test_orders_are_chosen_on_validation_and_rc_averaging_is_strand_invariant():
    rng = np.random.default_rng(0)

    def chain_reads(p_repeat, n):  # a first-order source: repeat the last base with p_repeat
        out = []
        for _ in range(n):
            s = [rng.integers(4)]
            for _ in range(59):
                s.append(s[-1] if rng.random() < p_repeat else rng.integers(4))
            out.append("".join("ACGT"[i] for i in s))
        return out

    tr = chain_reads(0.7, 100) + chain_reads(0.1, 100)
    va = chain_reads(0.7, 30) + chain_reads(0.1, 30)
    labels, val_labels = [1] * 100 + [0] * 100, [1] * 30 + [0] * 30
    model = create_model("markov", k=[0, 1, 4], rc_average=True).fit(tr, labels, va, val_labels)
    assert set(model.val_bits) == {0, 1, 4} and model.val_bits[model.k_lm] == min(model.val_bits.values())
    assert model.val_bits[1] < model.val_bits[0]
    assert model.k == 1  # each class is a first-order source: its class chains choose order 1
    p = model.predict_proba(va)
    np.testing.assert_allclose(p, model.predict_proba([reverse_complement(r) for r in va]), rtol=0, atol=1e-15)
    assert ((p[:, 1] > 0.5) == np.array(val_labels)).mean() > 0.95
    with pytest.raises(ValueError, match="needs each training read's genome"):
        create_model("markov_mixture").fit(tr, labels)
