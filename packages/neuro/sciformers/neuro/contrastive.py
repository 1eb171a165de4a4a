"""Contrastive (InfoNCE) alignment between modalities, as in Neuroformer §3.3.

Mean-pooled features of two modalities of the same window are positives, the other windows
of the batch are negatives (van den Oord et al. 2018, https://arxiv.org/abs/1807.03748;
CLIP, Radford et al. 2021, https://arxiv.org/abs/2103.00020):

``L(a -> b) = -1/B sum_i log( exp(<a_i, b_i>/tau) / sum_k exp(<a_i, b_k>/tau) )``

with ``a, b`` L2-normalised projections and temperature ``tau`` (Neuroformer: 0.5). The
symmetric form averages ``L(a -> b)`` and ``L(b -> a)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def info_nce(a: Tensor, b: Tensor, temperature: float = 0.5, symmetric: bool = True) -> Tensor:
    """InfoNCE between paired rows of ``a (B, D)`` and ``b (B, D)`` (normalised here).

    Args:
        a: features of modality A, one row per window.
        b: features of modality B, the same windows in the same order.
        temperature: softmax temperature ``tau``.
        symmetric: average both directions (CLIP) instead of ``a -> b`` only.

    Returns:
        The scalar loss (mean over the batch).
    """
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"info_nce: expected two (B, D) tensors of equal shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    logits = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / temperature
    labels = torch.arange(a.shape[0], device=a.device)  # the positive of row i is column i
    loss = F.cross_entropy(logits, labels)
    if symmetric:
        loss = 0.5 * (loss + F.cross_entropy(logits.T, labels))
    return loss


class ContrastiveHead(nn.Module):
    """One shared linear projection of every modality's pooled features, then pairwise InfoNCE.

    Args:
        dim: feature width of the modalities.
        proj_dim: width of the joint space.
        temperature: InfoNCE temperature.
    """

    def __init__(self, dim: int, proj_dim: int, temperature: float = 0.5) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, proj_dim)
        self.temperature = temperature

    def forward(self, anchor: Tensor, others: list[Tensor]) -> Tensor:
        """Mean InfoNCE of ``anchor (B, dim)`` (the neural state) against each of ``others``."""
        z = self.proj(anchor)
        losses = [info_nce(z, self.proj(o), self.temperature) for o in others]
        return sum(losses) / len(losses)
