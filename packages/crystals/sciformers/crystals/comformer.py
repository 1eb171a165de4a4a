"""ComFormer: iComFormer and eComFormer (Yan et al., ICLR 2024, https://arxiv.org/abs/2403.11857).

The model reads as sec. 4 of the paper:

1. **Embeddings** (sec. 4.1): each atom's CGCNN features -> Linear; each edge's length as
   ``-0.75 / |r_ij|`` -> RBF on [-4, 0] -> Linear -> Softplus.
2. **iComFormer** (sec. 4.2): node layer -> edge-wise layer (the lengths of the lattice
   vectors l_1..l_3, eq. 3, embedded like edge lengths, and the angles between r_ij and each
   l_m; key/value weights of their own per lattice vector) -> 3 more node layers.
   SE(3)-invariant and complete: the right-handed lattice frame tells chiral pairs apart.
3. **eComFormer** (sec. 4.3): node layer -> equivariant update (e3nn, l <= 2) -> 2 more node
   layers. E(3)-invariant: mirror images get the same prediction.
4. **Readout**: mean over atoms -> Linear + SiLU -> Linear, one z-scored value per crystal.

``preset="paper"`` gives the paper's widths (d = 256, 256 RBF bins, 64x0e + 8x1o + 8x2e);
``preset="small"`` a CPU configuration (d = 64, 64 bins, 32x0e + 4x1o + 4x2e).
"""

from __future__ import annotations

from typing import Any, Literal

from torch import Tensor, nn

from sciformers.core import register_model
from sciformers.crystals.base import CrystalModel, example_batch
from sciformers.crystals.equivariant import EquivariantUpdate
from sciformers.crystals.features import ATOM_FEATURE_DIM, RBFExpansion, atom_feature_table
from sciformers.crystals.layers import EdgeLayer, LatticeWeights, NodeLayer, mean_pool

Variant = Literal["icomformer", "ecomformer"]

PRESETS: dict[str, dict[str, int]] = {
    "paper": {"dim": 256, "rbf_bins": 256, "equi_scalars": 64, "equi_vectors": 8},
    "small": {"dim": 64, "rbf_bins": 64, "equi_scalars": 32, "equi_vectors": 4},
}
NODE_LAYERS: dict[str, int] = {"icomformer": 4, "ecomformer": 3}


