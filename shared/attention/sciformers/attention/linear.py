"""Linear attention: Katharopoulos et al. 2020, "Transformers are RNNs" (https://arxiv.org/abs/2006.16236).

Softmax similarity is replaced by a kernel ``sim(q, k) = phi(q)^T phi(k)`` with the positive
feature map ``phi(x) = elu(x) + 1`` (eq. 7), so that attention factorizes (eq. 4-6)::

    out_i = phi(Q_i)^T (sum_j phi(K_j) V_j^T) / (phi(Q_i)^T sum_j phi(K_j) + eps)

and costs O(N d d_v) instead of O(N M d). The causal form (eq. 8-9) uses prefix sums
``S_i = sum_{j<=i} phi(K_j) V_j^T`` and ``z_i = sum_{j<=i} phi(K_j)``. We evaluate it in chunks of
``C`` tokens: inside a chunk the quadratic form with a lower-triangular mask, across chunks an
exclusive prefix sum of per-chunk states, so only ``(N / C) d d_v`` state is ever stored (never
the ``N d d_v`` of a token-level cumsum). Generation uses the RNN view (eq. 18-20):
:func:`linear_attention_step` updates a :class:`LinearAttentionState` ``(S, z)`` one token at a
time.

Masks: only key padding, by zeroing ``phi(K)`` of removed keys. A query with no attendable key
outputs zero (the numerator and normalizer are both zero, and ``eps`` keeps the division finite).
bfloat16/float16 inputs are computed in float32 and the output cast back.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.attention.checks import check_qkv, key_padding
from sciformers.attention.reference import elu_feature_map, naive_linear_attention
from sciformers.attention.registry import AttentionSpec, register_attention

_NAME = "linear"
DEFAULT_CHUNK = 64


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Reduced-precision inputs accumulate their sums over N in float32."""
    return torch.float32 if dtype in (torch.bfloat16, torch.float16) else dtype


def _key_features(q: Tensor, k: Tensor, mask: Tensor | None) -> Tensor:
    """``phi(K)`` (eq. 7) with the features of padded keys set to zero."""
    keep = key_padding(mask, q, k, _NAME)
    kf = elu_feature_map(k.to(_compute_dtype(k.dtype)))
    if keep is not None:
        kf = kf.masked_fill(~keep[:, :, 0, :, None], 0.0)  # (B, 1, M, 1)
    return kf


def _features(q: Tensor, k: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """``phi(Q)`` and ``phi(K)`` (eq. 7) with padded keys' features set to zero."""
    return elu_feature_map(q.to(_compute_dtype(q.dtype))), _key_features(q, k, mask)


def linear_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    causal: bool = False,
    eps: float = 1e-6,
    chunk_size: int = DEFAULT_CHUNK,
) -> Tensor:
    """Linear attention, non-causal (eq. 6) or causal (eq. 9, chunked).

    Args:
        q: queries ``(B, H, N, d)``.
        k: keys ``(B, H, M, d)``.
        v: values ``(B, H, M, d_v)``.
        mask: key-padding mask ``(B, M)`` or ``(B, 1, 1, M)`` (True = keep; or float 0/-inf).
        causal: query ``i`` attends keys ``j <= i``; needs ``N == M``.
        eps: added to the normalizer.
        chunk_size: tokens per chunk of the causal scan.

    Returns:
        ``(B, H, N, d_v)`` in the dtype of ``q``.

    Raises:
        ValueError: on inconsistent shapes, a query-dependent mask, or causal with ``N != M``.
    """
    if causal:
        return causal_linear_attention(q, k, v, mask=mask, eps=eps, chunk_size=chunk_size)
    check_qkv(q, k, v, _NAME)
    qf, kf = _features(q, k, mask)
    vc = v.to(qf.dtype)
    kv = kf.transpose(-2, -1) @ vc  # sum_j phi(K_j) V_j^T, (B, H, d, d_v)   (eq. 5)
    z = kf.sum(-2).unsqueeze(-1)  # sum_j phi(K_j), (B, H, d, 1)
    out = (qf @ kv) / (qf @ z + eps)  # eq. 6
    return out.to(q.dtype)


