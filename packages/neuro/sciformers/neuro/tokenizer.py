"""Neuroformer's spike tokenizer (Antoniades et al. 2024, https://arxiv.org/abs/2311.00136, §3.1).

Every spike is a pair of tokens: its **neuron ID** and its **time offset** ``dt`` from the
start of its window, quantised at ``resolution``. A window ``[t0, t0 + window)`` is the
*current state*; the spikes of ``[t0 - past_window, t0)`` are its *past state*. Inside a
window spikes are ordered by time bin, then neuron index, so a token sequence and a binned
count matrix are the same object. The current state is read ``[SOS] s_1 .. s_n`` and
predicts ``s_1 .. s_n [EOS]``; the past state is ``[SOS] s_1 .. s_m`` (the SOS keeps the
key set of cross-attention non-empty).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from sciformers.neuro.spikes import SpikeData


@dataclass
class TruncationReport:
    """How much the block sizes cut off.

    Attributes:
        windows: windows tokenized.
        current_truncated: windows whose current state overflowed ``max_current``.
        past_truncated: windows whose past state overflowed ``max_past``.
        spikes: current-state spikes seen.
        spikes_dropped: current-state spikes dropped.
    """

    windows: int = 0
    current_truncated: int = 0
    past_truncated: int = 0
    spikes: int = 0
    spikes_dropped: int = 0

    @property
    def fraction_dropped(self) -> float:
        """Fraction of current-state spikes dropped."""
        return self.spikes_dropped / max(self.spikes, 1)

    def __str__(self) -> str:
        return (f"{self.current_truncated}/{self.windows} current windows truncated "
                f"({self.spikes_dropped} of {self.spikes} spikes, {100 * self.fraction_dropped:.2f}%), "
                f"{self.past_truncated} past windows truncated")


@dataclass(frozen=True)
class Tokenizer:
    """Neuron-ID and within-window time tokens for current and past states.

    Args:
        n_neurons: ID vocabulary size before special tokens.
        resolution: width of a ``dt`` bin in seconds (paper: 10 ms).
        window: current-state length in seconds (paper: 50 ms).
        past_window: past-state length in seconds (paper: 50 or 150 ms).
        max_current: current block length in tokens (SOS included; at most ``max_current - 1`` spikes).
        max_past: past block length in tokens (SOS included; the most recent spikes are kept).
    """

    n_neurons: int
    resolution: float = 0.01
    window: float = 0.05
    past_window: float = 0.05
    max_current: int = 64
    max_past: int = 128

    def __post_init__(self) -> None:
        for name in ("window", "past_window"):
            steps = getattr(self, name) / self.resolution
            if abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
                raise ValueError(f"Tokenizer.{name}={getattr(self, name)} is not a whole number of "
                                 f"resolution={self.resolution} bins")
        if self.max_current < 2 or self.max_past < 1:
            raise ValueError("Tokenizer: max_current must be >= 2 and max_past >= 1")

    # vocabularies: real tokens first, then SOS, EOS, PAD
    @property
    def n_dt(self) -> int:
        """Number of real ``dt`` values (bins of the longer window)."""
        return int(round(max(self.window, self.past_window) / self.resolution))

    @property
    def id_sos(self) -> int:
        return self.n_neurons

    @property
    def id_eos(self) -> int:
        return self.n_neurons + 1

    @property
    def id_pad(self) -> int:
        return self.n_neurons + 2

    @property
    def id_vocab(self) -> int:
        return self.n_neurons + 3

    @property
    def dt_sos(self) -> int:
        return self.n_dt

    @property
    def dt_eos(self) -> int:
        return self.n_dt + 1

    @property
    def dt_pad(self) -> int:
        return self.n_dt + 2

    @property
    def dt_vocab(self) -> int:
        return self.n_dt + 3

    @property
    def window_bins(self) -> int:
        """``dt`` values a current-state spike can take."""
        return int(round(self.window / self.resolution))

    def window_starts(self, t_start: float, t_stop: float) -> np.ndarray:
        """Starts of consecutive current windows whose past and current states fit in ``[t_start, t_stop)``."""
        first = t_start + self.past_window
        n = int(np.floor((t_stop - first) / self.window + 1e-9))
        return first + self.window * np.arange(max(n, 0))

    def _events(self, data: SpikeData, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """``(dt bin, id)`` of the spikes in ``[t0, t1)``, in canonical order."""
        lo, hi = np.searchsorted(data.times, [t0 - 1e-12, t1 - 1e-12], side="left")
        dt = np.floor((data.times[lo:hi] - t0) / self.resolution + 1e-9).astype(np.int64)
        dt = np.minimum(dt, int(round((t1 - t0) / self.resolution)) - 1)  # a spike a hair before t1 stays inside
        ids = data.ids[lo:hi]
        order = np.lexsort((ids, dt))
        return dt[order], ids[order]

    def encode(self, data: SpikeData, starts: np.ndarray, report: TruncationReport | None = None) -> dict[str, np.ndarray]:
        """Tokenize the windows starting at ``starts``.

        Args:
            data: the recording (its ids must be ``< n_neurons``).
            starts: current-window start times ``(W,)``.
            report: filled with what truncation dropped (a warning is issued when anything is).

        Returns:
            ``cur_id, cur_dt`` (model input, ``[SOS] s_1..s_n`` padded to ``max_current``),
            ``tgt_id, tgt_dt`` (``s_1..s_n [EOS]``; the ``dt`` target at EOS is PAD, i.e. ignored),
            ``past_id, past_dt`` (``[SOS] s_1..s_m`` padded to ``max_past``), all ``(W, L)`` int64.
        """
        if data.n_neurons > self.n_neurons:
            raise ValueError(f"Tokenizer: data has {data.n_neurons} neurons, vocabulary {self.n_neurons}")
        rep = report if report is not None else TruncationReport()
        W, Lc, Lp = len(starts), self.max_current, self.max_past
        out = {
            "cur_id": np.full((W, Lc), self.id_pad), "cur_dt": np.full((W, Lc), self.dt_pad),
            "tgt_id": np.full((W, Lc), self.id_pad), "tgt_dt": np.full((W, Lc), self.dt_pad),
            "past_id": np.full((W, Lp), self.id_pad), "past_dt": np.full((W, Lp), self.dt_pad),
        }
        before = (rep.current_truncated, rep.spikes_dropped)
        for w, t0 in enumerate(starts):
            dt, ids = self._events(data, t0, t0 + self.window)
            rep.windows += 1
            rep.spikes += len(ids)
            if len(ids) > Lc - 1:  # keep the earliest spikes: the sequence stays a prefix
                rep.current_truncated += 1
                rep.spikes_dropped += len(ids) - (Lc - 1)
                dt, ids = dt[:Lc - 1], ids[:Lc - 1]
            n = len(ids)
            out["cur_id"][w, 0], out["cur_dt"][w, 0] = self.id_sos, self.dt_sos
            out["cur_id"][w, 1:n + 1], out["cur_dt"][w, 1:n + 1] = ids, dt
            out["tgt_id"][w, :n], out["tgt_dt"][w, :n] = ids, dt
            out["tgt_id"][w, n] = self.id_eos
            pdt, pids = self._events(data, t0 - self.past_window, t0)
            if len(pids) > Lp - 1:  # keep the most recent spikes (as the reference does)
                rep.past_truncated += 1
                pdt, pids = pdt[-(Lp - 1):], pids[-(Lp - 1):]
            m = len(pids)
            out["past_id"][w, 0], out["past_dt"][w, 0] = self.id_sos, self.dt_sos
            out["past_id"][w, 1:m + 1], out["past_dt"][w, 1:m + 1] = pids, pdt
        if (rep.current_truncated, rep.spikes_dropped) != before:
            warnings.warn(f"Tokenizer: {rep}; raise max_current to keep them", stacklevel=2)
        return {k: v.astype(np.int64) for k, v in out.items()}

    def decode(self, ids: np.ndarray, dts: np.ndarray, t0: float) -> tuple[np.ndarray, np.ndarray]:
        """Spike ``(times, ids)`` of one token sequence, stopping at the first EOS.

        Special tokens other than EOS are skipped; times are ``t0 + dt * resolution`` (bin starts).
        """
        ids, dts = np.asarray(ids), np.asarray(dts)
        stop = np.flatnonzero(ids == self.id_eos)
        end = stop[0] if stop.size else len(ids)
        ids, dts = ids[:end], dts[:end]
        keep = (ids < self.n_neurons) & (dts < self.n_dt)
        return t0 + dts[keep] * self.resolution, ids[keep]
