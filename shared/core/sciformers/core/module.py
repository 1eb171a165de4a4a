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
        """Mean loss over the batch's samples, a scalar (under DDP the Trainer weights it by the
        rank's share of the global batch, so it must be a per-sample mean, not a sum).

        Args:
            batch: what the collate function returned, already on the trainer's device.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement training_step(batch)")

    def validation_step(self, batch: Any) -> Tensor:
        """Mean validation loss of one batch; by default :meth:`training_step` (called in eval
        mode under no_grad; the Trainer averages it over samples).

        Args:
            batch: as for :meth:`training_step`.
        """
        return self.training_step(batch)

    def predict(self, batch: Any) -> Tensor | dict[str, Tensor]:
        """Outputs for one batch, batch-first (concatenated over the dataset by the Trainer).

        Args:
            batch: as for :meth:`training_step`.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement predict(batch)")
