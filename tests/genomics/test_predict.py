"""``sciformers predict genomics``: one probability per read, a CSV under --out only, bad files skipped or fatal."""

import csv
import gzip

import pytest
import torch

from sciformers.core import create_model, save_model
from sciformers.evaluation.cli import main
from sciformers.evaluation.datasets import PredictRequest
from sciformers.genomics import DNATokenizer, ReadClassifier, SingleReads, write_fasta, write_fastq
from sciformers.genomics.predict import HEADER, load_classifier, predict_reads
from sciformers.genomics.seqio import FastaRecord, FastqRecord

READS = ["ACGTACGTAAGGCCTTGATTACA" * 3, "GGGCCCAAATTTACGTNACGT" * 2, "TTTTAAAACCCCGGGG", "ACGT" * 12]


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    tok = DNATokenizer.train(READS * 4, vocab_size=24)
    kwargs = {"size": "tiny", "vocab_size": tok.vocab_size, "context": 32}
    lm = create_model("genomics.metagene", **kwargs, finetune={"mode": "full"})
    clf = ReadClassifier.from_pretrained(lm, 2)
    save_model(tmp_path / "final", clf, {"model": "genomics.metagene", "kwargs": kwargs, "finetune": {"mode": "full"},
                                         "max_len": 31, "classes": ["background", "pathogen"],
                                         "tokenizer": tok.to_str()})
    return tmp_path / "final"


def _listing(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


def _reads_folder(tmp_path):
    data = tmp_path / "reads"
    data.mkdir()
    write_fastq(data / "a.fq.gz", [FastqRecord(f"r{i}", f"r{i}", s, "I" * len(s)) for i, s in enumerate(READS[:2])])
    write_fasta(data / "b.fa", [FastaRecord("c1", "c1 contig", READS[2])])
    return data


def test_probabilities_match_the_classifier_and_the_csv_lands_under_out(tmp_path, checkpoint, capsys):
    data = _reads_folder(tmp_path)
    before = _listing(data)
    out = tmp_path / "out"
    assert main(["predict", "genomics", "--checkpoint", str(checkpoint), "--out", str(out), "--option", "batch_size=2",
                 str(data), "acgtnacgt"]) == 0
    assert _listing(data) == before
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split("\t")[0] for ln in lines] == ["r0", "r1", "c1", "input2"]
    clf, tok, config = load_classifier(checkpoint)
    ds = SingleReads(tok.encode_batch(READS[:3] + ["ACGTNACGT"]), config["max_len"], torch.tensor(tok.token_lengths()))
    items = [ds[j] for j in range(len(ds))]
    with torch.no_grad():
        proba = torch.softmax(clf({k: torch.stack([it[k] for it in items]) for k in items[0]}), -1)[:, 1]
    assert [float(ln.split("\t")[1]) for ln in lines] == pytest.approx(proba.tolist(), abs=1e-4)
    with (out / "predictions.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == HEADER and "length_bp" in rows[0]
    assert [r[:3] for r in rows[1:]] == [[str(data / "a.fq.gz"), "r0", str(len(READS[0]))],
                                         [str(data / "a.fq.gz"), "r1", str(len(READS[1]))],
                                         [str(data / "b.fa"), "c1", str(len(READS[2]))], ["input2", "input2", "9"]]
    assert [r[4] for r in rows[1:]] == [ln.split("\t")[2] for ln in lines]


def test_bad_inputs_are_clear_errors(tmp_path, checkpoint, capsys):
    (tmp_path / "bad.fa").write_text("ACGT\n>r1\nACGT\n")
    base = ["predict", "genomics", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "out")]
    for args, message in (([str(tmp_path / "bad.fa")], "bad.fa: record 1 (line 1): sequence before the first '>'"),
                          ([str(tmp_path / "missing.fq")], "missing.fq: no such file"),
                          (["hello"], "input 1 (not a file): invalid nucleotide"),
                          (["--option", "batch_size=0", "ACGT"], "--option batch_size=0: batch_size must be"),
                          (["--option", "k=3", "ACGT"], "--option k: unknown for genomics")):
        assert main(base + args) == 2
        assert message in capsys.readouterr().err
    result = predict_reads(PredictRequest(checkpoint, ["ACGT"], tmp_path / "out"))
    assert result.written == [tmp_path / "out" / "predictions.csv"] and len(result.lines) == 1


def test_skip_invalid_goes_on_with_the_good_files_and_all_bad_exits_1(tmp_path, checkpoint, capsys):
    data = _reads_folder(tmp_path)
    (data / "c.fasta").write_text(">r1\nACGT\n>\nACGT\n")  # empty header
    with gzip.open(data / "d.fq.gz", "wb") as fh:
        fh.write(b"@r1\nACGT\n+\nII")  # quality shorter than the sequence
    before = _listing(data)
    base = ["predict", "genomics", "--checkpoint", str(checkpoint)]
    assert main(base + ["--out", str(tmp_path / "o1"), str(data)]) == 2
    assert "c.fasta: record 2" in capsys.readouterr().err
    assert not (tmp_path / "o1" / "predictions.csv").exists()
    assert main(base + ["--out", str(tmp_path / "o2"), "--skip-invalid", str(data)]) == 0
    captured = capsys.readouterr()
    assert [ln.split("\t")[0] for ln in captured.out.strip().splitlines()] == ["r0", "r1", "c1"]
    assert f"skipped {data / 'c.fasta'}: record 2" in captured.err and f"skipped {data / 'd.fq.gz'}: " in captured.err
    assert main(base + ["--out", str(tmp_path / "o3"), "--skip-invalid", str(data / "c.fasta"), "not-dna!"]) == 1
    assert "not-dna!" in capsys.readouterr().err
    assert _listing(data) == before


def test_predict_help_lists_inputs_and_options(capsys):
    assert main(["predict", "genomics", "--help"]) == 0
    out = capsys.readouterr().out
    assert "inputs:" in out and "FASTA" in out and "batch_size" in out and "default 256" in out
