"""``sciformers predict timeseries``: a saved ShapeFormer classifies the series of ``.ts`` files."""

import csv

import numpy as np
import pytest

from sciformers.evaluation.cli import main
from sciformers.timeseries import ShapeFormerClassifier, save_classifier
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


def test_predictions_match_the_classifier_and_are_scored_against_labels(fitted, tmp_path, capsys):
    clf, ckpt = fitted
    test = generate_split(CONFIG, 15, 2)
    labels = list(np.array(["a", "b", "c"])[test.y])
    labelled = write_ts(tmp_path / "Toy_TEST.ts", test.X, labels)
    unlabelled = write_ts(tmp_path / "new.ts", test.X)
    assert main(["predict", "timeseries", "--checkpoint", str(ckpt), str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    expected = clf.predict(np.round(test.X, 6))
    accuracy = float(np.mean(expected == np.array(labels)))
    assert lines[0].split("\t")[:3] == [str(labelled), "15 series", f"{accuracy:.4f}"]
    assert lines[1].split("\t")[:3] == [str(unlabelled), "15 series", "-"]
    for path, has_label in ((labelled, True), (unlabelled, False)):
        rows = list(csv.DictReader(path.with_name(path.stem + ".predictions.csv").open()))
        assert [r["predicted"] for r in rows] == list(expected)
        assert ("label" in rows[0]) == has_label
        assert all(abs(sum(float(r[f"p_{c}"]) for c in "abc") - 1) < 1e-4 for r in rows)


def test_a_file_with_other_channels_is_refused(fitted, tmp_path):
    _, ckpt = fitted
    path = write_ts(tmp_path / "one_channel.ts", np.zeros((3, 1, 40)) + np.arange(40))
    with pytest.raises(ValueError, match="one_channel.ts: 1 channel\\(s\\); the checkpoint was trained on 2"):
        from sciformers.timeseries import predict_timeseries

        predict_timeseries(ckpt, [str(path)])


def test_an_unlabelled_file_cannot_train(tmp_path):
    from sciformers.timeseries import load_ts

    path = write_ts(tmp_path / "u.ts", np.zeros((2, 1, 5)) + np.arange(5))
    with pytest.raises(ValueError, match="u.ts: the file has no class labels"):
        load_ts(path)
