"""The window-to-horizon interface every forecasting network here shares.

A batch is ``{"x": (B, L, N), "y": (B, H, N)}``: a lookback window of ``L`` steps of ``N``
variates and the ``H`` steps that follow it. Networks implement :meth:`WindowForecaster.forecast`,
returning the forecast and an auxiliary loss (Pathformer's router balance loss; zero for the
others); training minimises the mean squared error plus that loss, as the papers do.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
import torch.nn.functional as F
from torch import Tensor

from sciformers.core import TrainModule


class WindowForecaster(TrainModule):
    """Maps a lookback window ``(B, L, N)`` to a forecast ``(B, H, N)``.

    Args:
        seq_len: lookback length ``L``.
        pred_len: horizon ``H``.
        n_vars: number of variates ``N``.
    """

    def __init__(self, seq_len: int, pred_len: int, n_vars: int) -> None:
        super().__init__()
        for name, value in (("seq_len", seq_len), ("pred_len", pred_len), ("n_vars", n_vars)):
            if value < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be >= 1, got {value}")
        self.seq_len, self.pred_len, self.n_vars = seq_len, pred_len, n_vars

    def check_input(self, x: Tensor) -> None:
        """Raise a clear error unless ``x`` is ``(B, seq_len, n_vars)``."""
        if x.dim() != 3 or x.shape[1:] != (self.seq_len, self.n_vars):
            raise ValueError(
                f"{type(self).__name__}: expected a window (B, {self.seq_len}, {self.n_vars}), got {tuple(x.shape)}"
            )

    @abstractmethod
    def forecast(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The forecast ``(B, pred_len, n_vars)`` and an auxiliary scalar loss."""

    def forward(self, x: Tensor) -> Tensor:
        """The forecast ``(B, pred_len, n_vars)`` of the window ``x (B, seq_len, n_vars)``."""
        return self.forecast(x)[0]

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        pred, aux = self.forecast(batch["x"])
        return F.mse_loss(pred, batch["y"]) + aux

    def validation_step(self, batch: dict[str, Tensor]) -> Tensor:
        return F.mse_loss(self(batch["x"]), batch["y"])

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        return self(batch["x"])


def zero_loss(like: Tensor) -> Tensor:
    """A scalar zero on ``like``'s device and dtype (the auxiliary loss of networks without one)."""
    return torch.zeros((), device=like.device, dtype=like.dtype)


def example_window(model: WindowForecaster) -> dict[str, Tensor]:
    """Two fixed pseudo-random lookback windows of ``model``'s shape (for the registry's conformance suite)."""
    return {"x": torch.randn(2, model.seq_len, model.n_vars, generator=torch.Generator().manual_seed(0))}
