"""Graph attention with edge features (TransformerConv-style).

Shi et al., "Masked Label Prediction: Unified Message Passing Model for Semi-Supervised
Classification", IJCAI 2021, https://arxiv.org/abs/2009.03509 (eq. 3-5). For an edge j -> i
with features e_ij, per head::

    q_i = W_q x_i,   k_ij = W_k x_j + W_e e_ij,   v_ij = W_v x_j + W_e e_ij
    alpha_ij = softmax_{j in N(i)} (q_i . k_ij / sqrt(d))          (eq. 4)
    out_i = W_o concat_h (sum_j alpha_ij v_ij) + W_r x_i             (eq. 3, 5)

The softmax runs over each node's incoming edges (a scatter softmax with max subtraction).
A node with no incoming edge aggregates a zero message, so its output is
``W_o 0 + W_r x_i`` (the output bias plus its root term). Batched graphs are one disjoint
union, so no edge crosses graphs.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from sciformers.attention.registry import AttentionSpec, register_attention


def scatter_softmax(scores: Tensor, index: Tensor, n: int) -> Tensor:
    """Softmax of ``scores (E, H)`` over the groups given by ``index (E,)`` (values < n)."""
    heads = scores.shape[1]
    expanded = index[:, None].expand(-1, heads)
    peak = torch.full((n, heads), float("-inf"), dtype=scores.dtype, device=scores.device)
    peak = peak.scatter_reduce(0, expanded, scores, reduce="amax", include_self=True)
    e = torch.exp(scores - peak[index])
    total = torch.zeros((n, heads), dtype=scores.dtype, device=scores.device).index_add_(0, index, e)
    return e / total[index]


class EdgeAttention(nn.Module):
    """Multi-head attention over a graph's edges, with edge features in keys and values.

    Args:
        dim: node feature width (input and output).
        heads: number of heads.
        dim_head: width per head (default ``dim // heads``).
        edge_dim: edge feature width (``None``: no edge features).
        root_weight: add ``W_r x_i`` (a skip from the node itself).
        bias: biases in the projections.
    """

    def __init__(self, dim: int, heads: int = 1, dim_head: int | None = None, edge_dim: int | None = None,
                 root_weight: bool = True, bias: bool = True) -> None:
        super().__init__()
        if dim_head is None and dim % heads:
            raise ValueError(f"edge attention: dim {dim} is not divisible by heads {heads}; pass dim_head")
        self.dim, self.heads = dim, heads
        self.dim_head = dim_head or dim // heads
        inner = heads * self.dim_head
        self.to_q = nn.Linear(dim, inner, bias=bias)
        self.to_k = nn.Linear(dim, inner, bias=bias)
        self.to_v = nn.Linear(dim, inner, bias=bias)
        self.to_e = nn.Linear(edge_dim, inner, bias=False) if edge_dim is not None else None
        self.to_out = nn.Linear(inner, dim, bias=bias)
        self.root = nn.Linear(dim, dim, bias=False) if root_weight else None

    def _check(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None) -> None:
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"edge attention: x must be (num_nodes, {self.dim}), got {tuple(x.shape)}")
        if edge_index.dim() != 2 or edge_index.shape[0] != 2 or edge_index.dtype != torch.long:
            raise ValueError(f"edge attention: edge_index must be a (2, E) long tensor, got {tuple(edge_index.shape)} "
                             f"{edge_index.dtype}")
        if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= x.shape[0]):
            raise ValueError(f"edge attention: edge_index values must lie in [0, {x.shape[0]}), got "
                             f"[{int(edge_index.min())}, {int(edge_index.max())}]")
        if (edge_attr is None) != (self.to_e is None):
            raise ValueError("edge attention: pass edge_attr exactly when the layer was built with edge_dim")
        if edge_attr is not None and self.to_e is not None and (
                edge_attr.shape != (edge_index.shape[1], self.to_e.in_features)):
            raise ValueError(f"edge attention: edge_attr must be (E={edge_index.shape[1]}, {self.to_e.in_features}), "
                             f"got {tuple(edge_attr.shape)}")

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        """``x (num_nodes, dim)``, ``edge_index (2, E)`` as (source j, target i) -> ``(num_nodes, dim)``."""
        self._check(x, edge_index, edge_attr)
        src, dst = edge_index
        n, h, d = x.shape[0], self.heads, self.dim_head
        q = self.to_q(x).view(n, h, d)
        k = self.to_k(x)[src].view(-1, h, d)
        v = self.to_v(x)[src].view(-1, h, d)
        if self.to_e is not None and edge_attr is not None:
            e = self.to_e(edge_attr).view(-1, h, d)
            k, v = k + e, v + e  # eq. 5: edge features enter keys and values
        scores = (q[dst] * k).sum(-1) / math.sqrt(d)  # (E, H)
        alpha = scatter_softmax(scores, dst, n)
        agg = torch.zeros(n, h, d, dtype=x.dtype, device=x.device).index_add_(0, dst, alpha[..., None] * v)
        out = self.to_out(agg.reshape(n, h * d))
        return out + self.root(x) if self.root is not None else out


register_attention(AttentionSpec(
    name="edge", factory=EdgeAttention, kind="graph", causal=False, mask="none",
    paper="https://arxiv.org/abs/2009.03509",
    description="TransformerConv-style graph attention over edge_index with edge features in K and V",
))
