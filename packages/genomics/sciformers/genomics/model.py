"""METAGENE-1: a Llama-style causal language model over BPE tokens of sequencing reads.

Liu et al. 2025, "METAGENE-1: Metagenomic Foundation Model for Pandemic Monitoring",
https://arxiv.org/abs/2501.02045. The model is Llama-2's decoder: token embedding, pre-norm
blocks of RMSNorm -> multi-head self-attention with rotary positions -> residual, RMSNorm ->
SwiGLU feed-forward -> residual, a final RMSNorm and an untied output projection; no biases. Reads are packed with block-diagonal attention (:mod:`.packing`).
Training minimises next-token cross-entropy plus a small z-loss on the log-partition
(PaLM, Chowdhery et al. 2022) as in METAGENE-1's training config. Held-out reads are scored on
their bases only (:func:`base_token_nll`): ``[EOS]`` is not charged, since the Markov and
base-composition peers know the read's length too, so bits per base compare across models and
tokenizers (``nucleotide``, ``kmer<k>``, ``bpe<V>``: the ``tokenizer`` kwarg).

The same backbone with ``causal=False`` is the bidirectional masked-LM peer (``bidir_mlm``,
BERT-style 80/10/10 masking of 15 % of the read tokens), so the two differ only in the
attention direction and the objective.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from sciformers.attention.blocks import TransformerBlock, make_norm
from sciformers.attention.position import RotaryEmbedding
from sciformers.core import Config, TrainModule, register_model
from sciformers.genomics.packing import IGNORE, SingleReads, segment_mask
from sciformers.genomics.tokenizer import MASK, SPECIAL_TOKENS, check_tokenizer_spec

N_SPECIAL = len(SPECIAL_TOKENS)


class DNALMConfig(Config):
    """Shape of the backbone.

    Args:
        vocab_size: tokenizer vocabulary (paper: BPE, 1024).
        dim: hidden width (paper: 4096).
        depth: blocks (paper: 32).
        heads: attention heads, plain multi-head (paper: 32).
        ffn: SwiGLU hidden width (paper: 11008).
        context: tokens per window (paper: 512).
        rope_theta: rotary base (paper: 1e4).
        dropout: dropout in the blocks (paper: 0).
    """

    vocab_size: int = Field(default=1024, ge=11)
    dim: int = Field(default=128, ge=2)
    depth: int = Field(default=6, ge=1)
    heads: int = Field(default=4, ge=1)
    ffn: int = Field(default=512, ge=1)
    context: int = Field(default=512, ge=4)
    rope_theta: float = 1e4
    dropout: float = Field(default=0.0, ge=0, lt=1)


# The paper's 7B model (Llama-2-7B shape), litgpt's ``genomics-llama-mini``, and CPU sizes.
SIZES: dict[str, dict[str, Any]] = {
    "7b": dict(dim=4096, depth=32, heads=32, ffn=11008, context=512),
    "mini": dict(dim=128, depth=6, heads=4, ffn=512, context=512),
    "small": dict(dim=96, depth=4, heads=4, ffn=256, context=128),
    "tiny": dict(dim=32, depth=2, heads=2, ffn=64, context=64),
}


def lm_config(size: str = "mini", **overrides: Any) -> DNALMConfig:
    """A named size (``7b``, ``mini``, ``small``, ``tiny``) with field overrides."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {sorted(SIZES)}")
    return DNALMConfig.parse({**SIZES[size], **overrides}, where=f"genomics model ({size})")


