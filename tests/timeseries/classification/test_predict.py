"""``sciformers predict timeseries``: a saved ShapeFormer classifies ``.ts`` files; one CSV under --out only."""

import csv
from dataclasses import replace

import numpy as np
import pytest

from sciformers.evaluation.cli import main
from sciformers.evaluation.datasets import PredictRequest
from sciformers.timeseries import ShapeFormerClassifier, save_classifier
from sciformers.timeseries.classification.predict import TABLE, predict_timeseries
from sciformers.timeseries.classification.planted import PlantedConfig, generate_split

TINY = ShapeFormerClassifier.get_test_params()[0]
CONFIG = PlantedConfig(seed=0, channels=2, length=40, motif_length=10, jitter=4)


def write_ts(path, X, labels=None):
    """A ``.ts`` file written by hand (sktime's format), labelled or not."""
    head = ["@problemName toy", "@timeStamps false", "@missing false", f"@univariate {str(X.shape[1] == 1).lower()}",
            "@equalLength true", f"@seriesLength {X.shape[2]}",
            "@classLabel " + (f"true {' '.join(sorted(set(labels)))}" if labels is not None else "false"), "@data"]
    rows = [":".join(",".join(f"{v:.6f}" for v in ch) for ch in x) + (f":{labels[i]}" if labels is not None else "")
            for i, x in enumerate(X)]
    path.write_text("\n".join(head + rows) + "\n")
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    split = generate_split(CONFIG, 24, 1)
    clf = ShapeFormerClassifier(**{**TINY, "num_shapelets": 2}, random_state=0)
    clf.fit(split.X, np.array(["a", "b", "c"])[split.y])
    return clf, save_classifier(clf, tmp_path_factory.mktemp("ckpt") / "shapeformer")


def test_predictions_match_the_classifier_are_scored_against_labels_and_land_under_out(fitted, tmp_path, capsys):
    clf, ckpt = fitted
    test = generate_split(CONFIG, 15, 2)
    labels = list(np.array(["a", "b", "c"])[test.y])
    data = tmp_path / "data"
    data.mkdir()
    labelled = write_ts(data / "Toy_TEST.ts", test.X, labels)
    unlabelled = write_ts(data / "new.ts", test.X)
    out = tmp_path / "out"
    assert main(["predict", "timeseries", "--checkpoint", str(ckpt), "--out", str(out), str(data)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    expected = clf.predict(np.round(test.X, 6))
    accuracy = float(np.mean(expected == np.array(labels)))
    assert lines[0].split("\t") == [str(labelled), "15 series", f"{accuracy:.4f}"]
    assert lines[1].split("\t") == [str(unlabelled), "15 series", "-"]
    assert sorted(p.name for p in data.iterdir()) == ["Toy_TEST.ts", "new.ts"]  # nothing beside the inputs
    rows = list(csv.DictReader((out / TABLE).open()))
    for path, file_labels in ((labelled, labels), (unlabelled, [""] * 15)):
        mine = [r for r in rows if r["file"] == str(path)]
        assert [r["predicted"] for r in mine] == list(expected) and [r["label"] for r in mine] == file_labels
        assert [int(r["series"]) for r in mine] == list(range(15))
    assert all(abs(sum(float(r[f"p_{c}"]) for c in "abc") - 1) < 1e-4 for r in rows)


def test_a_file_with_other_channels_is_refused_or_skipped(fitted, tmp_path):
    _, ckpt = fitted
    bad = write_ts(tmp_path / "one_channel.ts", np.zeros((3, 1, 40)) + np.arange(40))
    good = write_ts(tmp_path / "two.ts", generate_split(CONFIG, 3, 4).X)
    request = PredictRequest(ckpt, [str(bad), str(good)], tmp_path / "out")
    request.out_dir.mkdir()
    with pytest.raises(ValueError, match="one_channel.ts: 1 channel\\(s\\); the checkpoint was trained on 2"):
        predict_timeseries(request)
    assert not (request.out_dir / TABLE).exists()  # every input is checked before anything is written
    result = predict_timeseries(replace(request, inputs=[str(bad), str(tmp_path / "missing.ts"), str(good)],
                                        skip_invalid=True))
    assert [item for item, _ in result.skipped] == [str(bad), str(tmp_path / "missing.ts")]
    assert "the checkpoint was trained on 2" in result.skipped[0][1]
    assert [line.split("\t")[0] for line in result.lines] == [str(good)]
    assert result.written == [request.out_dir / TABLE]


def test_an_unlabelled_file_cannot_train(tmp_path):
    from sciformers.timeseries import load_ts

    path = write_ts(tmp_path / "u.ts", np.zeros((2, 1, 5)) + np.arange(5))
    with pytest.raises(ValueError, match="u.ts: the file has no class labels"):
        load_ts(path)


def test_predict_reads_the_network_without_sktime_and_agrees_with_the_classifier(tmp_path):
    """The predictor's own read of the checkpoint (no sktime: start-up) gives the classifier's
    probabilities, z-normalisation included."""
    import subprocess
    import sys

    from sciformers.core import load_model_state
    from sciformers.timeseries.classification.data import z_normalize
    from sciformers.timeseries.classification.shapeformer import ShapeFormer, predict_proba

    split = generate_split(CONFIG, 18, 3)
    clf = ShapeFormerClassifier(**{**TINY, "normalize": True}, random_state=1).fit(split.X * 5 + 2, split.y)
    ckpt = save_classifier(clf, tmp_path / "ckpt")
    state, config = load_model_state(ckpt)
    network = ShapeFormer(**config["kwargs"])
    network.load_state_dict(state)
    test = generate_split(CONFIG, 6, 4).X * 5 + 2
    mine = predict_proba(network, np.stack(z_normalize(list(test))))
    assert np.allclose(mine, clf.predict_proba(test), atol=1e-6)

    code = ("import sys; import sciformers.timeseries, sciformers.timeseries.classification.predict; "
            "assert 'sktime' not in sys.modules, 'sktime imported'; "
            "from sciformers.timeseries import ShapeFormerClassifier, ITransformerForecaster; "
            "assert 'sktime' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
