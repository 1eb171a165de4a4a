"""NWB (Neurodata Without Borders) reading and writing for :class:`SpikeData`, through pynwb.

Layout (NWB 2, https://nwb-schema.readthedocs.io): spikes in the ``units`` table
(``spike_times`` ragged column, one row per neuron; the recording's span from the
``obs_intervals`` column when present), behaviour as ``TimeSeries`` in
``processing['behavior']`` (a ``BehavioralTimeSeries`` container or bare series), stimulus
frames as an ``ImageSeries`` in ``stimulus``, and trials in the ``trials`` table. A file that
pynwb cannot read is a :class:`SpikeDataError` naming it.
"""

from __future__ import annotations

import uuid
import warnings
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from sciformers.neuro.spikes import Behavior, SpikeData, SpikeDataError, Stimulus


def _pynwb() -> Any:
    try:
        import pynwb
    except ImportError as err:
        raise ImportError("reading NWB files needs pynwb: pip install 'sciformers[neuro]'") from err
    return pynwb


def write_nwb(data: SpikeData, path: str | Path, session_description: str = "sciformers.neuro spikes") -> Path:
    """Write ``data`` to ``path`` (refuses to overwrite an existing file).

    Args:
        data: the recording.
        path: the ``.nwb`` file to create.
        session_description: NWB's required free-text description.

    Returns:
        The path written.
    """
    pynwb = _pynwb()
    from pynwb.behavior import BehavioralTimeSeries
    from pynwb.image import ImageSeries

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path}: exists; NWB files are never overwritten")
    nwb = pynwb.NWBFile(session_description=session_description, identifier=str(uuid.uuid4()),
                        session_start_time=datetime(2000, 1, 1, tzinfo=timezone.utc))
    order = np.argsort(data.ids, kind="stable")
    bounds = np.searchsorted(data.ids[order], np.arange(data.n_neurons + 1))
    for k in range(data.n_neurons):
        nwb.add_unit(spike_times=data.times[order[bounds[k]:bounds[k + 1]]], obs_intervals=[[data.t_start, data.t_stop]])
    if data.behavior is not None:
        module = nwb.create_processing_module("behavior", "behaviour variables")
        container = BehavioralTimeSeries(name="BehavioralTimeSeries")
        for d, name in enumerate(data.behavior.names):
            container.add_timeseries(pynwb.TimeSeries(name=name, data=data.behavior.values[:, d],
                                                      timestamps=data.behavior.t, unit="a.u."))
        module.add(container)
    if data.stimulus is not None:
        nwb.add_stimulus(ImageSeries(name="frames", data=data.stimulus.frames, rate=data.stimulus.fps,
                                     starting_time=data.stimulus.t0, unit="a.u."))
    if data.trials is not None:
        for start, stop in data.trials:
            nwb.add_trial(start_time=float(start), stop_time=float(stop))
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def _behavior_series(nwb: Any, path: Path) -> dict[str, Any]:
    """Every TimeSeries under ``processing['behavior']``, containers unpacked, by name."""
    if "behavior" not in nwb.processing:
        return {}
    found: dict[str, Any] = {}
    for obj in nwb.processing["behavior"].data_interfaces.values():
        inner = getattr(obj, "time_series", None)
        for ts in (inner.values() if inner is not None else [obj]):
            if hasattr(ts, "data"):
                found[ts.name] = ts
    return found


def _times(ts: Any) -> np.ndarray:
    if ts.timestamps is not None:
        return np.asarray(ts.timestamps[:], dtype=np.float64)
    return float(ts.starting_time or 0.0) + np.arange(len(ts.data)) / float(ts.rate)


@contextmanager
def open_nwb(path: str | Path) -> Iterator[Any]:
    """The ``NWBFile`` of ``path``, read-only.

    Raises:
        FileNotFoundError: if there is no such file.
        SpikeDataError: naming the file, if pynwb cannot read it (not HDF5, truncated, not NWB).
    """
    pynwb = _pynwb()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such NWB file")
    try:
        io = pynwb.NWBHDF5IO(str(path), "r")
        nwb = io.read()
    except Exception as err:  # h5py, hdmf and pynwb raise many kinds for a broken file
        raise SpikeDataError(f"{path}: not a readable NWB file ({type(err).__name__}: {err})") from err
    try:
        yield nwb
    finally:
        io.close()


