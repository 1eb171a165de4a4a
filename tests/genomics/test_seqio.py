"""FASTA/FASTQ readers: gzip, Windows line endings, wrapped lines, streaming, malformed records."""

import gzip
import types

import pytest

from sciformers.genomics import read_fasta, read_fastq, reverse_complement, write_fasta, write_fastq
from sciformers.genomics.seqio import FastaRecord, FastqRecord, clean_sequence, gc_content


def _write(path, text, gz=False):
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_fasta_wrapped_lines_gzip_and_crlf(tmp_path, gz, newline):
    text = newline.join([">chr1 first contig", "ACGTAC", "gtNNrA", "", ">chr2", "TTTT", ""])
    recs = list(read_fasta(_write(tmp_path / "x.fa", text, gz)))  # name does not say gz: magic bytes decide
    assert [r.name for r in recs] == ["chr1", "chr2"]
    assert recs[0].description == "chr1 first contig"
    assert recs[0].sequence == "ACGTACGTNNNA"  # wrapped lines joined, lower case and IUPAC R cleaned
    assert recs[1].sequence == "TTTT"


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_fastq_gzip_and_crlf(tmp_path, gz, newline):
    text = newline.join(["@r1 genome=x", "ACGTN", "+", "IIII#", "@r2", "GG", "+r2", "!!", ""])
    recs = list(read_fastq(_write(tmp_path / "x.fq.gz", text, gz)))
    assert [(r.name, r.sequence, r.quality) for r in recs] == [("r1", "ACGTN", "IIII#"), ("r2", "GG", "!!")]


@pytest.mark.parametrize("text, message", [
    ("ACGT\n>a\nAC\n", r"record 1 \(line 1\): sequence before the first '>'"),
    (">a\nACGT\n>b\n>c\nAC\n", r"record 2 .*'b'.*empty sequence"),
    (">a\nAC\n>b\nACXT\n", r"record 2 .*invalid nucleotide characters \['X'\]"),
    (">\nAC\n", r"record 1 \(line 1\): empty header"),
    ("", r"no FASTA records"),
])
def test_fasta_malformed_records_name_file_and_record(tmp_path, text, message):
    path = _write(tmp_path / "bad.fa", text)
    with pytest.raises(ValueError, match=message) as err:
        list(read_fasta(path))
    assert str(path) in str(err.value)


@pytest.mark.parametrize("text, message", [
    ("@a\nAC\n+\nII\nb\nAC\n+\nII\n", r"record 2 \(line 5\): header 'b' does not start with '@'"),
    ("@a\nAC\n+\nII\n@b\nACG\n+\nII\n", r"record 2 \(line 8\): quality has 2 characters for 3 bases"),
    ("@a\nAC\n-\nII\n", r"record 1 \(line 3\): expected a '\+' separator"),
    ("@a\nAC\n+\n", r"record 1 \(line 1\): truncated record"),
    ("@a\nAC\n+\nI\x7f\n", r"record 1 \(line 4\): quality characters outside Phred\+33"),
])
def test_fastq_malformed_records_name_file_and_record(tmp_path, text, message):
    path = _write(tmp_path / "bad.fq", text)
    with pytest.raises(ValueError, match=message) as err:
        list(read_fastq(path))
    assert str(path) in str(err.value)


def test_readers_stream_records_lazily(tmp_path):
    """The first records come out before a malformed record deep in the file is read."""
    good = "".join(f"@r{i}\nACGT\n+\nIIII\n" for i in range(5000))
    path = _write(tmp_path / "big.fq.gz", good + "@broken\nACGT\n+\nII\n", gz=True)
    it = read_fastq(path)
    assert isinstance(it, types.GeneratorType)
    assert [next(it).name for _ in range(3)] == ["r0", "r1", "r2"]
    with pytest.raises(ValueError, match="record 5001"):
        list(it)


def test_writers_round_trip(tmp_path):
    fa = [FastaRecord("a", "a desc", "ACGT" * 50), FastaRecord("b", "b", "N")]
    fq = [FastqRecord("r", "r x=1", "ACGTN", "IIII!")]
    assert write_fasta(tmp_path / "w.fa.gz", fa, width=60) == 2
    assert list(read_fasta(tmp_path / "w.fa.gz")) == fa
    write_fastq(tmp_path / "w.fq", fq)
    assert list(read_fastq(tmp_path / "w.fq")) == fq


def test_reverse_complement_is_an_involution_and_complements():
    assert reverse_complement("AACGTN") == "NACGTT"
    import random
    rng = random.Random(0)
    for _ in range(50):
        s = "".join(rng.choice("ACGTNacgtn") for _ in range(rng.randint(0, 40)))
        assert reverse_complement(reverse_complement(s)) == s
        assert len(reverse_complement(s)) == len(s)


def test_n_handling_and_gc():
    assert clean_sequence("acgu-.RYn") == "ACGTNNNNN"
    assert gc_content("GGCCAATTNN") == 0.5 and gc_content("NNN") == 0.5
