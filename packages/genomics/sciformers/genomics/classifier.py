"""Read classification by fine-tuning a pretrained DNA LM: full, or low-rank adapters (LoRA).

METAGENE-1's Pathogen-Detect evaluation fine-tunes the LM with a sequence
classification head on mean-pooled hidden states, with LoRA (Hu et al. 2021,
https://arxiv.org/abs/2106.09685; r = 8, alpha = 16 on the q, k, v and output projections).
LoRA replaces a frozen ``W`` by ``W + (alpha / r) B A`` (eq. 3) with ``A`` Gaussian and
``B`` zero at the start, so fine-tuning starts from the pretrained function.

The head is a choice (``FinetuneSpec.head``): a linear layer on the paper's mean over the read's
states; on the ``[EOS]`` state (``last``: in a causal model the only state that has seen the whole
read, a class token); on attention pooling with one learned query (Lee et al. 2019's pooling by
multi-head attention with one seed); or no new layer at all, the likelihood ratio of a
class-conditioned LM (``likelihood_ratio``: :class:`ClassConditionalLM`). Reads come from either
strand, so :meth:`ReadClassifierBase.read_proba` can average a read's class probabilities with its
reverse complement's (a strand-invariant prediction for any tokenizer).

``peft`` is not a dependency (it pulls in ``transformers`` and ``accelerate``); the adapter
below is the same construction on our own attention projections.
"""

from __future__ import annotations

import copy
import math
from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.core import TrainModule
from sciformers.genomics.model import DNALanguageModel, DNATransformer, base_token_nll, mean_pool
from sciformers.genomics.packing import SingleReads
from sciformers.genomics.seqio import reverse_complement
from sciformers.genomics.tokenizer import DNATokenizer

Pooling = Literal["mean", "last", "attention"]

LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out")


class LoRALinear(nn.Module):
    """``y = W x + (alpha / r) B A x`` with the base ``W`` frozen (eq. 3).

    Args:
        base: the pretrained linear layer (frozen here).
        r: adapter rank.
        alpha: scaling numerator.
    """

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = 16.0) -> None:
        super().__init__()
        if r < 1:
            raise ValueError(f"LoRA rank must be >= 1, got {r}")
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.lora_a = nn.Parameter(torch.randn(r, base.in_features) / math.sqrt(r))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, r))
        self.scale = alpha / r

    def forward(self, x: Tensor) -> Tensor:
        return self.base(x) + self.scale * F.linear(F.linear(x, self.lora_a), self.lora_b)


def apply_lora(module: nn.Module, r: int = 8, alpha: float = 16.0, targets: tuple[str, ...] = LORA_TARGETS) -> int:
    """Freeze ``module`` and wrap every linear layer named in ``targets`` with :class:`LoRALinear`.

    Returns:
        The number of wrapped layers.
    """
    for p in module.parameters():
        p.requires_grad_(False)
    wrapped = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if name in targets and isinstance(child, nn.Linear):
                setattr(parent, name, LoRALinear(child, r, alpha))
                wrapped += 1
    if wrapped == 0:
        raise ValueError(f"no linear layers named {targets} to adapt")
    return wrapped


def last_pool(hidden: Tensor, segments: Tensor) -> Tensor:
    """The state at each sample's last real position ``(B, D)`` (``[EOS]`` of a :class:`SingleReads` sample)."""
    last = (segments > 0).sum(1).clamp_min(1) - 1
    return hidden[torch.arange(len(hidden), device=hidden.device), last]


