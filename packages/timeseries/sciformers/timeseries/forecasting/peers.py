"""Peers scored on the same windows as iTransformer and Pathformer: DLinear, seasonal naive, PatchTST.

- **DLinear** (Zeng et al., "Are Transformers Effective for Time Series Forecasting?", AAAI 2023,
  https://arxiv.org/abs/2205.13504): a moving-average decomposition into trend and remainder,
  one linear map ``L -> H`` for each, summed. Written here (30 lines) rather than through
  sktime's ``LTSFDLinearForecaster`` so that it is trained and scored on exactly the benchmark's
  windows and scaler.
- **Seasonal naive**: repeats the last season of the lookback (``sp = 24`` for hourly data).
  It has no parameters and is the trivial baseline of the forecasting task.
- **PatchTST** (Nie et al., ICLR 2023, https://arxiv.org/abs/2211.14730): Hugging Face
  ``transformers``' ``PatchTSTForPrediction`` (the network inside sktime's
  ``PatchTSTForecaster``), randomly initialised, trained with our Trainer on the same windows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.core import register_model
from sciformers.timeseries.forecasting.base import WindowForecaster, example_window, zero_loss


@register_model("dlinear", test_kwargs={"seq_len": 12, "pred_len": 4, "n_vars": 2, "kernel": 5},
                example=example_window)
class DLinear(WindowForecaster):
    """Trend (moving average) and remainder, each mapped ``L -> H`` by a linear layer shared over variates.

    Args:
        seq_len: lookback ``L``.
        pred_len: horizon ``H``.
        n_vars: variates ``N``.
        kernel: moving-average window (paper: 25).
        individual: one pair of linear layers per variate instead of shared ones.
    """

    def __init__(self, seq_len: int, pred_len: int, n_vars: int, kernel: int = 25, individual: bool = False) -> None:
        super().__init__(seq_len, pred_len, n_vars)
        self.kernel = kernel
        copies = n_vars if individual else 1
        self.trend = nn.ModuleList(nn.Linear(seq_len, pred_len) for _ in range(copies))
        self.seasonal = nn.ModuleList(nn.Linear(seq_len, pred_len) for _ in range(copies))

    def decompose(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Trend (moving average, ends padded by repetition) and remainder of ``x (B, L, N)``."""
        front, back = (self.kernel - 1) // 2, self.kernel // 2
        padded = torch.cat([x[:, :1].expand(-1, front, -1), x, x[:, -1:].expand(-1, back, -1)], dim=1)
        trend = F.avg_pool1d(padded.transpose(1, 2), self.kernel, stride=1).transpose(1, 2)
        return trend, x - trend

    def forecast(self, x: Tensor) -> tuple[Tensor, Tensor]:
        self.check_input(x)
        trend, season = (t.transpose(1, 2) for t in self.decompose(x))  # (B, N, L)
        if len(self.trend) == 1:
            y = self.trend[0](trend) + self.seasonal[0](season)
        else:
            y = torch.stack([self.trend[i](trend[:, i]) + self.seasonal[i](season[:, i]) for i in range(self.n_vars)], 1)
        y = y.transpose(1, 2)
        return y, zero_loss(y)


@register_model("seasonal_naive", test_kwargs={"seq_len": 12, "pred_len": 4, "n_vars": 2, "sp": 6},
                example=example_window)
class SeasonalNaive(WindowForecaster):
    """``y_{L+h} = x_{L-sp+(h mod sp)}``: the last full season of the lookback, repeated.

    Args:
        seq_len: lookback ``L`` (at least ``sp``).
        pred_len: horizon ``H``.
        n_vars: variates ``N``.
        sp: season length in steps (24 for hourly data with a daily cycle).
    """

    def __init__(self, seq_len: int, pred_len: int, n_vars: int, sp: int = 24) -> None:
        super().__init__(seq_len, pred_len, n_vars)
        if not 1 <= sp <= seq_len:
            raise ValueError(f"seasonal_naive: sp must be in [1, seq_len={seq_len}], got {sp}")
        self.register_buffer("index", seq_len - sp + torch.arange(pred_len) % sp, persistent=False)

    def forecast(self, x: Tensor) -> tuple[Tensor, Tensor]:
        self.check_input(x)
        y = x[:, self.index]
        return y, zero_loss(y)


@register_model("patchtst", test_kwargs={"seq_len": 16, "pred_len": 4, "n_vars": 2, "patch_length": 4,
                                        "patch_stride": 4, "d_model": 8, "heads": 2, "depth": 1, "d_ff": 8},
                example=example_window)
class PatchTST(WindowForecaster):
    """PatchTST from Hugging Face ``transformers`` (random init), channel-independent, with RevIN-style scaling.

    Args:
        seq_len: lookback ``L``.
        pred_len: horizon ``H``.
        n_vars: variates ``N``.
        patch_length: steps per patch (paper: 16).
        patch_stride: stride between patches (paper: 8).
        d_model: patch embedding width.
        heads: attention heads.
        depth: encoder layers.
        d_ff: feed-forward width.
        dropout: dropout in the encoder and the head.
    """

    def __init__(
        self, seq_len: int, pred_len: int, n_vars: int, patch_length: int = 16, patch_stride: int = 8,
        d_model: int = 128, heads: int = 16, depth: int = 3, d_ff: int = 256, dropout: float = 0.2,
    ) -> None:
        super().__init__(seq_len, pred_len, n_vars)
        try:
            from transformers import PatchTSTConfig, PatchTSTForPrediction
        except ImportError as err:  # pragma: no cover - transformers is in the timeseries extra
            raise ImportError("patchtst needs transformers: pip install 'sciformers[timeseries]'") from err
        config = PatchTSTConfig(
            num_input_channels=n_vars, context_length=seq_len, prediction_length=pred_len, patch_length=patch_length,
            patch_stride=patch_stride, d_model=d_model, num_attention_heads=heads, num_hidden_layers=depth,
            ffn_dim=d_ff, dropout=dropout, head_dropout=dropout, scaling="std", loss="mse",
        )
        self.net = PatchTSTForPrediction(config)

    def forecast(self, x: Tensor) -> tuple[Tensor, Tensor]:
        self.check_input(x)
        y = self.net(past_values=x).prediction_outputs
        return y, zero_loss(y)
