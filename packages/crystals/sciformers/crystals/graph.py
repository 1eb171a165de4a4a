"""Crystal graphs: periodic k-nearest neighbours and ComFormer's lattice representation.

Yan et al., "Complete and Efficient Graph Transformers for Crystal Material Property
Prediction", ICLR 2024, https://arxiv.org/abs/2403.11857 (sec. 3-4).

- **Periodic k-NN** (sec. 4.1): every atom is joined to its ``k`` nearest atoms among all
  periodic images, with every atom tied with the k-th distance kept; the search radius starts
  at ``cutoff`` and grows until each atom has them all. Each relation is stored in both
  directions (j -> i with image n, i -> j with image -n), so the edge set is undirected.
- **Lattice representation** (sec. 3.2, eq. 3): from atom 0's periodic images sorted by length,
  l1 is the shortest lattice vector, l2 the next one not collinear with l1, l3 the next one not
  coplanar; l2 and l3 are flipped to make an angle <= 90 degrees with l1, and all three are
  flipped if (l1, l2, l3) is left-handed. The result depends only on the lattice point set and
  is right-handed, so rotations leave it unchanged while mirror images get a different one.
- Optional self-edges i -> i along +-l1, +-l2, +-l3 (the reference code's ``use_lattice``).

A graph is a :class:`CrystalGraph`; :func:`collate` joins several into one disjoint union, a
:class:`GraphBatch`. Edges follow the message-passing convention ``edge_index[0]`` = the
neighbour j, ``edge_index[1]`` = the centre i, and ``edge_vec`` is r_j + n L - r_i in Cartesian
Angstrom.

For lattices whose shortest vectors are degenerate (cubic, hexagonal ...) the choice among
equally short vectors is fixed by the order of an LLL-reduced basis: invariant under rotation,
but a different basis of the same lattice may pick a symmetry-equivalent frame (see README).
With ``primitive=True`` every structure is first reduced to its primitive cell at a tolerance of
``primitive_tolerance`` = 1e-3 Angstrom, so exact supercells and equivalent cells give the same
graph, while a rattled or otherwise distorted cell keeps every atom of the labelled structure
(pymatgen's default of 0.25 A merged displaced atoms: the graph then described another crystal,
whose energy differs from the label).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from sciformers.core import Config

if TYPE_CHECKING:
    from pymatgen.core import Structure

_TIE_TOL = 1e-6  # Angstrom: distances this close to the k-th are ties
_LENGTH_QUANTUM = 1e-8  # relative: lattice vector lengths are compared after rounding to this


class GraphConfig(Config):
    """How a structure becomes a graph.

    Args:
        k: neighbours per atom (ComFormer's ``config.py`` default 12; its scripts use 25).
        cutoff: initial search radius in Angstrom, grown by 1.5x until every atom has ``k``.
        lattice_self_edges: add edges i -> i along +-l1, +-l2, +-l3 (``use_lattice``).
        primitive: reduce each structure to its primitive cell first (supercell invariance).
        primitive_tolerance: how far (Angstrom) an atom may lie from a translated copy of the
            structure for the translation to count as a lattice vector of the primitive cell.
    """

    k: int = Field(default=12, ge=1)
    cutoff: float = Field(default=4.0, gt=0)
    lattice_self_edges: bool = True
    primitive: bool = True
    primitive_tolerance: float = Field(default=1e-3, gt=0, le=0.1)


def _short_lattice_vectors(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every combination with coefficients in [-2, 2] of the LLL-reduced basis (not 0), and the basis.

    The shortest vectors of a 3-D lattice lie among these (an LLL-reduced basis is within a
    small factor of the successive minima).
    """
    from pymatgen.core import Lattice

    reduced = Lattice(np.asarray(matrix, dtype=np.float64)).lll_matrix
    coeffs = np.array([c for c in itertools.product(range(-2, 3), repeat=3) if any(c)], dtype=np.float64)
    return coeffs @ reduced, reduced


def shortest_lattice_vector(matrix: np.ndarray) -> float:
    """Length of the shortest non-zero lattice vector: how far every atom is from its own image."""
    return float(np.linalg.norm(_short_lattice_vectors(matrix)[0], axis=1).min())


def lattice_representation(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ComFormer's canonical lattice vectors (eq. 3).

    Args:
        matrix: ``(3, 3)`` lattice, one lattice vector per row.

    Returns:
        ``(vectors, images)``: the rows l1, l2, l3 in Cartesian coordinates, and the same three
        vectors as integer coefficients of ``matrix``'s rows.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    vectors, reduced = _short_lattice_vectors(matrix)
    lengths = np.linalg.norm(vectors, axis=1)
    quantum = _LENGTH_QUANTUM * lengths.max()
    order = np.argsort(np.round(lengths / quantum), kind="stable")
    chosen: list[np.ndarray] = []
    for idx in order:
        v = vectors[idx]
        if not chosen:
            chosen.append(v)
        elif len(chosen) == 1 and np.linalg.norm(np.cross(chosen[0], v)) > 1e-6 * lengths[idx] * np.linalg.norm(chosen[0]):
            chosen.append(v)
        elif len(chosen) == 2:
            volume = abs(np.dot(np.cross(chosen[0], chosen[1]), v))
            if volume > 1e-6 * abs(np.linalg.det(reduced)):
                chosen.append(v)
                break
    l1, l2, l3 = chosen
    l2 = -l2 if np.dot(l1, l2) < 0 else l2
    l3 = -l3 if np.dot(l1, l3) < 0 else l3
    frame = np.stack([l1, l2, l3])
    if np.linalg.det(frame) < 0:  # right-handed frame: SE(3), not E(3), invariance
        frame = -frame
    images = np.rint(frame @ np.linalg.inv(matrix)).astype(np.int64)
    return frame, images


def periodic_knn(structure: Structure, k: int, cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed k-NN relations j -> i over periodic images, ties at the k-th distance kept.

    Args:
        structure: a periodic pymatgen structure.
        k: neighbours per atom.
        cutoff: initial search radius (Angstrom).

    Returns:
        ``(src, dst, images)``: neighbour j, centre i, and the integer image n of j.
    """
    radius = cutoff
    n_atoms = len(structure)
    while True:
        centers, neighbours, images, distances = structure.get_neighbor_list(radius)
        keep = distances > 1e-8
        centers, neighbours, images, distances = centers[keep], neighbours[keep], images[keep], distances[keep]
        counts = np.bincount(centers, minlength=n_atoms)
        if counts.min() >= k:
            order = np.lexsort((distances, centers))
            centers, neighbours, images, distances = centers[order], neighbours[order], images[order], distances[order]
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            kth = distances[starts + k - 1]
            # every tie of the k-th distance must lie inside the search sphere
            if np.all(kth + _TIE_TOL < radius):
                mask = distances <= kth[centers] + _TIE_TOL
                return neighbours[mask], centers[mask], np.rint(images[mask]).astype(np.int64)
        radius *= 1.5


def _undirected(src: np.ndarray, dst: np.ndarray, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add the reverse of every relation (i -> j with image -n) and drop duplicates."""
    keys = np.concatenate([
        np.column_stack([src, dst, images]),
        np.column_stack([dst, src, -images]),
    ])
    keys = np.unique(keys, axis=0)
    return keys[:, 0], keys[:, 1], keys[:, 2:]


def graph_structure(structure: Structure, config: GraphConfig) -> Structure:
    """The cell a graph is built on: the primitive cell at ``config.primitive_tolerance`` (or ``structure``).

    Reduction only removes exact (to the tolerance) translations, so the result holds the same
    atoms per formula unit as the labelled structure and the same energy per atom.
    """
    if not config.primitive:
        return structure
    return structure.get_primitive_structure(tolerance=config.primitive_tolerance)


@dataclass
class CrystalGraph:
    """One crystal as a graph.

    Attributes:
        z: ``(N,)`` atomic numbers.
        edge_index: ``(2, E)`` long, rows (neighbour j, centre i).
        edge_vec: ``(E, 3)`` float64 Cartesian r_j + n L - r_i in Angstrom.
        lattice: ``(1, 3, 3)`` float64, rows the canonical l1, l2, l3.
        y: ``(1,)`` float64 target, or ``None`` when unlabelled.
    """

    z: Tensor
    edge_index: Tensor
    edge_vec: Tensor
    lattice: Tensor
    y: Tensor | None = None

    @property
    def num_nodes(self) -> int:
        return int(self.z.numel())

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])

    def to(self, device: torch.device | str) -> Any:
        """The same graph with every tensor on ``device``."""
        return replace(self, **{f.name: _move(getattr(self, f.name), device) for f in fields(self)})

    def clone(self) -> Any:
        """A copy whose tensors share no memory with this one."""
        return replace(self, **{f.name: _copy(getattr(self, f.name)) for f in fields(self)})


@dataclass
class GraphBatch(CrystalGraph):
    """Several crystals as one disjoint union (:func:`collate`).

    Attributes (beyond :class:`CrystalGraph`, whose fields are concatenated, with ``edge_index``
    offset by each graph's first node, ``lattice`` ``(B, 3, 3)`` and ``y`` ``(B,)``):
        batch: ``(N,)`` the graph each node belongs to.
    """

    batch: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))

    @property
    def num_graphs(self) -> int:
        return int(self.lattice.shape[0])

    def __len__(self) -> int:
        """The batch size (graphs), as the harness reads it."""
        return self.num_graphs


