"""The metrics of the time series tasks, registered with their directions.

Classification adds balanced accuracy to the shared accuracy and macro F1. The forecasting
tasks name their keys per horizon (``mse_h96``, ``mase_h12``): those are metric families.
Imported by the task modules only (it imports the harness).
"""

from __future__ import annotations

import torch
from sklearn.metrics import balanced_accuracy_score

from sciformers.evaluation.metrics import list_metrics, register_metric, register_metric_family

if "balanced_accuracy" not in list_metrics():

    @register_metric("balanced_accuracy", higher_is_better=True, description="mean per-class recall")
    def balanced_accuracy(pred: torch.Tensor, target: torch.Tensor) -> float:
        """Mean recall over the classes present in ``target`` (scikit-learn's definition)."""
        labels = pred.argmax(-1) if pred.dim() == 2 else pred.long()
        return float(balanced_accuracy_score(target.long().numpy(), labels.numpy()))


register_metric_family("mse_h{h}", higher_is_better=False, description="MSE over the test windows at horizon h")
register_metric_family("mae_h{h}", higher_is_better=False, description="MAE over the test windows at horizon h")
register_metric_family("mase_h{h}", higher_is_better=False, description="seasonal MASE, mean over folds, horizon h")
register_metric_family("smape_h{h}", higher_is_better=False, description="sMAPE, mean over folds, horizon h")
