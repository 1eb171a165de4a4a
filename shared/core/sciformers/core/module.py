"""The one interface between a domain model and the shared Trainer."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn


class TrainModule(nn.Module):
    """A model the :class:`~sciformers.core.Trainer` can fit and predict with.

    Domains implement :meth:`training_step` (a scalar loss for one batch) and :meth:`predict`
    (outputs for one batch); they never write training loops.
    """

    def training_step(self, batch: Any) -> Tensor:
        """Scalar loss of one batch (the Trainer averages nothing further)."""
        raise NotImplementedError(f"{type(self).__name__} must implement training_step(batch)")

    def validation_step(self, batch: Any) -> Tensor:
        """Validation loss of one batch; by default the training loss (called under no_grad)."""
        return self.training_step(batch)

    def predict(self, batch: Any) -> Tensor | dict[str, Tensor]:
        """Outputs for one batch, batch-first (concatenated over the dataset by the Trainer)."""
        raise NotImplementedError(f"{type(self).__name__} must implement predict(batch)")
