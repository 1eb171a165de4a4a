"""What every crystal model shares: graphs, target scaling, the user API and checkpoints.

A :class:`CrystalModel` is a :class:`~sciformers.core.TrainModule` over batched crystal graphs
(:mod:`sciformers.crystals.graph`). It keeps the graph settings it was trained with, the
training targets' mean and standard deviation, their units (when known) and the elements it saw
in training, so a user can hand it pymatgen structures or ASE ``Atoms`` and get values back in
the target's own units, with a warning for elements it never saw::

    model = create_model("crystals.icomformer", preset="small", target_units="eV/atom")
    model.fit(structures, energies, train={"steps": 2000})
    model.predict(new_structures)           # np.ndarray, target units
    model.save("my_model"); CrystalModel.from_checkpoint("my_model")

Training optimises the MSE of z-scored targets (ComFormer's ``train.py``); predictions are
un-scaled inside the model.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from sciformers.core import FitResult, Trainer, TrainConfig, TrainModule, load_model, save_model
from sciformers.crystals.graph import CrystalGraph, GraphBatch, GraphConfig, collate, structure_to_graph

if TYPE_CHECKING:
    from ase import Atoms
    from pymatgen.core import Structure

    Crystal = Structure | Atoms


class GraphDataset(Dataset):
    """A list of crystal graphs (each with ``y`` when labelled) as a map-style dataset."""

    def __init__(self, graphs: list[CrystalGraph]) -> None:
        self.graphs = graphs

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index: int) -> CrystalGraph:
        return self.graphs[index]

    def targets(self) -> Tensor:
        """``(N,)`` float64 targets in order.

        Raises:
            ValueError: if a graph carries no target.
        """
        missing = [i for i, g in enumerate(self.graphs) if getattr(g, "y", None) is None]
        if missing:
            raise ValueError(f"graphs {missing[:5]} have no target y")
        return torch.cat([g.y for g in self.graphs]).double()


class CrystalModel(TrainModule):
    """Base of ComFormer and its peers: subclasses implement :meth:`forward` (z-scored output).

    Args:
        graph: :class:`~sciformers.crystals.graph.GraphConfig` fields used by :meth:`predict`
            on structures (the task builds its graphs with the same settings).
        target_mean: training-target mean (target units).
        target_std: training-target standard deviation (target units, > 0).
        target_units: the targets' units (``"eV/atom"``), shown by ``sciformers predict``; ``None``: unknown.
        elements: atomic numbers seen in training (set by :meth:`fit` and the task); predictions
            for structures with others come with a warning. ``None``: unknown.
    """

    registry_name: ClassVar[str]

    def __init__(self, graph: dict[str, Any] | None = None, target_mean: float = 0.0, target_std: float = 1.0,
                 target_units: str | None = None, elements: Sequence[int] | None = None) -> None:
        super().__init__()
        if not target_std > 0:
            raise ValueError(f"target_std must be > 0, got {target_std}")
        self.graph_config = GraphConfig.parse(graph or {}, where="graph")
        self.register_buffer("target_mean", torch.tensor(float(target_mean), dtype=torch.float64))
        self.register_buffer("target_std", torch.tensor(float(target_std), dtype=torch.float64))
        self.target_units = target_units
        self.elements = sorted({int(z) for z in elements}) if elements is not None else None
        self.hparams: dict[str, Any] = {"graph": self.graph_config.model_dump(), "target_mean": float(target_mean),
                                        "target_std": float(target_std), "target_units": target_units,
                                        "elements": self.elements}

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the parameters (inputs are cast to it)."""
        return next(self.parameters()).dtype

    def forward(self, batch: GraphBatch) -> Tensor:
        """Z-scored predictions ``(num_graphs,)`` for a batch of graphs."""
        raise NotImplementedError

    # -- TrainModule protocol --------------------------------------------------------------

    def training_step(self, batch: GraphBatch) -> Tensor:
        batch = batch.to(self.target_mean.device)
        pred = self(batch)
        target = ((batch.y - self.target_mean) / self.target_std).to(pred.dtype)
        return F.mse_loss(pred, target)

    def predict(self, batch: GraphBatch | Crystal | Sequence[Crystal]) -> Any:  # type: ignore[override]
        """Predictions in target units.

        Args:
            batch: a batch of graphs (the Trainer's call: returns a ``(B,)`` tensor), or pymatgen
                structures / ASE ``Atoms``, one or a list (the user's call: returns an ``np.ndarray``).
        """
        from pymatgen.core import Structure

        from sciformers.crystals.io import is_atoms

        if isinstance(batch, Structure) or is_atoms(batch):
            return self.predict_structures([batch])
        if isinstance(batch, (list, tuple)):
            return self.predict_structures(batch)
        batch = batch.to(self.target_mean.device)
        return self(batch).double() * self.target_std + self.target_mean

    # -- user API --------------------------------------------------------------------------

    def graphs(self, structures: Sequence[Crystal], targets: Sequence[float] | None = None) -> list[CrystalGraph]:
        """Check and convert structures (pymatgen or ASE) with this model's graph settings.

        Raises:
            StructureError: naming the structure (its index) and the problem.
        """
        from sciformers.crystals.io import validate_structure

        ys = list(targets) if targets is not None else [None] * len(structures)
        if len(ys) != len(structures):
            raise ValueError(f"{len(structures)} structures but {len(ys)} targets")
        return [structure_to_graph(validate_structure(s, f"structure {i}"), self.graph_config, y)
                for i, (s, y) in enumerate(zip(structures, ys))]

    def unseen_elements(self, graph: CrystalGraph) -> list[str]:
        """Symbols of the elements in ``graph`` the model never saw in training (``[]`` when unknown)."""
        from pymatgen.core import Element

        if self.elements is None:
            return []
        return [Element.from_Z(z).symbol for z in sorted(set(graph.z.tolist()) - set(self.elements))]

    def predict_structures(self, structures: Sequence[Crystal], batch_size: int = 64,
                           names: Sequence[str] | None = None) -> np.ndarray:
        """``(len(structures),)`` predictions in target units.

        Warns (``UserWarning``) for each structure holding elements not seen in training, naming
        it by ``names[i]`` (default ``structure i``).
        """
        from pymatgen.core import Element

        graphs = self.graphs(structures)
        for i, g in enumerate(graphs):
            if unseen := self.unseen_elements(g):
                trained = ", ".join(Element.from_Z(z).symbol for z in self.elements or [])
                warnings.warn(f"{names[i] if names else f'structure {i}'}: {', '.join(unseen)} never seen in "
                              f"training (trained on {trained}); its prediction is an extrapolation", stacklevel=2)
        was_training = self.training
        self.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(graphs), batch_size):
                out.append(self.predict(collate(graphs[start:start + batch_size])).cpu())
        self.train(was_training)
        return torch.cat(out).numpy() if out else np.zeros(0)

    def fit(self, structures: Sequence[Crystal], targets: Sequence[float], train: TrainConfig | dict[str, Any] | None = None,
            *, run_dir: Path | None = None, device: str = "auto", seed: int = 0, quiet: bool = False) -> FitResult:
        """Set the target scaling and the known elements from the data, and train with the shared Trainer.

        Args:
            structures: training structures (pymatgen ``Structure`` or ASE ``Atoms``).
            targets: one value per structure, in the units predictions should come back in.
            train: a :class:`~sciformers.core.TrainConfig` or its fields (``{"steps": 2000}``).
            run_dir: checkpoint folder (resumable); ``None``: no checkpoints.
            device: ``auto``, ``cpu`` or ``cuda``.
            seed: data order and validation split.
            quiet: no progress bar.
        """
        y = np.asarray(targets, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError(f"targets contain NaN or inf at {np.flatnonzero(~np.isfinite(y))[:5].tolist()}")
        self.set_target_scaling(float(y.mean()), float(y.std()) or 1.0)
        config = train if isinstance(train, TrainConfig) else TrainConfig.parse(train or {}, where="train")
        dataset = GraphDataset(self.graphs(structures, y))
        self.set_elements(torch.cat([g.z for g in dataset.graphs]).unique().tolist())
        return Trainer(config, run_dir=run_dir, device=device, seed=seed, quiet=quiet).fit(self, dataset, collate_fn=collate)

    def set_target_scaling(self, mean: float, std: float) -> None:
        """Targets are predicted as ``mean + std * output``."""
        if not std > 0:
            raise ValueError(f"target std must be > 0, got {std}")
        self.target_mean.fill_(mean)
        self.target_std.fill_(std)
        self.hparams.update(target_mean=mean, target_std=std)

    def set_elements(self, elements: Sequence[int]) -> None:
        """The atomic numbers seen in training (predictions warn about any other)."""
        self.elements = sorted({int(z) for z in elements})
        self.hparams.update(elements=self.elements)

    def save(self, directory: str | Path) -> None:
        """Write ``model.safetensors`` + ``config.json`` (loadable by :meth:`from_checkpoint`)."""
        save_model(Path(directory), self, {"model": self.registry_name, "kwargs": self.hparams})

    @classmethod
    def from_checkpoint(cls, directory: str | Path) -> "CrystalModel":
        """Load a model saved by :meth:`save` or by a pipeline run (``checkpoints/<model>/seed<s>/final``).

        Raises:
            FileNotFoundError: no checkpoint in ``directory``.
            ValueError: the checkpoint holds a model that is not a ``cls``.
        """
        return load_model(directory, cls)


def example_batch(model: CrystalModel) -> Any:
    """Two small cells (fcc Cu, bcc Al) as graphs in ``model``'s settings, batched (conformance suite)."""
    from pymatgen.core import Lattice, Structure

    cells = [Structure(Lattice.cubic(3.61), ["Cu"] * 4, [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]),
             Structure(Lattice.cubic(3.30), ["Al"] * 2, [[0, 0, 0], [0.5, 0.5, 0.5]])]
    return collate(model.graphs(cells, [0.0, 0.1]))
