"""The sktime estimator: sktime's own conformance suite, checkpoints, unequal lengths, shuffling."""

import numpy as np
import pandas as pd
import pytest
import torch

from sciformers.timeseries import ShapeFormerClassifier, load_classifier, save_classifier
from sciformers.timeseries.classification.planted import PlantedConfig, generate_split

TINY = ShapeFormerClassifier.get_test_params()[0]


def planted(n=24, seed=0):
    split = generate_split(PlantedConfig(seed=seed, channels=2, length=40, motif_length=10, jitter=4), n, 1)
    return split.X, np.array(["a", "b", "c"])[split.y]


def test_passes_sktime_check_estimator():
    from sktime.utils.estimator_checks import check_estimator

    results = check_estimator(ShapeFormerClassifier, raise_exceptions=False, verbose=False)
    failed = {k: v for k, v in results.items() if v != "PASSED"}
    assert not failed, failed
    assert len(results) > 100


def test_saved_and_loaded_classifier_predicts_the_same(tmp_path):
    X, y = planted()
    clf = ShapeFormerClassifier(**{**TINY, "num_shapelets": 2}, random_state=0).fit(X, y)
    save_classifier(clf, tmp_path / "ckpt")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_classifier(tmp_path / "ckpt")
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    assert loaded.predict(X).dtype.kind == "U"  # string labels come back


def test_refuses_another_models_checkpoint(tmp_path):
    from torch import nn

    from sciformers.core import save_model

    save_model(tmp_path / "other", nn.Linear(2, 2), {"model": "timeseries.itransformer"})
    with pytest.raises(ValueError, match="checkpoint is of model 'timeseries.itransformer'"):
        load_classifier(tmp_path / "other")


def test_fits_unequal_length_series_given_as_a_nested_dataframe():
    rng = np.random.default_rng(0)
    lengths = [18, 25, 20, 25, 22, 19, 25, 24]
    rows = [{f"c{c}": pd.Series(rng.standard_normal(n) + (i % 2) * 2) for c in range(2)} for i, n in enumerate(lengths)]
    X = pd.DataFrame(rows)
    y = np.array(["lo", "hi"] * 4)
    clf = ShapeFormerClassifier(**TINY, random_state=0).fit(X, y)
    assert clf.series_length_ == 25
    assert set(clf.predict(X)) <= {"lo", "hi"}
    longer = pd.DataFrame([{f"c{c}": pd.Series(rng.standard_normal(30)) for c in range(2)}])
    assert clf.predict(longer).shape == (1,)  # truncated to the training length


def test_training_batches_are_shuffled_and_seeded():
    clf = ShapeFormerClassifier(batch_size=4, random_state=3)
    X = np.arange(12, dtype=float).reshape(12, 1, 1).repeat(3, axis=2)
    y = np.arange(12) % 2
    orders = [torch.cat([b[1] for b in clf._build_dataloader(X, y)]) for _ in range(2)]
    first = torch.cat([b[0]["X"][:, 0, 0] for b in clf._build_dataloader(X, y)])
    assert not torch.equal(first, torch.arange(12.0))  # not the data order
    torch.testing.assert_close(orders[0], orders[1])  # the same order for the same seed
    predict_order = torch.cat([b["X"][:, 0, 0] for b in clf._build_dataloader(X)])
    torch.testing.assert_close(predict_order, torch.arange(12.0, dtype=torch.float32))


def test_nan_input_is_refused_before_training():
    X, y = planted(12)
    X[3, 1, 5] = np.nan
    with pytest.raises(ValueError, match="(?i)missing|nan"):
        ShapeFormerClassifier(**TINY).fit(X, y)


def test_normalized_classifier_ignores_each_series_scale_and_offset():
    X, y = planted()
    rng = np.random.default_rng(1)
    scale = rng.uniform(0.01, 100.0, (len(X), X.shape[1], 1))  # per series and channel
    offset = rng.normal(0, 50, (len(X), X.shape[1], 1))
    fit = dict(TINY, num_shapelets=2, random_state=0, normalize=True)
    clf = ShapeFormerClassifier(**fit).fit(X, y)
    moved = ShapeFormerClassifier(**fit).fit(X * scale + offset, y)
    assert [s.start for s in clf.shapelets_] == [s.start for s in moved.shapelets_]
    np.testing.assert_allclose(moved.predict_proba(X * scale + offset), clf.predict_proba(X), atol=1e-4)
    raw = ShapeFormerClassifier(**{**fit, "normalize": False}).fit(X, y)
    assert not np.allclose(raw.predict_proba(X * scale + offset), raw.predict_proba(X), atol=1e-4)
