"""The ``genomics.pathogen_reads`` task: pretrain on reads, score bits/bp and OOD, fine-tune to detect pathogens.

Per seed, a neural model is (1) pretrained on the training reads packed into windows (the
causal LM: next-token; the bidirectional peer: masked LM), validated on the coordinate-held-out
validation reads; (2) for the causal LM, scored on the test reads in bits per base and on
length-normalised loss against base-shuffled copies of test reads (OOD AUROC, as METAGENE-1
separates metagenomic from random reads); (3) fine-tuned with a classification head (full or LoRA) and scored by MCC and AUROC
on the whole test set. The k-mer and GC-content peers are fitted on the same training reads.

This cannot be one :class:`~sciformers.evaluation.SupervisedTask` fit (it chains two fits and
scores the LM itself), so the task subclasses :class:`TaskSpec` and drives the shared Trainer.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from pydantic import Field

from sciformers.core import Config, Trainer, TrainConfig, create_model, save_model, seed_everything
from sciformers.evaluation.context import RunContext
from sciformers.evaluation.metrics import auroc, get_metric
from sciformers.evaluation.records import RunRecord, config_hash
from sciformers.evaluation.report import Table, tables_default
from sciformers.evaluation.tasks import TaskSpec, register_task
from sciformers.genomics.baselines import GCContent, KmerLogisticRegression, ReadBaseline
from sciformers.genomics.classifier import ReadClassifier
from sciformers.genomics.data import PathogenReadsData, ReadSet, load_reads
from sciformers.genomics.model import MetageneLM, DNALanguageModel
from sciformers.genomics.packing import PackedReads, SingleReads
from sciformers.genomics.plots import embedding_plot, loss_curve_plot, roc_plot
from sciformers.genomics.simulate import shuffle_read
from sciformers.genomics.tokenizer import DNATokenizer, bits_per_base

DIRECTIONS = {"bits_per_bp": False, "bp_per_token": True, "mcc": True, "auroc": True, "ood_auroc": True,
              "reads_per_s": True}


class FinetuneConfig(Config):
    """The ``eval:`` section: fine-tuning budget and evaluation sizes.

    Args:
        steps: fine-tuning optimizer steps.
        lr: fine-tuning learning rate (paper: 1e-4 for LoRA on 7B).
        batch_size: reads per fine-tuning step (paper: 32).
        embed_reads: test reads embedded for the projection plot.
    """

    steps: int = Field(default=300, ge=1)
    lr: float = Field(default=5e-4, gt=0)
    batch_size: int = Field(default=32, ge=1)
    embed_reads: int = Field(default=600, ge=2)


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

    def __init__(self) -> None:
        self.artifacts: dict[str, Any] = {}

    def higher_is_better(self) -> dict[str, bool]:
        return dict(DIRECTIONS)

    # -- running ----------------------------------------------------------------------------

    def run(self, ctx: RunContext) -> Iterator[RunRecord]:
        assert isinstance(ctx.data, PathogenReadsData)
        ft = FinetuneConfig.parse(ctx.pipeline.eval, where="eval")
        reads = load_reads(ctx.data)
        train_seqs = reads["train"].sequences  # an evenly spaced subsample covers every genome
        tok = DNATokenizer.train(train_seqs[:: max(1, len(train_seqs) // ctx.data.tokenizer_reads)][: ctx.data.tokenizer_reads],
                                 ctx.data.vocab_size)
        tok.save(ctx.out_dir / "tokenizer.json")
        ids = {s: tok.encode_batch(r.sequences) for s, r in reads.items()}
        bp_tok = sum(len(s) for s in reads["test"].sequences) / max(sum(len(x) for x in ids["test"]), 1)
        artifacts_file = self.predictions_path(ctx.out_dir, "artifacts.json")  # a resumed run keeps them
        self.artifacts = load_artifacts(artifacts_file) if artifacts_file.is_file() else {
            "curves": {}, "roc": {}, "embedding": None, "kmer_k": {}}
        entries = [(self.baseline, self.baseline, {})]
        entries += [(name, e.model, {**ctx.model_defaults, **e.kwargs}) for name, e in ctx.models.items()]
        for name, model_name, kwargs in entries:
            for seed in ctx.seeds:
                if ctx.is_done(self.name, name, seed):
                    continue
                seed_everything(seed)
                ctx.say(f"{self.name}: {name} (seed {seed})")
                finetune = dict(kwargs.get("finetune", {}))
                # the data section owns vocabulary and window; baselines ignore both
                model_kwargs = {"vocab_size": ctx.data.vocab_size, "context": ctx.data.context,
                                **{k: v for k, v in kwargs.items() if k != "finetune"}}
                model = create_model(model_name, **model_kwargs)
                if isinstance(model, ReadBaseline):
                    metrics, timing, n_params = self._run_baseline(model, reads, name, seed)
                elif isinstance(model, DNALanguageModel):
                    metrics, timing, n_params = self._run_lm(ctx, model, model_name, model_kwargs, finetune, tok, ids,
                                                             reads, ft, name, seed)
                    metrics["bp_per_token"] = bp_tok
                else:
                    raise TypeError(f"{name}: model {model_name!r} is neither a DNA LM nor a read baseline")
                record = ctx.record(task=self, model=name, seed=seed, n_params=n_params, metrics=metrics, **timing)
                self.write_predictions(ctx.out_dir, artifacts_file.name, artifacts_json(self.artifacts))
                yield record

    def _run_baseline(self, model: ReadBaseline, reads: dict[str, ReadSet], name: str,
                      seed: int) -> tuple[dict[str, float], dict[str, Any], int]:
        tr, va, te = reads["train"], reads["val"], reads["test"]
        t0 = time.perf_counter()
        model.fit(tr.sequences, tr.labels, va.sequences, va.labels)
        t1 = time.perf_counter()
        proba = model.predict_proba(te.sequences)
        eval_s = time.perf_counter() - t1
        metrics = self._classification_metrics(proba, te, name, seed, eval_s)
        if isinstance(model, KmerLogisticRegression):
            self.artifacts["kmer_k"][seed] = model.k
        if isinstance(model, GCContent):  # the base-composition LM: bits/bp floor and OOD at chance
            nll = model.read_nll(te.sequences)
            metrics["bits_per_bp"] = bits_per_base(float(nll.sum()), sum(len(s) for s in te.sequences))
            rng = np.random.default_rng(seed)
            shuffled = [shuffle_read(s, rng) for s in te.sequences]
            lengths = np.array([len(s) for s in te.sequences + shuffled])
            score = np.concatenate([model.read_nll(te.sequences), model.read_nll(shuffled)]) / lengths
            metrics["ood_auroc"] = auroc(torch.as_tensor(score), torch.as_tensor(np.r_[np.zeros(len(te)), np.ones(len(shuffled))]))
        timing = dict(fit_s=t1 - t0, eval_s=eval_s, infer_ms_per_sample=1000 * eval_s / len(te))
        return metrics, timing, model.n_params

    def _classification_metrics(self, proba: np.ndarray, test: ReadSet, name: str, seed: int,
                                 eval_s: float) -> dict[str, float]:
        labels = np.asarray(test.labels)
        self.artifacts["roc"].setdefault(name, {})[seed] = (proba[:, 1].tolist(), labels.tolist())
        return {
            "mcc": get_metric("mcc")(torch.as_tensor(proba), torch.as_tensor(labels)),
            "auroc": auroc(torch.as_tensor(proba[:, 1]), torch.as_tensor(labels)),
            "reads_per_s": len(labels) / max(eval_s, 1e-9),
        }

    def _run_lm(self, ctx: RunContext, model: DNALanguageModel, model_name: str, model_kwargs: dict[str, Any],
                finetune: dict[str, Any], tok: DNATokenizer, ids: dict[str, list[list[int]]],
                reads: dict[str, ReadSet], ft: FinetuneConfig, name: str,
                seed: int) -> tuple[dict[str, float], dict[str, Any], int]:
        if model.config.vocab_size != tok.vocab_size:
            raise ValueError(f"{name}: model vocab_size {model.config.vocab_size} != tokenizer's {tok.vocab_size}; "
                             "leave vocab_size to data.vocab_size")
        context = model.config.context
        token_bases = torch.tensor(tok.token_lengths())
        # Pretraining is shared by entries that differ only in fine-tuning: its run folder is keyed
        # by the model and its kwargs, so a second entry resumes the finished run at once.
        key = config_hash({"model": model_name, "kwargs": model_kwargs})[:10]
        pre_dir = ctx.out_dir / "checkpoints" / f"pretrain-{model_name}-{key}" / f"seed{seed}"
        trainer = Trainer(ctx.train, run_dir=pre_dir, device=ctx.device, seed=seed, quiet=ctx.quiet)
        fit = trainer.fit(model, PackedReads(ids["train"], context, token_bases),
                          PackedReads(ids["val"], context, token_bases))
        self.artifacts["curves"].setdefault(model_name, {})[seed] = fit.history  # one curve per pretraining
        n_params = sum(p.numel() for p in model.parameters())
        max_len = min(context, max(len(x) for s in ids.values() for x in s) + 1)
        metrics: dict[str, float] = {}
        if isinstance(model, MetageneLM):
            metrics.update(self._lm_scores(trainer, model, tok, ids["test"], reads["test"], max_len, seed))
        if self.artifacts["embedding"] is None and seed == ctx.seeds[0]:
            # test reads are stored genome by genome: take evenly spaced ones so every genome shows
            pick = np.linspace(0, len(ids["test"]) - 1, min(ft.embed_reads, len(ids["test"]))).astype(int)
            emb = _embed(model, SingleReads([ids["test"][i] for i in pick], max_len, token_bases), trainer.device)
            self.artifacts["embedding"] = (name, emb, [reads["test"].genomes[i] for i in pick])
        # Fine-tune a copy of the pretrained backbone with a classification head.
        clf = ReadClassifier(copy.deepcopy(model.backbone), 2, finetune.get("mode", "full"),
                             finetune.get("r", 8), finetune.get("alpha", 16.0))
        ft_cfg = TrainConfig.parse({**ctx.train.model_dump(), "steps": ft.steps, "lr": ft.lr,
                                    "batch_size": ft.batch_size, "epochs": None, "warmup": 0.05})
        ft_dir = ctx.out_dir / "checkpoints" / name / f"seed{seed}"
        ft_trainer = Trainer(ft_cfg, run_dir=ft_dir / "finetune", device=ctx.device, seed=seed, quiet=ctx.quiet)
        tr, va, te = reads["train"], reads["val"], reads["test"]
        fit2 = ft_trainer.fit(clf, SingleReads(ids["train"], max_len, token_bases, tr.labels),
                              SingleReads(ids["val"], max_len, token_bases, va.labels))
        t0 = time.perf_counter()
        logits = ft_trainer.predict(clf, SingleReads(ids["test"], max_len, token_bases, te.labels))
        eval_s = time.perf_counter() - t0
        proba = torch.softmax(logits.double(), -1).numpy()
        metrics.update(self._classification_metrics(proba, te, name, seed, eval_s))
        save_model(ft_dir / "final", clf, {
            "model": model_name, "kwargs": model_kwargs, "finetune": finetune, "max_len": max_len,
            "classes": ["background", "pathogen"], "tokenizer": tok.to_str()})
        timing = dict(fit_s=fit.fit_s + fit2.fit_s, eval_s=eval_s, train_samples_per_s=fit.train_samples_per_s,
                      infer_ms_per_sample=1000 * eval_s / len(te))
        return metrics, timing, n_params

    def _lm_scores(self, trainer: Trainer, model: MetageneLM, tok: DNATokenizer, test_ids: list[list[int]],
                   test: ReadSet, max_len: int, seed: int) -> dict[str, float]:
        """Held-out bits per base over every test read, and OOD AUROC against a shuffled copy of each."""
        token_bases = torch.tensor(tok.token_lengths())
        out = trainer.predict(model, SingleReads(test_ids, max_len, token_bases))
        scores = {"bits_per_bp": bits_per_base(float(out[:, 0].double().sum()), int(out[:, 1].sum()))}
        rng = np.random.default_rng(seed)
        shuffled = tok.encode_batch([shuffle_read(s, rng) for s in test.sequences])
        ood = trainer.predict(model, SingleReads(shuffled, max_len, token_bases))
        per_bp = torch.cat([out[:, 0] / out[:, 1], ood[:, 0] / ood[:, 1]]).numpy()  # length-normalised loss
        scores["ood_auroc"] = auroc(torch.as_tensor(per_bp), torch.as_tensor(np.r_[np.zeros(len(out)), np.ones(len(ood))]))
        return scores

    # -- report -----------------------------------------------------------------------------

    def tables(self, records: list[RunRecord]) -> list[Table]:
        tables = tables_default(records, self.baseline)
        tables[0].notes.append("gc_content's bits_per_bp is the i.i.d. base-composition model; 2.0 is uniform. "
                               "OOD negatives are base-shuffled test reads.")
        if self.artifacts.get("kmer_k"):
            tables[0].notes.append("kmer_lr's k chosen on validation MCC, per seed: "
                                   + ", ".join(f"seed {s}: k={k}" for s, k in sorted(self.artifacts["kmer_k"].items())))
        return tables

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        """Pretraining curves, ROC curves and the read-embedding PCA, from the run folders' artifacts."""
        path = self.saved_predictions(run_dirs, "artifacts.json")
        artifacts = load_artifacts(path) if path is not None else {}
        figs: dict[str, Any] = {}
        if artifacts.get("curves"):
            figs["loss_curves"] = loss_curve_plot(artifacts["curves"])
        if artifacts.get("roc"):
            figs["roc"] = roc_plot(artifacts["roc"])
        if artifacts.get("embedding") is not None:
            figs["embedding"] = embedding_plot(*artifacts["embedding"])
        return figs


def artifacts_json(artifacts: dict[str, Any]) -> dict[str, Any]:
    """The report's data (curves, ROC scores, embedding, k-mer sizes) in JSON-ready form."""
    embedding = artifacts["embedding"]
    return {**artifacts, "embedding": None if embedding is None else
            [embedding[0], np.asarray(embedding[1]).tolist(), list(embedding[2])]}


def load_artifacts(path: Path) -> dict[str, Any]:
    """What was saved from :func:`artifacts_json`, with integer seeds and the embedding as an array again."""
    raw = json.loads(path.read_text())
    embedding = raw["embedding"]
    return {"curves": {m: _int_keys(v) for m, v in raw["curves"].items()},
            "roc": {m: {seed: tuple(v) for seed, v in _int_keys(r).items()} for m, r in raw["roc"].items()},
            "embedding": None if embedding is None else (embedding[0], np.asarray(embedding[1]), embedding[2]),
            "kmer_k": _int_keys(raw["kmer_k"])}


def _int_keys(by_seed: dict[str, Any]) -> dict[int, Any]:
    return {int(seed): value for seed, value in by_seed.items()}  # JSON object keys are strings


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
