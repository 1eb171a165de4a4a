"""The ``crystals.emt_eform`` task: formation energy per atom of alloy crystals, in meV/atom.

Every model of the pipeline (iComFormer, eComFormer, CGCNN, SchNet) trains on the same
graphs of the same seeded split, beside the training-mean baseline; MAE and RMSE in meV/atom
on the whole test set. ``data.path`` swaps the generator for the user's structures (a folder
of CIF/POSCAR files with a ``targets.csv``, a JSON/CSV table or a Matbench ``json.gz``;
targets in eV/atom, with a warning for targets that look like meV/atom or per-cell totals). The
models are told the units and the elements of the training split, which their checkpoints keep
for ``sciformers predict crystals``. The report adds a parity plot and the training curves of
each model.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from pydantic import Field
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.core import Config, cache_dir, cached_file
from sciformers.crystals import emt, io, plots
from sciformers.crystals.base import GraphDataset
from sciformers.crystals.graph import GraphConfig, collate, structure_to_graph
from sciformers.evaluation.metrics import mae, register_metric, rmse
from sciformers.evaluation.records import RunRecord, config_hash
from sciformers.evaluation.report import metric_bar_plot, training_curves_plot
from sciformers.evaluation.runner import Job
from sciformers.evaluation.tasks import Splits, SupervisedTask, register_task


@register_metric("mae_mev", higher_is_better=False, description="mean absolute error in meV/atom (targets in eV/atom)")
def mae_mev(pred: Tensor, target: Tensor) -> float:
    """MAE of eV/atom values, reported in meV/atom."""
    return 1000.0 * mae(pred, target)


@register_metric("rmse_mev", higher_is_better=False, description="root mean squared error in meV/atom")
def rmse_mev(pred: Tensor, target: Tensor) -> float:
    """RMSE of eV/atom values, reported in meV/atom."""
    return 1000.0 * rmse(pred, target)


class EMTData(Config):
    """The ``data:`` section of ``crystals/emt_eform``.

    Args:
        seed: seeds the generator and the split.
        n_structures: structures in all (train + validation + test).
        test_fraction: share of the structures held out for the test set.
        val_fraction: share held out for validation (early stopping and best weights).
        min_atoms: smallest cell.
        max_atoms: largest cell.
        strain: largest strain component.
        rattle: atomic displacement standard deviation (Angstrom).
        elements: EMT elements to draw from.
        lattices: lattice types to draw from.
        graph: how structures become graphs (k, cutoff, self-edges, primitive reduction).
        path: the user's data instead of the generator: a Matbench ``json.gz``, a JSON/CSV table,
            or a folder of CIF/POSCAR files with a ``targets.csv`` (``file,<target>``).
        target: the target column of ``path`` (default: the only one).
        skip_invalid: skip bad files/rows of ``path`` with a warning instead of failing.
    """

    seed: int = 0
    n_structures: int = Field(default=2500, ge=10)
    test_fraction: float = Field(default=0.1, gt=0, lt=1)
    val_fraction: float = Field(default=0.1, gt=0, lt=1)
    min_atoms: int = Field(default=2, ge=1)
    max_atoms: int = Field(default=16, ge=1)
    strain: float = Field(default=0.02, ge=0, lt=0.2)
    rattle: float = Field(default=0.04, ge=0, lt=0.3)
    elements: list[str] = Field(default_factory=lambda: list(emt.ELEMENTS))
    lattices: list[str] = Field(default_factory=lambda: list(emt.LATTICES))
    graph: GraphConfig = Field(default_factory=GraphConfig)
    path: str | None = None
    target: str | None = None
    skip_invalid: bool = False


def emt_file(cfg: EMTData) -> Path:
    """The generated data as a Matbench-style ``json.gz`` in the cache (written on first use)."""
    spec = cfg.model_dump(include={"seed", "n_structures", "min_atoms", "max_atoms", "strain", "rattle", "elements",
                                   "lattices"})
    path = cache_dir("crystals", "emt_eform", config_hash(spec)[:16]) / "emt_eform.json.gz"
    return cached_file(path, lambda tmp: io.write_matbench(
        tmp, emt.generate(cfg.n_structures, cfg.seed, cfg.min_atoms, cfg.max_atoms, cfg.strain, cfg.rattle,
                          cfg.elements, cfg.lattices), "e_form"))


def load_user_data(cfg: EMTData) -> io.LabelledStructures:
    """``data.path``: a table, a Matbench file, or a folder with ``targets.csv``.

    Warns when the targets look like meV/atom or per-cell totals (the task expects eV/atom).
    """
    path = Path(str(cfg.path)).expanduser()
    if path.is_dir():
        table = path / "targets.csv"
        if not table.is_file():
            raise FileNotFoundError(f"data.path: {path} is a folder without targets.csv (columns: file,<target>)")
        path = table
    data = io.read_any(path, cfg.target, cfg.skip_invalid)
    assert data.targets is not None
    for message in io.target_unit_warnings(data.targets, np.array([len(s) for s in data.structures]),
                                           f"data.path {path}"):
        warnings.warn(message, stacklevel=2)
    return data


def split_indices(n: int, test_fraction: float, val_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """A seeded random (train, val, test) partition of ``range(n)``."""
    perm = np.random.default_rng(seed + 7919).permutation(n)
    n_test, n_val = max(1, round(test_fraction * n)), max(1, round(val_fraction * n))
    if n_test + n_val >= n:
        raise ValueError(f"data: {n} structures leave nothing to train on with these fractions")
    return np.sort(perm[n_test + n_val:]), np.sort(perm[n_test:n_test + n_val]), np.sort(perm[:n_test])


class EMTFormationTask(SupervisedTask):
    """Formation energy (meV/atom) of EMT-labelled alloy crystals, beside the training mean."""

    name = "crystals.emt_eform"
    version = "2"  # 2: primitive reduction at 1e-3 A keeps every labelled atom
    domain = "crystals"
    description = ("Formation energy per atom of random fcc/bcc/hcp alloy cells (Al, Ni, Cu, Pd, Ag, Pt, Au; "
                   "2-16 atoms, strained and rattled) from ASE's EMT potential; MAE/RMSE in meV/atom.")
    metrics = ("mae_mev", "rmse_mev")
    baseline = "mean"
    data_card = "emt_eform.md"
    data_schema = EMTData
    collate = staticmethod(collate)

    def load(self, data: Config) -> Splits:
        assert isinstance(data, EMTData)
        source = load_user_data(data) if data.path else io.read_matbench(emt_file(data))
        assert source.targets is not None
        graphs = [structure_to_graph(s, data.graph, y) for s, y in zip(source.structures, source.targets)]
        train, val, test = split_indices(len(graphs), data.test_fraction, data.val_fraction, data.seed)
        return Splits(train=GraphDataset([graphs[i] for i in train]), val=GraphDataset([graphs[i] for i in val]),
                      test=GraphDataset([graphs[i] for i in test]),
                      info={"graph": data.graph.model_dump(), "sizes": [len(train), len(val), len(test)]})

    def targets(self, dataset: Dataset) -> Tensor:
        assert isinstance(dataset, GraphDataset)
        return dataset.targets()

    def model_inputs(self, splits: Splits) -> dict[str, Any]:
        """Graph settings, target scaling, units and the training split's elements (kept in checkpoints)."""
        assert isinstance(splits.train, GraphDataset)
        y = self.targets(splits.train)
        elements = torch.cat([g.z for g in splits.train.graphs]).unique().tolist()
        return {"graph": (splits.info or {}).get("graph", {}), "target_mean": float(y.mean()),
                "target_std": float(y.std()) or 1.0, "target_units": "eV/atom", "elements": elements}

    def artifacts(self, job: Job, prepared: Splits, predictions: Any) -> dict[str, dict[str, Any]]:
        """``<model>_seed<s>.json``: test targets, predictions and the training history (models only)."""
        if job.entry.baseline:
            return {}
        return {f"{job.name}_seed{job.seed}.json": {
            "y_true": self.targets(prepared.test).tolist(), "y_pred": torch.as_tensor(predictions).double().tolist(),
            "history": job.history}}

    def _artifacts(self, model: str, seed: int, run_dirs: Sequence[Path]) -> dict[str, Any] | None:
        path = self.saved_predictions(run_dirs, f"{model}_seed{seed}.json")
        return json.loads(path.read_text()) if path is not None else None

    def plots(self, records: list[RunRecord], run_dirs: Sequence[Path] = ()) -> dict[str, Any]:
        """The MAE bar chart; from the saved predictions, a parity plot per model (first seed) and
        the validation-loss curves."""
        figures: dict[str, Any] = {"mae_mev": metric_bar_plot(records, "mae_mev", self.baseline)}
        found = {}
        for r in sorted(records, key=lambda r: r.seed):
            if r.model != self.baseline and r.model not in found and (a := self._artifacts(r.model, r.seed, run_dirs)):
                found[r.model] = a
        if found:
            figures["parity"] = plots.parity_figure(found)
            figures["curves"] = training_curves_plot({m: a["history"] for m, a in found.items()},
                                                     "MSE of z-scored target",
                                                     "training curves (dotted: train batch loss)")
        return figures


EMT_EFORM = register_task(EMTFormationTask())
