"""Read simulator physics (error rates measured back, calibrated qualities) and leakage-free splits."""

import numpy as np
import pytest

from sciformers.genomics import ErrorProfile, ReadSimulator, reverse_complement, split_genome
from sciformers.genomics.simulate import Interval


@pytest.fixture(scope="module")
def genome():
    rng = np.random.default_rng(0)
    return "".join(rng.choice(list("ACGT"), 60_000))


def _reference(read, genome):
    ref = genome[read.start:read.end]
    return ref if read.strand == "+" else reverse_complement(ref)


def test_error_free_reads_are_substrings_of_their_interval(genome):
    sim = ReadSimulator(100, ErrorProfile(0.0, 0.0, 0.0), seed=1)
    iv = Interval("g", "train", 10_000, 20_000)
    reads = sim.reads("g", iv, genome, 200)
    assert {r.strand for r in reads} == {"+", "-"}
    for r in reads:
        assert iv.start <= r.start < r.end <= iv.end
        assert r.sequence == _reference(r, genome)


def test_substitution_rate_measured_back(genome):
    rate = 0.02
    sim = ReadSimulator(150, ErrorProfile(rate, 0.0, 0.0, slope=2.0), seed=2)
    reads = sim.reads("g", Interval("g", "test", 0, len(genome)), genome, 2000)
    mism = np.array([[a != b for a, b in zip(r.sequence, _reference(r, genome))] for r in reads])
    assert mism.mean() == pytest.approx(rate, rel=0.06)
    # Illumina shape: errors rise along the read (slope 2: last third ~2.3x the first third)
    assert mism[:, 100:].mean() > 1.8 * mism[:, :50].mean()
    # qualities are calibrated: mean error probability from Phred equals the observed rate
    q = np.array([[ord(c) - 33 for c in r.quality] for r in reads])
    assert (10 ** (-q / 10)).mean() == pytest.approx(mism.mean(), rel=0.15)


def _edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_indel_rates_measured_back(genome):
    ins, dele = 0.01, 0.01
    sim = ReadSimulator(80, ErrorProfile(0.0, ins, dele, jitter=0.0), seed=3)
    reads = sim.reads("g", Interval("g", "test", 0, len(genome)), genome, 300)
    # consumed reference minus read length = deletions - insertions; edit distance ~ their sum
    consumed = np.array([r.end - r.start for r in reads])
    assert (consumed - 80).mean() / 80 == pytest.approx(dele - ins, abs=0.004)
    edits = sum(_edit_distance(r.sequence, _reference(r, genome)) for r in reads)
    assert edits / (80 * len(reads)) == pytest.approx(ins + dele, rel=0.2)


def test_splits_by_position_never_overlap_and_reads_stay_inside():
    for seed in range(5):
        ivs = split_genome("g", 10_007, {"train": 0.7, "val": 0.1, "test": 0.2}, seed)
        spans = sorted((iv.start, iv.end) for iv in ivs)
        assert spans[0][0] == 0 and spans[-1][1] == 10_007
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # contiguous, disjoint, covering
        assert {iv.split: len(iv) for iv in ivs}["test"] == pytest.approx(2001, abs=2)
    with pytest.raises(ValueError, match="sum to 1"):
        split_genome("g", 100, {"train": 0.5, "test": 0.2}, 0)


def test_profile_validation():
    with pytest.raises(ValueError, match="substitution"):
        ErrorProfile(substitution=0.7)
    assert ErrorProfile(0.01).substitution_curve(151).mean() == pytest.approx(0.01)
