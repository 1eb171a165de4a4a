"""Peers on the same periodic graphs: CGCNN and a SchNet-style continuous-filter network.

- **CGCNN** (Xie & Grossman, PRL 2018, https://arxiv.org/abs/1710.10324, eq. 5): gated graph
  convolutions ``h_i += sum_j sigmoid(z_ij W_f) * softplus(z_ij W_s)`` with
  ``z_ij = [h_i | h_j | u_ij]`` (:class:`GatedConv`, batch norm after the sum as in PyG's
  ``CGConv``), on a Gaussian expansion of distances; mean pooling, then a Softplus MLP.
- **SchNet-style** (Schuett et al., NeurIPS 2017, https://arxiv.org/abs/1706.08566, eq. 3-4):
  interaction blocks with continuous filters ``W(r_ij) = Dense(ssp(Dense(rbf(|r_ij|))))``,
  ``x_i' = sum_j x_j * W(r_ij)``, residual atom-wise updates and an atom-wise readout averaged
  over atoms (the target is per atom). Fed our periodic k-NN edges instead of a radius graph,
  so there is no cosine cutoff: the k-NN graph already bounds the neighbourhood.

Both use the same CGCNN-style atom features as ComFormer and are E(3)-invariant (they see
only distances), so they cannot separate mirror images.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.core import register_model
from sciformers.crystals.base import CrystalModel, example_batch
from sciformers.crystals.features import ATOM_FEATURE_DIM, RBFExpansion, atom_feature_table
from sciformers.crystals.layers import mean_pool


class ShiftedSoftplus(nn.Module):
    """``ssp(x) = softplus(x) - log 2`` (SchNet), zero at the origin."""

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x) - math.log(2.0)


class GatedConv(nn.Module):
    """CGCNN's gated convolution (eq. 5): ``h_i + BN(sum_j sigmoid(z_ij W_f + b_f) * softplus(z_ij W_s + b_s))``.

    ``z_ij = [h_i | h_j | u_ij]`` for every edge j -> i (``edge_index`` rows j, i). The batch norm
    over the summed messages is the form of torch-geometric's ``CGConv`` (the paper's eq. 5 has
    none; ``batch_norm=False`` gives it).
    """

    def __init__(self, dim: int, edge_dim: int, batch_norm: bool = True) -> None:
        super().__init__()
        self.lin_f = nn.Linear(2 * dim + edge_dim, dim)
        self.lin_s = nn.Linear(2 * dim + edge_dim, dim)
        self.bn = nn.BatchNorm1d(dim) if batch_norm else nn.Identity()

    def forward(self, h: Tensor, edge_index: Tensor, u: Tensor) -> Tensor:
        j, i = edge_index
        z = torch.cat([h[i], h[j], u], dim=-1)
        messages = torch.sigmoid(self.lin_f(z)) * F.softplus(self.lin_s(z))
        return h + self.bn(torch.zeros_like(h).index_add_(0, i, messages))


@register_model("cgcnn", test_kwargs={"dim": 16, "layers": 2, "hidden": 16}, example=example_batch)
class CGCNN(CrystalModel):
    """CGCNN: gated graph convolutions (:class:`GatedConv`), mean pooling and a Softplus MLP.

    Args:
        dim: atom feature width (CGCNN: 64).
        layers: convolutions (CGCNN: 3).
        rbf_bins: Gaussians on [0, ``rbf_max``] Angstrom for the edge features (CGCNN: 41 to 8 A).
        rbf_max: largest Gaussian centre.
        hidden: width of the readout MLP (CGCNN: 128).
        graph, target_mean, target_std, target_units, elements: see :class:`~sciformers.crystals.base.CrystalModel`.
    """

    registry_name = "cgcnn"

    def __init__(self, dim: int = 64, layers: int = 3, rbf_bins: int = 41, rbf_max: float = 8.0, hidden: int = 128,
                 graph: dict[str, Any] | None = None, target_mean: float = 0.0, target_std: float = 1.0,
                 target_units: str | None = None, elements: list[int] | None = None) -> None:
        super().__init__(graph, target_mean, target_std, target_units, elements)
        self.hparams.update(dim=dim, layers=layers, rbf_bins=rbf_bins, rbf_max=rbf_max, hidden=hidden)
        self.register_buffer("atom_table", atom_feature_table().clone(), persistent=False)
        self.embed = nn.Linear(ATOM_FEATURE_DIM, dim)
        self.rbf = RBFExpansion(0.0, rbf_max, rbf_bins)
        self.convs = nn.ModuleList(GatedConv(dim, rbf_bins) for _ in range(layers))
        self.head = nn.Sequential(nn.Softplus(), nn.Linear(dim, hidden), nn.Softplus(), nn.Linear(hidden, 1))

    def forward(self, batch: Any) -> Tensor:
        h = self.embed(self.atom_table[batch.z].to(self.dtype))
        u = self.rbf(batch.edge_vec.to(self.dtype).norm(dim=-1))
        for conv in self.convs:
            h = conv(h, batch.edge_index, u)
        return self.head(mean_pool(h, batch.batch, batch.num_graphs)).squeeze(-1)


class Interaction(nn.Module):
    """One SchNet interaction block: continuous-filter convolution and atom-wise layers (eq. 3-4)."""

    def __init__(self, dim: int, rbf_bins: int) -> None:
        super().__init__()
        self.filter = nn.Sequential(nn.Linear(rbf_bins, dim), ShiftedSoftplus(), nn.Linear(dim, dim))
        self.in_atom = nn.Linear(dim, dim, bias=False)
        self.out = nn.Sequential(nn.Linear(dim, dim), ShiftedSoftplus(), nn.Linear(dim, dim))

    def forward(self, h: Tensor, edge_index: Tensor, rbf: Tensor) -> Tensor:
        src, dst = edge_index
        messages = self.in_atom(h)[src] * self.filter(rbf)  # cfconv, eq. 3
        return h + self.out(torch.zeros_like(h).index_add_(0, dst, messages))


@register_model("schnet", test_kwargs={"dim": 16, "interactions": 2, "rbf_bins": 16}, example=example_batch)
class SchNet(CrystalModel):
    """SchNet-style model on periodic k-NN edges.

    Args:
        dim: atom feature width (SchNet: 64 for QM9-size, 128 common for crystals).
        interactions: interaction blocks (SchNet: 3 for materials).
        rbf_bins: Gaussians on [0, ``rbf_max``] Angstrom.
        rbf_max: largest Gaussian centre.
        graph, target_mean, target_std, target_units, elements: see :class:`~sciformers.crystals.base.CrystalModel`.
    """

    registry_name = "schnet"

    def __init__(self, dim: int = 64, interactions: int = 3, rbf_bins: int = 64, rbf_max: float = 8.0,
                 graph: dict[str, Any] | None = None, target_mean: float = 0.0, target_std: float = 1.0,
                 target_units: str | None = None, elements: list[int] | None = None) -> None:
        super().__init__(graph, target_mean, target_std, target_units, elements)
        self.hparams.update(dim=dim, interactions=interactions, rbf_bins=rbf_bins, rbf_max=rbf_max)
        self.register_buffer("atom_table", atom_feature_table().clone(), persistent=False)
        self.embed = nn.Linear(ATOM_FEATURE_DIM, dim)
        self.rbf = RBFExpansion(0.0, rbf_max, rbf_bins)
        self.interactions = nn.ModuleList(Interaction(dim, rbf_bins) for _ in range(interactions))
        self.readout = nn.Sequential(nn.Linear(dim, dim // 2), ShiftedSoftplus(), nn.Linear(dim // 2, 1))

    def forward(self, batch: Any) -> Tensor:
        h = self.embed(self.atom_table[batch.z].to(self.dtype))
        rbf = self.rbf(batch.edge_vec.to(self.dtype).norm(dim=-1))
        for block in self.interactions:
            h = block(h, batch.edge_index, rbf)
        per_atom = self.readout(h)
        return mean_pool(per_atom, batch.batch, batch.num_graphs).squeeze(-1)
