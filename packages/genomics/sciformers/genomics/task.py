"""The ``genomics.pathogen_reads`` task: pretrain on reads, score bits/bp and OOD, fine-tune to detect pathogens.

Per seed, a neural model (``trainable``) is (1) pretrained on the training reads packed into
windows (the causal LM: next-token; the bidirectional peer: masked LM), validated on the
coordinate-held-out validation reads; (2) fine-tuned with a classification head (full or LoRA,
the entry's ``finetune`` kwargs) for the ``stages.finetune`` budget and scored by MCC and AUROC
on the whole test set; (3) for the causal LM, scored on the test reads in bits per base and on
length-normalised loss against base-shuffled copies of test reads (OOD AUROC, as METAGENE-1
separates metagenomic from random reads). The k-mer and GC-content peers (``estimator``) are
fitted on the same training reads; GC content is also the i.i.d. base-composition LM.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from sciformers.core import Config, TrainConfig
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.metrics import auroc, get_metric
from sciformers.evaluation.records import RunRecord
from sciformers.evaluation.report import Table, tables_default
from sciformers.evaluation.runner import Entry, Job, Result
from sciformers.evaluation.tasks import TaskSpec, register_task
from sciformers.genomics.baselines import ReadBaseline
from sciformers.genomics.classifier import ReadClassifier
from sciformers.genomics.data import PathogenReadsData, ReadSet, load_reads
from sciformers.genomics.metrics import bits_per_bp, bp_per_token, ood_auroc
from sciformers.genomics.model import DNALanguageModel, MetageneLM
from sciformers.genomics.packing import PackedReads, SingleReads
from sciformers.genomics.plots import embedding_plot, loss_curve_plot, roc_plot
from sciformers.genomics.simulate import shuffle_read
from sciformers.genomics.tokenizer import DNATokenizer

CLASSES = ("background", "pathogen")


class ReadEval(Config):
    """The ``eval:`` section.

    Args:
        embed_reads: test reads embedded for the projection plot (first seed).
    """

    embed_reads: int = Field(default=600, ge=2)


class FinetuneStage(Config):
    """The fine-tuning budget (the ``train:`` section is pretraining's).

    Args:
        steps: fine-tuning optimizer steps.
        lr: fine-tuning learning rate (paper: 1e-4 for LoRA on 7B).
        batch_size: reads per fine-tuning step (paper: 32).
    """

    steps: int = Field(default=300, ge=1)
    lr: float = Field(default=5e-4, gt=0)
    batch_size: int = Field(default=32, ge=1)


class ReadStages(Config):
    """The ``stages:`` section: training after pretraining."""

    finetune: FinetuneStage = Field(default_factory=FinetuneStage)


@dataclass
class PreparedReads:
    """The reads of every split and their BPE tokens (the tokenizer learnt on training reads)."""

    data: PathogenReadsData
    reads: dict[str, ReadSet]
    tokenizer: DNATokenizer
    ids: dict[str, list[list[int]]]
    token_bases: Tensor
    bp_per_token: float

    def max_len(self, context: int) -> int:
        """Positions per single-read sample: the longest read's tokens + ``[EOS]``, at most ``context``."""
        return min(context, max(len(x) for split in self.ids.values() for x in split) + 1)


@dataclass
class LMStages:
    """A neural entry through its stages: the pretrained LM, then the read classifier fine-tuned from it.

    Args:
        lm: the language model (pretrained in place).
        max_len: positions per single read.
        tokenizer: saved with the classifier, so the checkpoint serves raw reads.
        classifier: the fine-tuned classifier (set by the task's ``fit``).
    """

    lm: DNALanguageModel
    max_len: int
    tokenizer: DNATokenizer
    classifier: ReadClassifier | None = None


@dataclass
class ReadPredictions:
    """What one job predicts on the test reads.

    Args:
        proba: ``(N, 2)`` class probabilities.
        classify_s: seconds spent classifying the test reads (reads/s).
        nll: ``(N, 2)`` per read: NLL in nats and bases scored (language models only).
        nll_shuffled: the same for base-shuffled copies of the test reads (the OOD negatives).
        embedding: mean-pooled pretrained embeddings of evenly spaced test reads (first seed).
        embedded: the test indices of those reads.
        k: the k-mer size the fit chose (``kmer_lr``).
    """

    proba: np.ndarray
    classify_s: float
    nll: Tensor | None = None
    nll_shuffled: Tensor | None = None
    embedding: np.ndarray | None = None
    embedded: np.ndarray | None = None
    k: int | None = None


class PathogenReadsTask(TaskSpec):
    """Pretraining, OOD and pathogen-vs-background read classification on coordinate-split reads."""

    name = "genomics.pathogen_reads"
    version = "1"
    domain = "genomics"
    description = ("Reads simulated from packaged genomes (SARS-CoV-2, C. diphtheriae vs E. coli K-12, gut phages), "
                   "split by genome coordinate: LM bits/bp, OOD AUROC vs shuffled reads, pathogen MCC/AUROC.")
    metrics = ("mcc",)
    baseline = "gc_content"
    data_card = "genomics_pathogen_reads.md"
    data_schema = PathogenReadsData
    eval_schema = ReadEval
    stages_schema = ReadStages

    # -- running ----------------------------------------------------------------------------

    def prepare(self, ctx: RunContext) -> PreparedReads:
        """Reads of every split, the BPE learnt on evenly spaced training reads (saved as the run's
        ``tokenizer.json``) and every read's tokens."""
        data = ctx.data
        assert isinstance(data, PathogenReadsData)
        reads = load_reads(data)
        train_seqs = reads["train"].sequences  # an evenly spaced subsample covers every genome
        tok = DNATokenizer.train(train_seqs[:: max(1, len(train_seqs) // data.tokenizer_reads)][: data.tokenizer_reads],
                                 data.vocab_size)
        tok.save(ctx.out_dir / "tokenizer.json")
        ids = {s: tok.encode_batch(r.sequences) for s, r in reads.items()}
        bp_tok = bp_per_token(torch.tensor([len(s) for s in reads["test"].sequences]),
                              torch.tensor([len(x) for x in ids["test"]]))
        return PreparedReads(data, reads, tok, ids, torch.tensor(tok.token_lengths()), bp_tok)

    def model_kwargs(self, prepared: PreparedReads, entry: Entry) -> dict[str, Any]:
        """The data section owns the LMs' vocabulary and window; estimators take neither."""
        if entry.kind == "estimator":
            return {}
        return {"vocab_size": prepared.data.vocab_size, "context": prepared.data.context}

    def build(self, job: Job, prepared: PreparedReads) -> ReadBaseline | LMStages:
        model = job.build()
        if job.entry.kind == "estimator":
            return model
        if not isinstance(model, DNALanguageModel):
            raise TypeError(f"{job.name}: model {job.entry.model!r} is not a DNA language model")
        if model.config.vocab_size != prepared.tokenizer.vocab_size:
            raise ValueError(f"{job.name}: model vocab_size {model.config.vocab_size} != the tokenizer's "
                             f"{prepared.tokenizer.vocab_size} (too few training reads for data.vocab_size?)")
        return LMStages(model, prepared.max_len(model.config.context), prepared.tokenizer)

    def fit_inputs(self, prepared: PreparedReads) -> tuple[Any, ...]:
        tr, va = prepared.reads["train"], prepared.reads["val"]
        return tr.sequences, tr.labels, va.sequences, va.labels

    def fit(self, job: Job, model: Any, prepared: PreparedReads) -> None:
        """Estimators on the reads; an LM pretrained on packed windows, then a classifier copy fine-tuned."""
        if job.entry.kind == "estimator":
            super().fit(job, model, prepared)
            return
        assert isinstance(model, LMStages)
        ids, tb, context = prepared.ids, prepared.token_bases, model.lm.config.context
        job.fit(model.lm, PackedReads(ids["train"], context, tb), PackedReads(ids["val"], context, tb),
                stage="pretrain")
        model.classifier = ReadClassifier.from_pretrained(model.lm, len(CLASSES))
        tr, va = prepared.reads["train"], prepared.reads["val"]
        job.fit(model.classifier, SingleReads(ids["train"], model.max_len, tb, tr.labels),
                SingleReads(ids["val"], model.max_len, tb, va.labels), stage="finetune", config=_finetune_config(job))

    def predict(self, job: Job, model: Any, prepared: PreparedReads) -> ReadPredictions:
        """Class probabilities of every test read; LM scores of the reads and their shuffled copies."""
        test = prepared.reads["test"]
        rng = np.random.default_rng(job.seed)  # draws the shuffled copies
        if job.entry.kind == "estimator":
            t0 = time.perf_counter()
            proba = model.predict_proba(test.sequences)
            classify_s = time.perf_counter() - t0
            if not hasattr(model, "read_nll"):  # a classifier only
                return ReadPredictions(proba, classify_s, k=getattr(model, "k", None))
            shuffled = [shuffle_read(s, rng) for s in test.sequences]
            return ReadPredictions(proba, classify_s, _read_nll(model, test.sequences), _read_nll(model, shuffled))
        assert isinstance(model, LMStages) and model.classifier is not None
        ids, tb, n = prepared.ids["test"], prepared.token_bases, model.max_len
        t0 = time.perf_counter()
        logits = job.predict(model.classifier, SingleReads(ids, n, tb, test.labels), config=_finetune_config(job))
        out = ReadPredictions(torch.softmax(logits.double(), -1).numpy(), time.perf_counter() - t0)
        if isinstance(model.lm, MetageneLM):  # per read [NLL, bases, tokens]
            shuffled = prepared.tokenizer.encode_batch([shuffle_read(s, rng) for s in test.sequences])
            out.nll = job.predict(model.lm, SingleReads(ids, n, tb))[:, :2]
            out.nll_shuffled = job.predict(model.lm, SingleReads(shuffled, n, tb))[:, :2]
        if job.is_first_seed:  # test reads are stored genome by genome: evenly spaced ones show every genome
            assert isinstance(job.ctx.eval, ReadEval)
            out.embedded = np.linspace(0, len(ids) - 1, min(job.ctx.eval.embed_reads, len(ids))).astype(int)
            out.embedding = _embed(model.lm, SingleReads([ids[i] for i in out.embedded], n, tb), job.device)
        return out

    def save(self, job: Job, model: Any) -> None:
        """The fine-tuned classifier with its tokenizer, so ``sciformers predict genomics`` reads raw reads."""
        if isinstance(model, LMStages):
            assert model.classifier is not None
            job.save(model.classifier, {"finetune": model.lm.finetune.model_dump(), "max_len": model.max_len,
                                        "classes": list(CLASSES), "tokenizer": model.tokenizer.to_str()})

    def count_params(self, model: Any) -> int:
        """The pretrained LM's parameters (the classifier adds a head, or adapters)."""
        return super().count_params(model.lm if isinstance(model, LMStages) else model)

    def score(self, job: Job, prepared: PreparedReads, predictions: ReadPredictions) -> Result:
        p, labels = predictions, torch.as_tensor(prepared.reads["test"].labels)
        metrics = {"mcc": get_metric("mcc")(torch.as_tensor(p.proba), labels),
                   "auroc": auroc(torch.as_tensor(p.proba[:, 1]), labels),
                   "reads_per_s": len(labels) / max(p.classify_s, 1e-9)}
        if p.nll is not None and p.nll_shuffled is not None:
            metrics["bits_per_bp"] = bits_per_bp(p.nll[:, 0], p.nll[:, 1])
            loss = torch.cat([p.nll[:, 0] / p.nll[:, 1], p.nll_shuffled[:, 0] / p.nll_shuffled[:, 1]])
            shuffled = torch.as_tensor(np.r_[np.zeros(len(p.nll)), np.ones(len(p.nll_shuffled))])
            metrics["ood_auroc"] = ood_auroc(loss, shuffled)
        if job.entry.kind == "trainable":
            metrics["bp_per_token"] = prepared.bp_per_token
        return Result(metrics, n_test=len(labels))

    def artifacts(self, job: Job, prepared: PreparedReads, predictions: ReadPredictions) -> dict[str, dict[str, Any]]:
        """``<model>_seed<s>.json``: ROC scores, the pretraining curve, the chosen k;
        ``<model>_seed<s>_embedding.npz`` (first seed): read embeddings and their genomes."""
        p = predictions
        out: dict[str, Any] = {"scores": p.proba[:, 1].tolist(), "labels": list(prepared.reads["test"].labels)}
        if "pretrain" in job.fits:
            out["pretrain"] = {"model": job.entry.model, "history": job.fits["pretrain"].history}
        if p.k is not None:
            out["k"] = p.k
        files = {f"{job.name}_seed{job.seed}.json": out}
        if p.embedding is not None and p.embedded is not None:
            genomes = np.array([prepared.reads["test"].genomes[i] for i in p.embedded])
            files[f"{job.name}_seed{job.seed}_embedding.npz"] = {"embedding": p.embedding, "genomes": genomes}
        return files

    # -- report -----------------------------------------------------------------------------

    def tables(self, records: list[RunRecord]) -> list[Table]:
        tables = tables_default(records, self.baseline)
        tables[0].notes.append("gc_content's bits_per_bp is the i.i.d. base-composition model; 2.0 is uniform. "
                               "OOD negatives are base-shuffled test reads.")
        if any(_registry_name(r) == "kmer_lr" for r in records):
            tables[0].notes.append("kmer_lr's k is chosen per seed on validation MCC (the ROC legend gives it).")
        return tables

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        """Pretraining curves, ROC curves and the read-embedding PCA, from the run folders' artifacts."""
        saved: dict[str, dict[int, dict[str, Any]]] = {}
        for r in records:
            path = self.saved_predictions(run_dirs, f"{r.model}_seed{r.seed}.json")
            if path is not None:
                saved.setdefault(r.model, {})[r.seed] = json.loads(path.read_text())
        curves: dict[str, dict[int, list[dict[str, float]]]] = {}
        for by_seed in saved.values():  # per registry model: entries differing only in fine-tuning pretrain alike
            for seed, a in by_seed.items():
                if "pretrain" in a:
                    curves.setdefault(a["pretrain"]["model"], {}).setdefault(seed, a["pretrain"]["history"])
        roc = {_roc_label(name, by_seed): {s: (a["scores"], a["labels"]) for s, a in by_seed.items()}
               for name, by_seed in saved.items()}
        figs: dict[str, Any] = {}
        if curves:
            figs["loss_curves"] = loss_curve_plot(curves)
        if roc:
            figs["roc"] = roc_plot(roc)
        for r in records:  # the first model embedded (its first seed)
            path = self.saved_predictions(run_dirs, f"{r.model}_seed{r.seed}_embedding.npz")
            if path is not None:
                with np.load(path) as z:
                    figs["embedding"] = embedding_plot(r.model, z["embedding"], z["genomes"].tolist())
                break
        return figs


def _finetune_config(job: Job) -> TrainConfig:
    """The ``train:`` section with the ``stages.finetune`` budget (a fixed step count, 5 % warmup)."""
    stages = job.ctx.stages
    assert isinstance(stages, ReadStages)
    ft = stages.finetune
    return job.train_config(steps=ft.steps, lr=ft.lr, batch_size=ft.batch_size, epochs=None, warmup=0.05)


def _read_nll(model: Any, reads: Sequence[str]) -> Tensor:
    """``(N, 2)`` per read: NLL in nats under ``model.read_nll`` and the read's length."""
    return torch.stack([torch.as_tensor(model.read_nll(reads)),
                        torch.tensor([len(s) for s in reads], dtype=torch.float64)], -1)


def _registry_name(record: RunRecord) -> str | None:
    """The registry model behind a record's entry (the baseline is its own)."""
    entry = (record.config.get("models") or {}).get(record.model)
    return entry.get("model") if entry else record.model


def _roc_label(name: str, by_seed: dict[int, dict[str, Any]]) -> str:
    """The entry's name, with the k-mer size chosen for each seed where the fit chose one."""
    ks = [str(by_seed[s]["k"]) for s in sorted(by_seed) if "k" in by_seed[s]]
    return f"{name} (k = {', '.join(ks)})" if ks else name


@torch.no_grad()
def _embed(model: DNALanguageModel, dataset: SingleReads, device: torch.device, batch: int = 64) -> np.ndarray:
    """Mean-pooled read embeddings ``(N, dim)`` of ``dataset``."""
    model.eval()
    out = []
    for i in range(0, len(dataset), batch):
        items = [dataset[j] for j in range(i, min(i + batch, len(dataset)))]
        b = {k: torch.stack([it[k] for it in items]).to(device) for k in items[0]}
        out.append(model.embed(b).float().cpu())
    return torch.cat(out).numpy()


PATHOGEN_READS = register_task(PathogenReadsTask())