class ComFormer(CrystalModel):
    """iComFormer or eComFormer over periodic k-NN crystal graphs.

    Args:
        variant: ``icomformer`` (edge-wise lattice layer) or ``ecomformer`` (equivariant update).
        preset: ``paper`` or ``small``: defaults for the widths below.
        dim: hidden width d (one head).
        rbf_bins: bins of the distance and angle RBFs.
        node_layers: node-wise layers (paper: 4 for iComFormer, 3 for eComFormer).
        lattice_weights: iComFormer's edge-wise layer: ``per_vector`` key/value weights for
            l_1, l_2, l_3 (the reference code) or one ``shared`` set.
        equi_scalars: scalar channels of the e3nn tensor products.
        equi_vectors: l = 1 and l = 2 channels of the e3nn tensor products.
        graph: graph settings (:class:`~sciformers.crystals.graph.GraphConfig` fields).
        target_mean: training-target mean.
        target_std: training-target standard deviation.
        target_units, elements: see :class:`~sciformers.crystals.base.CrystalModel`.
    """

    def __init__(
        self, variant: Variant = "icomformer", preset: Literal["paper", "small"] = "paper", dim: int | None = None,
        rbf_bins: int | None = None, node_layers: int | None = None, lattice_weights: LatticeWeights = "per_vector",
        equi_scalars: int | None = None, equi_vectors: int | None = None, graph: dict[str, Any] | None = None,
        target_mean: float = 0.0, target_std: float = 1.0, target_units: str | None = None,
        elements: list[int] | None = None,
    ) -> None:
        super().__init__(graph, target_mean, target_std, target_units, elements)
        if variant not in NODE_LAYERS:
            raise ValueError(f"variant must be one of {sorted(NODE_LAYERS)}, got {variant!r}")
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
        p = PRESETS[preset]
        d = dim or p["dim"]
        bins = rbf_bins or p["rbf_bins"]
        n_layers = node_layers or NODE_LAYERS[variant]
        if n_layers < 1:
            raise ValueError(f"node_layers must be >= 1, got {n_layers}")
        self.variant = variant
        self.hparams.update(variant=variant, preset=preset, dim=d, rbf_bins=bins, node_layers=n_layers,
                            lattice_weights=lattice_weights, equi_scalars=equi_scalars or p["equi_scalars"],
                            equi_vectors=equi_vectors or p["equi_vectors"])
        self.register_buffer("atom_table", atom_feature_table().clone(), persistent=False)
        self.atom_embed = nn.Linear(ATOM_FEATURE_DIM, d)
        self.distance_rbf = RBFExpansion(-4.0, 0.0, bins)
        self.edge_embed = nn.Sequential(nn.Linear(bins, d), nn.Softplus())
        self.node_layers = nn.ModuleList(NodeLayer(d) for _ in range(n_layers))
        if variant == "icomformer":
            self.angle_rbf = RBFExpansion(-1.0, 1.0, bins)
            self.angle_embed = nn.Sequential(nn.Linear(bins, d), nn.Softplus())
            self.edge_layer = EdgeLayer(d, lattice_weights)
        else:
            self.equivariant = EquivariantUpdate(d, self.hparams["equi_scalars"], self.hparams["equi_vectors"])
        self.head = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, 1))

    def lattice_features(self, batch: Any) -> tuple[Tensor, Tensor]:
        """Per-edge lattice inputs of the edge-wise layer.

        Returns:
            ``(lengths, cosines)``: ``|l_m|`` of each edge's crystal ``(E, 3)`` and
            ``cos(r_ij, l_m)`` ``(E, 3)``.
        """
        vec = batch.edge_vec.to(self.dtype)
        graph_of_edge = batch.batch[batch.edge_index[1]]
        lattice = batch.lattice.to(self.dtype)[graph_of_edge]  # (E, 3, 3), rows l_1..l_3
        lengths = lattice.norm(dim=-1)
        cosines = (lattice @ vec.unsqueeze(-1)).squeeze(-1) / (lengths * vec.norm(dim=-1, keepdim=True))
        return lengths, cosines

    def length_embedding(self, lengths: Tensor) -> Tensor:
        """``-0.75 / |r|`` -> RBF -> Linear -> Softplus, for edge and lattice-vector lengths alike."""
        return self.edge_embed(self.distance_rbf(-0.75 / lengths))

    def node_features(self, batch: Any) -> Tensor:
        """Atom features after the whole stack, ``(N, d)``."""
        edge_index = batch.edge_index
        vec = batch.edge_vec.to(self.dtype)
        h = self.atom_embed(self.atom_table[batch.z].to(self.dtype))
        e = self.length_embedding(vec.norm(dim=-1))
        h = self.node_layers[0](h, edge_index, e)
        if self.variant == "icomformer":
            lengths, cosines = self.lattice_features(batch)
            e = self.edge_layer(e, self.length_embedding(lengths), self.angle_embed(self.angle_rbf(cosines)))
        else:
            h = self.equivariant(h, edge_index, vec, e)
        for layer in self.node_layers[1:]:
            h = layer(h, edge_index, e)
        return h

    def forward(self, batch: Any) -> Tensor:
        """Z-scored property ``(num_graphs,)``."""
        pooled = mean_pool(self.node_features(batch), batch.batch, batch.num_graphs)
        return self.head(pooled).squeeze(-1)


def _only_variant(variant: str, kwargs: dict[str, Any]) -> str:
    """Pop ``kwargs["variant"]``; a registry entry fixes its variant, so any other is an error."""
    if kwargs.pop("variant", variant) != variant:
        raise ValueError(f"crystals.{variant} is the {variant} variant; use create_model('crystals.<variant>')")
    return variant


@register_model("crystals.icomformer", test_kwargs={"preset": "small", "dim": 16, "rbf_bins": 16}, example=example_batch)
class IComFormer(ComFormer):
    """iComFormer (invariant, lattice-angle edge layer); see :class:`ComFormer` for arguments."""

    registry_name = "crystals.icomformer"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(variant=_only_variant("icomformer", kwargs), **kwargs)


@register_model("crystals.ecomformer", test_kwargs={"preset": "small", "dim": 16, "rbf_bins": 16, "equi_scalars": 8, "equi_vectors": 2}, example=example_batch)
class EComFormer(ComFormer):
    """eComFormer (e3nn equivariant update); see :class:`ComFormer` for arguments."""

    registry_name = "crystals.ecomformer"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(variant=_only_variant("ecomformer", kwargs), **kwargs)