def _move(value: Any, device: torch.device | str) -> Any:
    return value.to(device, non_blocking=True) if isinstance(value, Tensor) else value


def _copy(value: Any) -> Any:
    return value.clone() if isinstance(value, Tensor) else value


def structure_to_graph(structure: Structure, config: GraphConfig | None = None,
                       y: float | None = None) -> CrystalGraph:
    """One :class:`CrystalGraph` for a structure (``y`` set when a target is given).

    Args:
        structure: an ordered periodic structure.
        config: graph settings (defaults of :class:`GraphConfig` when ``None``).
        y: the target, stored as ``y``.
    """
    config = config or GraphConfig()
    structure = graph_structure(structure, config)
    cart = np.asarray(structure.cart_coords, dtype=np.float64)
    matrix = np.asarray(structure.lattice.matrix, dtype=np.float64)
    frame, lattice_images = lattice_representation(matrix)
    src, dst, images = _undirected(*periodic_knn(structure, config.k, config.cutoff))
    if config.lattice_self_edges:
        atoms = np.arange(len(structure))
        loops = [(atoms, atoms, np.repeat(sign * lattice_images[m][None], len(atoms), 0))
                 for m in range(3) for sign in (1, -1)]
        src = np.concatenate([src, *(lp[0] for lp in loops)])
        dst = np.concatenate([dst, *(lp[1] for lp in loops)])
        images = np.concatenate([images, *(lp[2] for lp in loops)])
        keys = np.unique(np.column_stack([src, dst, images]), axis=0)
        src, dst, images = keys[:, 0], keys[:, 1], keys[:, 2:]
    vec = cart[src] + images @ matrix - cart[dst]
    return CrystalGraph(
        z=torch.tensor([site.specie.Z for site in structure], dtype=torch.long),
        edge_index=torch.tensor(np.stack([src, dst]), dtype=torch.long),
        edge_vec=torch.tensor(vec, dtype=torch.float64),
        lattice=torch.tensor(frame, dtype=torch.float64).unsqueeze(0),
        y=None if y is None else torch.tensor([float(y)], dtype=torch.float64),
    )


def collate(graphs: list[CrystalGraph]) -> GraphBatch:
    """Join graphs into one disjoint union (``batch`` maps nodes to graphs).

    Raises:
        ValueError: no graphs, or some carry a target and others do not.
    """
    if not graphs:
        raise ValueError("collate needs at least one graph")
    labelled = [g.y is not None for g in graphs]
    if any(labelled) and not all(labelled):
        raise ValueError(f"graphs {[i for i, has in enumerate(labelled) if not has][:5]} have no target "
                         "while others do: label all of them or none")
    sizes = torch.tensor([g.num_nodes for g in graphs])
    offsets = torch.cumsum(sizes, 0) - sizes
    return GraphBatch(
        z=torch.cat([g.z for g in graphs]),
        edge_index=torch.cat([g.edge_index + int(o) for g, o in zip(graphs, offsets)], dim=1),
        edge_vec=torch.cat([g.edge_vec for g in graphs]),
        lattice=torch.cat([g.lattice for g in graphs]),
        y=torch.cat([g.y for g in graphs]) if all(labelled) else None,  # type: ignore[misc]
        batch=torch.repeat_interleave(torch.arange(len(graphs)), sizes),
    )
