"""``sciformers predict genomics``: pathogen probability of every read in FASTA/FASTQ files (or raw sequences).

    sciformers predict genomics --checkpoint RUN/checkpoints/genomics.metagene/seed0/final --out DIR \\
        [--option batch_size=256] [--skip-invalid] reads.fq.gz contigs.fa reads/ ACGTTGCA ...

An input is a FASTA or FASTQ file (plain or gzipped; which one is told from its first record), a
folder of them (``*.fa``, ``*.fasta``, ``*.fna``, ``*.fq``, ``*.fastq``, each optionally ``.gz``)
or a DNA sequence typed in place (named ``input<i>``). Every input is read and checked before
anything is predicted. ``DIR/predictions.csv`` holds
``input,read,length_bp,p_pathogen,predicted_class``; one line per read is printed:
``name<TAB>P(pathogen)<TAB>class``. Nothing is written outside ``DIR``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from sciformers.core import ConfigError, create_model, load_model_state
from sciformers.evaluation.datasets import PredictRequest, PredictResult, Predictor, register_predictor
from sciformers.genomics.classifier import ReadClassifier
from sciformers.genomics.packing import SingleReads
from sciformers.genomics.seqio import clean_sequence, open_text, read_fasta, read_fastq
from sciformers.genomics.tokenizer import DNATokenizer

_FASTQ = (".fastq", ".fq", ".fastq.gz", ".fq.gz")
READ_SUFFIXES = (".fa", ".fasta", ".fna", ".fas", *_FASTQ[:2])
TABLE = "predictions.csv"
HEADER = ("input", "read", "length_bp", "p_pathogen", "predicted_class")
OPTIONS = {"batch_size": "reads classified per forward pass, a positive integer (default 256)"}


def load_classifier(checkpoint: str | Path) -> tuple[ReadClassifier, DNATokenizer, dict]:
    """A fine-tuned read classifier, its tokenizer and its saved config from a ``final/`` checkpoint."""
    state, config = load_model_state(checkpoint)
    if "tokenizer" not in config or "finetune" not in config:
        raise ValueError(f"{checkpoint}: not a genomics read-classifier checkpoint (no tokenizer/finetune in config.json)")
    lm = create_model(config["model"], **{**config["kwargs"], "finetune": config["finetune"]})
    clf = ReadClassifier.from_pretrained(lm, len(config["classes"]))
    clf.load_state_dict(state)
    return clf.eval(), DNATokenizer.from_str(config["tokenizer"]), config


def _batch_size(request: PredictRequest) -> int:
    unknown = sorted(set(request.options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"--option {unknown[0]}: unknown for genomics; it takes {', '.join(OPTIONS)}")
    raw = request.option("batch_size", "256")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise ConfigError(f"--option batch_size={raw}: batch_size must be a positive integer (reads per pass)")
    return value


def _is_read_file(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return path.is_file() and any(name.endswith(ext) for ext in READ_SUFFIXES)


def _records(path: Path) -> list[tuple[str, str]]:
    """``(name, sequence)`` of every record of a FASTA or FASTQ file, read in full.

    Raises:
        ValueError: naming the file (and record), for a malformed, empty or unreadable file.
    """
    try:
        with open_text(path) as fh:
            first = next((line for line in fh if line.strip()), "")
        fastq = first.startswith("@") or (not first and any(path.name.lower().endswith(e) for e in _FASTQ))
        reader = read_fastq if fastq else read_fasta
        return [(r.name, r.sequence) for r in reader(path)]
    except (OSError, EOFError) as err:  # unreadable, a bad or truncated gzip stream
        raise ValueError(f"{path}: cannot read it as FASTA/FASTQ ({err})") from None


def _expand(item: str, index: int) -> list[tuple[str, Path | None]]:
    """``(input, file)`` for one command-line input: a file, the read files of a folder, or a
    typed sequence (``file`` None)."""
    path = Path(item).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if _is_read_file(p))
        if not files:
            raise ValueError(f"{path}: no FASTA/FASTQ files ({', '.join(READ_SUFFIXES)}, optionally .gz)")
        return [(str(p), p) for p in files]
    if path.is_file():
        return [(str(path), path)]
    if any(c in item for c in "/\\") or any(item.lower().removesuffix(".gz").endswith(e) for e in READ_SUFFIXES):
        raise FileNotFoundError(f"{item}: no such file or folder")
    clean_sequence(item, where=f"input {index} (not a file)")  # raises for anything but DNA
    return [(f"input{index}", None)]


def predict_reads(request: PredictRequest) -> PredictResult:
    """One ``name<TAB>P(pathogen)<TAB>class`` line per read; ``predictions.csv`` under ``request.out_dir``.

    Raises:
        FileNotFoundError, ValueError: for a missing or malformed input, naming it (unless ``skip_invalid``).
    """
    batch_size = _batch_size(request)
    clf, tok, config = load_classifier(request.checkpoint)
    result = PredictResult()

    def bad(item: str, err: Exception) -> None:
        if not request.skip_invalid:
            raise err
        result.skipped.append((item, str(err).removeprefix(f"{item}: ")))

    named: list[tuple[str, str, str]] = []  # (input, read name, sequence)
    seen: set[Path] = set()
    for i, item in enumerate(request.inputs, 1):
        try:
            sources = _expand(item, i)
        except (FileNotFoundError, ValueError) as err:
            bad(item, err)
            continue
        for source, path in sources:
            if path is None:
                named.append((source, source, clean_sequence(item)))
                continue
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            try:
                named += [(source, name, seq) for name, seq in _records(path)]
            except ValueError as err:
                bad(source, err)

    token_bases = torch.tensor(tok.token_lengths())
    classes = config["classes"]
    rows = []
    for start in range(0, len(named), batch_size):
        chunk = named[start:start + batch_size]
        ds = SingleReads(tok.encode_batch([s for _, _, s in chunk]), config["max_len"], token_bases)
        items = [ds[j] for j in range(len(ds))]
        batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
        with torch.no_grad():
            proba = torch.softmax(clf(batch), -1)
        for (source, name, seq), p in zip(chunk, proba):
            label = classes[int(p.argmax())]
            result.lines.append(f"{name}\t{p[1].item():.4f}\t{label}")
            rows.append([source, name, len(seq), f"{p[1].item():.6f}", label])
    if rows:
        table = request.out_dir / TABLE
        with table.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            writer.writerows(rows)
        result.written.append(table)
    return result


register_predictor("genomics", Predictor(
    predict_reads,
    "FASTA or FASTQ files (plain or gzipped), folders of them (*.fa, *.fasta, *.fna, *.fas, *.fq, *.fastq, each "
    "optionally .gz), or DNA sequences typed in place; writes predictions.csv "
    "(input,read,length_bp,p_pathogen,predicted_class)",
    OPTIONS,
))
