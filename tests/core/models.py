"""Tiny models and data shared by the core tests."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from sciformers.core import TrainModule


class TinyRegressor(TrainModule):
    """A 2-layer MLP with dropout (so resume must restore the RNG to be exact)."""

    def __init__(self, dropout: float = 0.2) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 1))

    def training_step(self, batch: list[Tensor]) -> Tensor:
        x, y = batch
        return F.mse_loss(self.net(x).squeeze(-1), y)

    def predict(self, batch: list[Tensor]) -> Tensor:
        return self.net(batch[0]).squeeze(-1)


def regression_data(n: int = 97, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([1.5, -2.0, 0.5]) + 0.3 + 0.05 * torch.randn(n, generator=g)
    return TensorDataset(x, y)
