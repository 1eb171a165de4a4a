"""The smoke pipeline end to end, the predictor on its checkpoint, the dataset entry, the lazy import."""

import json
import subprocess
import sys

from sciformers.evaluation import get_dataset, get_predictor, read_records, resolve, run_pipeline
from sciformers.evaluation.cli import main
from sciformers.evaluation.datasets import PredictRequest
from sciformers.genomics import write_fastq
from sciformers.genomics.seqio import FastqRecord


def test_presets_resolve():
    for preset in ("smoke", "bench", "full"):
        rp = resolve("genomics/pathogen_reads", preset)
        assert rp.config.task == "genomics.pathogen_reads"
    assert resolve("genomics/pathogen_reads", "bench").train.seeds == [0, 1, 2]
    assert resolve("genomics/pathogen_reads", "full").stages.finetune.lr == 1e-4


def test_smoke_pipeline_end_to_end(tmp_path):
    out = tmp_path / "run"
    result = run_pipeline("genomics/pathogen_reads", preset="smoke", out=out, quiet=True,
                          overrides=["train.steps=6", "stages.finetune.steps=4", "train.eval_every=3"])
    records = read_records(out / "records.jsonl")
    models = {r.model for r in records}
    assert models == {"gc_content", "genomics.metagene", "genomics.metagene_bpe", "genomics.metagene_lora",
                      "bidir_mlm", "kmer_lr", "markov", "markov_mixture"}
    by = {r.model: r for r in records}
    lm = by["genomics.metagene"].metrics
    assert {"bits_per_bp", "bp_per_token", "pack_fill", "mcc", "auroc", "ood_auroc", "ood_auroc_lr",
            "reads_per_s"} <= set(lm)
    assert 0 < lm["bits_per_bp"] < 3 and lm["bp_per_token"] == 1 and lm["pack_fill"] > 0.99  # nucleotide, 3 reads
    assert by["genomics.metagene_bpe"].metrics["bp_per_token"] > 1
    assert 1.8 < by["gc_content"].metrics["bits_per_bp"] <= 2.01
    assert by["markov"].metrics["bits_per_bp"] < 2.01 and "ood_auroc_lr" in by["markov_mixture"].metrics
    assert by["genomics.metagene"].higher_is_better["bits_per_bp"] is False
    report = result.report_md.read_text()
    for name in ("genomics.metagene", "kmer_lr", "markov", "bidir_mlm", "gc_content (baseline)", "bits_per_bp",
                 "ood_auroc"):
        assert name in report
    for stem in ("loss_curves", "roc", "embedding"):
        assert (out / "plots" / f"genomics_pathogen_reads_{stem}.png").is_file()
    main(["report", str(out), "--out", str(tmp_path / "later")])  # redrawn from predictions/
    for stem in ("loss_curves", "roc", "embedding"):
        assert (tmp_path / "later" / "plots" / f"genomics_pathogen_reads_{stem}.png").is_file()
    assert (out / "tokenizer_nucleotide.json").is_file() and (out / "tokenizer_bpe.json").is_file()
    saved = out / "predictions" / "genomics.pathogen_reads"
    assert json.loads((saved / "kmer_lr_seed0.json").read_text())["k"] in (4, 5)  # the ROC legend's k, rebuilt later
    assert json.loads((saved / "markov_seed0.json").read_text())["k_lm"] in (2, 3)
    lm = json.loads((saved / "genomics.metagene_seed0.json").read_text())
    assert [h["step"] for h in lm["pretrain"]["history"]] == [3, 6] and len(lm["scores"]) == len(lm["labels"])
    for entry in ("genomics.metagene", "genomics.metagene_bpe", "genomics.metagene_lora", "bidir_mlm"):
        assert {"pretrain", "finetune", "final"} <= {p.name for p in (out / "checkpoints" / entry / "seed0").iterdir()}

    ckpt = out / "checkpoints" / "genomics.metagene_lora" / "seed0" / "final"
    reads = tmp_path / "reads.fq.gz"
    write_fastq(reads, [FastqRecord("r1", "r1", "ACGT" * 30, "I" * 120), FastqRecord("r2", "r2", "GATTACA", "IIIIIII")])
    (tmp_path / "pred").mkdir()
    lines = get_predictor("genomics").run(PredictRequest(ckpt, [str(reads), "acgtnacgt"], tmp_path / "pred")).lines
    assert [ln.split("\t")[0] for ln in lines] == ["r1", "r2", "input2"]
    assert all(0 <= float(ln.split("\t")[1]) <= 1 for ln in lines)
    assert json.loads((ckpt / "config.json").read_text())["finetune"]["mode"] == "lora"


def test_dataset_entry_builds_fastq():
    entry = get_dataset("genomics.pathogen_reads")
    cfg = entry.schema.parse({"pathogens": ["sars_cov_2"], "background": ["phage_topaz"], "n_train": 20,
                              "n_val": 4, "n_test": 8, "read_length": 50})
    files = entry.build(cfg)
    assert {f.name for f in files} == {"train.fastq.gz", "val.fastq.gz", "test.fastq.gz"}


def test_import_loads_no_harness():
    code = ("import sys, sciformers.genomics; "
            "print([m for m in sys.modules if m.startswith(('sciformers.evaluation', 'matplotlib'))])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_read_longer_than_the_context_is_an_error(tmp_path):
    """Reads are never cut: an entry whose window cannot hold the longest read stops before training."""
    import pytest

    with pytest.raises(ValueError, match=r"genomics.metagene: the longest read is 153 tokens .* 'nucleotide'"):
        run_pipeline("genomics/pathogen_reads", preset="smoke", out=tmp_path / "run", quiet=True,
                     models=["genomics.metagene"], overrides=["models.genomics.metagene.kwargs.context=150"])
