"""The ``genomics.pathogen_reads`` task: pretrain on reads, score bits/bp and OOD, fine-tune to detect pathogens.

Per seed, a neural model (``trainable``) is read through its entry's tokenizer (``tokenizer``
kwarg: ``nucleotide``, ``kmer<k>``, ``bpe<V>``) and (1) pretrained on the training reads packed
into windows (the causal LM: next-token; the bidirectional peer: masked LM) for ``train.steps``
optimizer steps, validated every ``train.eval_every`` steps on the coordinate-held-out
validation reads and stopped after ``train.patience`` validations without improvement (the best
weights kept); (2) fine-tuned with a classification head (full or LoRA, the pooling and strand
averaging of the entry's ``finetune`` kwargs) under the same rule with the ``stages.finetune``
budget, and scored by MCC and AUROC on the whole test set; (3) for the causal LM, scored on the
test reads in bits per base (the read's bases only: :func:`~sciformers.genomics.model.base_token_nll`)
and on length-normalised loss against base-shuffled copies of the test reads (OOD AUROC, as
METAGENE-1 separates metagenomic from random reads), plain and composition-corrected
(:func:`~sciformers.genomics.metrics.composition_corrected`). The estimators (k-mer LR, Markov
chains, GC content: its i.i.d. base-composition LM) are fitted on the same training reads, their
orders chosen on the validation reads.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
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
from sciformers.genomics.classifier import ReadClassifierBase, finetune_classifier
from sciformers.genomics.data import PathogenReadsData, ReadSet, load_reads
from sciformers.genomics.metrics import (
    base_entropy,
    bits_per_bp,
    bp_per_token,
    composition_corrected,
    ood_auroc,
    ood_auroc_lr,
)
from sciformers.genomics.model import DNALanguageModel, MetageneLM
from sciformers.genomics.packing import PackedReads, SingleReads, longest_unit
from sciformers.genomics.plots import embedding_plot, loss_curve_plot, roc_plot
from sciformers.genomics.simulate import shuffle_read
from sciformers.genomics.tokenizer import DNATokenizer, build_tokenizer, check_tokenizer_spec

CLASSES = ("background", "pathogen")


class ReadEval(Config):
    """The ``eval:`` section.

    Args:
        embed_reads: test reads embedded for the projection plot (first seed).
    """

    embed_reads: int = Field(default=600, ge=2)


class FinetuneStage(Config):
    """The fine-tuning budget (the ``train:`` section is pretraining's), the same rule: at most
    ``steps`` optimizer steps, validation every ``eval_every``, stop after ``patience`` validations
    without improvement, the best weights kept.

    Args:
        steps: fine-tuning optimizer steps.
        lr: fine-tuning learning rate (paper: 1e-4 for LoRA on 7B).
        batch_size: reads per fine-tuning step (paper: 32).
        eval_every: steps between validations (``None``: once per pass over the training reads).
        patience: validations without improvement before stopping (``None``: run every step).
    """

    steps: int = Field(default=300, ge=1)
    lr: float = Field(default=5e-4, gt=0)
    batch_size: int = Field(default=32, ge=1)
    eval_every: int | None = Field(default=None, ge=1)
    patience: int | None = Field(default=None, ge=1)


class ReadStages(Config):
    """The ``stages:`` section: training after pretraining."""

    finetune: FinetuneStage = Field(default_factory=FinetuneStage)


@dataclass
class Tokenized:
    """The reads of every split under one tokenizer.

    Args:
        tokenizer: the tokenizer (a BPE learnt on evenly spaced training reads).
        ids: token ids per read, per split.
        token_bases: ``(vocab,)`` bases per token id.
        bp_per_token: bases per token on the test reads.
    """

    tokenizer: DNATokenizer
    ids: dict[str, list[list[int]]]
    token_bases: Tensor
    bp_per_token: float

    @property
    def longest_unit(self) -> int:
        """Positions the longest read of any split needs (``[BOS] tokens [EOS]``)."""
        return max(longest_unit(x) for x in self.ids.values())


@dataclass
class PreparedReads:
    """The reads of every split; each tokenizer an entry names is built once, on first use, and
    saved as the run's ``tokenizer_<spec>.json``."""

    data: PathogenReadsData
    reads: dict[str, ReadSet]
    out_dir: Path
    _tokenized: dict[str, Tokenized] = field(default_factory=dict)

    def tokenized(self, spec: str) -> Tokenized:
        """The reads under tokenizer ``spec`` (:func:`~sciformers.genomics.tokenizer.build_tokenizer`)."""
        if spec not in self._tokenized:
            seqs, n = self.reads["train"].sequences, self.data.tokenizer_reads
            tok = build_tokenizer(spec, seqs[:: max(1, len(seqs) // n)][:n], self.data.vocab_size)
            tok.save(self.out_dir / f"tokenizer_{spec}.json")
            ids = {s: tok.encode_batch(r.sequences) for s, r in self.reads.items()}
            bp_tok = bp_per_token(torch.tensor([len(s) for s in self.reads["test"].sequences]),
                                  torch.tensor([len(x) for x in ids["test"]]))
            self._tokenized[spec] = Tokenized(tok, ids, torch.tensor(tok.token_lengths()), bp_tok)
        return self._tokenized[spec]


@dataclass
class LMStages:
    """A neural entry through its stages: the pretrained LM, then the read classifier fine-tuned from it.

    Args:
        lm: the language model (pretrained in place).
        tokens: the reads under the entry's tokenizer (saved with the classifier, so the
            checkpoint serves raw reads).
        classifier: the fine-tuned classifier (set by the task's ``fit``).
    """

    lm: DNALanguageModel
    tokens: Tokenized
    classifier: ReadClassifierBase | None = None


@dataclass
class ReadPredictions:
    """What one job predicts on the test reads.

    Args:
        proba: ``(N, 2)`` class probabilities.
        classify_s: seconds spent classifying the test reads (reads/s).
        nll: ``(N, 2)`` per read: NLL in nats and bases scored (language models only).
        nll_shuffled: the same for base-shuffled copies of the test reads (the OOD negatives).
        entropy: ``(N,)`` each test read's own base entropy in nats (a shuffle keeps it).
        embedding: mean-pooled pretrained embeddings of evenly spaced test reads (first seed).
        embedded: the test indices of those reads.
        k: the k-mer size or Markov order the fit chose for classifying (``kmer_lr``, ``markov*``).
        k_lm: the Markov order the fit chose for the language model.
    """

    proba: np.ndarray
    classify_s: float
    nll: Tensor | None = None
    nll_shuffled: Tensor | None = None
    entropy: Tensor | None = None
    embedding: np.ndarray | None = None
    embedded: np.ndarray | None = None
    k: int | None = None
    k_lm: int | None = None


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
        """Reads of every split; the tokenizers are built as entries ask for them (:meth:`PreparedReads.tokenized`)."""
        data = ctx.data
        assert isinstance(data, PathogenReadsData)
        return PreparedReads(data, load_reads(data), ctx.out_dir)

    def model_kwargs(self, prepared: PreparedReads, entry: Entry) -> dict[str, Any]:
        """An LM's vocabulary comes from its tokenizer, its window from ``data.context`` unless the
        entry sets ``context``; estimators take neither."""
        if entry.kind == "estimator":
            return {}
        spec = check_tokenizer_spec(entry.kwargs.get("tokenizer", "bpe"))
        out: dict[str, Any] = {"vocab_size": prepared.tokenized(spec).tokenizer.vocab_size}
        if "context" not in entry.kwargs:
            out["context"] = prepared.data.context
        return out

    def build(self, job: Job, prepared: PreparedReads) -> ReadBaseline | LMStages:
        """The estimator, or the LM with its entry's tokens.

        Raises:
            ValueError: if the longest read (with ``[BOS]`` and ``[EOS]``) exceeds the LM's context:
                reads are never cut.
        """
        model = job.build()
        if job.entry.kind == "estimator":
            return model
        if not isinstance(model, DNALanguageModel):
            raise TypeError(f"{job.name}: model {job.entry.model!r} is not a DNA language model")
        tokens = prepared.tokenized(model.tokenizer_spec)
        if tokens.longest_unit > model.config.context:
            raise ValueError(f"{job.name}: the longest read is {tokens.longest_unit} tokens with [BOS] and [EOS] "
                             f"under tokenizer {model.tokenizer_spec!r}, more than the context of "
                             f"{model.config.context}; set models.{job.name}.kwargs.context (or data.context) to "
                             f"at least {tokens.longest_unit} (reads are never cut)")
        return LMStages(model, tokens)

    def fit_inputs(self, prepared: PreparedReads) -> tuple[Any, ...]:
        tr, va = prepared.reads["train"], prepared.reads["val"]
        return tr.sequences, tr.labels, va.sequences, va.labels, tr.genomes

    def fit(self, job: Job, model: Any, prepared: PreparedReads) -> None:
        """Estimators on the reads; an LM pretrained on packed windows, then a classifier copy fine-tuned."""
        if job.entry.kind == "estimator":
            super().fit(job, model, prepared)
            return
        assert isinstance(model, LMStages)
        ids, tb, context = model.tokens.ids, model.tokens.token_bases, model.lm.config.context
        job.fit(model.lm, PackedReads(ids["train"], context, tb), PackedReads(ids["val"], context, tb),
                stage="pretrain")
        tr, va = prepared.reads["train"], prepared.reads["val"]
        prior = np.bincount(tr.labels, minlength=len(CLASSES)) / len(tr.labels)  # the likelihood ratio's pi_c
        model.classifier = finetune_classifier(model.lm, len(CLASSES), prior.tolist())
        job.fit(model.classifier, SingleReads(ids["train"], None, tb, tr.labels),
                SingleReads(ids["val"], None, tb, va.labels), stage="finetune",
                config=_finetune_config(job, model.lm.finetune.lr))

    def predict(self, job: Job, model: Any, prepared: PreparedReads) -> ReadPredictions:
        """Class probabilities of every test read; LM scores of the reads and their shuffled copies."""
        test = prepared.reads["test"]
        rng = np.random.default_rng(job.seed)  # draws the shuffled copies
        if job.entry.kind == "estimator":
            t0 = time.perf_counter()
            proba = model.predict_proba(test.sequences)
            out = ReadPredictions(proba, time.perf_counter() - t0, k=getattr(model, "k", None),
                                  k_lm=getattr(model, "k_lm", None))
            if hasattr(model, "read_nll"):  # a language model too
                shuffled = [shuffle_read(s, rng) for s in test.sequences]
                out.nll, out.nll_shuffled = _read_nll(model, test.sequences), _read_nll(model, shuffled)
                out.entropy = torch.as_tensor(base_entropy(test.sequences))
            return out
        assert isinstance(model, LMStages) and model.classifier is not None
        tok, tb, ids = model.tokens.tokenizer, model.tokens.token_bases, model.tokens.ids["test"]
        t0 = time.perf_counter()
        proba = model.classifier.read_proba(test.sequences, tok, rc_average=model.lm.finetune.rc_average)
        out = ReadPredictions(proba.numpy(), time.perf_counter() - t0)
        if isinstance(model.lm, MetageneLM):  # per read [NLL, bases, tokens]
            shuffled = tok.encode_batch([shuffle_read(s, rng) for s in test.sequences])
            out.nll = job.predict(model.lm, SingleReads(ids, None, tb))[:, :2]
            out.nll_shuffled = job.predict(model.lm, SingleReads(shuffled, None, tb))[:, :2]
            out.entropy = torch.as_tensor(base_entropy(test.sequences))
        if job.is_first_seed:  # test reads are stored genome by genome: evenly spaced ones show every genome
            assert isinstance(job.ctx.eval, ReadEval)
            out.embedded = np.linspace(0, len(ids) - 1, min(job.ctx.eval.embed_reads, len(ids))).astype(int)
            out.embedding = _embed(model.lm, SingleReads([ids[i] for i in out.embedded], None, tb), job.device)
        return out

    def save(self, job: Job, model: Any) -> None:
        """The fine-tuned classifier with its tokenizer, so ``sciformers predict genomics`` reads raw reads
        (``max_len``: the positions it takes, its context)."""
        if isinstance(model, LMStages):
            assert model.classifier is not None
            job.save(model.classifier, {"finetune": model.lm.finetune.model_dump(), "max_len": model.lm.config.context,
                                        "classes": list(CLASSES), "tokenizer": model.tokens.tokenizer.to_str()})

    def count_params(self, model: Any) -> int:
        """The pretrained LM's parameters (the classifier adds a head, or adapters)."""
        return super().count_params(model.lm if isinstance(model, LMStages) else model)

    def score(self, job: Job, prepared: PreparedReads, predictions: ReadPredictions) -> Result:
        p, labels = predictions, torch.as_tensor(prepared.reads["test"].labels)
        metrics = {"mcc": get_metric("mcc")(torch.as_tensor(p.proba), labels),
                   "auroc": auroc(torch.as_tensor(p.proba[:, 1]), labels),
                   "reads_per_s": len(labels) / max(p.classify_s, 1e-9)}
        if p.nll is not None and p.nll_shuffled is not None and p.entropy is not None:
            metrics["bits_per_bp"] = bits_per_bp(p.nll[:, 0], p.nll[:, 1])
            loss = torch.cat([p.nll[:, 0] / p.nll[:, 1], p.nll_shuffled[:, 0] / p.nll_shuffled[:, 1]])
            shuffled = torch.as_tensor(np.r_[np.zeros(len(p.nll)), np.ones(len(p.nll_shuffled))])
            metrics["ood_auroc"] = ood_auroc(loss, shuffled)
            both = torch.cat([p.nll, p.nll_shuffled])
            metrics["ood_auroc_lr"] = ood_auroc_lr(composition_corrected(both[:, 0], both[:, 1],
                                                                         p.entropy.repeat(2)), shuffled)
        if job.entry.kind == "trainable":
            tokens = prepared.tokenized(job.entry.kwargs.get("tokenizer", "bpe"))
            metrics["bp_per_token"] = tokens.bp_per_token
            train = PackedReads(tokens.ids["train"], job.entry.kwargs["context"], tokens.token_bases)
            metrics["pack_fill"] = train.fill
        return Result(metrics, n_test=len(labels))

    def artifacts(self, job: Job, prepared: PreparedReads, predictions: ReadPredictions) -> dict[str, dict[str, Any]]:
        """``<model>_seed<s>.json``: ROC scores, the pretraining and fine-tuning curves, the chosen k;
        ``<model>_seed<s>_embedding.npz`` (first seed): read embeddings and their genomes."""
        p = predictions
        out: dict[str, Any] = {"scores": p.proba[:, 1].tolist(), "labels": list(prepared.reads["test"].labels)}
        for stage in ("pretrain", "finetune"):  # the curve's label: entries differing in fine-tuning pretrain alike
            if stage in job.fits:
                label = f"{job.entry.model} ({job.entry.kwargs.get('tokenizer', 'bpe')})"
                out[stage] = {"model": label, "steps": job.fits[stage].steps, "history": job.fits[stage].history}
        if p.k is not None:
            out["k"] = p.k
        if p.k_lm is not None:
            out["k_lm"] = p.k_lm
        files = {f"{job.name}_seed{job.seed}.json": out}
        if p.embedding is not None and p.embedded is not None:
            genomes = np.array([prepared.reads["test"].genomes[i] for i in p.embedded])
            files[f"{job.name}_seed{job.seed}_embedding.npz"] = {"embedding": p.embedding, "genomes": genomes}
        return files

    # -- report -----------------------------------------------------------------------------

    def tables(self, records: list[RunRecord]) -> list[Table]:
        tables = tables_default(records, self.baseline)
        tables[0].notes.append("bits_per_bp: every model on the test reads' bases given their length ([EOS] is not "
                               "charged); gc_content's is the i.i.d. base-composition model, 2.0 is uniform. OOD "
                               "negatives are base-shuffled test reads; ood_auroc_lr scores loss per base minus the "
                               "read's own base entropy.")
        if any(_registry_name(r) == "kmer_lr" for r in records):
            tables[0].notes.append("kmer_lr's k is chosen per seed on validation MCC (the ROC legend gives it).")
        if any(str(_registry_name(r)).startswith("markov") for r in records):
            tables[0].notes.append("Markov orders are chosen on validation bits/bp (the ROC legend gives the "
                                   "classifier's).")
        return tables

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        """Pretraining curves, ROC curves and the read-embedding PCA, from the run folders' artifacts."""
        saved: dict[str, dict[int, dict[str, Any]]] = {}
        for r in records:
            path = self.saved_predictions(run_dirs, f"{r.model}_seed{r.seed}.json")
            if path is not None:
                saved.setdefault(r.model, {})[r.seed] = json.loads(path.read_text())
        curves: dict[str, dict[int, list[dict[str, float]]]] = {}
        for by_seed in saved.values():  # per registry model and tokenizer
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


def _finetune_config(job: Job, lr: float | None = None) -> TrainConfig:
    """The ``train:`` section with the ``stages.finetune`` budget (steps, validation, patience; 5 % warmup),
    at the entry's own learning rate ``lr`` where it sets one."""
    stages = job.ctx.stages
    assert isinstance(stages, ReadStages)
    ft = stages.finetune
    return job.train_config(steps=ft.steps, lr=lr or ft.lr, batch_size=ft.batch_size, epochs=None, warmup=0.05,
                            eval_every=ft.eval_every, patience=ft.patience)


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