class AttentionPool(nn.Module):
    """``sum_i softmax_i(q . h_i / sqrt(D)) h_i`` over a read's positions, one learned query ``q``.

    Args:
        dim: hidden width.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.zeros(dim))  # zero: starts as the mean pool

    def forward(self, hidden: Tensor, segments: Tensor) -> Tensor:
        scores = (hidden @ self.query) / hidden.shape[-1] ** 0.5
        weights = torch.softmax(scores.masked_fill(segments == 0, float("-inf")), -1)
        return torch.einsum("bn,bnd->bd", weights, hidden)


class ReadClassifierBase(TrainModule):
    """What every read classifier offers: class logits ``(B, C)`` from a token batch, and raw reads in."""

    num_classes: int

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        """Class logits ``(B, num_classes)``."""
        return self(batch)

    @torch.no_grad()
    def read_proba(self, reads: Sequence[str], tokenizer: DNATokenizer, max_len: int | None = None,
                   rc_average: bool = False, batch_size: int = 256) -> Tensor:
        """``(N, num_classes)`` class probabilities of raw reads, on the classifier's device.

        Args:
            reads: nucleotide strings (cleaned by the tokenizer).
            tokenizer: the tokenizer the classifier was trained with.
            max_len: positions per read (``None``: the longest of ``reads``, tokens + 2; padding
                changes no prediction); a read longer than the context is an error.
            rc_average: average each read's probabilities with its reverse complement's.
            batch_size: reads per forward pass.
        """
        self.eval()
        device = next(self.parameters()).device
        bases = torch.tensor(tokenizer.token_lengths())

        def proba(seqs: Sequence[str]) -> Tensor:
            data = SingleReads(tokenizer.encode_batch(seqs), max_len, bases)
            out = [torch.zeros(0, self.num_classes, dtype=torch.float64)]
            for i in range(0, len(data), batch_size):
                items = [data[j] for j in range(i, min(i + batch_size, len(data)))]
                batch = {k: torch.stack([it[k] for it in items]).to(device) for k in items[0]}
                out.append(torch.softmax(self(batch).double(), -1).cpu())
            return torch.cat(out)

        p = proba(reads)
        if rc_average:
            p = 0.5 * (p + proba([reverse_complement(r) for r in reads]))
        return p


class ReadClassifier(ReadClassifierBase):
    """A classification head on pooled states of a (pretrained) DNA backbone.

    Args:
        backbone: the DNA transformer (its weights are fine-tuned or adapted in place).
        num_classes: output classes.
        mode: ``full`` fine-tuning or ``lora`` adapters (the head is always trained).
        lora_r: adapter rank.
        lora_alpha: adapter scaling numerator.
        pool: ``mean``, ``last`` or ``attention`` (module docstring).
    """

    def __init__(self, backbone: DNATransformer, num_classes: int = 2, mode: Literal["full", "lora"] = "full",
                 lora_r: int = 8, lora_alpha: float = 16.0, pool: Pooling = "mean") -> None:
        super().__init__()
        if mode not in ("full", "lora"):
            raise ValueError(f"fine-tuning mode must be 'full' or 'lora', got {mode!r}")
        if pool not in ("mean", "last", "attention"):
            raise ValueError(f"pooling must be 'mean', 'last' or 'attention', got {pool!r}")
        self.backbone = backbone
        if mode == "lora":
            apply_lora(self.backbone, lora_r, lora_alpha)
        self.pool, self.num_classes = pool, num_classes
        self.attention_pool = AttentionPool(backbone.config.dim) if pool == "attention" else None
        self.head = nn.Linear(backbone.config.dim, num_classes)

    @classmethod
    def from_pretrained(cls, lm: DNALanguageModel, num_classes: int = 2) -> "ReadClassifier":
        """A pooled-head classifier on a copy of ``lm``'s backbone, fine-tuned as ``lm.finetune`` says
        (``lm`` is left as it is); :func:`finetune_classifier` builds any head."""
        ft = lm.finetune
        if ft.head == "likelihood_ratio":
            raise ValueError("finetune.head likelihood_ratio is a ClassConditionalLM: build it with "
                             "finetune_classifier")
        return cls(copy.deepcopy(lm.backbone), num_classes, ft.mode, ft.r, ft.alpha, ft.head)

    def embed(self, batch: dict[str, Tensor]) -> Tensor:
        """The pooled read embedding ``(B, D)`` the head reads."""
        hidden = self.backbone(batch["input_ids"], batch["segments"], batch["positions"])
        if self.attention_pool is not None:
            return self.attention_pool(hidden, batch["segments"])
        return (last_pool if self.pool == "last" else mean_pool)(hidden, batch["segments"])

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Class logits ``(B, num_classes)``."""
        return self.head(self.embed(batch))

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        return F.cross_entropy(self(batch), batch["label"])


