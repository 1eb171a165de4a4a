"""The long-horizon benchmark protocol: time splits, a train-only scaler, every sliding window.

The protocol of Informer/Autoformer that iTransformer and Pathformer report on
(Zhou et al. 2021, https://arxiv.org/abs/2012.07436; Wu et al. 2021, https://arxiv.org/abs/2106.13008):

- the series is split by time into train/validation/test; the validation and test segments
  start ``seq_len`` steps early so their first window has a full lookback;
- ETTh: 12/4/4 months of hours (rows 0-8640 / 8640-11520 / 11520-14400); ETTm: the same
  months in 15-minute rows (x4); other files: 70/10/20 % (``ratio``);
- a per-variate standard scaler is fitted on the training rows only; models are trained and
  scored on the standardised values (the papers' MSE/MAE are on this scale);
- a sample is every window ``x = z[i : i+L]``, ``y = z[i+L : i+L+H]`` inside a segment, stride 1;
  the test set is every such window (no ``drop_last``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

SplitScheme = Literal["ett_hour", "ett_minute", "ratio"]
_MONTH_H = 30 * 24


def split_borders(n_rows: int, seq_len: int, scheme: SplitScheme) -> list[tuple[int, int]]:
    """``[(start, end)]`` rows of the train, validation and test segments (lookback included).

    Raises:
        ValueError: if the series is too short for the scheme.
    """
    if scheme in ("ett_hour", "ett_minute"):
        per = _MONTH_H * (4 if scheme == "ett_minute" else 1)
        ends = [12 * per, 16 * per, 20 * per]
        if n_rows < ends[-1]:
            raise ValueError(f"split {scheme!r} needs at least {ends[-1]} rows (20 months), the series has {n_rows}; "
                             "use data.split=ratio")
    elif scheme == "ratio":
        n_train, n_test = int(n_rows * 0.7), int(n_rows * 0.2)
        ends = [n_train, n_rows - n_test, n_rows]
    else:
        raise ValueError(f"unknown split {scheme!r}; expected ett_hour, ett_minute or ratio")
    starts = [0, ends[0] - seq_len, ends[1] - seq_len]
    if starts[1] < 0:
        raise ValueError(f"the training segment ({ends[0]} rows) is shorter than the lookback {seq_len}")
    return list(zip(starts, ends))


@dataclass(frozen=True)
class Standardizer:
    """Per-variate ``(x - mean) / std``, fitted on training rows only (population std, as sklearn)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> "Standardizer":
        std = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return values * self.std + self.mean


class WindowDataset(Dataset):
    """Every stride-1 ``(lookback, horizon)`` window of ``values[start:end]``.

    Items are ``{"x": (seq_len, N), "y": (pred_len, N)}`` float32 tensors.

    Args:
        values: the (standardised) series ``(T, N)``.
        seq_len: lookback ``L``.
        pred_len: horizon ``H``.
        start: first row of the segment.
        end: one past its last row.
    """

    def __init__(self, values: np.ndarray | Tensor, seq_len: int, pred_len: int, start: int = 0, end: int | None = None) -> None:
        self.values = torch.as_tensor(np.asarray(values, dtype=np.float32))
        if self.values.dim() != 2:
            raise ValueError(f"WindowDataset: values must be (T, N), got {tuple(self.values.shape)}")
        end = len(self.values) if end is None else end
        self.seq_len, self.pred_len, self.start, self.end = seq_len, pred_len, start, end
        if end - start - seq_len - pred_len + 1 <= 0:
            raise ValueError(f"WindowDataset: rows {start}-{end} hold no window of lookback {seq_len} + horizon {pred_len}")

    def __len__(self) -> int:
        return self.end - self.start - self.seq_len - self.pred_len + 1

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        s = self.start + i
        return {"x": self.values[s:s + self.seq_len], "y": self.values[s + self.seq_len:s + self.seq_len + self.pred_len]}

    def targets(self) -> Tensor:
        """All targets stacked, ``(len, pred_len, N)``."""
        idx = torch.arange(len(self))[:, None] + self.start + self.seq_len + torch.arange(self.pred_len)
        return self.values[idx]


@dataclass
class LongHorizonData:
    """A standardised series and its segments: what every horizon's datasets are cut from."""

    values: np.ndarray
    scaler: Standardizer
    borders: list[tuple[int, int]]
    columns: list[str]

    @classmethod
    def prepare(cls, raw: np.ndarray, columns: list[str], seq_len: int, scheme: SplitScheme) -> "LongHorizonData":
        """Split ``raw (T, N)`` by time and standardise it with statistics of the training rows."""
        borders = split_borders(len(raw), seq_len, scheme)
        scaler = Standardizer.fit(raw[borders[0][0]:borders[0][1]])
        return cls(scaler.transform(raw).astype(np.float32), scaler, borders, columns)

    def datasets(self, seq_len: int, pred_len: int) -> tuple[WindowDataset, WindowDataset, WindowDataset]:
        """Train, validation and test windows for one horizon."""
        return tuple(WindowDataset(self.values, seq_len, pred_len, s, e) for s, e in self.borders)  # type: ignore[return-value]
