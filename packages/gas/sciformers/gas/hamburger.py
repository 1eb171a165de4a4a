"""The Light-Ham decoder: all four MiT stages, a squeeze conv, and a Hamburger with NMF.

Geng et al., "Is Attention Better Than Matrix Decomposition?", ICLR 2021,
https://arxiv.org/abs/2109.04553; used as SegNeXt's Light-Ham head and, with all four stages
at 1/4 resolution, by Gasformer (Sarker et al., CVPRW 2024, https://arxiv.org/abs/2404.10841).

The "ham" is non-negative matrix factorisation of the feature map: with ``X (D x N)``
(channels x pixels, non-negative after a ReLU) it finds bases ``W (D x R)`` and coefficients
``C (N x R)`` with ``X ~ W C^T`` by Lee & Seung's multiplicative updates (Geng et al. eq. 7):

    C <- C * (X^T W) / (C W^T W)          W <- W * (X C) / (W C^T C)

``steps`` updates run without gradient; one last coefficient update carries the gradient
(the "one-step gradient", Geng et al. sec. 2.3), so backpropagation costs one step, not all.
Bases start random on every forward pass in training; at evaluation they come from a fixed
seed, so inference is deterministic (the original random initialisation is not).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

EPS = 1e-6


def nmf_update_coef(x: Tensor, bases: Tensor, coef: Tensor, eps: float = EPS) -> Tensor:
    """One multiplicative update of the coefficients ``C (B, N, R)`` for ``X (B, D, N)``, ``W (B, D, R)``."""
    numerator = x.transpose(1, 2) @ bases
    denominator = coef @ (bases.transpose(1, 2) @ bases)
    return coef * numerator / (denominator + eps)


def nmf_update_bases(x: Tensor, bases: Tensor, coef: Tensor, eps: float = EPS) -> Tensor:
    """One multiplicative update of the bases ``W (B, D, R)``."""
    numerator = x @ coef
    denominator = bases @ (coef.transpose(1, 2) @ coef)
    return bases * numerator / (denominator + eps)


def nmf_init(x: Tensor, bases: Tensor, inv_t: float = 1.0) -> Tensor:
    """Initial coefficients: a softmax over bases of ``X^T W`` (Geng et al., Alg. "NMF" line 1)."""
    return torch.softmax(inv_t * (x.transpose(1, 2) @ bases), dim=-1)


def nmf(x: Tensor, bases: Tensor, steps: int, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """``steps`` alternating multiplicative updates of ``(bases, coef)`` (no one-step trick).

    Args:
        x: non-negative data ``(B, D, N)``.
        bases: non-negative initial bases ``(B, D, R)``.
        steps: number of (coef, bases) update pairs.
        eps: guards the divisions.

    Returns:
        ``(bases, coef)`` with ``x ~ bases @ coef^T``.
    """
    coef = nmf_init(x, bases)
    for _ in range(steps):
        coef = nmf_update_coef(x, bases, coef, eps)
        bases = nmf_update_bases(x, bases, coef, eps)
    return bases, coef


class NMF2D(nn.Module):
    """Matrix decomposition of a ``(B, C, H, W)`` map into ``R`` non-negative bases.

    Args:
        rank: number of bases R (Gasformer: 16).
        train_steps: multiplicative-update steps in training (Gasformer: 6).
        eval_steps: steps at evaluation (Gasformer: 7).
        eval_seed: seed of the bases at evaluation (deterministic inference).
    """

    def __init__(self, rank: int = 16, train_steps: int = 6, eval_steps: int = 7, eval_seed: int = 0) -> None:
        super().__init__()
        self.rank, self.train_steps, self.eval_steps, self.eval_seed = rank, train_steps, eval_steps, eval_seed

    def random_bases(self, batch: int, dim: int, like: Tensor) -> Tensor:
        """Uniform bases normalised over channels; seeded in eval mode, fresh in training."""
        gen = None
        if not self.training:
            gen = torch.Generator(device=like.device).manual_seed(self.eval_seed)
        bases = torch.rand(batch, dim, self.rank, generator=gen, device=like.device, dtype=like.dtype)
        return F.normalize(bases, dim=1)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        flat = x.reshape(b, c, h * w)
        bases = self.random_bases(b, c, flat)
        steps = self.train_steps if self.training else self.eval_steps
        with torch.no_grad():  # the local inference: no gradient through the iterations
            bases, coef = nmf(flat, bases, steps)
        coef = nmf_update_coef(flat, bases, coef)  # one-step gradient (Geng et al. sec. 2.3)
        return (bases @ coef.transpose(1, 2)).reshape(b, c, h, w)


class ConvGNAct(nn.Sequential):
    """1x1 convolution, optional GroupNorm(32), optional ReLU (mmseg's ConvModule as Light-Ham uses it)."""

    def __init__(self, cin: int, cout: int, norm: bool = True, act: bool = True) -> None:
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, 1, bias=not norm)]
        if norm:
            layers.append(nn.GroupNorm(min(32, cout), cout))
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class Hamburger(nn.Module):
    """``ReLU(x + GN(Conv(NMF(ReLU(Conv(x))))))``: lower bread, ham, upper bread, residual."""

    def __init__(self, channels: int, nmf: NMF2D) -> None:
        super().__init__()
        self.ham_in = ConvGNAct(channels, channels, norm=False, act=True)
        self.ham = nmf
        self.ham_out = ConvGNAct(channels, channels, norm=True, act=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x + self.ham_out(self.ham(self.ham_in(x))))


class LightHamHead(nn.Module):
    """Gasformer's decoder: resize every stage to 1/4, concat, squeeze, Hamburger, align, classify.

    Args:
        in_dims: channels of the encoder's maps (all are used: ``in_index=[0, 1, 2, 3]``).
        num_classes: output classes.
        ham_channels: width of the squeeze conv and the Hamburger (256).
        channels: width after the align conv (256).
        rank, train_steps, eval_steps: NMF settings (16, 6, 7).
        dropout: dropout before the classifier (0.1).
    """

    def __init__(self, in_dims: tuple[int, ...], num_classes: int, ham_channels: int = 256, channels: int = 256,
                 rank: int = 16, train_steps: int = 6, eval_steps: int = 7, dropout: float = 0.1) -> None:
        super().__init__()
        self.squeeze = ConvGNAct(sum(in_dims), ham_channels)
        self.hamburger = Hamburger(ham_channels, NMF2D(rank, train_steps, eval_steps))
        self.align = ConvGNAct(ham_channels, channels)
        self.dropout = nn.Dropout2d(dropout)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Logits at the resolution of ``features[0]`` (1/4 of the input)."""
        size = features[0].shape[-2:]
        x = torch.cat([features[0]] + [F.interpolate(f, size=size, mode="bilinear", align_corners=False)
                                       for f in features[1:]], dim=1)
        x = self.align(self.hamburger(self.squeeze(x)))
        return self.classifier(self.dropout(x))