def causal_linear_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    eps: float = 1e-6,
    chunk_size: int = DEFAULT_CHUNK,
) -> Tensor:
    """Causal linear attention (eq. 8-9) as a chunked scan, memory O(N (C + d_v) + (N/C) d d_v).

    Args:
        q: queries ``(B, H, N, d)``.
        k: keys ``(B, H, N, d)``.
        v: values ``(B, H, N, d_v)``.
        mask: key-padding mask ``(B, N)`` or ``(B, 1, 1, N)`` (True = keep; or float 0/-inf).
        eps: added to the normalizer.
        chunk_size: tokens per chunk ``C``; ``N`` need not be a multiple of it.

    Returns:
        ``(B, H, N, d_v)`` in the dtype of ``q``.

    Raises:
        ValueError: on inconsistent shapes, a query-dependent mask, or ``N != M``.
    """
    check_qkv(q, k, v, _NAME)
    if q.shape[-2] != k.shape[-2]:
        raise ValueError(
            f"{_NAME} attention: causal needs as many queries as keys, got N={q.shape[-2]} and "
            f"M={k.shape[-2]}; for generation use linear_attention_step with a LinearAttentionState"
        )
    if chunk_size < 1:
        raise ValueError(f"{_NAME} attention: chunk_size must be >= 1, got {chunk_size}")
    qf, kf = _features(q, k, mask)
    B, H, N, d = q.shape
    dv = v.shape[-1]
    C = min(chunk_size, N)
    pad = (-N) % C
    nc = (N + pad) // C
    # A column of ones after V carries the normalizer z through the same products as S.
    # Padded keys (to a multiple of C) have phi(K) = 0 and add nothing; padded queries are dropped.
    vf = F.pad(v.to(qf.dtype), (0, 1, 0, pad), value=1.0)
    if pad:
        qf, kf = F.pad(qf, (0, 0, 0, pad)), F.pad(kf, (0, 0, 0, pad))
    qc, kc, vc = (
        qf.reshape(B, H, nc, C, d),
        kf.reshape(B, H, nc, C, d),
        vf.view(B, H, nc, C, dv + 1),
    )

    # Inside each chunk: the quadratic form phi(Q) phi(K)^T restricted to j <= i.
    tril = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
    a = (qc @ kc.transpose(-2, -1)).masked_fill_(~tril, 0.0)  # (B, H, nc, C, C)

    # Across chunks: [S | z] summed over all earlier chunks (eq. 8-9), an exclusive prefix sum.
    s = kc.transpose(-2, -1) @ vc  # per chunk, (B, H, nc, d, d_v + 1)
    s_prev = s.cumsum(2).sub_(s)

    num = torch.baddbmm(
        (a @ vc).view(-1, C, dv + 1), qc.reshape(-1, C, d), s_prev.view(-1, d, dv + 1)
    ).view(B, H, nc * C, dv + 1)[:, :, :N]
    out = num[..., :dv] / (num[..., dv:] + eps)  # eq. 9
    return out.to(q.dtype)


