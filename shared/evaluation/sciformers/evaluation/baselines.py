"""Trivial baselines every model is compared against: the majority class and the training mean.

They follow the :class:`~sciformers.core.TrainModule` protocol for prediction, so the harness
scores them exactly like a trained model; ``fit`` sees only training targets.
Batches are dicts of batch-first tensors (the harness convention), so the batch size is the
leading dimension of any entry.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from sciformers.core import TrainModule, register_model


def _batch_size(batch: Any) -> int:
    if isinstance(batch, dict):
        return len(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)):
        return len(batch[0])
    return len(batch)


@register_model("majority", kind="estimator", test_kwargs={"num_classes": 3})
class MajorityClassifier(TrainModule):
    """Predicts the most frequent training label for every input (ties: the smallest label).

    Args:
        num_classes: number of classes; predictions are one-hot scores over them.
    """

    def __init__(self, num_classes: int, **_: Any) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.register_buffer("label", torch.zeros((), dtype=torch.long))

    def fit(self, targets: Tensor) -> "MajorityClassifier":
        counts = torch.bincount(targets.long().reshape(-1), minlength=self.num_classes)
        self.label.fill_(int(counts.argmax()))
        return self

    def training_step(self, batch: Any) -> Tensor:
        raise RuntimeError("majority is fitted with .fit(targets), not trained")

    def predict(self, batch: Any) -> Tensor:
        scores = torch.zeros(_batch_size(batch), self.num_classes)
        scores[:, self.label] = 1.0
        return scores


@register_model("mean", kind="estimator")
class MeanRegressor(TrainModule):
    """Predicts the training mean target (per output dimension) for every input."""

    def __init__(self, **_: Any) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(()))

    def fit(self, targets: Tensor) -> "MeanRegressor":
        self.mean = targets.double().mean(dim=0).float()
        return self

    def training_step(self, batch: Any) -> Tensor:
        raise RuntimeError("mean is fitted with .fit(targets), not trained")

    def predict(self, batch: Any) -> Tensor:
        return self.mean.expand(_batch_size(batch), *self.mean.shape).clone()
