"""``ShapeFormerClassifier``: ShapeFormer as an sktime classifier (``BaseDeepClassifierPytorch``).

``fit`` pads the training series to a common length, runs Offline Shapelet Discovery on them
(training data only), builds :class:`~sciformers.timeseries.classification.shapeformer.ShapeFormer`
and trains it for a fixed number of epochs with shuffled mini-batches: RAdam, cosine annealing
to ``min_lr``, weight decay, cross-entropy (the reference code's recipe, Le et al. KDD 2024).
No validation data is needed and the test set is never seen.

Unequal-length series are end-padded by repeating their last value (edge padding) to the
longest training length; longer series at predict time are truncated to it. With
``normalize=True`` each series is z-normalised per channel before padding (the reference code
does not normalise, so the default is off).

Registered as ``timeseries.shapeformer_classifier`` (an estimator: ``fit`` / ``predict`` of its
own) by :mod:`sciformers.timeseries.classification`, which imports this module (and sktime) only
when one is built; its checkpoint holds the network, registered as ``timeseries.shapeformer``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sktime.classification.deep_learning.base import BaseDeepClassifierPytorch

from sciformers.core import load_model_state, save_model
from sciformers.timeseries.classification.data import pad_panel, z_normalize
from sciformers.timeseries.classification.discovery import discover_shapelets
from sciformers.timeseries.classification.shapeformer import ShapeFormer, shapelet_specs

MODEL_NAME = "timeseries.shapeformer"  # the network inside: what a checkpoint holds


def to_padded_numpy(X: Any, length: int | None = None, normalize: bool = False) -> np.ndarray:
    """A panel as ``(N, C, T)`` floats, each series edge-padded (or truncated) to ``length``.

    Args:
        X: a ``numpy3D`` array or an sktime ``df-list`` (list of ``(T_i, C)`` DataFrames).
        length: target length; ``None`` uses the longest series.
        normalize: z-normalise each series per channel (over its own steps) before padding.
    """
    series = list(X.astype(np.float64)) if isinstance(X, np.ndarray) else [np.asarray(df, np.float64).T for df in X]
    if normalize:
        series = z_normalize(series)
    return pad_panel(series, length or max(x.shape[1] for x in series))


class ShapeFormerClassifier(BaseDeepClassifierPytorch):
    """ShapeFormer (Le et al., KDD 2024) for multivariate time series classification.

    Args:
        num_shapelets: shapelets discovered per class (paper's README: 1-100).
        discovery_window: half-width of the position-constrained search in discovery.
        pip_ratio: perceptually important points as a fraction of the series length.
        scan_window: half-width of the Shapelet Filter's scan around each shapelet (code: 50).
        dim: shapelet-token width (paper: 128).
        generic_dim: generic-module width (paper: 48).
        heads: attention heads.
        ffn_dim: FFN hidden width (paper: 256).
        dropout: FFN dropout (paper: 0.4).
        num_epochs: fixed training budget (paper: 200).
        batch_size: mini-batch size (paper: 8).
        lr: RAdam learning rate (paper code: 0.05).
        min_lr: cosine-annealing floor (paper code: 1e-3).
        weight_decay: RAdam weight decay (paper code: 5e-4).
        verbose: print the loss per epoch.
        random_state: seeds weights and batch order.
        n_jobs: threads for shapelet discovery (``-1``: every core); the shapelets do not depend on it.
        normalize: z-normalise each series per channel before discovery, training and prediction
            (for data on its raw scale; the reference does not, and the UCR/UEA archive mostly
            ships z-normalised series).

    Examples:
        >>> from sktime.datasets import load_basic_motions
        >>> from sciformers.timeseries import ShapeFormerClassifier
        >>> X, y = load_basic_motions(split="train", return_type="numpy3D")
        >>> clf = ShapeFormerClassifier(num_epochs=2, dim=16, generic_dim=8, ffn_dim=16)
        >>> clf.fit(X, y).predict(X[:2]).shape
        (2,)
    """

    _tags = {
        "authors": ["sciformers"],
        "python_dependencies": "torch",
        "X_inner_mtype": ["df-list", "numpy3D"],
        "capability:multivariate": True,
        "capability:unequal_length": True,
        "capability:random_state": True,
        "capability:multithreading": True,
        "property:randomness": "stochastic",
    }

    def __init__(
        self, num_shapelets: int = 3, discovery_window: int = 20, pip_ratio: float = 0.2, scan_window: int = 50,
        dim: int = 128, generic_dim: int = 48, heads: int = 4, ffn_dim: int = 256, dropout: float = 0.4,
        num_epochs: int = 200, batch_size: int = 8, lr: float = 0.05, min_lr: float = 1e-3,
        weight_decay: float = 5e-4, verbose: bool = False, random_state: int | None = None, n_jobs: int = 1,
        normalize: bool = False,
    ) -> None:
        self.num_shapelets = num_shapelets
        self.discovery_window = discovery_window
        self.pip_ratio = pip_ratio
        self.scan_window = scan_window
        self.dim = dim
        self.generic_dim = generic_dim
        self.heads = heads
        self.ffn_dim = ffn_dim
        self.dropout = dropout
        self.min_lr = min_lr
        self.weight_decay = weight_decay
        self.n_jobs = n_jobs
        self.normalize = normalize
        super().__init__(
            num_epochs=num_epochs, batch_size=batch_size, optimizer="RAdam",
            optimizer_kwargs={"weight_decay": weight_decay}, lr=lr, verbose=verbose, random_state=random_state,
        )

    # -- sktime hooks ---------------------------------------------------------------------------

    def _fit(self, X: Any, y: np.ndarray) -> "ShapeFormerClassifier":
        Xp = to_padded_numpy(X, normalize=self.normalize)
        self.series_length_ = Xp.shape[-1]
        super()._fit(Xp, y)
        return self

    def _predict_proba(self, X: Any) -> np.ndarray:
        return super()._predict_proba(to_padded_numpy(X, self.series_length_, self.normalize))

    def _build_network(self, X: np.ndarray, y: np.ndarray) -> ShapeFormer:
        """Offline Shapelet Discovery on the training series, then the network."""
        codes = np.asarray(y)
        self.shapelets_ = discover_shapelets(X, codes, self.num_shapelets, self.discovery_window, self.pip_ratio,
                                             n_jobs=self.n_jobs)
        self.network_kwargs_ = {
            "shapelets": shapelet_specs(self.shapelets_), "channels": int(X.shape[1]), "length": int(X.shape[2]),
            "num_classes": int(len(np.unique(codes))), "dim": self.dim, "generic_dim": self.generic_dim,
            "heads": self.heads, "ffn_dim": self.ffn_dim, "dropout": self.dropout, "scan_window": self.scan_window,
        }
        return ShapeFormer(**self.network_kwargs_)

    def _build_dataloader(self, X: np.ndarray, y: np.ndarray | None = None) -> Any:
        """Shuffled batches for training (seeded by ``random_state``); ordered ones for prediction."""
        import torch
        from torch.utils.data import DataLoader
        from sktime.classification.deep_learning.base._base_torch import PytorchDataset

        dataset = PytorchDataset(X, y)
        if y is None:
            return DataLoader(dataset, self.batch_size, shuffle=False)
        generator = torch.Generator().manual_seed(0 if self.random_state is None else int(self.random_state))
        return DataLoader(dataset, self.batch_size, shuffle=True, generator=generator)

    def _instantiate_schedulers(self) -> list[Any]:
        """Cosine annealing over ``num_epochs`` to ``min_lr`` (stepped once per epoch by the base)."""
        from torch.optim.lr_scheduler import CosineAnnealingLR

        return [CosineAnnealingLR(self._optimizer, T_max=max(1, self.num_epochs), eta_min=min(self.min_lr, self.lr))]

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Two tiny configurations so ``check_estimator`` runs in seconds."""
        tiny = {"num_epochs": 2, "batch_size": 4, "dim": 8, "generic_dim": 4, "heads": 2, "ffn_dim": 8,
                "num_shapelets": 1, "discovery_window": 5, "scan_window": 5}
        return [tiny, {**tiny, "num_shapelets": 2, "pip_ratio": 0.5, "lr": 0.01, "dropout": 0.0, "normalize": True}]


# -- checkpoints: safetensors + JSON ----------------------------------------------------------


def save_classifier(clf: ShapeFormerClassifier, directory: Path | str) -> Path:
    """Write a fitted classifier's network (safetensors) and everything to rebuild it (JSON).

    Args:
        clf: a fitted :class:`ShapeFormerClassifier` with at least two classes.
        directory: the checkpoint folder (replaced atomically).
    """
    if not getattr(clf, "_is_fitted", False) or not hasattr(clf, "network"):
        raise ValueError("save_classifier: the classifier is not fitted (or saw a single class)")
    classes = [c.item() if hasattr(c, "item") else c for c in clf.classes_]
    config = {"model": MODEL_NAME, "kwargs": clf.network_kwargs_, "params": clf.get_params(), "classes": classes,
              "series_length": clf.series_length_, "n_channels": clf.network_kwargs_["channels"]}
    save_model(Path(directory), clf.network, config)
    return Path(directory)


def load_classifier(directory: Path | str) -> ShapeFormerClassifier:
    """Rebuild a fitted :class:`ShapeFormerClassifier` from :func:`save_classifier`'s folder.

    Raises:
        ValueError: if the folder holds another model's checkpoint.
    """
    from sklearn.preprocessing import LabelEncoder
    from sktime.datatypes import check_is_scitype

    state, config = load_model_state(directory, expected_model=MODEL_NAME)
    clf = ShapeFormerClassifier(**config["params"])
    clf.network = ShapeFormer(**config["kwargs"])
    clf.network.load_state_dict(state)
    clf.network.eval()
    clf.network_kwargs_ = config["kwargs"]
    clf.series_length_ = int(config["series_length"])
    clf.classes_ = np.asarray(config["classes"])
    clf.n_classes_ = len(clf.classes_)
    clf._class_dictionary = {c: i for i, c in enumerate(clf.classes_)}
    if not np.array_equal(clf.classes_, np.arange(clf.n_classes_)):
        clf.label_encoder = LabelEncoder().fit(clf.classes_)
    dummy = np.zeros((2, int(config["n_channels"]), clf.series_length_))
    _, _, clf._X_metadata = check_is_scitype(dummy, scitype="Panel", return_metadata=True)
    _, clf._y_metadata, clf._y_inner_mtype = clf._check_y(clf.classes_, return_to_mtype=True)
    clf._is_vectorized = False
    clf._is_fitted = True
    return clf