@dataclass(frozen=True)
class LinearAttentionState:
    """The RNN state of causal linear attention after ``t`` tokens (eq. 18-19).

    Args:
        s: ``S_t = sum_{j<=t} phi(K_j) V_j^T``, ``(B, H, d, d_v)``.
        z: ``z_t = sum_{j<=t} phi(K_j)``, ``(B, H, d)``.
    """

    s: Tensor
    z: Tensor

    @classmethod
    def zeros(
        cls,
        batch: int,
        heads: int,
        dim: int,
        dim_v: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> LinearAttentionState:
        """The empty state ``S_0 = 0, z_0 = 0`` (in float32 for reduced-precision ``dtype``).

        Args:
            batch: ``B``.
            heads: ``H``.
            dim: key dim ``d``.
            dim_v: value dim ``d_v``.
            dtype: dtype of the queries and keys that will be stepped.
            device: where the state lives.
        """
        dtype = _compute_dtype(dtype)
        return cls(
            s=torch.zeros(batch, heads, dim, dim_v, dtype=dtype, device=device),
            z=torch.zeros(batch, heads, dim, dtype=dtype, device=device),
        )

    @classmethod
    def from_prefix(cls, k: Tensor, v: Tensor, mask: Tensor | None = None) -> LinearAttentionState:
        """The state after a whole prefix (a prompt), to go on with :func:`linear_attention_step`.

        Args:
            k: keys ``(B, H, M, d)``.
            v: values ``(B, H, M, d_v)``.
            mask: key-padding mask ``(B, M)`` or ``(B, 1, 1, M)``.
        """
        check_qkv(k, k, v, _NAME)
        kf = _key_features(k, k, mask)
        return cls(s=kf.transpose(-2, -1) @ v.to(kf.dtype), z=kf.sum(-2))


def linear_attention_step(
    q_t: Tensor,
    k_t: Tensor,
    v_t: Tensor,
    state: LinearAttentionState | None = None,
    eps: float = 1e-6,
) -> tuple[Tensor, LinearAttentionState]:
    """One token of causal linear attention in its recurrent form (eq. 18-20).

    Args:
        q_t: query of the new token ``(B, H, d)`` or ``(B, H, 1, d)``.
        k_t: its key, same layout as ``q_t``.
        v_t: its value ``(B, H, d_v)`` or ``(B, H, 1, d_v)``.
        state: the state after the previous tokens (``None`` = empty).
        eps: added to the normalizer.

    Returns:
        The output for the token (same layout as ``q_t``, ``d_v`` last) and the new state.

    Raises:
        ValueError: if the token tensors are not ``(B, H, d)`` or ``(B, H, 1, d)``.
    """
    squeeze = q_t.dim() == 4
    if squeeze:
        if not (q_t.shape[2] == k_t.shape[2] == v_t.shape[2] == 1):
            raise ValueError(
                f"{_NAME} attention step takes one token: (B, H, 1, d), got q {tuple(q_t.shape)}, "
                f"k {tuple(k_t.shape)}, v {tuple(v_t.shape)}"
            )
        q_t, k_t, v_t = q_t[:, :, 0], k_t[:, :, 0], v_t[:, :, 0]
    if not (q_t.dim() == k_t.dim() == v_t.dim() == 3):
        raise ValueError(
            f"{_NAME} attention step: q_t, k_t, v_t must be (B, H, d) or (B, H, 1, d), got "
            f"{tuple(q_t.shape)}, {tuple(k_t.shape)}, {tuple(v_t.shape)}"
        )
    check_qkv(q_t[:, :, None], k_t[:, :, None], v_t[:, :, None], _NAME)
    if state is None:
        state = LinearAttentionState.zeros(*k_t.shape, v_t.shape[-1], k_t.dtype, k_t.device)
    dtype = state.s.dtype
    qf, kf = elu_feature_map(q_t.to(dtype)), elu_feature_map(k_t.to(dtype))
    s = state.s + kf.unsqueeze(-1) * v_t.to(dtype).unsqueeze(-2)  # eq. 18
    z = state.z + kf  # eq. 19
    num = (qf.unsqueeze(-2) @ s).squeeze(-2)
    out = (num / ((qf * z).sum(-1, keepdim=True) + eps)).to(q_t.dtype)  # eq. 20
    return (out.unsqueeze(2) if squeeze else out), LinearAttentionState(s=s, z=z)


class LinearAttention(nn.Module):
    """Linear attention as a module (no parameters): ``forward(q, k, v, mask=None, causal=False)``.

    Args:
        eps: added to the normalizer.
        chunk_size: tokens per chunk of the causal scan.
    """

    def __init__(self, eps: float = 1e-6, chunk_size: int = DEFAULT_CHUNK) -> None:
        super().__init__()
        self.eps = eps
        self.chunk_size = chunk_size

    def forward(
        self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, causal: bool = False
    ) -> Tensor:
        """Attend ``q`` to ``k, v``; see :func:`linear_attention`.

        Args:
            q: queries ``(B, H, N, d)``.
            k: keys ``(B, H, M, d)``.
            v: values ``(B, H, M, d_v)``.
            mask: key-padding mask ``(B, M)`` or ``(B, 1, 1, M)``.
            causal: query ``i`` attends keys ``j <= i``.
        """
        return linear_attention(
            q, k, v, mask=mask, causal=causal, eps=self.eps, chunk_size=self.chunk_size
        )

    def step(
        self, q_t: Tensor, k_t: Tensor, v_t: Tensor, state: LinearAttentionState | None = None
    ) -> tuple[Tensor, LinearAttentionState]:
        """One generation step; see :func:`linear_attention_step`.

        Args:
            q_t: query ``(B, H, d)`` or ``(B, H, 1, d)``.
            k_t: key, same layout.
            v_t: value, same layout with ``d_v`` last.
            state: the state after the previous tokens (``None`` = empty).
        """
        return linear_attention_step(q_t, k_t, v_t, state, eps=self.eps)

    def extra_repr(self) -> str:
        return f"eps={self.eps}, chunk_size={self.chunk_size}"


register_attention(
    AttentionSpec(
        name=_NAME,
        factory=LinearAttention,
        kind="sequence",
        causal=True,
        mask="key_padding",
        reference=naive_linear_attention,
        paper="https://arxiv.org/abs/2006.16236",
        description="linear attention, phi = elu + 1; chunked causal scan and RNN step, O(N)",
    )
)
