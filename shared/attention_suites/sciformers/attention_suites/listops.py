"""The ``attention.listops`` task: ListOps classification with different attention kernels side by side.

Long Range Arena's ListOps (Tay et al. 2021) tests hierarchical reasoning over long sequences;
here every attention variant trains the same small encoder classifier on the same generated
data, beside the majority-class baseline. Accuracy on the whole test set.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.core import Config, cache_dir, cached_file, create_model, load_model_state
from sciformers.evaluation.datasets import (
    DatasetEntry,
    PredictRequest,
    PredictResult,
    Predictor,
    register_dataset,
    register_predictor,
)
from sciformers.evaluation.records import config_hash
from sciformers.attention_suites import listops_data as lo
from sciformers.evaluation.tasks import Splits, SupervisedTask, register_task


class ListOpsData(Config):
    """The ``data:`` section of ``attention/listops``.

    Args:
        seed: seeds the generator (train, validation and test use derived seeds).
        n_train: training expressions (the Trainer carves its validation split from these).
        n_test: test expressions.
        min_len: shortest expression in tokens.
        max_len: longest expression in tokens (LRA: 2000).
        max_depth: deepest nesting (LRA: 10).
        max_args: most arguments per operator (LRA: 10).
        leaf_prob: probability that a non-root node is a digit.
        path: a folder with LRA's ``basic_train.tsv`` and ``basic_test.tsv`` to use instead of
            the generator.
    """

    seed: int = 0
    n_train: int = 2000
    n_test: int = 500
    min_len: int = 20
    max_len: int = 128
    max_depth: int = 6
    max_args: int = 5
    leaf_prob: float = 0.6
    path: str | None = None


def listops_files(cfg: ListOpsData) -> tuple[Path, Path]:
    """Train and test TSV files: the user's LRA files, or generated ones cached by config hash."""
    if cfg.path is not None:
        folder = Path(cfg.path).expanduser()
        train, test = folder / "basic_train.tsv", folder / "basic_test.tsv"
        for f in (train, test):
            if not f.is_file():
                raise FileNotFoundError(f"data.path: {f} not found (expected LRA's basic_train.tsv and basic_test.tsv)")
        return train, test
    spec = cfg.model_dump(exclude={"path"})
    folder = cache_dir("listops", config_hash(spec)[:16])
    gen = dict(min_len=cfg.min_len, max_len=cfg.max_len, max_depth=cfg.max_depth, max_args=cfg.max_args,
               leaf_prob=cfg.leaf_prob)
    train = cached_file(folder / "train.tsv", lambda tmp: lo.write_tsv(tmp, lo.generate(cfg.n_train, seed=2 * cfg.seed,
                                                                                      **gen)))
    test = cached_file(folder / "test.tsv", lambda tmp: lo.write_tsv(tmp, lo.generate(cfg.n_test, seed=2 * cfg.seed + 1,
                                                                                    **gen)))
    return train, test


class ListOpsTask(SupervisedTask):
    """ListOps accuracy for attention kernels, beside the majority class."""

    name = "attention.listops"
    version = "1"
    domain = "attention"
    description = (
        "Long Range Arena ListOps (nested MAX/MIN/MED/SM over digits, 10 classes) from a seeded "
        "generator; one encoder classifier per attention kernel, accuracy on the whole test set."
    )
    metrics = ("accuracy", "f1_macro")
    baseline = "majority"
    data_card = "listops.md"
    data_schema = ListOpsData
    collate = staticmethod(lo.collate)

    def load(self, data: Config) -> Splits:
        assert isinstance(data, ListOpsData)
        train, test = listops_files(data)
        return Splits(
            train=lo.ListOpsDataset(lo.read_tsv(train)),
            test=lo.ListOpsDataset(lo.read_tsv(test)),
            info={"train_file": str(train), "test_file": str(test)},
        )

    def targets(self, dataset: Dataset) -> Tensor:
        assert isinstance(dataset, lo.ListOpsDataset)
        return dataset.labels

    def model_inputs(self, splits: Splits) -> dict[str, Any]:
        return {"vocab_size": len(lo.VOCAB), "num_classes": lo.NUM_CLASSES}


LISTOPS = register_task(ListOpsTask())


def _build_listops(cfg: Config) -> list[Path]:
    assert isinstance(cfg, ListOpsData)
    return list(listops_files(cfg))


register_dataset(DatasetEntry("attention.listops", ListOpsData, _build_listops,
                              "ListOps expressions (LRA TSV layout), seeded generator", aliases=("listops",)))


def predict_listops(request: PredictRequest) -> PredictResult:
    """``sciformers predict attention``: the class of each expression (a string, or each line of an
    LRA TSV), printed and written to ``predictions.csv`` (``label,expression``) under ``out_dir``."""
    state, config = load_model_state(request.checkpoint)
    model = create_model(config["model"], **config["kwargs"])
    model.load_state_dict(state)
    model.eval()
    result = PredictResult()
    expressions: list[str] = []
    examples = []
    for item in request.inputs:
        path = Path(item)
        found = [" ".join(tokens) for tokens, _ in lo.read_tsv(path)] if path.suffix == ".tsv" and path.is_file() else [item]
        for expr in found:
            tokens = [t for t in expr.split() if t not in ("(", ")")]
            unknown = sorted({t for t in tokens if t not in lo.TOKEN_ID or t == lo.PAD})
            if unknown:
                reason = f"input {len(expressions) + len(result.skipped) + 1}: unknown tokens {unknown}; " \
                         f"expected digits, {lo.OPERATORS} and ']'"
                if not request.skip_invalid:
                    raise ValueError(reason)
                result.skipped.append((expr, reason))
                continue
            expressions.append(expr)
            examples.append((tokens, 0))
    if not examples:
        return result
    batch = lo.collate([lo.ListOpsDataset(examples)[i] for i in range(len(examples))])
    with torch.no_grad():
        labels = model.predict(batch).argmax(-1).tolist()
    table = request.out_dir / "predictions.csv"
    with table.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["label", "expression"])
        writer.writerows(zip(labels, expressions))
    result.lines = [f"{label}\t{expr}" for label, expr in zip(labels, expressions)]
    result.written.append(table)
    return result


register_predictor("attention", Predictor(predict_listops, "ListOps expressions as arguments (\"[MAX 2 9 ]\"), or LRA "
                                          "TSV files (basic_test.tsv); the predicted class 0-9 of each"))
