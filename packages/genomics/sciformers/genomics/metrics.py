"""Metrics of the pathogen-read task beyond the shared ``mcc`` / ``auroc``, each with its direction.

Language-model scores take per-read totals (NLL in nats, bases, tokens), so they are computed
over the whole test set as one pooled ratio, never as a mean of per-read ratios.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from torch import Tensor

from sciformers.evaluation.metrics import auroc, register_metric, register_metric_family
from sciformers.genomics.tokenizer import bits_per_base


@register_metric("bits_per_bp", higher_is_better=False,
                 description="held-out cross-entropy in bits per base (2.0: uniform); per-read NLL (nats), bases")
def bits_per_bp(nll: Tensor, bases: Tensor) -> float:
    """Summed NLL in nats over summed bases, in bits."""
    return bits_per_base(float(nll.double().sum()), int(bases.sum()))


@register_metric("bp_per_token", higher_is_better=True, description="bases per token; per-read bases, tokens")
def bp_per_token(bases: Tensor, tokens: Tensor) -> float:
    """Summed bases over summed tokens."""
    return int(bases.sum()) / max(int(tokens.sum()), 1)


@register_metric("ood_auroc", higher_is_better=True,
                 description="AUROC of length-normalised LM loss, test reads (0) against base-shuffled copies (1)")
def ood_auroc(loss_per_bp: Tensor, shuffled: Tensor) -> float:
    """Higher loss per base should mean a shuffled read."""
    return auroc(loss_per_bp, shuffled)


@register_metric("ood_auroc_lr", higher_is_better=True,
                 description="OOD AUROC of the composition-corrected score: LM loss per base minus the read's "
                             "own base entropy (a likelihood ratio against the read's i.i.d. composition)")
def ood_auroc_lr(score: Tensor, shuffled: Tensor) -> float:
    """AUROC of :func:`composition_corrected` scores (higher: a shuffled read)."""
    return auroc(score, shuffled)


def base_entropy(reads: Sequence[str]) -> np.ndarray:
    """Per read, the entropy in nats of its own base frequencies over ``ACGTN``: ``-(1/n) log prod_i f(x_i)``,
    the code length per base of the read under its own i.i.d. composition."""
    out = np.zeros(len(reads))
    for i, r in enumerate(reads):
        f = np.array([r.count(b) for b in "ACGTN"], dtype=np.float64) / max(len(r), 1)
        f = f[f > 0]
        out[i] = -(f * np.log(f)).sum()
    return out


def composition_corrected(nll: Tensor, bases: Tensor, entropy: Tensor) -> Tensor:
    """``NLL / n - H(read)``: minus the log-likelihood ratio per base of the LM against the read's own
    i.i.d. composition. A base shuffle keeps ``H``, so the score is the LM's sequence evidence alone."""
    return nll.double() / bases.double() - entropy.double()


register_metric_family("reads_per_s", higher_is_better=True,
                       description="test reads classified per second (a throughput, not a function of predictions)")
register_metric_family("pack_fill", higher_is_better=True,
                       description="fraction of the pretraining windows' slots holding read tokens (a property of "
                                   "the packing, not of predictions)")