class ClassConditionalLM(ReadClassifierBase):
    """Class-conditioned causal LMs ``p(x | c)`` and their likelihood ratio: a generative classifier.

    The pretrained LM reads a learned class vector added to the embedding of every position of the
    read (as BERT's token-type embeddings; a control code in the sense of Keskar et al. 2019,
    https://arxiv.org/abs/1909.05858), zero at the start, so fine-tuning starts from the
    pretrained LM. Fine-tuning minimises each read's NLL per base under its own class; the class
    logits are

        logit_c(x) = log pi_c + log p(x | c)                                                   (1)

    (the Markov mixture's eq. 4 with the LM in place of the chains), ``log p`` from the LM's
    scoring path (:func:`~sciformers.genomics.model.base_token_nll`).

    Args:
        lm: the causal LM (a copy is fine-tuned or adapted; ``lm`` is left as it is).
        num_classes: output classes.
        prior: class probabilities ``pi_c`` (default: uniform).
        mode: ``full`` fine-tuning or ``lora`` adapters (the class vectors are always trained).
        lora_r: adapter rank.
        lora_alpha: adapter scaling numerator.
    """

    def __init__(self, lm: DNALanguageModel, num_classes: int = 2, prior: Sequence[float] | None = None,
                 mode: Literal["full", "lora"] = "full", lora_r: int = 8, lora_alpha: float = 16.0) -> None:
        super().__init__()
        if not lm.causal:
            raise ValueError(f"a likelihood-ratio head needs a causal LM, got {type(lm).__name__}")
        prior_t = torch.full((num_classes,), 1.0 / num_classes) if prior is None else torch.as_tensor(prior).float()
        if prior_t.shape != (num_classes,) or (prior_t <= 0).any():
            raise ValueError(f"prior must be {num_classes} positive class probabilities, got {prior}")
        self.lm = copy.deepcopy(lm)
        if mode == "lora":
            apply_lora(self.lm, lora_r, lora_alpha)
        self.num_classes = num_classes
        self.class_embed = nn.Parameter(torch.zeros(num_classes, lm.config.dim))
        self.register_buffer("log_prior", torch.log(prior_t / prior_t.sum()))

    def read_nll(self, batch: dict[str, Tensor], classes: Tensor) -> Tensor:
        """``(B,)`` NLL in nats of each read's bases given class ``classes[b]``: ``-log p(x | c)``."""
        x = self.lm.backbone.embed(batch["input_ids"])
        real = (batch["segments"] > 0).unsqueeze(-1).to(x.dtype)
        x = x + real * self.class_embed[classes][:, None, :]
        hidden = self.lm.backbone.forward_embeddings(x, batch["segments"], batch["positions"])
        return base_token_nll(self.lm.lm_head(hidden), batch["targets"]).sum(1)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Class logits ``(B, num_classes)``, eq. (1)."""
        b = batch["input_ids"].shape[0]
        ll = [-self.read_nll(batch, torch.full((b,), c, device=self.log_prior.device)) for c in range(self.num_classes)]
        return torch.stack(ll, -1) + self.log_prior

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        """NLL per base of the batch's reads under their own classes."""
        return self.read_nll(batch, batch["label"]).sum() / batch["bases"].sum().clamp_min(1)


def finetune_classifier(lm: DNALanguageModel, num_classes: int = 2,
                        prior: Sequence[float] | None = None) -> ReadClassifierBase:
    """The classifier ``lm.finetune`` asks for, on a copy of ``lm``: a pooled head
    (:class:`ReadClassifier`) or the likelihood ratio of class-conditioned LMs (:class:`ClassConditionalLM`).

    Args:
        lm: the pretrained LM.
        num_classes: output classes.
        prior: class probabilities (the likelihood-ratio head's ``pi_c``; default uniform).
    """
    ft = lm.finetune
    if ft.head == "likelihood_ratio":
        return ClassConditionalLM(lm, num_classes, prior, ft.mode, ft.r, ft.alpha)
    return ReadClassifier.from_pretrained(lm, num_classes)
