"""SpikeData constructors, validation errors naming the field, and the NWB round trip."""

import numpy as np
import pytest

from sciformers.neuro import Behavior, SpikeData, SpikeDataError, Stimulus


def test_from_times_sorts_and_exposes_arrays():
    d = SpikeData.from_times([0.3, 0.1, 0.1, 0.2], [1, 2, 0, 1], n_neurons=3, t_stop=1.0)
    np.testing.assert_allclose(d.times, [0.1, 0.1, 0.2, 0.3])
    np.testing.assert_array_equal(d.ids, [0, 2, 1, 1])
    np.testing.assert_allclose(d.rates(), [1.0, 2.0, 1.0])


def test_from_units_and_from_binned_agree():
    units = [np.array([0.01, 0.035]), np.array([]), np.array([0.02])]
    a = SpikeData.from_units(units, t_stop=0.05)
    counts = a.binned(0.01)
    np.testing.assert_array_equal(counts.sum(0), [2, 0, 1])
    b = SpikeData.from_binned(counts, 0.01)
    np.testing.assert_array_equal(b.binned(0.01), counts)
    assert b.n_neurons == 3 and b.t_stop == pytest.approx(0.05)


@pytest.mark.parametrize("kwargs, field", [
    (dict(times=[0.2, 0.1], ids=[0, 0], n_neurons=1, t_start=0.0, t_stop=1.0), "times: not sorted"),
    (dict(times=[0.1, 0.2], ids=[0, 5], n_neurons=2, t_start=0.0, t_stop=1.0), "ids: expected values in"),
    (dict(times=[0.1, 1.5], ids=[0, 0], n_neurons=1, t_start=0.0, t_stop=1.0), "times: spikes outside"),
    (dict(times=[0.1], ids=[0.5], n_neurons=1, t_start=0.0, t_stop=1.0), "ids: expected integer"),
])
def test_bad_events_name_the_field(kwargs, field):
    with pytest.raises(SpikeDataError, match=field):
        SpikeData(np.asarray(kwargs.pop("times")), np.asarray(kwargs.pop("ids")), **kwargs)


def test_behaviour_on_another_clock_is_refused():
    t_ms = np.arange(0, 10_000, 10.0)  # milliseconds, spikes in seconds
    with pytest.raises(SpikeDataError, match="behavior.t"):
        SpikeData.from_times([0.5, 1.0], [0, 0], t_stop=10.0, behavior=(t_ms, np.zeros_like(t_ms)))
    with pytest.raises(SpikeDataError, match="behavior.values"):
        SpikeData.from_times([0.5], [0], t_stop=1.0, behavior=(np.linspace(0, 1, 5), [0, 1, np.nan, 1, 0]))


def test_nwb_round_trip(tmp_path):
    pytest.importorskip("pynwb")
    rng = np.random.default_rng(0)
    t = np.linspace(0, 2, 201)
    frames = rng.random((40, 6, 6)).astype(np.float32)
    d = SpikeData.from_times(rng.uniform(0, 2, 300), rng.integers(0, 7, 300), n_neurons=8, t_start=0.0, t_stop=2.0,
                             behavior=(t, np.stack([np.sin(t), t], 1)), behavior_names=["speed", "pupil"],
                             frames=(frames, 20.0), trials=np.array([[0.0, 1.0], [1.0, 2.0]]))
    path = d.to_nwb(tmp_path / "rec.nwb")
    with pytest.raises(FileExistsError):
        d.to_nwb(path)
    back = SpikeData.from_nwb(path)
    assert back.n_neurons == 8  # the silent unit 7 survives
    np.testing.assert_allclose(back.times, d.times)
    np.testing.assert_array_equal(back.ids, d.ids)
    assert (back.t_start, back.t_stop) == (0.0, 2.0)
    assert back.behavior.names == ("pupil", "speed")
    np.testing.assert_allclose(back.behavior.values[:, 1], np.sin(t))
    np.testing.assert_allclose(back.stimulus.frames, frames)
    assert back.stimulus.fps == 20.0
    np.testing.assert_allclose(back.trials, d.trials)
    with pytest.raises(SpikeDataError, match="no series"):
        SpikeData.from_nwb(path, behavior_series=["running"])


def test_slice_select_and_stimulus_index():
    d = SpikeData.from_times([0.1, 0.2, 0.3], [0, 1, 2], n_neurons=3, t_stop=1.0)
    s = d.slice(0.15, 0.35).select([2, 1])
    np.testing.assert_array_equal(s.ids, [1, 0])
    stim = Stimulus(np.zeros((4, 2, 2)), fps=10.0)
    np.testing.assert_array_equal(stim.frame_index(np.array([0.0, 0.15, 5.0])), [0, 1, 3])
    b = Behavior(np.array([0.0, 1.0]), np.array([[0.0], [2.0]]), ("x",))
    np.testing.assert_allclose(b.at(np.array([0.25])), [[0.5]])
