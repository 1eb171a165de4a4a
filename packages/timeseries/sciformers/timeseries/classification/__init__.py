"""Time series classification: ShapeFormer (Le et al., KDD 2024) with Offline Shapelet Discovery.

>>> from sciformers.timeseries import ShapeFormerClassifier, load_shipped
>>> data = load_shipped("BasicMotions")

The benchmark task (``classification.task``) and ``sciformers predict timeseries``
(``classification.predict``) are harness modules, imported on demand (see ``TASK_MODULES``).
"""

import importlib.util
from typing import Any

from sciformers.core import register_model

if importlib.util.find_spec("sktime") is None:  # pragma: no cover
    raise ImportError("sciformers.timeseries classification needs sktime: pip install 'sciformers[timeseries]'")

from sciformers.timeseries.classification.data import (  # noqa: E402
    SHIPPED,
    ClassificationData,
    load_shipped,
    load_ts,
    load_ts_pair,
    pad_panel,
    read_ts,
    validate_panel,
)
from sciformers.timeseries.classification.discovery import Shapelet, discover_shapelets, information_gain  # noqa: E402
from sciformers.timeseries.classification.peers import convtran, dtw_1nn, minirocket  # noqa: E402
from sciformers.timeseries.classification.planted import PlantedConfig, generate_split, planted_dataset  # noqa: E402
from sciformers.timeseries.classification.shapeformer import ShapeFormer, ShapeletFilter  # noqa: E402

#: Names served by ``classifier`` (sktime's deep-learning base, ~1 s to import): loaded on first use,
#: so ``import sciformers.timeseries`` and ``sciformers predict timeseries`` do not import sktime.
#: (Not in ``__all__``, so a star import does not load them either.)
CLASSIFIER_NAMES = ("ShapeFormerClassifier", "load_classifier", "save_classifier")


def __getattr__(name: str) -> Any:
    if name in CLASSIFIER_NAMES:
        from sciformers.timeseries.classification import classifier

        return getattr(classifier, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The estimator's registry name, as pipelines name it (the network inside is ``timeseries.shapeformer``).
CLASSIFIER_NAME = "timeseries.shapeformer_classifier"


@register_model(CLASSIFIER_NAME, kind="estimator",
                test_kwargs={"num_epochs": 1, "batch_size": 4, "dim": 8, "generic_dim": 4, "heads": 2, "ffn_dim": 8,
                             "num_shapelets": 1, "discovery_window": 5, "scan_window": 5})
def shapeformer_classifier(**params: Any) -> Any:
    """A :class:`~sciformers.timeseries.classification.classifier.ShapeFormerClassifier` (imports sktime)."""
    from sciformers.timeseries.classification.classifier import ShapeFormerClassifier

    return ShapeFormerClassifier(**params)


__all__ = [
    "SHIPPED",
    "ClassificationData",
    "PlantedConfig",
    "ShapeFormer",
    "Shapelet",
    "ShapeletFilter",
    "convtran",
    "discover_shapelets",
    "dtw_1nn",
    "generate_split",
    "information_gain",
    "load_shipped",
    "load_ts",
    "load_ts_pair",
    "minirocket",
    "pad_panel",
    "planted_dataset",
    "read_ts",
    "validate_panel",
]
