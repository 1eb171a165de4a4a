"""The pathogen-read data set: packaged genomes -> coordinate splits -> simulated reads (FASTQ).

Every genome is cut into train / val / test intervals first (:func:`.simulate.split_genome`),
then reads are simulated inside each interval, balanced between the pathogen and background
classes and spread evenly over the genomes of a class. Files are cached under
``cache_dir("genomics_reads", <config hash>) / "splits"`` (one entry, built once under a lock)
as gzipped FASTQ whose headers carry each read's genome and interval, so the labels and the
split audit travel with the reads. A user's own
reads plug in through ``reads_dir`` (``train/val/test.fastq[.gz]`` with ``genome=NAME`` in the
headers), a user's genomes through ``genome_files``.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from sciformers.core import Config, cache_dir, cached_file
from sciformers.evaluation.datasets import DatasetEntry, register_dataset
from sciformers.evaluation.records import config_hash
from sciformers.genomics.genomes import load_genome
from sciformers.genomics.seqio import FastqRecord, read_fastq, write_fastq
from sciformers.genomics.simulate import SPLITS, ErrorProfile, ReadSimulator, parse_header, split_genome


class PathogenReadsData(Config):
    """The ``data:`` section of ``genomics/pathogen_reads``.

    Args:
        seed: seeds the split layout and the simulator.
        pathogens: genomes of class 1 (packaged names or keys of ``genome_files``).
        background: genomes of class 0.
        genome_files: user genomes ``{name: FASTA path}``.
        reads_dir: a folder with ``train``, ``val``, ``test`` FASTQ files (``genome=NAME`` in
            each header) to use instead of simulating.
        read_length: bases per simulated read (NovaSeq: 151).
        n_train, n_val, n_test: reads per split, half per class.
        val_fraction, test_fraction: share of each genome's coordinates per split.
        substitution_rate, insertion_rate, deletion_rate: the simulator's error profile.
        vocab_size: vocabulary of an entry's plain ``tokenizer: bpe`` (paper: 1024).
        tokenizer_reads: training reads a BPE is learnt from (at most).
        context: tokens per packed pretraining window (paper: 512), unless an entry sets ``context``.
    """

    seed: int = 0
    pathogens: list[str] = Field(default_factory=lambda: ["sars_cov_2", "c_diphtheriae"])
    background: list[str] = Field(default_factory=lambda: ["ecoli_k12", "phage_agate", "phage_topaz"])
    genome_files: dict[str, str] = Field(default_factory=dict)
    reads_dir: str | None = None
    read_length: int = Field(default=151, ge=16)
    n_train: int = Field(default=6000, ge=4)
    n_val: int = Field(default=1000, ge=2)
    n_test: int = Field(default=2000, ge=2)
    val_fraction: float = Field(default=0.1, gt=0, lt=0.5)
    test_fraction: float = Field(default=0.2, gt=0, lt=0.5)
    substitution_rate: float = Field(default=0.005, ge=0, lt=0.5)
    insertion_rate: float = Field(default=1e-4, ge=0, lt=0.5)
    deletion_rate: float = Field(default=1e-4, ge=0, lt=0.5)
    vocab_size: int = Field(default=1024, ge=11)
    tokenizer_reads: int = Field(default=20000, ge=10)
    context: int = Field(default=128, ge=8)


@dataclass
class ReadSet:
    """Reads of one split with their genome and class (1 = pathogen)."""

    sequences: list[str] = field(default_factory=list)
    genomes: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sequences)


def _stable_seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def _counts(n: int, k: int) -> list[int]:
    return [n // k + (i < n % k) for i in range(k)]


def simulate_files(cfg: PathogenReadsData, folder: Path) -> list[Path]:
    """Split every genome by coordinate and write ``{train,val,test}.fastq.gz`` and ``intervals.json``."""
    overlap = set(cfg.pathogens) & set(cfg.background)
    if overlap:
        raise ValueError(f"data: genomes {sorted(overlap)} are listed as both pathogen and background")
    if not cfg.pathogens or not cfg.background:
        raise ValueError("data: need at least one pathogen and one background genome")
    profile = ErrorProfile(cfg.substitution_rate, cfg.insertion_rate, cfg.deletion_rate)
    fractions = {"train": 1 - cfg.val_fraction - cfg.test_fraction, "val": cfg.val_fraction,
                 "test": cfg.test_fraction}
    sizes = {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test}
    records: dict[str, list[FastqRecord]] = {s: [] for s in SPLITS}
    layout = []
    for cls_genomes, half in ((cfg.pathogens, 0), (cfg.background, 1)):
        for g_idx, name in enumerate(cls_genomes):
            seq = load_genome(name, cfg.genome_files)
            intervals = split_genome(name, len(seq), fractions, _stable_seed(cfg.seed, name))
            layout += [vars(iv) for iv in intervals]
            for iv in intervals:
                n_class = _counts(sizes[iv.split], 2)[half]
                n = _counts(n_class, len(cls_genomes))[g_idx]
                sim = ReadSimulator(cfg.read_length, profile, seed=_stable_seed(cfg.seed, name, iv.split))
                for r in sim.reads(name, iv, seq, n):
                    idx = len(records[iv.split])
                    records[iv.split].append(FastqRecord(f"read{idx}", r.header(idx), r.sequence, r.quality))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "intervals.json").write_text(json.dumps(layout, indent=1))
    return [folder / "intervals.json"] + [_write(folder / f"{s}.fastq.gz", records[s]) for s in SPLITS]


def _write(path: Path, records: list[FastqRecord]) -> Path:
    write_fastq(path, records)
    return path


def read_files(cfg: PathogenReadsData) -> dict[str, Path]:
    """The FASTQ file of each split: the user's ``reads_dir`` or simulated ones, cached by config."""
    if cfg.reads_dir is not None:
        folder = Path(cfg.reads_dir).expanduser()
        files = {}
        for s in SPLITS:
            found = [folder / f"{s}{ext}" for ext in (".fastq.gz", ".fastq", ".fq.gz", ".fq") if (folder / f"{s}{ext}").is_file()]
            if not found:
                raise FileNotFoundError(f"data.reads_dir: no {s}.fastq[.gz] in {folder}")
            files[s] = found[0]
        return files
    spec = cfg.model_dump(exclude={"reads_dir", "vocab_size", "tokenizer_reads", "context"})
    folder = cache_dir("genomics_reads", config_hash(spec)[:16]) / "splits"
    cached_file(folder, lambda tmp: simulate_files(cfg, tmp))  # the splits and their layout: one entry
    return {s: folder / f"{s}.fastq.gz" for s in SPLITS}


