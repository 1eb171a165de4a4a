"""A user's NWB recording end to end: read (units, obs_intervals, behaviour by name, corrupt files), the pipeline's
smoke preset on it with a contiguous split, and ``sciformers predict neuro`` writing generated spikes to a new NWB."""

import json
import uuid
from datetime import datetime, timezone

import numpy as np
import pytest

from sciformers.neuro import SpikeData, SpikeDataError

pynwb = pytest.importorskip("pynwb")


def write_recording(path, duration=8.0, n=6, behaviour=("speed", "pupil"), seed=0):
    """An NWB file as a lab would write it with pynwb: a units table with obs_intervals (spikes outside them
    included), behaviour TimeSeries in processing['behavior']; neuron 0 drives neuron 1 by 3 ms."""
    from pynwb.behavior import BehavioralTimeSeries

    rng = np.random.default_rng(seed)
    nwb = pynwb.NWBFile(session_description="test", identifier=str(uuid.uuid4()),
                        session_start_time=datetime(2020, 1, 1, tzinfo=timezone.utc))
    t = np.arange(0.0, duration + 0.5, 0.01)
    speed = 1 + np.sin(t)
    units = [np.sort(rng.uniform(0.5, duration + 0.5, int(15 * duration))) for _ in range(n)]
    units[1] = np.sort(np.r_[units[1], units[0][units[0] < duration + 0.49] + 0.003])
    for times in units:
        nwb.add_unit(spike_times=np.r_[0.2, times], obs_intervals=[[0.5, duration + 0.5]])  # 0.2 s: before the interval
    module = nwb.create_processing_module("behavior", "behaviour")
    container = BehavioralTimeSeries(name="BehavioralTimeSeries")
    for name in behaviour:
        container.add_timeseries(pynwb.TimeSeries(name=name, data=speed if name == "speed" else np.cos(t),
                                                  timestamps=t, unit="a.u."))
    module.add(container)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def test_units_obs_intervals_and_behaviour_by_name(tmp_path):
    from sciformers.neuro.data import read_recording

    path = write_recording(tmp_path / "rec.nwb")
    with pytest.warns(UserWarning, match="outside the units' obs_intervals"):
        spikes = read_recording(path, behavior="speed")
    assert (spikes.t_start, spikes.t_stop) == (0.5, 8.5) and spikes.times.min() >= 0.5  # t_stop from obs_intervals
    assert spikes.n_neurons == 6 and spikes.behavior.names == ("speed",)
    with pytest.raises(SpikeDataError, match=r"several behaviour series \['pupil', 'speed'\].*data.behavior"):
        read_recording(path, behavior=None)
    with pytest.raises(SpikeDataError, match=r"no behaviour series 'running'; found \['pupil', 'speed'\]"):
        read_recording(path, behavior="running")


def test_a_corrupt_file_is_an_error_naming_it(tmp_path):
    bad = tmp_path / "broken.nwb"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 200)
    with pytest.raises(SpikeDataError, match="broken.nwb"):
        SpikeData.from_nwb(bad)
    with pytest.raises(FileNotFoundError, match="missing.nwb"):
        SpikeData.from_nwb(tmp_path / "missing.nwb")


def test_the_smoke_pipeline_and_predict_on_a_user_recording(tmp_path, capsys):
    from sciformers.evaluation.cli import main
    from sciformers.evaluation.pipeline import run_pipeline

    path = write_recording(tmp_path / "rec.nwb")
    overrides = [f"data.path={path}", "data.behavior=speed", "train.steps=6", "train.eval_every=3",
                 "stages.behavior.steps=2", "eval.readout_windows=20"]
    run_pipeline("neuro/simulated_circuit", preset="smoke", overrides=overrides, out=tmp_path / "run", quiet=True)
    records = {r["model"]: r["metrics"] for r in map(json.loads, (tmp_path / "run" / "records.jsonl").read_text().splitlines())}
    assert set(records) == {"poisson", "neuroformer", "glm", "ccg", "ridge"}
    nf = records["neuroformer"]
    assert {"bits_per_spike", "f1_ids", "behavior_r_1pct", "behavior_r_100pct_scratch"} <= set(nf)
    assert not any(k.startswith(("conn_", "direction", "hubs", "psth")) for m in records.values() for k in m)  # no ground truth
    assert np.isfinite(records["glm"]["bits_per_spike"]) and "behavior_r_100pct" in records["ridge"]

    ckpt = tmp_path / "run" / "checkpoints" / "neuroformer" / "seed0" / "final"
    out = tmp_path / "predicted"
    assert main(["predict", "neuro", "--checkpoint", str(ckpt), "--out", str(out), "--option", "duration=2.0",
                 str(path)]) == 0
    generated = out / "rec_generated.nwb"
    assert sorted(p.name for p in out.iterdir()) == ["rec_generated.nwb"] and path.is_file()
    back = SpikeData.from_nwb(generated)
    assert back.n_neurons == 6 and back.t_start == pytest.approx(0.55) and back.t_stop == pytest.approx(2.55)
    assert back.ids.size > 0 and back.behavior.names == ("decoded_speed",)  # the behaviour decoder sits beside final/
    bad = tmp_path / "broken.nwb"
    bad.write_bytes(b"not an hdf5 file")
    capsys.readouterr()
    assert main(["predict", "neuro", "--checkpoint", str(ckpt), "--out", str(tmp_path / "p2"), str(bad)]) == 2
    assert "broken.nwb: not a readable NWB file" in capsys.readouterr().err
