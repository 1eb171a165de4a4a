"""Pathformer: multi-scale Transformers with adaptive pathways.

Chen et al., "Pathformer: Multi-scale Transformers with Adaptive Pathways for Time Series
Forecasting", ICLR 2024, https://arxiv.org/abs/2402.05956 (Sec. 3, Fig. 2).

Every time step of every variate is embedded into ``d_model`` features. The network stacks
*adaptive multi-scale (AMS) blocks*. Each block holds one Transformer per patch size
(Sec. 3.1): the series is divided into patches of that size and
- *intra-patch attention* summarises the steps inside each patch into one vector (a learnable
  query per patch attends to the patch's steps), spread back over the steps by a linear map;
- *inter-patch attention* lets whole patches (the patch's steps' features flattened) attend to
  each other, with learnable patch positions.
A *multi-scale router* (Sec. 3.2) decomposes the input into seasonality (the strongest DFT
frequencies) and trend (a learned mixture of moving averages), scores the patch sizes from
that and keeps the top ``k`` per input (noisy top-k gating); the *aggregator* sums the chosen
Transformers' outputs weighted by their gates. A balance loss, the squared coefficient of
variation of the gates' per-scale totals over the batch, keeps all scales in use. A linear
head maps the flattened last representation of each variate to the horizon. The input is
normalised per window with RevIN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.attention import FeedForward, MultiHeadAttention
from sciformers.core import register_model
from sciformers.timeseries.forecasting.base import WindowForecaster, example_window
from sciformers.timeseries.forecasting.revin import RevIN

DEFAULT_PATCH_SIZES = ((16, 12, 8, 32), (12, 8, 6, 4), (8, 6, 4, 2))  # official ETTh1 script: 3 blocks x 4 scales


def cv_squared(x: Tensor, eps: float = 1e-10) -> Tensor:
    """Squared coefficient of variation ``var(x) / mean(x)^2`` (population variance); 0 for one entry."""
    if x.numel() < 2:
        return torch.zeros((), device=x.device, dtype=x.dtype)
    return x.var(unbiased=False) / (x.mean() ** 2 + eps)


def seasonality(x: Tensor, num_freqs: int) -> Tensor:
    """Keep the ``num_freqs`` largest-amplitude non-constant DFT frequencies along dim 1 (per series)."""
    spec = torch.fft.rfft(x, dim=1)
    amp = spec.abs()
    amp[:, 0] = 0  # the mean belongs to the trend
    k = min(num_freqs, amp.shape[1] - 1)
    keep = torch.zeros_like(amp, dtype=torch.bool).scatter(1, amp.topk(k, dim=1).indices, True)
    return torch.fft.irfft(spec * keep, n=x.shape[1], dim=1)


def moving_average(x: Tensor, kernel: int) -> Tensor:
    """Moving average of ``x (B, L, N)`` along time, same length (edges padded by repetition)."""
    front, back = (kernel - 1) // 2, kernel // 2
    padded = torch.cat([x[:, :1].expand(-1, front, -1), x, x[:, -1:].expand(-1, back, -1)], dim=1)
    return F.avg_pool1d(padded.transpose(1, 2), kernel, stride=1).transpose(1, 2)


class MultiScaleRouter(nn.Module):
    """Scores the patch sizes from the input's seasonality and trend and keeps the top ``k`` (Sec. 3.2).

    Args:
        seq_len: series length ``L``.
        n_vars: variates ``N``.
        d_model: features per step.
        num_scales: number of patch sizes to choose among.
        top_k: scales kept per input.
        num_freqs: DFT frequencies kept for the seasonality.
        trend_kernels: moving-average kernels mixed into the trend.
        noise_eps: minimum standard deviation of the gating noise (training only).
    """

    def __init__(
        self, seq_len: int, n_vars: int, d_model: int, num_scales: int, top_k: int, num_freqs: int = 3,
        trend_kernels: tuple[int, ...] = (4, 8, 12), noise_eps: float = 1e-2,
    ) -> None:
        super().__init__()
        if not 1 <= top_k <= num_scales:
            raise ValueError(f"MultiScaleRouter: top_k must be in [1, {num_scales}], got {top_k}")
        self.top_k, self.num_freqs, self.trend_kernels, self.noise_eps = top_k, num_freqs, tuple(trend_kernels), noise_eps
        self.features = nn.Linear(d_model, 1)  # (B, L, N, d) -> (B, L, N)
        self.trend_weights = nn.Linear(1, len(self.trend_kernels))  # per-step mixture of moving averages
        self.variates = nn.Linear(n_vars, 1)  # (B, L, N) -> (B, L)
        self.w_gate = nn.Parameter(torch.zeros(seq_len, num_scales))
        self.w_noise = nn.Parameter(torch.zeros(seq_len, num_scales))

    def transform(self, h: Tensor) -> Tensor:
        """``X_trans = X + X_sea + X_trend`` reduced to one series per input, ``(B, L)``."""
        x = self.features(h).squeeze(-1)
        sea = seasonality(x, self.num_freqs)
        pools = torch.stack([moving_average(x, k) for k in self.trend_kernels], dim=-1)  # (B, L, N, K)
        trend = (pools * self.trend_weights(x.unsqueeze(-1)).softmax(-1)).sum(-1)
        return self.variates(x + sea + trend).squeeze(-1)

    def gate(self, logits: Tensor) -> Tensor:
        """Softmax over the top-``k`` logits per row, zero elsewhere: gates ``(B, num_scales)``."""
        top, idx = logits.topk(self.top_k, dim=-1)
        return torch.zeros_like(logits).scatter(-1, idx, top.softmax(-1))

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """Gates ``(B, num_scales)`` for ``h (B, L, N, d)`` and the balance loss ``CV(importance)^2``."""
        xt = self.transform(h)
        logits = xt @ self.w_gate  # R(X_trans) = X_trans W_r (+ noise while training)
        if self.training:
            logits = logits + torch.randn_like(logits) * (F.softplus(xt @ self.w_noise) + self.noise_eps)
        gates = self.gate(logits)
        return gates, cv_squared(gates.sum(0))


class DualAttentionScale(nn.Module):
    """The Transformer of one patch size: intra- and inter-patch attention, then a feed-forward (Sec. 3.1).

    Args:
        seq_len: series length ``L`` (a multiple of ``patch_size``).
        patch_size: steps per patch ``S``.
        d_model: features per step ``d``.
        d_ff: feed-forward hidden width.
        dropout: dropout on the combined attention output (the feed-forward uses twice this, as the paper's code).
    """

    def __init__(self, seq_len: int, patch_size: int, d_model: int, d_ff: int, dropout: float = 0.1) -> None:
        super().__init__()
        if seq_len % patch_size:
            raise ValueError(f"Pathformer: patch size {patch_size} does not divide the lookback {seq_len}")
        self.size, self.num = patch_size, seq_len // patch_size
        self.intra_query = nn.Parameter(torch.randn(self.num, d_model) * 0.02)
        self.intra_attn = MultiHeadAttention(d_model, heads=1)
        self.intra_spread = nn.Linear(self.num, seq_len)  # patch summaries -> steps
        width = patch_size * d_model
        self.inter_embed = nn.Linear(width, width)
        self.inter_pos = nn.Parameter(torch.empty(self.num, width).uniform_(-0.02, 0.02))
        self.inter_attn = MultiHeadAttention(width, heads=d_model)  # head width = patch size
        self.ff = FeedForward(d_model, d_ff, "gelu", dropout=2 * dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: Tensor) -> Tensor:
        """``h (B, L, N, d)`` -> same shape: ``h + Intra(h) + Inter(h)``, then ``+ FFN``."""
        b, length, n, d = h.shape
        patches = h.reshape(b, self.num, self.size, n, d).permute(0, 3, 1, 2, 4)  # (B, N, P, S, d)
        # intra-patch: a learnable query per patch attends to [query; the patch's steps]
        q = self.intra_query.expand(b, n, -1, -1).reshape(-1, 1, d)
        kv = torch.cat([q, patches.reshape(-1, self.size, d)], dim=1)
        intra = self.intra_attn(q, context=kv).reshape(b, n, self.num, d)
        intra = self.intra_spread(intra.transpose(2, 3)).permute(0, 3, 1, 2)  # (B, N, d, L) -> (B, L, N, d)
        # inter-patch: patches (steps x features flattened) attend to each other, per variate
        tokens = self.dropout(self.inter_embed(patches.reshape(b * n, self.num, -1)) + self.inter_pos)
        inter = self.inter_attn(tokens).reshape(b, n, length, d).permute(0, 2, 1, 3)
        out = self.dropout(h + intra + inter)
        return out + self.ff(out)


class AdaptiveMultiScaleBlock(nn.Module):
    """Router + one :class:`DualAttentionScale` per patch size + gated aggregation (Sec. 3.2).

    Args:
        seq_len: series length.
        n_vars: variates.
        d_model: features per step.
        d_ff: feed-forward hidden width.
        patch_sizes: the candidate patch sizes of this block.
        top_k: patch sizes used per input.
        dropout: dropout inside the scale Transformers.
        router: further :class:`MultiScaleRouter` arguments.
    """

    def __init__(
        self, seq_len: int, n_vars: int, d_model: int, d_ff: int, patch_sizes: tuple[int, ...], top_k: int,
        dropout: float = 0.1, **router: object,
    ) -> None:
        super().__init__()
        self.router = MultiScaleRouter(seq_len, n_vars, d_model, len(patch_sizes), top_k, **router)  # type: ignore[arg-type]
        self.scales = nn.ModuleList(DualAttentionScale(seq_len, s, d_model, d_ff, dropout) for s in patch_sizes)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """``sum_i gate_i * Transformer_i(h)`` over the chosen scales, and the router's balance loss."""
        gates, balance = self.router(h)
        used = (gates > 0).any(0)
        out = torch.zeros_like(h)
        for i, scale in enumerate(self.scales):
            if used[i]:  # a scale no input chose contributes nothing; skip its compute
                out = out + gates[:, i, None, None, None] * scale(h)
        return out, balance


@register_model("timeseries.pathformer", test_kwargs={"seq_len": 12, "pred_len": 4, "n_vars": 2,
                                                       "patch_sizes": [[6, 4]], "top_k": 1, "d_ff": 8},
                example=example_window)
class Pathformer(WindowForecaster):
    """Pathformer for a lookback ``seq_len`` and horizon ``pred_len``.

    Args:
        seq_len: lookback ``L`` (paper: 96); every patch size must divide it.
        pred_len: horizon ``H``.
        n_vars: variates ``N``.
        patch_sizes: one list of candidate patch sizes per AMS block.
        top_k: scales chosen per input in every block.
        d_model: features per step (official ETTh1 script: 4).
        d_ff: feed-forward hidden width (script: 64).
        dropout: dropout inside the blocks.
        num_freqs: DFT frequencies in the router's seasonality.
        trend_kernels: the router's moving-average kernels.
        balance_coef: weight of the summed balance losses in the training loss (paper code: 0.01).
        use_revin: RevIN on each window.
    """

    def __init__(
        self, seq_len: int, pred_len: int, n_vars: int,
        patch_sizes: tuple[tuple[int, ...], ...] | list[list[int]] = DEFAULT_PATCH_SIZES, top_k: int = 3,
        d_model: int = 4, d_ff: int = 64, dropout: float = 0.1, num_freqs: int = 3,
        trend_kernels: tuple[int, ...] | list[int] = (4, 8, 12), balance_coef: float = 1e-2, use_revin: bool = True,
    ) -> None:
        super().__init__(seq_len, pred_len, n_vars)
        self.balance_coef = balance_coef
        self.revin = RevIN(n_vars, affine=False) if use_revin else None
        self.embed = nn.Linear(1, d_model)  # each step of each variate -> d_model features
        self.blocks = nn.ModuleList(
            AdaptiveMultiScaleBlock(seq_len, n_vars, d_model, d_ff, tuple(sizes), top_k, dropout,
                                    num_freqs=num_freqs, trend_kernels=tuple(trend_kernels))
            for sizes in patch_sizes
        )
        self.head = nn.Linear(seq_len * d_model, pred_len)

    def forecast(self, x: Tensor) -> tuple[Tensor, Tensor]:
        self.check_input(x)
        z = self.revin.normalize(x) if self.revin is not None else x
        h = self.embed(z.unsqueeze(-1))  # (B, L, N, d)
        balance = torch.zeros((), device=x.device, dtype=x.dtype)
        for block in self.blocks:
            h, b = block(h)
            balance = balance + b
        y = self.head(h.transpose(1, 2).flatten(2)).transpose(1, 2)  # (B, N, L*d) -> (B, H, N)
        y = self.revin.denormalize(y) if self.revin is not None else y
        return y, self.balance_coef * balance
