"""sktime forecasters around iTransformer and Pathformer: ``fit(y, fh=...)``, ``predict()``.

Both follow the sktime ``BaseForecaster`` contract (``_fit(y, X, fh)`` / ``_predict(fh, X)``)
and pass ``sktime.utils.estimator_checks.check_estimator``. ``y`` is a ``pd.DataFrame`` (one
column per variate) or a ``pd.Series`` with any sktime time index; forecasts come back with the
same columns and the absolute index of ``fh``.

Fitting: the series is standardised per variate (statistics of ``y``), cut into every window of
``window_length`` steps followed by ``max(fh)`` steps, and the network is trained on them with
the shared :class:`~sciformers.core.Trainer` (AdamW, cosine schedule, no validation split).
Prediction reads the last ``window_length`` observed steps; ``update`` appends new
observations to that window without retraining. Because both the scaler and RevIN are affine-equivariant, fitting on
``a * y + b`` (``a > 0`` per variate) gives ``a * forecast + b``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

try:
    from sktime.forecasting.base import BaseForecaster
except ImportError as err:  # pragma: no cover - sktime is in the timeseries extra
    raise ImportError("the sktime forecasters need sktime: pip install 'sciformers[timeseries]'") from err

from sciformers.core import TrainConfig, Trainer, create_model, seed_everything
from sciformers.timeseries.forecasting.windows import Standardizer, WindowDataset


class _WindowNetworkForecaster(BaseForecaster):
    """Shared fit/predict of the window networks; subclasses name the model and its arguments."""

    _tags = {
        "authors": ["sciformers"],
        "python_dependencies": ["torch"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "scitype:y": "both",
        "capability:exogenous": False,
        "requires-fh-in-fit": True,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:missing_values": False,
        "capability:multivariate": True,
        "fit_is_empty": False,
        "capability:update": True,
        "capability:random_state": True,
    }
    _model_name: ClassVar[str]

    def _model_kwargs(self) -> dict[str, Any]:
        raise NotImplementedError

    def _fit(self, y: pd.DataFrame, X: pd.DataFrame | None = None, fh: Any = None) -> "_WindowNetworkForecaster":
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=int)
        if (steps < 1).any():
            raise ValueError(f"{type(self).__name__} forecasts only future steps; fh has {steps[steps < 1].tolist()}")
        values = y.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"{type(self).__name__}: y has missing or infinite values")
        horizon = int(steps.max())
        if len(values) < self.window_length + horizon:
            raise ValueError(
                f"{type(self).__name__}: y has {len(values)} steps; window_length={self.window_length} plus "
                f"max(fh)={horizon} needs at least {self.window_length + horizon}"
            )
        self.scaler_ = Standardizer.fit(values)
        seed = 0 if self.random_state is None else int(self.random_state)
        seed_everything(seed)
        self.network_ = create_model(self._model_name, seq_len=self.window_length, pred_len=horizon,
                                     n_vars=values.shape[1], **self._model_kwargs())
        config = TrainConfig(epochs=self.num_epochs, batch_size=self.batch_size, lr=self.lr,
                             weight_decay=self.weight_decay, val_fraction=0.0, warmup=0.0, amp="off")
        Trainer(config, device="cpu", seed=seed, quiet=True).fit(
            self.network_, WindowDataset(self.scaler_.transform(values), self.window_length, horizon))
        self.network_.eval()
        self._columns = list(y.columns)
        self._window = values[-self.window_length:]
        return self

    def _update(self, y: pd.DataFrame, X: pd.DataFrame | None = None, update_params: bool = True) -> "_WindowNetworkForecaster":
        """Append the new observations to the lookback window (the network is not retrained)."""
        values = y.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"{type(self).__name__}: y has missing or infinite values")
        self._window = np.concatenate([self._window, values])[-self.window_length:]
        return self

    def _predict(self, fh: Any, X: pd.DataFrame | None = None) -> pd.DataFrame:
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=int)
        if (steps < 1).any() or steps.max() > self.network_.pred_len:
            raise ValueError(f"{type(self).__name__}: fh steps must lie in 1..{self.network_.pred_len} (the fitted "
                             f"horizon), got {steps.tolist()}")
        window = self.scaler_.transform(self._window)
        with torch.no_grad():
            z = self.network_(torch.as_tensor(window, dtype=torch.float32)[None])[0].double().numpy()
        forecast = self.scaler_.inverse(z[steps - 1])
        return pd.DataFrame(forecast, index=fh.to_absolute_index(self.cutoff), columns=self._columns)


class ITransformerForecaster(_WindowNetworkForecaster):
    """iTransformer (Liu et al., ICLR 2024) as an sktime forecaster.

    Args:
        window_length: lookback ``L`` in steps (paper: 96).
        d_model: token width.
        depth: encoder blocks.
        heads: attention heads.
        d_ff: feed-forward width.
        dropout: dropout.
        use_norm: RevIN on each window.
        num_epochs: passes over the training windows.
        batch_size: windows per step.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        random_state: seed of initialisation and data order (``None``: 0).

    Examples:
        >>> from sciformers.timeseries import ITransformerForecaster
        >>> from sktime.datasets import load_longley
        >>> _, X = load_longley()
        >>> f = ITransformerForecaster(window_length=4, d_model=8, heads=2, d_ff=8, num_epochs=2)
        >>> f.fit(X, fh=[1, 2]).predict().shape
        (2, 5)
    """

    _model_name = "timeseries.itransformer"

    def __init__(
        self, window_length: int = 96, d_model: int = 128, depth: int = 2, heads: int = 8, d_ff: int = 128,
        dropout: float = 0.1, use_norm: bool = True, num_epochs: int = 10, batch_size: int = 32, lr: float = 1e-3,
        weight_decay: float = 0.0, random_state: int | None = None,
    ) -> None:
        self.window_length, self.d_model, self.depth, self.heads, self.d_ff = window_length, d_model, depth, heads, d_ff
        self.dropout, self.use_norm = dropout, use_norm
        self.num_epochs, self.batch_size, self.lr, self.weight_decay = num_epochs, batch_size, lr, weight_decay
        self.random_state = random_state
        super().__init__()

    def _model_kwargs(self) -> dict[str, Any]:
        return dict(d_model=self.d_model, depth=self.depth, heads=self.heads, d_ff=self.d_ff, dropout=self.dropout,
                    use_norm=self.use_norm)

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Two tiny configurations for sktime's estimator checks."""
        tiny = dict(window_length=4, d_model=8, heads=2, d_ff=8, depth=1, num_epochs=1, batch_size=8)
        return [tiny, {**tiny, "use_norm": False, "dropout": 0.0, "random_state": 3}]


