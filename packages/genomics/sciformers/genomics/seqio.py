"""Streaming FASTA/FASTQ readers and writers, reverse complement and N handling.

Files are read line by line (plain or gzip, detected from the magic bytes, not the name), so a
multi-gigabase file is never held in memory: each iterator yields one record at a time. Windows
line endings and wrapped sequence lines are accepted; anything else that breaks the format
raises ``ValueError`` naming the file, the record number (1-based) and what was expected.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator

ALPHABET = "ACGTN"
# IUPAC ambiguity codes (and RNA's U) map onto the model's alphabet: U -> T, the rest -> N.
_IUPAC_TO_N = "RYSWKMBDHVN"
_CLEAN = str.maketrans({**{c: "N" for c in _IUPAC_TO_N}, "U": "T", ".": "N", "-": "N"})
_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record: ``name`` (first word of the header), full ``description`` and ``sequence``."""

    name: str
    description: str
    sequence: str


@dataclass(frozen=True)
class FastqRecord:
    """One FASTQ record: ``name``, full ``description``, ``sequence`` and Phred+33 ``quality``."""

    name: str
    description: str
    sequence: str
    quality: str


def open_text(path: str | Path, mode: str = "r") -> IO[str]:
    """Open a plain or gzipped text file; reading detects gzip from the magic bytes.

    Writing compresses when the name ends in ``.gz``. Newlines are not translated, so the
    readers can strip ``\\r`` themselves and report exact records.
    """
    path = Path(path)
    if "w" in mode:
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path, "wb"), encoding="ascii", newline="")
        return path.open("w", encoding="ascii", newline="")
    with path.open("rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    raw = gzip.open(path, "rb") if gz else path.open("rb")
    return io.TextIOWrapper(raw, encoding="ascii", errors="replace", newline="")


def clean_sequence(seq: str, where: str = "sequence") -> str:
    """Upper-case ``seq`` and map it onto ``ACGTN`` (IUPAC ambiguity codes and gaps become N, U becomes T).

    Raises:
        ValueError: for characters that are not nucleotide codes, naming ``where``.
    """
    out = seq.upper().translate(_CLEAN)
    bad = set(out) - set(ALPHABET)
    if bad:
        raise ValueError(f"{where}: invalid nucleotide characters {sorted(bad)}; expected A, C, G, T, N or IUPAC codes")
    return out


def reverse_complement(seq: str) -> str:
    """Reverse complement of an ``ACGTN`` string (case kept; N pairs with N). An involution."""
    return seq.translate(_COMPLEMENT)[::-1]


def gc_content(seq: str) -> float:
    """Fraction of G and C among the unambiguous bases (0.5 when there are none)."""
    s = seq.upper()
    at_gc = sum(s.count(b) for b in "ACGT")
    return (s.count("G") + s.count("C")) / at_gc if at_gc else 0.5


def _lines(fh: IO[str]) -> Iterator[tuple[int, str]]:
    for lineno, line in enumerate(fh, 1):
        yield lineno, line.rstrip("\r\n")


def read_fasta(path: str | Path, clean: bool = True) -> Iterator[FastaRecord]:
    """Stream the records of a (gzipped) FASTA file.

    Args:
        path: the file.
        clean: map each sequence onto ``ACGTN`` with :func:`clean_sequence`.

    Yields:
        :class:`FastaRecord` objects in file order; wrapped sequence lines are joined.

    Raises:
        ValueError: sequence before the first header, an empty header or record, or invalid
            characters, naming the file, record number and line.
    """
    path = Path(path)
    header: str | None = None
    chunks: list[str] = []
    count = 0

    def emit(lineno: int) -> FastaRecord:
        seq = "".join(chunks)
        where = f"{path}: record {count} ({header.split()[0]!r}, ending line {lineno})"
        if not seq:
            raise ValueError(f"{where}: empty sequence; expected sequence lines after the '>' header")
        return FastaRecord(header.split()[0], header, clean_sequence(seq, where) if clean else seq)

    with open_text(path) as fh:
        lineno = 0
        for lineno, line in _lines(fh):
            if line.startswith(">"):
                if header is not None:
                    yield emit(lineno - 1)
                count += 1
                header, chunks = line[1:].strip(), []
                if not header:
                    raise ValueError(f"{path}: record {count} (line {lineno}): empty header; expected '>name'")
            elif line.strip():
                if header is None:
                    raise ValueError(f"{path}: record 1 (line {lineno}): sequence before the first '>' header; "
                                     "is this a FASTA file?")
                chunks.append(line.strip())
        if header is not None:
            yield emit(lineno)
    if count == 0:
        raise ValueError(f"{path}: no FASTA records; expected lines starting with '>'")


def read_fastq(path: str | Path, clean: bool = True) -> Iterator[FastqRecord]:
    """Stream the records of a (gzipped) FASTQ file (4 lines per record, Phred+33 qualities).

    Args:
        path: the file.
        clean: map each sequence onto ``ACGTN`` with :func:`clean_sequence`.

    Yields:
        :class:`FastqRecord` objects in file order.

    Raises:
        ValueError: a header without ``@``, a separator without ``+``, a quality string of a
            different length than the sequence, a truncated record or invalid characters,
            naming the file, record number and line.
    """
    path = Path(path)
    count = 0
    with open_text(path) as fh:
        lines = _lines(fh)
        for lineno, head in lines:
            if not head.strip():
                continue
            count += 1
            where = f"{path}: record {count} (line {lineno})"
            if not head.startswith("@"):
                raise ValueError(f"{where}: header {head[:40]!r} does not start with '@'")
            body = [next(lines, None) for _ in range(3)]
            if any(b is None for b in body):
                raise ValueError(f"{where}: truncated record; expected 4 lines (header, sequence, '+', quality)")
            (_, seq), (plus_no, plus), (q_no, qual) = body  # type: ignore[misc]
            if not plus.startswith("+"):
                raise ValueError(f"{path}: record {count} (line {plus_no}): expected a '+' separator, got {plus[:40]!r}")
            if len(qual) != len(seq):
                raise ValueError(f"{path}: record {count} (line {q_no}): quality has {len(qual)} characters for "
                                 f"{len(seq)} bases; they must be equally long")
            if any(not 33 <= ord(c) <= 126 for c in qual):
                raise ValueError(f"{path}: record {count} (line {q_no}): quality characters outside Phred+33 ('!'..'~')")
            desc = head[1:].strip()
            yield FastqRecord(desc.split()[0] if desc else f"read{count}", desc,
                              clean_sequence(seq, where) if clean else seq, qual)
    if count == 0:
        raise ValueError(f"{path}: no FASTQ records; expected 4-line records starting with '@'")


def write_fasta(path: str | Path, records: Iterable[FastaRecord], width: int = 80) -> int:
    """Write records (gzipped if the name ends in ``.gz``), wrapping sequences at ``width``; returns the count."""
    n = 0
    with open_text(path, "w") as fh:
        for rec in records:
            fh.write(f">{rec.description or rec.name}\n")
            for i in range(0, len(rec.sequence), width):
                fh.write(rec.sequence[i:i + width] + "\n")
            n += 1
    return n


def write_fastq(path: str | Path, records: Iterable[FastqRecord]) -> int:
    """Write 4-line FASTQ records (gzipped if the name ends in ``.gz``); returns the count."""
    n = 0
    with open_text(path, "w") as fh:
        for rec in records:
            fh.write(f"@{rec.description or rec.name}\n{rec.sequence}\n+\n{rec.quality}\n")
            n += 1
    return n
