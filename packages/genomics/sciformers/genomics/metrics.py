"""Metrics of the pathogen-read task beyond the shared ``mcc`` / ``auroc``, each with its direction.

Language-model scores take per-read totals (NLL in nats, bases, tokens), so they are computed
over the whole test set as one pooled ratio, never as a mean of per-read ratios.
"""

from __future__ import annotations

from torch import Tensor

from sciformers.evaluation.metrics import auroc, register_metric, register_metric_family
from sciformers.genomics.tokenizer import bits_per_base


@register_metric("bits_per_bp", higher_is_better=False,
                 description="held-out cross-entropy in bits per base (2.0: uniform); per-read NLL (nats), bases")
def bits_per_bp(nll: Tensor, bases: Tensor) -> float:
    """Summed NLL in nats over summed bases, in bits."""
    return bits_per_base(float(nll.double().sum()), int(bases.sum()))


@register_metric("bp_per_token", higher_is_better=True, description="bases per BPE token; per-read bases, tokens")
def bp_per_token(bases: Tensor, tokens: Tensor) -> float:
    """Summed bases over summed tokens."""
    return int(bases.sum()) / max(int(tokens.sum()), 1)


@register_metric("ood_auroc", higher_is_better=True,
                 description="AUROC of length-normalised LM loss, test reads (0) against base-shuffled copies (1)")
def ood_auroc(loss_per_bp: Tensor, shuffled: Tensor) -> float:
    """Higher loss per base should mean a shuffled read."""
    return auroc(loss_per_bp, shuffled)


register_metric_family("reads_per_s", higher_is_better=True,
                       description="test reads classified per second (a throughput, not a function of predictions)")
