"""Peers of ShapeFormer, all sktime classifiers run on the same padded splits.

- ``minirocket``: ``RocketClassifier(rocket_transform="minirocket")`` (Dempster et al., KDD 2021).
- ``convtran``: ``ConvTranClassifierTorch`` (Foumani et al., DMKD 2024), ShapeFormer's generic
  module alone, i.e. ShapeFormer minus its shapelet branch: the ablation peer.
- ``dtw_1nn``: ``KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw")``.

Each is an estimator registry entry (``fit`` / ``predict`` of its own). Each factory takes the
task's ``random_state``, ``num_epochs`` and ``batch_size`` (ignored where they mean nothing) and
the pipeline's keyword arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sciformers.core import register_model


@register_model("minirocket", kind="estimator", test_kwargs={"num_kernels": 84})
def minirocket(random_state: int = 0, num_epochs: int | None = None, batch_size: int | None = None,
               num_kernels: int = 10000, **kwargs: Any) -> Any:
    """MiniRocket features + ridge classifier (sktime ``RocketClassifier``)."""
    from sktime.classification.kernel_based import RocketClassifier

    return RocketClassifier(num_kernels=num_kernels, rocket_transform="minirocket", random_state=random_state,
                            **kwargs)


@register_model("convtran", kind="estimator",
                test_kwargs={"num_epochs": 1, "batch_size": 4, "emb_size": 8, "num_heads": 2, "dim_ff": 8})
def convtran(random_state: int = 0, num_epochs: int = 100, batch_size: int = 16, **kwargs: Any) -> Any:
    """ConvTran (sktime ``ConvTranClassifierTorch``) with the same epoch budget as ShapeFormer."""
    from sktime.classification.deep_learning.convtran import ConvTranClassifierTorch

    return ConvTranClassifierTorch(num_epochs=num_epochs, batch_size=batch_size, random_state=random_state,
                                   **kwargs)


@register_model("dtw_1nn", kind="estimator", test_kwargs={"window": 0.1})
def dtw_1nn(random_state: int = 0, num_epochs: int | None = None, batch_size: int | None = None,
            window: float | None = None, **kwargs: Any) -> Any:
    """1-nearest-neighbour with dynamic time warping (deterministic: ``random_state`` is unused).

    Args:
        window: Sakoe-Chiba band as a fraction of the length; ``None`` is unconstrained DTW.
    """
    from sktime.classification.distance_based import KNeighborsTimeSeriesClassifier

    params = {} if window is None else {"window": window}
    return KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw", distance_params=params or None, **kwargs)


def count_params(estimator: Any) -> int:
    """Learned parameters of a fitted estimator: network weights, or ridge weights for MiniRocket.

    A 1-NN classifier stores its training set and learns nothing, so it counts 0.
    """
    network = getattr(estimator, "network", None)
    if network is not None and hasattr(network, "parameters"):
        return int(sum(p.numel() for p in network.parameters()))
    if hasattr(estimator, "estimator_") and hasattr(estimator.estimator_, "get_fitted_params"):
        fitted = estimator.estimator_.get_fitted_params()
        return int(sum(np.size(fitted.get(f"classifier__{k}", [])) for k in ("coef", "intercept")))
    return 0
