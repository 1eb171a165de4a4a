"""Reversible instance normalisation (RevIN) for forecasting models.

Kim et al., "Reversible Instance Normalization for Accurate Time-Series Forecasting against
Distribution Shift", ICLR 2022, https://openreview.net/forum?id=cGDAkQo1C0p.

Each input window is standardised per variate with its own mean and standard deviation
(Eq. 1-2), optionally followed by a learnable affine map; the model's output is mapped back
with the inverse transform and the same statistics (Eq. 3). iTransformer and Pathformer both
wrap their networks in it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class RevIN(nn.Module):
    """Per-window, per-variate normalisation that the model's output is mapped back through.

    Series are ``(B, T, N)``: batch, time, variates. :meth:`normalize` stores the window's
    statistics on the module; :meth:`denormalize` uses them, so call the two in that order
    within one forward pass.

    Args:
        num_features: number of variates ``N`` (size of the affine parameters).
        affine: learn a per-variate scale ``gamma`` and shift ``beta`` (Eq. 2).
        eps: added to the variance before the square root.
    """

    def __init__(self, num_features: int, affine: bool = True, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features, self.affine, self.eps = num_features, affine, eps
        if affine:
            self.gamma = nn.Parameter(torch.ones(num_features))
            self.beta = nn.Parameter(torch.zeros(num_features))
        self._mean: Tensor | None = None
        self._std: Tensor | None = None

    def _check(self, x: Tensor, name: str) -> None:
        if x.dim() != 3 or x.shape[-1] != self.num_features:
            raise ValueError(f"RevIN.{name}: expected (B, T, {self.num_features}), got {tuple(x.shape)}")

    def normalize(self, x: Tensor) -> Tensor:
        """``(x - mean_t) / std_t`` per sample and variate (Eq. 1), then ``gamma * . + beta`` (Eq. 2)."""
        self._check(x, "normalize")
        self._mean = x.mean(dim=1, keepdim=True).detach()
        self._std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps).detach()
        z = (x - self._mean) / self._std
        return z * self.gamma + self.beta if self.affine else z

    def denormalize(self, y: Tensor) -> Tensor:
        """The inverse of :meth:`normalize` with the stored statistics (Eq. 3); any length ``T``."""
        self._check(y, "denormalize")
        if self._mean is None or self._std is None:
            raise RuntimeError("RevIN.denormalize called before normalize")
        if y.shape[0] != self._mean.shape[0]:
            raise ValueError(f"RevIN.denormalize: batch {y.shape[0]} != normalised batch {self._mean.shape[0]}")
        if self.affine:
            y = (y - self.beta) / (self.gamma + self.eps * self.eps)
        return y * self._std + self._mean
