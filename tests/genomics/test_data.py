"""Packaged genomes, the coordinate-split read data set, baselines on it, and the bad-input errors."""

import json

import numpy as np
import pytest

from sciformers.genomics import GENOMES, genome_path, load_genome, write_fasta
from sciformers.genomics.baselines import GCContent, KmerLogisticRegression
from sciformers.genomics.data import PathogenReadsData, load_reads, read_files
from sciformers.genomics.seqio import FastaRecord, read_fastq
from sciformers.genomics.simulate import parse_header


def test_packaged_genomes_are_installed_and_real():
    for name in GENOMES:
        assert genome_path(name).is_file()
    sars = load_genome("sars_cov_2")
    assert len(sars) == 29_903 and sars.startswith("ATTAAAGGTTTATACCTTCC")
    assert len(load_genome("phage_topaz")) == 21_620
    with pytest.raises(KeyError, match="unknown genome 'nope'"):
        genome_path("nope")


@pytest.fixture
def cfg(tmp_path):
    rng = np.random.default_rng(0)
    files = {}
    for name, gc in (("path", 0.65), ("back", 0.35)):
        p = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
        seq = "".join(rng.choice(list("ACGT"), 20_000, p=p))
        write_fasta(tmp_path / f"{name}.fa", [FastaRecord(name, name, seq)])
        files[name] = str(tmp_path / f"{name}.fa")
    return PathogenReadsData(pathogens=["path"], background=["back"], genome_files=files, read_length=60,
                             n_train=200, n_val=40, n_test=80)


def test_reads_never_cross_split_intervals(cfg):
    files = read_files(cfg)
    layout = json.loads((files["train"].parent / "intervals.json").read_text())
    spans = {(d["genome"], d["split"]): (d["start"], d["end"]) for d in layout}
    for genome in ("path", "back"):  # the three intervals of a genome are disjoint
        ivs = sorted(spans[(genome, s)] for s in ("train", "val", "test"))
        assert all(a[1] <= b[0] for a, b in zip(ivs, ivs[1:]))
    for split, path in files.items():
        n = 0
        for rec in read_fastq(path):
            h = parse_header(rec.description)
            lo, hi = spans[(h["genome"], h["split"])]
            assert h["split"] == split and lo <= int(h["start"]) < int(h["end"]) <= hi
            n += 1
        assert n == {"train": 200, "val": 40, "test": 80}[split]
    reads = load_reads(cfg)
    assert sum(reads["test"].labels) == 40 and set(reads["train"].genomes) == {"path", "back"}


def test_baselines_separate_gc_and_choose_k_on_validation(cfg):
    reads = load_reads(cfg)
    tr, va, te = reads["train"], reads["val"], reads["test"]
    gc = GCContent().fit(tr.sequences, tr.labels)
    acc = (gc.predict_proba(te.sequences).argmax(1) == np.array(te.labels)).mean()
    assert acc > 0.9  # the two genomes differ in GC by construction
    km = KmerLogisticRegression(k=[2, 3]).fit(tr.sequences, tr.labels, va.sequences, va.labels)
    assert km.k in (2, 3) and set(km.val_scores) == {2, 3}
    assert km.predict_proba(te.sequences).shape == (80, 2)


def test_bad_inputs_are_named(cfg, tmp_path):
    with pytest.raises(ValueError, match="both pathogen and background"):
        read_files(cfg.model_copy(update={"background": ["path"]}))
    with pytest.raises(FileNotFoundError, match="data.reads_dir: no train.fastq"):
        read_files(cfg.model_copy(update={"reads_dir": str(tmp_path)}))
    (tmp_path / "r").mkdir()
    for s in ("train", "val", "test"):
        (tmp_path / "r" / f"{s}.fastq").write_text("@x genome=other\nACGT\n+\nIIII\n")
    with pytest.raises(ValueError, match=r"train.fastq: record 1: genome 'other' is in neither"):
        load_reads(cfg.model_copy(update={"reads_dir": str(tmp_path / "r")}))
