"""``sciformers predict timeseries``: class predictions for ``.ts`` files with a ShapeFormer checkpoint.

The checkpoint is a :func:`~sciformers.timeseries.classification.classifier.save_classifier`
folder (the pipeline writes them to ``checkpoints/timeseries.shapeformer/<dataset>/seed<N>/``).
Inputs are ``.ts`` files (sktime's format; class labels optional) or folders of them. Series are
edge-padded or truncated to the training length, as in training. Each file's predictions are
written beside it as ``<stem>.predictions.csv`` (``series, predicted, [label,] p_<class>...``).
One line per file: ``file<TAB>n series<TAB>accuracy (or -)<TAB>csv file``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from sciformers.evaluation.datasets import input_files, register_predictor
from sciformers.timeseries.classification.classifier import load_classifier
from sciformers.timeseries.classification.data import pad_panel, read_ts

PREDICTIONS_SUFFIX = ".predictions.csv"


def predict_timeseries(checkpoint: Path, inputs: list[str]) -> list[str]:
    """Classify every series of every ``.ts`` input; write ``<stem>.predictions.csv`` beside each."""
    clf = load_classifier(checkpoint)
    channels, length = int(clf.network_kwargs_["channels"]), int(clf.series_length_)
    classes = [str(c) for c in clf.classes_]
    lines = []
    for path in input_files(inputs, (".ts",), ".ts file"):
        X, y = read_ts(path, allow_unequal=True)
        if X[0].shape[0] != channels:
            raise ValueError(f"{path}: {X[0].shape[0]} channel(s); the checkpoint was trained on {channels}")
        proba = clf.predict_proba(pad_panel(X, length))
        predicted = [classes[i] for i in proba.argmax(1)]
        out = path.with_name(path.stem + PREDICTIONS_SUFFIX)
        with out.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["series", "predicted"] + (["label"] if y is not None else []) + [f"p_{c}" for c in classes])
            for i, (pred, p) in enumerate(zip(predicted, proba)):
                writer.writerow([i, pred] + ([y[i]] if y is not None else []) + [f"{v:.6f}" for v in p])
        accuracy = f"{float(np.mean(np.array(predicted) == y)):.4f}" if y is not None else "-"
        lines.append(f"{path}\t{len(X)} series\t{accuracy}\t{out}")
    return lines


register_predictor("timeseries", predict_timeseries)
