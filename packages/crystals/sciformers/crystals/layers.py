"""ComFormer's invariant transformer layers: node-wise and edge-wise (iComFormer).

Yan et al., ICLR 2024, https://arxiv.org/abs/2403.11857, sec. 4.2 (eq. 5-7). Both layers use
the gated attention ComFormer inherits from Matformer: the attention weights are not a softmax
over neighbours but an element-wise sigmoid gate of a batch-normalised query-key product, and
gated messages are summed. For an edge j -> i with feature e_ij::

    alpha_ij = (W_q h_i) * MLP_k([W_k h_i | W_k h_j | W_e e_ij]) / sqrt(d)       (eq. 5)
    m_ij     = MLP_v([W_v h_i | W_v h_j | W_e e_ij]) * sigmoid(BN(alpha_ij))     (eq. 6)
    h_i     <- softplus(h_i + BN(W_o sum_j m_ij))                                 (eq. 7)

The edge-wise layer applies the same rule with e_ij as the query and, as its three "neighbours",
the lattice vectors l_1..l_3: each contributes an embedding of its length and of the angle
between r_ij and l_m, and the three gated messages are summed (sec. 4.2, "edge-wise
transformer layer"). It costs O(nk), against ALIGNN's O(nk^2) line graph.
"""

from __future__ import annotations

import math

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


class EdgeLayer(nn.Module):
    """Edge-wise gated transformer layer over the three lattice vectors (iComFormer).

    Args:
        dim: edge feature width d.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.key_mlp = _mlp(3 * dim, dim)
        self.value_mlp = _mlp(3 * dim, dim)
        self.gate_norm = nn.BatchNorm1d(dim)
        self.out = nn.Linear(dim, dim)
        self.out_norm = nn.BatchNorm1d(dim)

    def forward(self, e: Tensor, lattice_emb: Tensor, angle_emb: Tensor) -> Tensor:
        """Update edge features.

        Args:
            e: ``(E, d)`` edge features.
            lattice_emb: ``(E, 3, d)`` embedding of |l_m| for each edge's crystal.
            angle_emb: ``(E, 3, d)`` embedding of cos(r_ij, l_m).

        Returns:
            ``(E, d)`` updated edge features.
        """
        n_edges, d = e.shape
        k = self.key(e).unsqueeze(1).expand(-1, 3, -1)
        v = self.value(e).unsqueeze(1).expand(-1, 3, -1)
        key = self.key_mlp(torch.cat([k, lattice_emb, angle_emb], dim=-1))
        alpha = self.query(e).unsqueeze(1) * key / math.sqrt(d)
        gate = torch.sigmoid(self.gate_norm(alpha.reshape(-1, d)).reshape(n_edges, 3, d))
        message = (self.value_mlp(torch.cat([v, lattice_emb, angle_emb], dim=-1)) * gate).sum(1)
        return F.softplus(e + self.out_norm(self.out(message)))


def mean_pool(h: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """Mean of node features per graph: ``h (N, d)``, ``batch (N,)`` -> ``(num_graphs, d)``."""
    total = torch.zeros(num_graphs, h.shape[1], dtype=h.dtype, device=h.device).index_add_(0, batch, h)
    count = torch.zeros(num_graphs, dtype=h.dtype, device=h.device).index_add_(0, batch, torch.ones_like(h[:, 0]))
    return total / count.clamp_min(1).unsqueeze(1)
