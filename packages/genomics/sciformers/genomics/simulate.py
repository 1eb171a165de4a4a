"""Coordinate splits of genomes and an Illumina-like read simulator with a known error profile.

Leakage first: each genome is cut into contiguous train / validation / test intervals *before*
any read is simulated, and every read is drawn inside one interval, so overlapping reads never
cross splits (a random read-level split would let near-identical reads sit on both sides).

The error model follows the shape of Illumina profiles (InSilicoSeq's kernel-density models,
Gourlé et al. 2019, https://doi.org/10.1093/bioinformatics/bty630; ART, Huang et al. 2012):
the substitution probability rises along the read (``p_i ∝ 1 + slope * i / (L-1)``, scaled so
its mean over the read is the configured rate), each base's probability is jittered by a
log-normal factor with mean 1, and the Phred quality written for the base is
``Q = -10 log10 p`` (rounded, clipped to 2..41), so qualities are calibrated. Insertions and
deletions occur at constant per-base rates. Reads come from either strand with equal
probability; the interval ``[start, end)`` of reference consumed is kept with each read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sciformers.genomics.seqio import reverse_complement

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Interval:
    """Half-open genome coordinates ``[start, end)`` of one split of one genome."""

    genome: str
    split: str
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class ErrorProfile:
    """Per-base error rates of the simulator.

    Args:
        substitution: mean substitution probability per base over the read.
        insertion: probability of an inserted random base after a reference base.
        deletion: probability that a reference base is skipped.
        slope: relative rise of the substitution probability from the first to the last base.
        jitter: standard deviation of the log-normal per-base factor (0: no jitter).
    """

    substitution: float = 0.005
    insertion: float = 1e-4
    deletion: float = 1e-4
    slope: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        for name in ("substitution", "insertion", "deletion"):
            if not 0.0 <= getattr(self, name) < 0.5:
                raise ValueError(f"ErrorProfile.{name} must be in [0, 0.5), got {getattr(self, name)}")
        if self.slope < 0 or self.jitter < 0:
            raise ValueError("ErrorProfile.slope and .jitter must be non-negative")

    def substitution_curve(self, length: int) -> np.ndarray:
        """Mean substitution probability at each read position; its mean is ``substitution``."""
        ramp = 1.0 + self.slope * np.linspace(0.0, 1.0, length)
        return self.substitution * ramp / ramp.mean()


@dataclass(frozen=True)
class SimulatedRead:
    """A read with its origin: genome, split, reference interval ``[start, end)`` and strand."""

    sequence: str
    quality: str
    genome: str
    split: str
    start: int
    end: int
    strand: str

    def header(self, index: int) -> str:
        """A FASTQ header carrying the label and origin (parsed back by :func:`parse_header`)."""
        return f"read{index} genome={self.genome} split={self.split} start={self.start} end={self.end} strand={self.strand}"


def parse_header(description: str) -> dict[str, str]:
    """``key=value`` fields of a simulated read's header (``genome``, ``split``, ``start`` ...)."""
    return dict(f.split("=", 1) for f in description.split()[1:] if "=" in f)


def split_genome(name: str, length: int, fractions: dict[str, float], seed: int) -> list[Interval]:
    """Cut ``[0, length)`` into one contiguous interval per split, in a seeded random order.

    Args:
        name: the genome's name.
        length: genome length in bases.
        fractions: ``{split: fraction}``, summing to 1.
        seed: chooses the order of the intervals along the genome (and hence where the test
            block sits).

    Returns:
        Disjoint intervals covering the genome, one per split with a positive fraction.
    """
    if abs(sum(fractions.values()) - 1.0) > 1e-6 or any(f < 0 for f in fractions.values()):
        raise ValueError(f"split fractions must be non-negative and sum to 1, got {fractions}")
    names = [s for s, f in fractions.items() if f > 0]
    order = np.random.default_rng(seed).permutation(len(names))
    intervals, start = [], 0
    for rank, idx in enumerate(order):
        split = names[idx]
        end = length if rank == len(names) - 1 else start + int(round(fractions[split] * length))
        intervals.append(Interval(name, split, start, end))
        start = end
    return intervals


class ReadSimulator:
    """Draws error-containing reads of fixed length from genome intervals.

    Args:
        read_length: bases per read (Illumina NovaSeq: 151).
        profile: the error rates.
        seed: seeds every draw.
    """

    def __init__(self, read_length: int = 151, profile: ErrorProfile | None = None, seed: int = 0) -> None:
        if read_length < 2:
            raise ValueError(f"read_length must be at least 2, got {read_length}")
        self.read_length = read_length
        self.profile = profile or ErrorProfile()
        self.rng = np.random.default_rng(seed)
        self._curve = self.profile.substitution_curve(read_length)

    def _base_error_probs(self) -> np.ndarray:
        """Per-position substitution probabilities of one read (curve times a mean-1 log-normal)."""
        s = self.profile.jitter
        factor = self.rng.lognormal(-0.5 * s * s, s, self.read_length) if s > 0 else 1.0
        return np.clip(self._curve * factor, 0.0, 0.75)

    def read(self, genome: str, interval: Interval, sequence: str) -> SimulatedRead:
        """One read whose reference bases all lie inside ``interval`` of ``sequence``."""
        L, prof, rng = self.read_length, self.profile, self.rng
        # Reserve reference for deletions (mean L*deletion, generous margin), stay inside the interval.
        span = min(len(interval), L + 8 + int(4 * math.sqrt(L * prof.deletion + 1) + 2 * L * prof.deletion))
        if len(interval) < L:
            raise ValueError(f"{genome} {interval.split} interval has {len(interval)} bases, fewer than a read ({L})")
        start = interval.start + int(rng.integers(0, len(interval) - span + 1))
        strand = "+" if rng.random() < 0.5 else "-"
        ref = sequence[start:start + span]
        ref = ref if strand == "+" else reverse_complement(ref)
        out: list[str] = []
        consumed = 0
        while len(out) < L and consumed < len(ref):
            if rng.random() < prof.deletion:
                consumed += 1
                continue
            out.append(ref[consumed])
            consumed += 1
            if len(out) < L and rng.random() < prof.insertion:
                out.append("ACGT"[rng.integers(4)])
        if len(out) < L:  # the reserved reference ran out (needs many deletions in one read)
            raise RuntimeError(f"{genome}: reference span {span} too short for a {L}-bp read; lower the deletion rate")
        p = self._base_error_probs()
        hit = rng.random(L) < p
        bases = np.array(out)
        for i in np.flatnonzero(hit):  # a substitution draws one of the three other bases
            choices = [b for b in "ACGT" if b != bases[i]]
            bases[i] = choices[rng.integers(3)]
        q = np.clip(np.rint(-10.0 * np.log10(np.maximum(p, 1e-12))), 2, 41).astype(int)
        quality = "".join(chr(33 + v) for v in q)
        lo, hi = (start, start + consumed) if strand == "+" else (start + span - consumed, start + span)
        return SimulatedRead("".join(bases), quality, genome, interval.split, lo, hi, strand)

    def reads(self, genome: str, interval: Interval, sequence: str, n: int) -> list[SimulatedRead]:
        """``n`` reads from ``interval``."""
        return [self.read(genome, interval, sequence) for _ in range(n)]


def shuffle_read(seq: str, rng: np.random.Generator) -> str:
    """The read's bases in a random order (same composition): the OOD negative of METAGENE-1."""
    chars = list(seq)
    rng.shuffle(chars)
    return "".join(chars)
