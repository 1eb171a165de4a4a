"""``SpikeData``: the one in-memory form of a multimodal spiking recording.

Every input format (flat ``(times, ids)`` events as Brian2 or spikeinterface give them,
per-unit arrays as neo / pynapple give them, a binned count matrix, an NWB file) is
normalised to sorted ``(time, id)`` events on ``[t_start, t_stop)``, with optional
behaviour time series, stimulus frames at a frame rate, and trials. Binning and windowing
are derived from the events (see :mod:`sciformers.neuro.tokenizer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np


class SpikeDataError(ValueError):
    """A spike recording is malformed; the message names the field and what was expected."""


@dataclass(frozen=True)
class Behavior:
    """Behaviour variables sampled on their own clock.

    Args:
        t: sample times in seconds, strictly increasing, ``(T,)``.
        values: ``(T, D)`` samples (one column per variable).
        names: one name per column.
    """

    t: np.ndarray
    values: np.ndarray
    names: tuple[str, ...]

    def at(self, times: np.ndarray) -> np.ndarray:
        """Linear interpolation of every variable at ``times`` -> ``(len(times), D)``."""
        return np.stack([np.interp(times, self.t, self.values[:, d]) for d in range(self.values.shape[1])], axis=1)


@dataclass(frozen=True)
class Stimulus:
    """Stimulus frames shown from ``t0`` at ``fps`` frames per second.

    Args:
        frames: ``(F, H, W)`` float frames.
        fps: frame rate in Hz.
        t0: time of the first frame in seconds.
    """

    frames: np.ndarray
    fps: float
    t0: float = 0.0

    def frame_index(self, t: float | np.ndarray) -> np.ndarray:
        """Index of the frame on screen at time(s) ``t`` (clipped to the movie)."""
        idx = np.floor((np.asarray(t) - self.t0) * self.fps).astype(int)
        return np.clip(idx, 0, len(self.frames) - 1)


@dataclass(frozen=True)
class SpikeData:
    """Sorted spike events of ``n_neurons`` neurons on ``[t_start, t_stop)``.

    Build it with :meth:`from_times`, :meth:`from_units`, :meth:`from_binned` or
    :meth:`from_nwb`; the constructor validates everything and raises
    :class:`SpikeDataError` naming the offending field.

    Args:
        times: spike times in seconds, sorted ascending, ``(S,)``.
        ids: neuron index of each spike in ``[0, n_neurons)``, ``(S,)``.
        n_neurons: number of neurons (silent ones included).
        t_start: start of the recording in seconds.
        t_stop: end of the recording in seconds (exclusive).
        behavior: optional behaviour time series on the same clock.
        stimulus: optional stimulus frames on the same clock.
        trials: optional ``(K, 2)`` array of trial ``[start, stop)`` times.
    """

    times: np.ndarray
    ids: np.ndarray
    n_neurons: int
    t_start: float
    t_stop: float
    behavior: Behavior | None = None
    stimulus: Stimulus | None = None
    trials: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        times = np.asarray(self.times, dtype=np.float64)
        ids = np.asarray(self.ids)
        object.__setattr__(self, "times", times)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            if not np.all(ids == np.round(ids)):
                raise SpikeDataError("ids: expected integer neuron indices")
        object.__setattr__(self, "ids", ids.astype(np.int64))
        if times.ndim != 1 or self.ids.shape != times.shape:
            raise SpikeDataError(f"times/ids: expected two 1-D arrays of equal length, got {times.shape} and {ids.shape}")
        if not self.t_stop > self.t_start:
            raise SpikeDataError(f"t_stop: must be after t_start ({self.t_start}), got {self.t_stop}")
        if self.n_neurons < 1:
            raise SpikeDataError(f"n_neurons: expected >= 1, got {self.n_neurons}")
        if not np.all(np.isfinite(times)):
            raise SpikeDataError("times: contains NaN or inf")
        if np.any(np.diff(times) < 0):
            i = int(np.argmax(np.diff(times) < 0))
            raise SpikeDataError(f"times: not sorted (times[{i}]={times[i]} > times[{i + 1}]={times[i + 1]}); "
                                 "use SpikeData.from_times, which sorts")
        if times.size and (times[0] < self.t_start or times[-1] >= self.t_stop):
            raise SpikeDataError(f"times: spikes outside [t_start, t_stop) = [{self.t_start}, {self.t_stop}): "
                                 f"first {times[0]}, last {times[-1]}")
        if self.ids.size and (self.ids.min() < 0 or self.ids.max() >= self.n_neurons):
            raise SpikeDataError(f"ids: expected values in [0, {self.n_neurons}), got range "
                                 f"[{self.ids.min()}, {self.ids.max()}]")
        if self.behavior is not None:
            self._check_behavior(self.behavior)
        if self.stimulus is not None:
            self._check_stimulus(self.stimulus)
        if self.trials is not None:
            tr = np.asarray(self.trials, dtype=np.float64)
            if tr.ndim != 2 or tr.shape[1] != 2 or np.any(tr[:, 1] <= tr[:, 0]):
                raise SpikeDataError("trials: expected (K, 2) [start, stop) rows with stop > start")
            object.__setattr__(self, "trials", tr)

    def _check_behavior(self, b: Behavior) -> None:
        t, v = np.asarray(b.t, dtype=np.float64), np.asarray(b.values, dtype=np.float64)
        if v.ndim == 1:
            v = v[:, None]
        if t.ndim != 1 or v.shape[0] != t.shape[0]:
            raise SpikeDataError(f"behavior: times {t.shape} and values {v.shape} disagree in length")
        if len(b.names) != v.shape[1]:
            raise SpikeDataError(f"behavior.names: {len(b.names)} names for {v.shape[1]} columns")
        if t.size < 2 or np.any(np.diff(t) <= 0):
            raise SpikeDataError("behavior.t: expected at least 2 strictly increasing sample times")
        if not np.all(np.isfinite(v)):
            raise SpikeDataError("behavior.values: contains NaN or inf")
        # Another clock: samples that do not cover the spike interval (ms vs s, or a shifted origin).
        span = self.t_stop - self.t_start
        if t[0] > self.t_start + 0.05 * span or t[-1] < self.t_stop - 0.05 * span:
            raise SpikeDataError(
                f"behavior.t: samples cover [{t[0]:.4g}, {t[-1]:.4g}] s but spikes cover [{self.t_start:.4g}, "
                f"{self.t_stop:.4g}) s; behaviour must be on the spikes' clock (seconds, same origin)")
        object.__setattr__(self, "behavior", Behavior(t, v, tuple(b.names)))

    def _check_stimulus(self, s: Stimulus) -> None:
        frames = np.asarray(s.frames, dtype=np.float32)
        if frames.ndim != 3:
            raise SpikeDataError(f"stimulus.frames: expected (F, H, W), got shape {frames.shape}")
        if not s.fps > 0:
            raise SpikeDataError(f"stimulus.fps: expected > 0, got {s.fps}")
        object.__setattr__(self, "stimulus", Stimulus(frames, float(s.fps), float(s.t0)))

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def from_times(
        cls, times: Sequence[float] | np.ndarray, ids: Sequence[int] | np.ndarray, *, n_neurons: int | None = None,
        t_start: float | None = None, t_stop: float | None = None, behavior: tuple[np.ndarray, np.ndarray] | Behavior | None = None,
        behavior_names: Sequence[str] | None = None, frames: tuple[np.ndarray, float] | Stimulus | None = None,
        trials: np.ndarray | None = None,
    ) -> SpikeData:
        """Flat events (Brian2 ``SpikeMonitor.t/i``, spikeinterface): sorted here by time, then id.

        Args:
            times: spike times in seconds.
            ids: neuron index per spike.
            n_neurons: default ``max(ids) + 1``.
            t_start: default 0.
            t_stop: default just after the last spike.
            behavior: ``(t, values)`` with ``values`` ``(T,)`` or ``(T, D)``, or a :class:`Behavior`.
            behavior_names: column names (default ``b0, b1, ...``).
            frames: ``(frames (F, H, W), fps)`` starting at ``t_start``, or a :class:`Stimulus`.
            trials: ``(K, 2)`` trial start/stop times.
        """
        times = np.asarray(times, dtype=np.float64)
        ids = np.asarray(ids)
        if times.shape != ids.shape:
            raise SpikeDataError(f"times/ids: lengths differ ({times.shape} vs {ids.shape})")
        order = np.lexsort((ids, times))
        times, ids = times[order], ids[order]
        n = int(n_neurons if n_neurons is not None else (ids.max() + 1 if ids.size else 1))
        t0 = float(t_start if t_start is not None else 0.0)
        t1 = float(t_stop if t_stop is not None else (np.nextafter(times[-1], np.inf) if times.size else t0 + 1.0))
        beh = None
        if isinstance(behavior, Behavior):
            beh = behavior
        elif behavior is not None:
            bt, bv = behavior
            bv = np.asarray(bv, dtype=np.float64)
            bv = bv[:, None] if bv.ndim == 1 else bv
            names = tuple(behavior_names) if behavior_names else tuple(f"b{d}" for d in range(bv.shape[1]))
            bt = np.asarray(bt, dtype=np.float64)
            if bt.size > 1 and times.size and bt[-1] - bt[0] > 100 * max(t1 - t0, 1e-9):
                raise SpikeDataError(
                    f"behavior.t: samples span {bt[-1] - bt[0]:.4g} time units but the spikes {t1 - t0:.4g} s; "
                    "behaviour must be on the spikes' clock (seconds, not ms)")
            beh = Behavior(bt, bv, names)
        stim = frames if isinstance(frames, Stimulus) or frames is None else Stimulus(np.asarray(frames[0]), float(frames[1]), t0)
        return cls(times, ids, n, t0, t1, beh, stim, trials)

    @classmethod
    def from_units(cls, units: Sequence[np.ndarray], **kwargs) -> SpikeData:
        """Per-unit spike-time arrays (neo ``SpikeTrain``s, pynapple ``TsGroup``); unit ``k`` gets id ``k``.

        Args:
            units: one array of spike times (seconds) per neuron.
            **kwargs: as for :meth:`from_times` (``n_neurons`` defaults to ``len(units)``).
        """
        arrays = [np.asarray(u, dtype=np.float64).reshape(-1) for u in units]
        times = np.concatenate(arrays) if arrays else np.zeros(0)
        ids = np.concatenate([np.full(len(a), k) for k, a in enumerate(arrays)]) if arrays else np.zeros(0, int)
        kwargs.setdefault("n_neurons", len(arrays))
        return cls.from_times(times, ids, **kwargs)

    @classmethod
    def from_binned(cls, counts: np.ndarray, dt: float, *, t_start: float = 0.0, **kwargs) -> SpikeData:
        """A ``(T, N)`` count matrix with bin width ``dt``; each spike is placed at its bin's start.

        Args:
            counts: non-negative integer counts, time along axis 0.
            dt: bin width in seconds.
            t_start: time of the first bin's left edge.
            **kwargs: as for :meth:`from_times`.
        """
        counts = np.asarray(counts)
        if counts.ndim != 2:
            raise SpikeDataError(f"counts: expected a (T, N) matrix, got shape {counts.shape}")
        if np.any(counts < 0) or not np.all(counts == np.round(counts)):
            raise SpikeDataError("counts: expected non-negative integers")
        bins, ids = np.nonzero(counts)
        reps = counts[bins, ids].astype(int)
        times = t_start + np.repeat(bins, reps) * dt
        return cls.from_times(times, np.repeat(ids, reps), n_neurons=counts.shape[1], t_start=t_start,
                              t_stop=t_start + counts.shape[0] * dt, **kwargs)

    @classmethod
    def from_nwb(cls, path: str | Path, behavior_series: Sequence[str] | None = None, stimulus: str | None = None) -> SpikeData:
        """Read an NWB file: the units table, ``processing['behavior']`` series and an ImageSeries stimulus.

        See :mod:`sciformers.neuro.nwb`.
        """
        from sciformers.neuro.nwb import read_nwb

        return read_nwb(path, behavior_series=behavior_series, stimulus=stimulus)

    def to_nwb(self, path: str | Path, session_description: str = "sciformers.neuro spikes") -> Path:
        """Write the recording to an NWB file (see :mod:`sciformers.neuro.nwb`)."""
        from sciformers.neuro.nwb import write_nwb

        return write_nwb(self, path, session_description)

    # -- views ------------------------------------------------------------------------------------

    @property
    def duration(self) -> float:
        """``t_stop - t_start`` in seconds."""
        return self.t_stop - self.t_start

    def rates(self) -> np.ndarray:
        """Mean firing rate of every neuron in Hz, ``(n_neurons,)``."""
        return np.bincount(self.ids, minlength=self.n_neurons) / self.duration

    def binned(self, dt: float) -> np.ndarray:
        """``(T, N)`` spike counts in bins of ``dt`` seconds from ``t_start`` (last partial bin dropped)."""
        n_bins = int(np.floor(self.duration / dt + 1e-9))
        b = np.floor((self.times - self.t_start) / dt + 1e-9).astype(int)
        keep = b < n_bins
        out = np.zeros((n_bins, self.n_neurons), dtype=np.int64)
        np.add.at(out, (b[keep], self.ids[keep]), 1)
        return out

    def slice(self, t0: float, t1: float) -> SpikeData:
        """The events in ``[t0, t1)`` (behaviour and stimulus kept whole, on the same clock)."""
        lo, hi = np.searchsorted(self.times, [t0, t1], side="left")
        return SpikeData(self.times[lo:hi], self.ids[lo:hi], self.n_neurons, t0, t1, self.behavior, self.stimulus, None)

    def select(self, neurons: Sequence[int] | np.ndarray) -> SpikeData:
        """Keep only ``neurons`` (renumbered ``0..len(neurons)-1`` in the given order)."""
        neurons = np.asarray(neurons, dtype=np.int64)
        remap = np.full(self.n_neurons, -1, dtype=np.int64)
        remap[neurons] = np.arange(len(neurons))
        keep = remap[self.ids] >= 0
        return SpikeData(self.times[keep], remap[self.ids[keep]], len(neurons), self.t_start, self.t_stop,
                         self.behavior, self.stimulus, self.trials)
