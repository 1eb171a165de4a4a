"""ComFormer's invariant transformer layers: node-wise and edge-wise (iComFormer).

Yan et al., ICLR 2024, https://arxiv.org/abs/2403.11857, sec. 4.2 (eq. 5-7). Both layers use
the gated attention ComFormer inherits from Matformer: the attention weights are not a softmax
over neighbours but an element-wise sigmoid gate of a batch-normalised query-key product, and
gated messages are summed. For an edge j -> i with feature e_ij::

    alpha_ij = (W_q h_i) * MLP_k([W_k h_i | W_k h_j | W_e e_ij]) / sqrt(d)       (eq. 5)
    m_ij     = MLP_v([W_v h_i | W_v h_j | W_e e_ij]) * sigmoid(BN(alpha_ij))     (eq. 6)
    h_i     <- softplus(h_i + BN(W_o sum_j m_ij))                                 (eq. 7)

The edge-wise layer applies the same rule with e_ij as the query and, as its three "neighbours",
the lattice vectors l_1..l_3 (sec. 4.2, "edge-wise transformer layer"). Lattice vector m brings
the embedding u_m of its length, through key and value weights of its own, and the embedding
t_ijm of the angle between r_ij and l_m; the three gated messages are summed::

    k_m   = MLP_k([W_k e_ij | W_k^(m) u_m | W_t t_ijm]),   alpha_m = (W_q e_ij) * k_m / sqrt(d)
    m_m   = MLP_v([W_v e_ij | W_v^(m) u_m | W_t t_ijm]) * sigmoid(BN(alpha_m))
    e_ij <- softplus(e_ij + BN(sum_m W_o m_m))

as the reference code's ``ComformerConv_edge`` (``lin_key_e1..3``, ``lin_value_e1..3``). With
separate W_k^(m), W_v^(m) the layer knows which vector is l_1 (the shortest), l_2 and l_3; with
``lattice_weights="shared"`` (one W_k^(l), W_v^(l) for all three) it is a symmetric function of
the three (length, angle) pairs. It costs O(nk), against ALIGNN's O(nk^2) line graph.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _mlp(width_in: int, dim: int) -> nn.Sequential:
    """Linear(width_in -> d) - SiLU - Linear(d -> d), the key/value MLPs of eq. 5-6."""
    return nn.Sequential(nn.Linear(width_in, dim), nn.SiLU(), nn.Linear(dim, dim))


class NodeLayer(nn.Module):
    """Node-wise gated transformer layer (eq. 5-7).

    Args:
        dim: node and edge feature width d.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.edge = nn.Linear(dim, dim)
        self.key_mlp = _mlp(3 * dim, dim)
        self.value_mlp = _mlp(3 * dim, dim)
        self.gate_norm = nn.BatchNorm1d(dim)
        self.out = nn.Linear(dim, dim)
        self.out_norm = nn.BatchNorm1d(dim)

    def forward(self, h: Tensor, edge_index: Tensor, e: Tensor) -> Tensor:
        """``h (N, d)``, ``edge_index (2, E)`` as (j, i), ``e (E, d)`` -> updated ``h (N, d)``."""
        src, dst = edge_index
        k, v, we = self.key(h), self.value(h), self.edge(e)
        key = self.key_mlp(torch.cat([k[dst], k[src], we], dim=-1))
        alpha = self.query(h)[dst] * key / math.sqrt(self.dim)  # eq. 5
        message = self.value_mlp(torch.cat([v[dst], v[src], we], dim=-1)) * torch.sigmoid(self.gate_norm(alpha))  # eq. 6
        total = torch.zeros_like(h).index_add_(0, dst, message)
        return F.softplus(h + self.out_norm(self.out(total)))  # eq. 7


LatticeWeights = Literal["per_vector", "shared"]


class EdgeLayer(nn.Module):
    """Edge-wise gated transformer layer over the three lattice vectors (iComFormer).

    Args:
        dim: edge feature width d.
        lattice_weights: ``per_vector`` (the reference code: key and value weights of their own
            for l_1, l_2, l_3) or ``shared`` (one set for all three).
    """

    def __init__(self, dim: int, lattice_weights: LatticeWeights = "per_vector") -> None:
        super().__init__()
        if lattice_weights not in ("per_vector", "shared"):
            raise ValueError(f"lattice_weights must be 'per_vector' or 'shared', got {lattice_weights!r}")
        self.dim = dim
        n_sets = 3 if lattice_weights == "per_vector" else 1
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.lattice_key = nn.ModuleList(nn.Linear(dim, dim) for _ in range(n_sets))
        self.lattice_value = nn.ModuleList(nn.Linear(dim, dim) for _ in range(n_sets))
        self.angle = nn.Linear(dim, dim, bias=False)
        self.key_mlp = _mlp(3 * dim, dim)
        self.value_mlp = _mlp(3 * dim, dim)
        self.gate_norm = nn.BatchNorm1d(dim)
        self.out = nn.Linear(dim, dim)
        self.out_norm = nn.BatchNorm1d(dim)

    def _per_vector(self, maps: nn.ModuleList, lattice_emb: Tensor) -> Tensor:
        """``W^(m) u_m`` for m = 1..3: ``(E, 3, d)``."""
        return torch.stack([maps[m % len(maps)](lattice_emb[:, m]) for m in range(3)], dim=1)

    def forward(self, e: Tensor, lattice_emb: Tensor, angle_emb: Tensor) -> Tensor:
        """Update edge features.

        Args:
            e: ``(E, d)`` edge features.
            lattice_emb: ``(E, 3, d)`` embedding u_m of |l_m| for each edge's crystal.
            angle_emb: ``(E, 3, d)`` embedding t_ijm of cos(r_ij, l_m).

        Returns:
            ``(E, d)`` updated edge features.
        """
        n_edges, d = e.shape
        k = self.key(e).unsqueeze(1).expand(-1, 3, -1)
        v = self.value(e).unsqueeze(1).expand(-1, 3, -1)
        t = self.angle(angle_emb)
        key = self.key_mlp(torch.cat([k, self._per_vector(self.lattice_key, lattice_emb), t], dim=-1))
        alpha = self.query(e).unsqueeze(1) * key / math.sqrt(d)
        gate = torch.sigmoid(self.gate_norm(alpha.reshape(-1, d)).reshape(n_edges, 3, d))
        message = self.value_mlp(torch.cat([v, self._per_vector(self.lattice_value, lattice_emb), t], dim=-1)) * gate
        return F.softplus(e + self.out_norm(self.out(message).sum(1)))


def mean_pool(h: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """Mean of node features per graph: ``h (N, d)``, ``batch (N,)`` -> ``(num_graphs, d)``."""
    total = torch.zeros(num_graphs, h.shape[1], dtype=h.dtype, device=h.device).index_add_(0, batch, h)
    count = torch.zeros(num_graphs, dtype=h.dtype, device=h.device).index_add_(0, batch, torch.ones_like(h[:, 0]))
    return total / count.clamp_min(1).unsqueeze(1)