class DNATransformer(nn.Module):
    """Embedding + Llama blocks + final RMSNorm; attention restricted to each read (segment).

    Args:
        config: the shape.
        causal: causal attention (METAGENE-1) or bidirectional (masked-LM peer).
    """

    def __init__(self, config: DNALMConfig, causal: bool = True) -> None:
        super().__init__()
        if config.dim % config.heads:
            raise ValueError(f"dim {config.dim} is not divisible by heads {config.heads}")
        self.config, self.causal = config, causal
        self.embed = nn.Embedding(config.vocab_size, config.dim)
        rotary = RotaryEmbedding(config.dim // config.heads, base=config.rope_theta)
        self.blocks = nn.ModuleList(
            TransformerBlock(config.dim, config.heads, mlp_ratio=config.ffn / config.dim, norm="rmsnorm",
                             mlp="swiglu", bias=False, dropout=config.dropout, rotary=rotary)
            for _ in range(config.depth)
        )
        self.norm = make_norm("rmsnorm", config.dim, bias=False)

    def forward_embeddings(self, x: Tensor, segments: Tensor, positions: Tensor) -> Tensor:
        """Blocks and final norm over embeddings ``x (B, N, dim)``; see :meth:`forward`."""
        mask = segment_mask(segments)  # block-diagonal: a read never sees another read
        for blk in self.blocks:
            x = blk(x, mask=mask, causal=self.causal, positions=positions)
        return self.norm(x)

    def forward(self, input_ids: Tensor, segments: Tensor, positions: Tensor) -> Tensor:
        """Hidden states ``(B, N, dim)``.

        Args:
            input_ids: ``(B, N)`` token ids.
            segments: ``(B, N)`` read index per position (0 = padding).
            positions: ``(B, N)`` position inside the read (rotary restarts at each read).
        """
        if input_ids.dim() != 2 or segments.shape != input_ids.shape or positions.shape != input_ids.shape:
            raise ValueError(f"input_ids, segments and positions must all be (B, N); got {tuple(input_ids.shape)}, "
                             f"{tuple(segments.shape)}, {tuple(positions.shape)}")
        if input_ids.shape[1] > self.config.context:
            raise ValueError(f"{input_ids.shape[1]} positions exceed the context of {self.config.context}")
        return self.forward_embeddings(self.embed(input_ids), segments, positions)


def mean_pool(hidden: Tensor, segments: Tensor) -> Tensor:
    """Mean of ``hidden (B, N, D)`` over real positions (``segments > 0``): read embeddings ``(B, D)``."""
    w = (segments > 0).to(hidden.dtype).unsqueeze(-1)
    return (hidden * w).sum(1) / w.sum(1).clamp_min(1.0)


def base_token_nll(logits: Tensor, targets: Tensor) -> Tensor:
    """``(B, N)`` NLL of each base-token target, 0 elsewhere: ``-log p(t_i | t_<i, read goes on)``.

    The next-token distribution is renormalised over the base tokens (ids ``>= 6``) and ``[EOS]``
    targets are not charged: the read's length is given, as it is to the Markov and i.i.d. peers,
    so every model is scored on the same symbols, the read's bases.

    Args:
        logits: ``(B, N, vocab)`` next-token logits.
        targets: ``(B, N)`` target ids (``-100``: none).
    """
    logp = torch.log_softmax(logits[..., N_SPECIAL:], -1)
    scored = targets >= N_SPECIAL
    nll = -logp.gather(-1, (targets - N_SPECIAL).clamp_min(0).unsqueeze(-1)).squeeze(-1)
    return nll * scored


class FinetuneSpec(Config):
    """How a pretrained LM becomes a read classifier (:class:`~sciformers.genomics.classifier.ReadClassifier`).

    Args:
        mode: ``full`` fine-tuning or ``lora`` adapters.
        r: LoRA rank.
        alpha: LoRA scaling numerator.
        head: a linear head on the ``mean`` of the read's states (METAGENE-1, Gene-MTEB), on the
            ``last`` (``[EOS]``) state, the only one a causal model computes after seeing the whole
            read (a class token), or on ``attention`` pooling (a learned query); or
            ``likelihood_ratio``: a causal LM conditioned on a learned class vector, ``log pi_c + log p(x | c)``.
        rc_average: average the class probabilities of a read and its reverse complement at test.
        lr: this entry's fine-tuning learning rate (``None``: the pipeline's ``stages.finetune.lr``).
    """

    mode: Literal["full", "lora"] = "full"
    r: int = Field(default=8, ge=1)
    alpha: float = Field(default=16.0, gt=0)
    head: Literal["mean", "last", "attention", "likelihood_ratio"] = "mean"
    rc_average: bool = False
    lr: float | None = Field(default=None, gt=0)


class DNALanguageModel(TrainModule):
    """Backbone + untied output head, shared by the causal and masked language models.

    ``finetune`` (:class:`FinetuneSpec` fields) is how the pipeline fine-tunes this LM into a read
    classifier after pretraining, and ``tokenizer`` which tokenizer the pipeline reads it with
    (:func:`~sciformers.genomics.tokenizer.build_tokenizer`); neither changes the LM.
    """

    causal: bool = True

    def __init__(self, size: str = "mini", finetune: Mapping[str, Any] | None = None, tokenizer: str = "bpe",
                 **shape: Any) -> None:
        super().__init__()
        self.config = lm_config(size, **shape)
        self.finetune = FinetuneSpec.parse(finetune or {}, where="finetune")
        self.tokenizer_spec = check_tokenizer_spec(tokenizer)
        self.backbone = DNATransformer(self.config, causal=self.causal)
        self.lm_head = nn.Linear(self.config.dim, self.config.vocab_size, bias=False)

    def logits(self, batch: dict[str, Tensor]) -> Tensor:
        """``(B, N, vocab)`` next-token (causal) or token (masked) logits."""
        return self.lm_head(self.backbone(batch["input_ids"], batch["segments"], batch["positions"]))

    def embed(self, batch: dict[str, Tensor]) -> Tensor:
        """Mean-pooled last hidden state per sample ``(B, dim)`` (Gene-MTEB's read embedding)."""
        return mean_pool(self.backbone(batch["input_ids"], batch["segments"], batch["positions"]), batch["segments"])


def example_batch(model: DNALanguageModel) -> dict[str, Tensor]:
    """Two reads of random tokens, padded to 16 positions, as a batch (conformance suite)."""
    g = torch.Generator().manual_seed(0)
    reads = [torch.randint(len(SPECIAL_TOKENS), model.config.vocab_size, (n,), generator=g).tolist() for n in (9, 4)]
    data = SingleReads(reads, 16, torch.ones(model.config.vocab_size, dtype=torch.long))
    items = [data[i] for i in range(len(data))]
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


TEST_KWARGS = {"size": "tiny", "vocab_size": 32, "context": 16}


@register_model("genomics.metagene", kind="trainable", test_kwargs=TEST_KWARGS, example=example_batch)
class MetageneLM(DNALanguageModel):
    """METAGENE-1 causal DNA language model.

    Args:
        size: ``7b`` (paper), ``mini`` (litgpt's genomics-llama-mini), ``small`` or ``tiny``.
        z_loss: weight of ``mean(logsumexp(logits)^2)`` added to the cross-entropy.
        finetune: how the pipeline fine-tunes it into a read classifier (:class:`FinetuneSpec`).
        tokenizer: ``nucleotide``, ``kmer<k>``, ``bpe`` (``data.vocab_size``) or ``bpe<V>``.
        **shape: :class:`DNALMConfig` overrides (``vocab_size``, ``dim``, ``context`` ...).
    """

    causal = True

    def __init__(self, size: str = "mini", z_loss: float = 1e-4, finetune: Mapping[str, Any] | None = None,
                 tokenizer: str = "bpe", **shape: Any) -> None:
        super().__init__(size, finetune, tokenizer, **shape)
        self.z_loss = z_loss

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        logits = self.logits(batch)
        keep = batch["targets"] != IGNORE
        ce = F.cross_entropy(logits[keep], batch["targets"][keep])
        return ce + self.z_loss * torch.logsumexp(logits[keep], -1).pow(2).mean()

    def validation_step(self, batch: dict[str, Tensor]) -> Tensor:
        """Held-out NLL in nats per base (the scoring path of :meth:`predict`): early stopping and the
        loss curves compare across tokenizers."""
        nll = base_token_nll(self.logits(batch), batch["targets"])
        return nll.sum() / batch["bases"].sum().clamp_min(1)

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        """Per sample ``[NLL of its bases in nats, bases, base tokens]`` (:func:`base_token_nll`)."""
        nll = base_token_nll(self.logits(batch), batch["targets"])
        tokens = (batch["targets"] >= N_SPECIAL).sum(1).to(nll.dtype)
        return torch.stack([nll.sum(1), batch["bases"].sum(1).to(nll.dtype), tokens], -1)


@register_model("bidir_mlm", kind="trainable", test_kwargs=TEST_KWARGS, example=example_batch)
class BidirMLM(DNALanguageModel):
    """Bidirectional masked-LM peer of the same shape (BERT masking, Devlin et al. 2019, sec. 3.1).

    Args:
        size: as for :class:`MetageneLM`.
        mask_prob: fraction of read tokens selected for prediction.
        finetune: as for :class:`MetageneLM`.
        tokenizer: as for :class:`MetageneLM`.
        **shape: :class:`DNALMConfig` overrides.
    """

    causal = False

    def __init__(self, size: str = "mini", mask_prob: float = 0.15, finetune: Mapping[str, Any] | None = None,
                 tokenizer: str = "bpe", **shape: Any) -> None:
        super().__init__(size, finetune, tokenizer, **shape)
        self.mask_prob = mask_prob

    def mask_tokens(self, input_ids: Tensor, segments: Tensor) -> tuple[Tensor, Tensor]:
        """Select ``mask_prob`` of the non-special tokens; 80 % -> [MASK], 10 % random, 10 % kept."""
        real = (segments > 0) & (input_ids >= len(SPECIAL_TOKENS))
        chosen = real & (torch.rand(input_ids.shape, device=input_ids.device) < self.mask_prob)
        targets = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE))
        r = torch.rand(input_ids.shape, device=input_ids.device)
        random_ids = torch.randint(len(SPECIAL_TOKENS), self.config.vocab_size, input_ids.shape, device=input_ids.device)
        masked = torch.where(chosen & (r < 0.8), torch.full_like(input_ids, MASK), input_ids)
        masked = torch.where(chosen & (r >= 0.8) & (r < 0.9), random_ids, masked)
        return masked, targets

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        masked, targets = self.mask_tokens(batch["input_ids"], batch["segments"])
        logits = self.logits({**batch, "input_ids": masked})
        keep = targets != IGNORE
        if not bool(keep.any()):
            return logits.sum() * 0.0
        return F.cross_entropy(logits[keep], targets[keep])

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        """Mean-pooled read embeddings ``(B, dim)``."""
        return self.embed(batch)
