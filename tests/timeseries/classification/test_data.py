"""Loaders (sktime wheel, user .ts files), input checks and the planted-shapelet generator's physics."""

import numpy as np
import pytest

from sciformers.timeseries.classification.data import load_shipped, load_ts, load_ts_pair, pad_panel, validate_panel
from sciformers.timeseries.classification.planted import PlantedConfig, generate_split, motifs

EQUAL_TS = """# a test file
@problemName Tiny
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 4
@classLabel true up down
@data
1,2,3,4:0,0,1,1:up
4,3,2,1:1,1,0,0:down
2,3,4,5:0,1,1,1:up
"""

UNEQUAL_TS = EQUAL_TS.replace("@equalLength true", "@equalLength false").replace("@seriesLength 4\n", "").replace(
    "4,3,2,1:1,1,0,0:down", "4,3,2:1,1,0:down")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ts_loader_reads_a_file_the_test_wrote(tmp_path):
    X, y = load_ts(write(tmp_path, "Tiny_TRAIN.ts", EQUAL_TS))
    assert y.tolist() == ["up", "down", "up"]
    np.testing.assert_array_equal(X[1], [[4, 3, 2, 1], [1, 1, 0, 0]])


def test_ts_loader_accepts_declared_unequal_lengths_and_pads_by_edge(tmp_path):
    X, _ = load_ts(write(tmp_path, "u.ts", UNEQUAL_TS))
    assert [x.shape for x in X] == [(2, 4), (2, 3), (2, 4)]
    np.testing.assert_array_equal(pad_panel(X, 4)[1], [[4, 3, 2, 2], [1, 1, 0, 0]])


def test_ts_loader_refuses_undeclared_ragged_series(tmp_path):
    text = EQUAL_TS.replace("4,3,2,1:1,1,0,0:down", "4,3,2:1,1,0:down").replace("@seriesLength 4\n", "")
    with pytest.raises(ValueError, match="different lengths .* not declared unequal-length"):
        load_ts(write(tmp_path, "r.ts", text), allow_unequal=False)


def test_ts_loader_names_missing_values(tmp_path):
    text = EQUAL_TS.replace("@missing false", "@missing true").replace("2,3,4,5:0,1,1,1", "2,3,4,5:0,?,1,1")
    with pytest.raises(ValueError, match=r"m\.ts: series 2, channel 1, time 1 is nan"):
        load_ts(write(tmp_path, "m.ts", text))


def test_ts_loader_reports_malformed_files(tmp_path):
    with pytest.raises(ValueError, match=r"bad\.ts: not a valid \.ts file"):
        load_ts(write(tmp_path, "bad.ts", EQUAL_TS.replace("@data\n", "")))
    with pytest.raises(FileNotFoundError, match="no such .ts file"):
        load_ts(tmp_path / "absent.ts")


def test_ts_pair_refuses_unseen_test_labels(tmp_path):
    train = write(tmp_path, "a_TRAIN.ts", EQUAL_TS)
    test = write(tmp_path, "a_TEST.ts", EQUAL_TS.replace(":down", ":sideways").replace("up down", "up down sideways"))
    with pytest.raises(ValueError, match=r"labels \['sideways'\] never occur"):
        load_ts_pair("a", train, test)


def test_validate_panel_errors_name_the_problem():
    X = [np.zeros((2, 5)) for _ in range(3)]
    with pytest.raises(ValueError, match="3 series but 2 labels"):
        validate_panel(X, ["a", "b"], "mydata")
    with pytest.raises(ValueError, match="series 1 has 3 channels"):
        validate_panel([X[0], np.zeros((3, 5)), X[2]], ["a", "b", "c"], "mydata")
    bad = [x.copy() for x in X]
    bad[2][1, 4] = np.inf
    with pytest.raises(ValueError, match="mydata: series 2, channel 1, time 4 is inf"):
        validate_panel(bad, ["a", "b", "c"], "mydata")


def test_shipped_datasets_load_from_the_wheel():
    bm = load_shipped("BasicMotions")
    assert bm.summary() == {"name": "BasicMotions", "train": 40, "test": 40, "channels": 6, "min_length": 100,
                            "max_length": 100, "classes": 4}
    jv = load_shipped("JapaneseVowels")  # unequal length, declared by the file
    s = jv.summary()
    assert (s["train"], s["test"], s["channels"], s["classes"]) == (270, 370, 12, 9)
    assert s["min_length"] < s["max_length"] == 29
    with pytest.raises(KeyError, match="sktime ships"):
        load_shipped("NotADataset")


