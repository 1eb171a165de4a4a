"""eComFormer's equivariant update: e3nn tensor products with spherical harmonics (l <= 2).

Yan et al., ICLR 2024, https://arxiv.org/abs/2403.11857, sec. 4.3, as the reference code's
``ComformerConvEqui``. Node scalars are lifted to equivariant features with the edge
directions' spherical harmonics and brought back to scalars by a second tensor product; both
tensor products are weighted per edge by an MLP (Linear - Softplus - Linear) of the invariant
edge feature::

    x_i   = W_in h_i                                                  (64x0e)
    f_i   = mean_j TP1(x_j, Y(r_ij); w1(e_ij)) + pad(x_i)             (64x0e + 8x1o + 8x2e, eq. 8)
    s_i   = mean_j TP2(f_j, Y(r_ij); w2(e_ij))                        (64x0e, eq. 9)
    h_i  <- softplus(W_out softplus(BN(s_i))) + W_skip h_i            (eq. 10)

``pad(x_i)`` is the residual of the input scalars, zero-padded into the 0e channels of f (the
l = 1, 2 channels get none). Y has parity (-1)^l (1x0e + 1x1o + 1x2e), so f is O(3)-equivariant
and s is invariant.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _require_e3nn():
    try:
        from e3nn import o3
    except ImportError as err:  # pragma: no cover - the extra is installed in CI
        raise ImportError("eComFormer needs e3nn: pip install 'sciformers[crystals]'") from err
    return o3


def scatter_mean(values: Tensor, index: Tensor, n: int) -> Tensor:
    """Mean of ``values (E, c)`` over groups ``index (E,)`` -> ``(n, c)`` (0 for empty groups)."""
    total = torch.zeros(n, values.shape[1], dtype=values.dtype, device=values.device).index_add_(0, index, values)
    count = torch.zeros(n, dtype=values.dtype, device=values.device).index_add_(0, index, torch.ones_like(values[:, 0]))
    return total / count.clamp_min(1).unsqueeze(1)


def edge_mlp(dim: int, out: int) -> nn.Sequential:
    """Per-edge tensor-product weights from the edge feature: Linear - Softplus - Linear."""
    return nn.Sequential(nn.Linear(dim, dim), nn.Softplus(), nn.Linear(dim, out))


class EquivariantUpdate(nn.Module):
    """The eComFormer node update (eq. 8-10).

    Args:
        dim: node and edge feature width d.
        scalars: scalar channels of the tensor products (paper: 64).
        vectors: channels of each of l = 1 and l = 2 (paper: 8).
    """

    def __init__(self, dim: int, scalars: int = 64, vectors: int = 8) -> None:
        super().__init__()
        o3 = _require_e3nn()
        self.irreps_sh = o3.Irreps.spherical_harmonics(2)
        self.irreps_mid = o3.Irreps(f"{scalars}x0e + {vectors}x1o + {vectors}x2e")
        self.lin_in = nn.Linear(dim, scalars)
        self.tp1 = o3.FullyConnectedTensorProduct(f"{scalars}x0e", self.irreps_sh, self.irreps_mid,
                                                  shared_weights=False, internal_weights=False)
        self.tp2 = o3.FullyConnectedTensorProduct(self.irreps_mid, self.irreps_sh, f"{scalars}x0e",
                                                  shared_weights=False, internal_weights=False)
        self.weights1 = edge_mlp(dim, self.tp1.weight_numel)
        self.weights2 = edge_mlp(dim, self.tp2.weight_numel)
        self.norm = nn.BatchNorm1d(scalars)
        self.lin_out = nn.Linear(scalars, dim)
        self.skip = nn.Linear(dim, dim)

    def spherical_harmonics(self, edge_vec: Tensor) -> Tensor:
        """``Y(r_ij / |r_ij|)`` for l = 0, 1, 2: ``(E, 9)``."""
        o3 = _require_e3nn()
        return o3.spherical_harmonics(self.irreps_sh, edge_vec, normalize=True, normalization="component")

    def equivariant_features(self, h: Tensor, edge_index: Tensor, edge_vec: Tensor, e: Tensor) -> tuple[Tensor, Tensor]:
        """``(x, f)``: the input scalars ``x (N, scalars)`` and the equivariant ``f (N, irreps_mid.dim)`` (eq. 8)."""
        src, dst = edge_index
        x = self.lin_in(h)
        sh = self.spherical_harmonics(edge_vec)
        f = scatter_mean(self.tp1(x[src], sh, self.weights1(e)), dst, h.shape[0])
        return x, f + F.pad(x, (0, f.shape[1] - x.shape[1]))

    def forward(self, h: Tensor, edge_index: Tensor, edge_vec: Tensor, e: Tensor) -> Tensor:
        """``h (N, d)``, ``edge_index (2, E)``, ``edge_vec (E, 3)``, ``e (E, d)`` -> ``(N, d)``."""
        src, dst = edge_index
        _, f = self.equivariant_features(h, edge_index, edge_vec, e)
        sh = self.spherical_harmonics(edge_vec)
        s = scatter_mean(self.tp2(f[src], sh, self.weights2(e)), dst, h.shape[0])  # eq. 9
        return F.softplus(self.lin_out(F.softplus(self.norm(s)))) + self.skip(h)  # eq. 10