def load_reads(cfg: PathogenReadsData) -> dict[str, ReadSet]:
    """Reads of every split, labelled 1 for pathogen genomes and 0 for background.

    Raises:
        ValueError: a read whose header names no genome, or a genome in neither class list,
            naming the file and record.
    """
    classes = {**{g: 1 for g in cfg.pathogens}, **{g: 0 for g in cfg.background}}
    out: dict[str, ReadSet] = {}
    for split, path in read_files(cfg).items():
        rs = ReadSet()
        for i, rec in enumerate(read_fastq(path), 1):
            genome = parse_header(rec.description).get("genome")
            if genome not in classes:
                raise ValueError(f"{path}: record {i}: genome {genome!r} is in neither data.pathogens nor "
                                 f"data.background (headers need genome=NAME)")
            rs.sequences.append(rec.sequence)
            rs.genomes.append(genome)
            rs.labels.append(classes[genome])
        out[split] = rs
    return out


def _build(cfg: Config) -> list[Path]:
    assert isinstance(cfg, PathogenReadsData)
    return list(read_files(cfg).values())


register_dataset(DatasetEntry("genomics.pathogen_reads", PathogenReadsData, _build,
                              "reads simulated from packaged genomes, split by genome coordinate (FASTQ)",
                              aliases=("genomics_reads",)))
