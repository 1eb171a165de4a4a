"""sciformers.crystals: ComFormer (iComFormer, eComFormer) for crystal property prediction.

Yan et al., "Complete and Efficient Graph Transformers for Crystal Material Property
Prediction", ICLR 2024, https://arxiv.org/abs/2403.11857.

>>> from sciformers.core import create_model
>>> model = create_model("crystals.icomformer", preset="small")
>>> model.fit(structures, targets, train={"steps": 2000})   # pymatgen Structures or ASE Atoms, floats
>>> model.predict(new_structures)                           # np.ndarray in target units
"""

try:
    import pymatgen.core  # noqa: F401
except ImportError as err:  # pragma: no cover - the extra is installed in CI
    raise ImportError(f"sciformers.crystals needs {err.name}: pip install 'sciformers[crystals]'") from err

from sciformers.crystals.base import CrystalModel, GraphDataset
from sciformers.crystals.comformer import ComFormer, EComFormer, IComFormer
from sciformers.crystals.graph import (
    CrystalGraph,
    GraphBatch,
    GraphConfig,
    collate,
    graph_structure,
    lattice_representation,
    periodic_knn,
    shortest_lattice_vector,
    structure_to_graph,
)
from sciformers.crystals.peers import CGCNN, SchNet
from sciformers.crystals.io import (
    LabelledStructures,
    StructureError,
    read_any,
    read_cif,
    read_matbench,
    read_structure,
    read_structures,
    read_table,
    target_unit_warnings,
    validate_structure,
    write_matbench,
)

#: The harness side (the task, its metrics, datasets and the predictor), imported on demand by
#: ``sciformers.evaluation``: importing this package loads no harness.
TASK_MODULES = ("sciformers.crystals.task", "sciformers.crystals.commands")
