"""``sciformers predict genomics``: pathogen probability of every read in FASTA/FASTQ files (or raw sequences)."""

from __future__ import annotations

from pathlib import Path

import torch

from sciformers.core import create_model, load_model_state
from sciformers.evaluation.datasets import register_predictor
from sciformers.genomics.classifier import ReadClassifier
from sciformers.genomics.packing import SingleReads
from sciformers.genomics.seqio import clean_sequence, read_fasta, read_fastq
from sciformers.genomics.tokenizer import DNATokenizer

_FASTQ = (".fastq", ".fq", ".fastq.gz", ".fq.gz")


def load_classifier(checkpoint: str | Path) -> tuple[ReadClassifier, DNATokenizer, dict]:
    """A fine-tuned read classifier, its tokenizer and its saved config from a ``final/`` checkpoint."""
    state, config = load_model_state(checkpoint)
    if "tokenizer" not in config or "finetune" not in config:
        raise ValueError(f"{checkpoint}: not a genomics read-classifier checkpoint (no tokenizer/finetune in config.json)")
    lm = create_model(config["model"], **{**config["kwargs"], "finetune": config["finetune"]})
    clf = ReadClassifier.from_pretrained(lm, len(config["classes"]))
    clf.load_state_dict(state)
    return clf.eval(), DNATokenizer.from_str(config["tokenizer"]), config


def _inputs(items: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for i, item in enumerate(items, 1):
        path = Path(item)
        if path.is_file():
            fastq = any(path.name.endswith(ext) for ext in _FASTQ)
            out += [(r.name, r.sequence) for r in (read_fastq(path) if fastq else read_fasta(path))]
        else:
            out.append((f"input{i}", clean_sequence(item, where=f"input {i} (not a file)")))
    return out


def predict_reads(checkpoint: Path, inputs: list[str], batch_size: int = 256) -> list[str]:
    """One ``name<TAB>P(pathogen)<TAB>class`` line per read."""
    clf, tok, config = load_classifier(checkpoint)
    named = _inputs(inputs)
    token_bases = torch.tensor(tok.token_lengths())
    lines = []
    for i in range(0, len(named), batch_size):
        chunk = named[i:i + batch_size]
        ds = SingleReads(tok.encode_batch([s for _, s in chunk]), config["max_len"], token_bases)
        items = [ds[j] for j in range(len(ds))]
        batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
        with torch.no_grad():
            proba = torch.softmax(clf(batch), -1)
        for (name, _), p in zip(chunk, proba):
            lines.append(f"{name}\t{p[1].item():.4f}\t{config['classes'][int(p.argmax())]}")
    return lines


register_predictor("genomics", predict_reads)
