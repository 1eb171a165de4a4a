"""``sciformers predict timeseries``: class predictions for ``.ts`` files with a ShapeFormer checkpoint.

    sciformers predict timeseries --checkpoint RUN/checkpoints/timeseries.shapeformer/basic_motions/seed0 \\
        --out DIR [--skip-invalid] new.ts more.ts folder/ ...

The checkpoint is a :func:`~sciformers.timeseries.classification.classifier.save_classifier`
folder (the pipeline writes them to ``checkpoints/timeseries.shapeformer/<dataset task>/seed<N>/``).
Inputs are ``.ts`` files (sktime's format; class labels optional) or folders of them; every file
is read and checked (its channel count against the checkpoint's) before anything is predicted.
Series are z-normalised (when the classifier was trained so) and edge-padded or truncated to the
training length, as in training; the network is read without sktime (start-up). ``DIR/predictions.csv``
holds ``file,series,predicted,label,p_<class>...`` (``label`` empty for a file without labels).
One line per file is printed: ``file<TAB>n series<TAB>accuracy (or -)``. Nothing is written
outside ``DIR``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from sciformers.core import load_model_state
from sciformers.evaluation.datasets import PredictRequest, PredictResult, Predictor, input_files, register_predictor
from sciformers.timeseries.classification.data import pad_panel, read_ts, z_normalize
from sciformers.timeseries.classification.shapeformer import ShapeFormer, predict_proba

TABLE = "predictions.csv"


def _read(path: Path, channels: int) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The series and labels of one ``.ts`` file, refused unless it has ``channels`` channels."""
    X, y = read_ts(path, allow_unequal=True)
    if X[0].shape[0] != channels:
        raise ValueError(f"{path}: {X[0].shape[0]} channel(s); the checkpoint was trained on {channels}")
    return X, y


def predict_timeseries(request: PredictRequest) -> PredictResult:
    """Classify every series of every ``.ts`` input; ``predictions.csv`` under ``request.out_dir``.

    Raises:
        FileNotFoundError, ValueError: for a missing, malformed or mismatched input, naming it
            (unless ``skip_invalid``: then it is reported in ``skipped``).
    """
    state, config = load_model_state(request.checkpoint, expected_model="timeseries.shapeformer")
    network = ShapeFormer(**config["kwargs"])
    network.load_state_dict(state)
    channels, length = int(config["n_channels"]), int(config["series_length"])
    normalize = bool(config["params"].get("normalize", False))
    classes = [str(c) for c in config["classes"]]
    result = PredictResult()

    def bad(item: str, err: Exception) -> None:
        if not request.skip_invalid:
            raise err
        result.skipped.append((item, str(err).removeprefix(f"{item}: ")))

    panels: list[tuple[Path, list[np.ndarray], np.ndarray | None]] = []
    for item in request.inputs:
        try:
            paths = input_files([item], (".ts",), ".ts file")
        except (FileNotFoundError, ValueError) as err:
            bad(item, err)
            continue
        for path in paths:
            try:
                panels.append((path, *_read(path, channels)))
            except (FileNotFoundError, ValueError) as err:
                bad(str(path), err)
    rows = []
    for path, X, y in panels:
        proba = predict_proba(network, pad_panel(z_normalize(X) if normalize else X, length))
        predicted = [classes[i] for i in proba.argmax(1)]
        rows += [[str(path), i, pred, "" if y is None else y[i], *(f"{v:.6f}" for v in p)]
                 for i, (pred, p) in enumerate(zip(predicted, proba))]
        accuracy = f"{float(np.mean(np.array(predicted) == y)):.4f}" if y is not None else "-"
        result.lines.append(f"{path}\t{len(X)} series\t{accuracy}")
    if rows:
        table = request.out_dir / TABLE
        with table.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["file", "series", "predicted", "label", *(f"p_{c}" for c in classes)])
            writer.writerows(rows)
        result.written.append(table)
    return result


register_predictor("timeseries", Predictor(
    predict_timeseries,
    ".ts files (sktime's format, class labels optional) or folders of them, with the checkpoint's channel count; "
    "writes predictions.csv (file,series,predicted,label,p_<class>...)",
))