class PathformerForecaster(_WindowNetworkForecaster):
    """Pathformer (Chen et al., ICLR 2024) as an sktime forecaster.

    Args:
        window_length: lookback ``L`` (paper: 96); every patch size must divide it.
        patch_sizes: candidate patch sizes per block (``None``: the paper's ETTh1 set for
            ``L = 96``, else the divisors of ``L`` among 2, 4, 6, 8, 12, 16, one block).
        top_k: scales used per input (capped at the number of default patch sizes).
        d_model: features per step.
        d_ff: feed-forward width.
        dropout: dropout.
        balance_coef: weight of the router balance loss.
        num_epochs: passes over the training windows.
        batch_size: windows per step.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        random_state: seed of initialisation and data order (``None``: 0).

    Examples:
        >>> from sciformers.timeseries import PathformerForecaster
        >>> from sktime.datasets import load_airline
        >>> f = PathformerForecaster(window_length=24, patch_sizes=[[12, 6, 4]], top_k=2, num_epochs=2)
        >>> f.fit(load_airline(), fh=[1, 2, 3]).predict().shape
        (3,)
    """

    _model_name = "timeseries.pathformer"

    def __init__(
        self, window_length: int = 96, patch_sizes: list[list[int]] | None = None, top_k: int = 3, d_model: int = 4,
        d_ff: int = 64, dropout: float = 0.1, balance_coef: float = 1e-2, num_epochs: int = 10, batch_size: int = 32,
        lr: float = 1e-3, weight_decay: float = 0.0, random_state: int | None = None,
    ) -> None:
        self.window_length, self.patch_sizes, self.top_k, self.d_model, self.d_ff = window_length, patch_sizes, top_k, d_model, d_ff
        self.dropout, self.balance_coef = dropout, balance_coef
        self.num_epochs, self.batch_size, self.lr, self.weight_decay = num_epochs, batch_size, lr, weight_decay
        self.random_state = random_state
        super().__init__()

    def _model_kwargs(self) -> dict[str, Any]:
        sizes, top_k = self.patch_sizes, self.top_k
        if sizes is None and self.window_length != 96:
            divisors = [s for s in (2, 4, 6, 8, 12, 16) if self.window_length % s == 0]
            if not divisors:
                raise ValueError(f"PathformerForecaster: no default patch size divides window_length={self.window_length}; "
                                 "pass patch_sizes")
            sizes, top_k = [divisors], min(top_k, len(divisors))
        extra = {} if sizes is None else {"patch_sizes": sizes}
        return dict(top_k=top_k, d_model=self.d_model, d_ff=self.d_ff, dropout=self.dropout,
                    balance_coef=self.balance_coef, **extra)

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Two tiny configurations for sktime's estimator checks."""
        tiny = dict(window_length=4, patch_sizes=[[2, 4], [2]], top_k=1, d_model=2, d_ff=4, num_epochs=1, batch_size=8)
        return [tiny, {**tiny, "patch_sizes": None, "top_k": 2, "dropout": 0.0, "random_state": 1}]