def test_planted_noise_is_stationary_ar1():
    cfg = PlantedConfig(seed=3, phi=0.7, sigma=2.0, length=200)
    split = generate_split(cfg, 300, 1)
    e = split.noise
    assert e.var() == pytest.approx(cfg.sigma ** 2, rel=0.05)
    lag1 = (e[..., 1:] * e[..., :-1]).mean() / e.var()
    assert lag1 == pytest.approx(cfg.phi, abs=0.02)
    assert e[..., 0].var() == pytest.approx(cfg.sigma ** 2, rel=0.15)  # stationary from the first step


def test_planted_motif_sits_exactly_at_the_ground_truth():
    cfg = PlantedConfig(seed=4)
    split = generate_split(cfg, 30, 2)
    shapes = motifs(cfg)
    for i in range(30):
        signal = split.X[i] - split.noise[i]
        c, s = split.channels[i], split.starts[i]
        np.testing.assert_allclose(signal[c, s:s + cfg.motif_length], shapes[split.y[i]], atol=1e-12)
        signal[c, s:s + cfg.motif_length] = 0
        assert np.abs(signal).max() == 0  # nothing planted anywhere else
    assert np.bincount(split.y).tolist() == [10, 10, 10]
    # same seed, same data; the class layout is shared by train and test
    again = generate_split(cfg, 30, 2)
    np.testing.assert_array_equal(again.X, split.X)
    train = generate_split(cfg, 30, 1)
    assert {(int(k), int(c)) for k, c in zip(train.y, train.channels)} == {
        (int(k), int(c)) for k, c in zip(split.y, split.channels)}


def _shipped_ts_files():
    from pathlib import Path

    import sktime.datasets

    from sciformers.timeseries.classification.data import SHIPPED

    root = Path(sktime.datasets.__file__).parent / "data"
    files = [root / name / f"{name}_{split}.ts" for name in sorted(SHIPPED) for split in ("TRAIN", "TEST")]
    assert all(f.is_file() for f in files), [str(f) for f in files if not f.is_file()]
    return files


@pytest.mark.parametrize("path", _shipped_ts_files(), ids=lambda p: p.name)
def test_ts_reader_agrees_with_sktimes_reader_on_every_shipped_file(path):
    """Our reader against sktime's (the oracle) on the archive files the package ships."""
    from sktime.datasets import load_from_tsfile_to_dataframe

    from sciformers.timeseries.classification.data import panel_to_list, read_ts

    X, y = read_ts(path, allow_unequal=True)
    frame = load_from_tsfile_to_dataframe(str(path), return_separate_X_and_y=False)
    expected_y = frame.pop("class_vals").to_numpy().astype(str)
    expected = panel_to_list(frame, str(path))
    assert y.tolist() == expected_y.tolist() and len(X) == len(expected)
    assert all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(X, expected))


def test_ts_reader_reads_sktimes_own_unlabelled_files(tmp_path):
    """sktime's writer ends every unlabelled line with ':'; those files read as unlabelled series."""
    from sktime.datasets import write_ndarray_to_tsfile

    from sciformers.timeseries.classification.data import read_ts

    X = np.arange(24, dtype=float).reshape(3, 2, 4)
    write_ndarray_to_tsfile(X, str(tmp_path), problem_name="toy", class_label=None, fold="_NEW")
    path = next(tmp_path.rglob("*.ts"))
    assert any(line.endswith(":") for line in path.read_text().splitlines() if line[:1].isdigit())
    series, labels = read_ts(path)
    assert labels is None and np.array_equal(np.stack(series), X)


def test_ts_reader_errors_name_the_line(tmp_path):
    from sciformers.timeseries.classification.data import read_ts

    with pytest.raises(ValueError, match=r"x\.ts: line 13, channel 1: expected comma-separated numbers"):
        read_ts(write(tmp_path, "x.ts", EQUAL_TS.replace("0,1,1,1:up", "0,one,1,1:up")))
    with pytest.raises(ValueError, match=r"line 12: class label 'left' is not among the declared"):
        read_ts(write(tmp_path, "y.ts", EQUAL_TS.replace(":down", ":left")))
    with pytest.raises(ValueError, match=r"line 11: channels have different lengths \[4, 3\]"):
        read_ts(write(tmp_path, "z.ts", EQUAL_TS.replace("1,2,3,4:0,0,1,1", "1,2,3,4:0,0,1")))
    with pytest.raises(ValueError, match="@timeStamps true is not supported"):
        read_ts(write(tmp_path, "t.ts", EQUAL_TS.replace("@timeStamps false", "@timeStamps true")))