def behavior_names(path: str | Path) -> list[str]:
    """Names of the behaviour TimeSeries in ``processing['behavior']`` of ``path``, sorted."""
    with open_nwb(path) as nwb:
        return sorted(_behavior_series(nwb, Path(path)))


def _span(nwb: Any, units: list[np.ndarray]) -> tuple[float, float]:
    """``[t_start, t_stop)``: the outer edges of the units' ``obs_intervals``, else the spikes' range."""
    if "obs_intervals" in nwb.units.colnames:
        edges = np.concatenate([np.asarray(nwb.units["obs_intervals"][k], dtype=np.float64).reshape(-1, 2)
                                for k in range(len(nwb.units))])
        return float(edges[:, 0].min()), float(edges[:, 1].max())
    all_t = np.concatenate(units) if units else np.zeros(0)
    return float(all_t.min(initial=0.0)), float(np.nextafter(all_t.max(initial=0.0), np.inf))


def read_nwb(path: str | Path, behavior_series: Sequence[str] | None = None, stimulus: str | None = None) -> SpikeData:
    """Read a :class:`SpikeData` from an NWB file.

    Args:
        path: the ``.nwb`` file.
        behavior_series: names of the behaviour TimeSeries to load (default: all of
            ``processing['behavior']``, resampled onto the first one's clock).
        stimulus: name of the ``ImageSeries`` in ``stimulus`` (default: the only one, if any).

    Spikes outside the outer edges of ``obs_intervals`` are dropped, with a warning that counts them.

    Raises:
        FileNotFoundError: if there is no such file.
        SpikeDataError: naming the file and the missing or malformed field (or that it is unreadable).
    """
    path = Path(path)
    with open_nwb(path) as nwb:
        if nwb.units is None or "spike_times" not in nwb.units.colnames:
            raise SpikeDataError(f"{path}: units: no units table with a spike_times column")
        units = [np.asarray(nwb.units["spike_times"][k], dtype=np.float64) for k in range(len(nwb.units))]
        t_start, t_stop = _span(nwb, units)
        outside = sum(int(np.sum((u < t_start) | (u >= t_stop))) for u in units)
        if outside:
            warnings.warn(f"{path}: {outside} spikes outside the units' obs_intervals [{t_start}, {t_stop}) dropped",
                          stacklevel=2)
            units = [u[(u >= t_start) & (u < t_stop)] for u in units]
        series = _behavior_series(nwb, path)
        names = list(behavior_series) if behavior_series is not None else sorted(series)
        behavior = None
        if names:
            missing = [n for n in names if n not in series]
            if missing:
                raise SpikeDataError(f"{path}: processing['behavior']: no series {missing}; found {sorted(series)}")
            t = _times(series[names[0]])
            cols_v = []
            for n in names:
                ts = series[n]
                v = np.asarray(ts.data[:], dtype=np.float64)
                if v.ndim != 1:
                    raise SpikeDataError(f"{path}: processing['behavior'][{n!r}]: expected a 1-D series, got {v.shape}")
                cols_v.append(np.interp(t, _times(ts), v))
            behavior = Behavior(t, np.stack(cols_v, axis=1), tuple(names))
        stim = None
        images = {k: v for k, v in nwb.stimulus.items() if hasattr(v, "data") and np.ndim(v.data) == 3}
        if stimulus is not None and stimulus not in images:
            raise SpikeDataError(f"{path}: stimulus: no 3-D ImageSeries {stimulus!r}; found {sorted(images)}")
        key = stimulus if stimulus is not None else (next(iter(images)) if len(images) == 1 else None)
        if key is not None:
            im = images[key]
            if im.rate is None:
                raise SpikeDataError(f"{path}: stimulus[{key!r}]: expected a constant frame rate (rate)")
            stim = Stimulus(np.asarray(im.data[:], dtype=np.float32), float(im.rate), float(im.starting_time or 0.0))
        trials = None
        if nwb.trials is not None and len(nwb.trials):
            trials = np.stack([np.asarray(nwb.trials["start_time"][:]), np.asarray(nwb.trials["stop_time"][:])], axis=1)
    try:
        return SpikeData.from_units(units, t_start=t_start, t_stop=t_stop, behavior=behavior, frames=stim, trials=trials)
    except SpikeDataError as err:
        raise SpikeDataError(f"{path}: {err}") from None
