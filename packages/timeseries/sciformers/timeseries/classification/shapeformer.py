"""ShapeFormer: a class-specific shapelet transformer beside a generic convolutional transformer.

Le, Luo, Aickelin and Tran, "ShapeFormer: Shapelet Transformer for Multivariate Time Series
Classification", KDD 2024, https://arxiv.org/abs/2405.14608, Section 3.3-3.5.

- **Shapelet Filter** (Sec. 3.3): each shapelet (a learnable parameter initialised from Offline
  Shapelet Discovery) is matched against the input on its own channel, within ``+-scan_window``
  of its discovered span. The best-fit subsequence ``s*`` minimises the mean squared difference
  times the CID ratio (clipped at 3), and the token is the difference feature
  ``U_k = Linear_a(s*) - Linear_b(shapelet_k)`` (eq. 5-6) plus position embeddings of the
  shapelet's channel, start and end (eq. 7).
- **Class-specific encoder** (Sec. 3.4): one post-LN transformer layer whose token outputs are
  scaled by learnable weights initialised to ``softmax(20 IG) K``; the first token is read out.
- **Generic module** (Sec. 3.5): ConvTran's embedding (temporal then channel convolutions),
  learnable absolute positions, the same encoder layer, global average pooling.
- **Head**: the concatenated features through one linear layer (eq. 10).

``forward(X)`` takes ``(B, T, C)``, the layout sktime's ``BaseDeepClassifierPytorch`` passes;
as a :class:`~sciformers.core.TrainModule` a batch is ``{"X": (B, T, C), "y": (B,)}``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.attention.blocks import MultiHeadAttention
from sciformers.core import TrainModule, register_model

CID_CLIP = 3.0


def cid_distance(windows: Tensor, shapelet: Tensor, eps: float = 1e-8) -> Tensor:
    """Mean squared difference times the clipped complexity-invariance ratio.

    Args:
        windows: candidate subsequences ``(..., L)``.
        shapelet: the shapelet ``(L,)``.
        eps: guards a zero complexity.

    Returns:
        ``(...)``: ``mean((w - s)^2) * min(max(CE_w, CE_s) / min(CE_w, CE_s), 3)``.
    """
    ce_w = torch.sqrt((windows.diff(dim=-1) ** 2).sum(-1) + eps)
    ce_s = torch.sqrt((shapelet.diff() ** 2).sum() + eps)
    ratio = (torch.maximum(ce_w, ce_s) / torch.minimum(ce_w, ce_s)).clamp(max=CID_CLIP)
    return ((windows - shapelet) ** 2).mean(-1) * ratio


class ShapeletFilter(nn.Module):
    """One shapelet: best-fit matching and the difference feature (eq. 5-6).

    Args:
        values: initial shapelet values (from discovery), length ``L``.
        channel: the channel it is matched on.
        start: its discovered start; the scan covers ``[start - scan_window, end + scan_window)``.
        end: one past its discovered end.
        dim: width of the difference feature.
        scan_window: half-width of the scan around the discovered span.
    """

    def __init__(self, values: list[float], channel: int, start: int, end: int, dim: int, scan_window: int) -> None:
        super().__init__()
        if end - start != len(values) or len(values) < 2:
            raise ValueError(f"ShapeletFilter: span [{start}, {end}) does not match {len(values)} values (need >= 2)")
        self.shapelet = nn.Parameter(torch.tensor(values, dtype=torch.float32))
        self.channel, self.start, self.end, self.scan_window = channel, start, end, scan_window
        self.embed_match = nn.Linear(len(values), dim)  # Linear_a
        self.embed_shapelet = nn.Linear(len(values), dim)  # Linear_b

    def scan_range(self, length: int) -> tuple[int, int]:
        """First and one-past-last start searched in a series of ``length`` steps."""
        size = self.end - self.start
        lo = max(0, self.start - self.scan_window)
        hi = min(length, self.end + self.scan_window) - size + 1
        if hi <= lo:  # the series is shorter than the scan region: search what exists
            lo, hi = 0, max(1, length - size + 1)
        return lo, hi

    def best_fit(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Best-fit start and subsequence in each series.

        Args:
            x: ``(B, C, T)``.

        Returns:
            ``(starts (B,), subsequences (B, L))``; ties go to the earliest start.
        """
        size = self.end - self.start
        lo, hi = self.scan_range(x.shape[-1])
        series = x[:, self.channel]
        if series.shape[-1] < size:
            raise ValueError(f"series of length {series.shape[-1]} is shorter than a shapelet of length {size}")
        windows = series[:, lo:hi + size - 1].unfold(-1, size, 1)  # (B, P, L)
        dist = cid_distance(windows, self.shapelet)
        idx = dist.argmin(-1)  # hard argmin: the first minimum
        best = windows[torch.arange(len(x), device=x.device), idx]
        return idx + lo, best

    def forward(self, x: Tensor) -> Tensor:
        """Difference feature ``Linear_a(s*) - Linear_b(shapelet)`` (eq. 6), ``(B, dim)``."""
        _, best = self.best_fit(x)
        return self.embed_match(best) - self.embed_shapelet(self.shapelet)[None]


class EncoderLayer(nn.Module):
    """ShapeFormer's single post-LN layer: attention (its output layer-normed), ReLU FFN.

    Args:
        dim: token width.
        heads: attention heads.
        ffn_dim: hidden width of the feed-forward network.
        dropout: dropout after the FFN's activation and on its output.
    """

    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.attention = MultiHeadAttention(dim, heads, dim_head=max(1, dim // heads), attention="softmax")
        self.attention_norm = nn.LayerNorm(dim)
        self.norm1 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ffn_dim, dim),
                                 nn.Dropout(dropout))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: Tensor, token_weight: Tensor | None = None) -> Tensor:
        """``x (B, N, dim)``; ``token_weight (N, 1)`` scales tokens after each sublayer (eq. 8-9)."""
        h = x + self.attention_norm(self.attention(x))
        if token_weight is not None:
            h = h * token_weight
        h = self.norm1(h)
        out = h + self.ffn(h)
        if token_weight is not None:
            out = out * token_weight
        return self.norm2(out)


class ConvEmbedding(nn.Module):
    """ConvTran's embedding: temporal conv per channel, then a conv mixing all channels.

    Args:
        channels: input channels ``C``.
        dim: output token width.
        kernel: temporal kernel size.
    """

    def __init__(self, channels: int, dim: int, kernel: int = 8) -> None:
        super().__init__()
        # "same" padding for an even kernel, written out (left (k-1)//2, right k//2) as torch does
        pad = nn.ZeroPad2d(((kernel - 1) // 2, kernel // 2, 0, 0))
        self.temporal = nn.Sequential(pad, nn.Conv2d(1, dim, (1, kernel)), nn.BatchNorm2d(dim), nn.GELU())
        self.spatial = nn.Sequential(nn.Conv2d(dim, dim, (channels, 1)), nn.BatchNorm2d(dim), nn.GELU())

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, C, T)`` -> tokens ``(B, T, dim)``."""
        return self.spatial(self.temporal(x[:, None])).squeeze(2).transpose(1, 2)


TEST_KWARGS: dict[str, Any] = {
    "shapelets": [{"values": [0.0, 1.0, 0.0], "channel": 0, "start": 2, "end": 5, "info_gain": 0.5, "label": 0}],
    "channels": 2, "length": 12, "num_classes": 3, "dim": 8, "generic_dim": 4, "heads": 2, "ffn_dim": 8,
    "scan_window": 4,
}


def example_batch(model: "ShapeFormer") -> dict[str, Tensor]:
    """Two fixed pseudo-random series of the model's shape (for the registry's conformance suite)."""
    return {"X": torch.randn(2, model.length, model.channels, generator=torch.Generator().manual_seed(0))}


@register_model("timeseries.shapeformer", test_kwargs=TEST_KWARGS, example=example_batch)
class ShapeFormer(TrainModule):
    """ShapeFormer network (class-specific shapelet module + generic module + linear head).

    Every argument is JSON-serialisable, so ``core.save_model`` can store them beside the weights.

    Args:
        shapelets: one dict per shapelet with ``values``, ``channel``, ``start``, ``end`` and
            ``info_gain`` (see :func:`shapelet_specs`); the first is the read-out token.
        channels: input channels ``C``.
        length: input length ``T`` (the learnable positions of the generic module need it).
        num_classes: output logits.
        dim: width of the shapelet tokens (paper: 128).
        generic_dim: width of the generic module (paper: 48 = ConvTran's).
        heads: attention heads in both encoders (paper: 4).
        ffn_dim: FFN hidden width (paper: 256).
        dropout: FFN dropout (paper: 0.4).
        scan_window: half-width of the Shapelet Filter's scan (paper code: 50).
        sw_temperature: IG temperature of the token-weight initialisation (paper code: 20).
    """

    def __init__(
        self, shapelets: list[dict[str, Any]], channels: int, length: int, num_classes: int, dim: int = 128,
        generic_dim: int = 48, heads: int = 4, ffn_dim: int = 256, dropout: float = 0.4, scan_window: int = 50,
        sw_temperature: float = 20.0,
    ) -> None:
        super().__init__()
        if not shapelets:
            raise ValueError("ShapeFormer needs at least one shapelet (run discover_shapelets first)")
        for i, s in enumerate(shapelets):
            if not 0 <= s["channel"] < channels or not 0 <= s["start"] < s["end"] <= length:
                raise ValueError(f"shapelet {i}: channel {s['channel']} span [{s['start']}, {s['end']}) "
                                 f"outside {channels} channels x {length} steps")
        self.channels, self.length = channels, length
        self.filters = nn.ModuleList(
            ShapeletFilter(s["values"], s["channel"], s["start"], s["end"], dim, scan_window) for s in shapelets
        )
        # eq. 7: one-hot channel / start / end through linear maps == embedding rows (+ one bias)
        self.channel_embed = nn.Embedding(channels, dim)
        self.start_embed = nn.Embedding(length, dim)
        self.end_embed = nn.Embedding(length, dim)
        self.position_bias = nn.Parameter(torch.zeros(dim))
        self.register_buffer("token_channel", torch.tensor([s["channel"] for s in shapelets]), persistent=False)
        self.register_buffer("token_start", torch.tensor([s["start"] for s in shapelets]), persistent=False)
        self.register_buffer("token_end", torch.tensor([s["end"] - 1 for s in shapelets]), persistent=False)
        gains = torch.tensor([float(s["info_gain"]) for s in shapelets])
        self.token_weight = nn.Parameter(torch.softmax(sw_temperature * gains, 0)[:, None] * len(shapelets))
        self.shapelet_encoder = EncoderLayer(dim, heads, ffn_dim, dropout)
        # generic module (ConvTran embedding, learnable absolute positions, same encoder)
        self.embedding = ConvEmbedding(channels, generic_dim)
        self.positions = nn.Parameter(torch.zeros(length, generic_dim).normal_(std=0.02))
        self.generic_encoder = EncoderLayer(generic_dim, heads, ffn_dim, dropout)
        self.head = nn.Linear(dim + generic_dim, num_classes)

    def shapelet_tokens(self, x: Tensor) -> Tensor:
        """Class-specific tokens before the encoder, ``(B, K, dim)`` (eq. 6-7)."""
        diff = torch.stack([f(x) for f in self.filters], 1)
        pos = (self.channel_embed(self.token_channel) + self.start_embed(self.token_start)
               + self.end_embed(self.token_end) + self.position_bias)
        return diff + pos[None]

    def class_specific(self, x: Tensor) -> Tensor:
        """The first token's encoder output, ``(B, dim)``."""
        return self.shapelet_encoder(self.shapelet_tokens(x), self.token_weight)[:, 0]

    def generic(self, x: Tensor) -> Tensor:
        """Global average of the generic encoder's outputs, ``(B, generic_dim)``."""
        tokens = self.embedding(x) + self.positions[None, : x.shape[-1]]
        return self.generic_encoder(tokens).mean(1)

    def forward(self, X: Tensor) -> Tensor:  # noqa: N803  (sktime calls network(X=...))
        """Logits ``(B, num_classes)`` for ``X (B, T, C)``."""
        if X.dim() != 3 or X.shape[-1] != self.channels or X.shape[1] != self.length:
            raise ValueError(f"ShapeFormer expects (batch, {self.length}, {self.channels}), got {tuple(X.shape)}")
        x = X.transpose(1, 2)
        return self.head(torch.cat([self.class_specific(x), self.generic(x)], -1))

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        """Cross-entropy of the logits of ``batch["X"]`` against the class codes ``batch["y"]``."""
        return F.cross_entropy(self(X=batch["X"]), batch["y"].long())

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        """Logits ``(B, num_classes)`` of ``batch["X"]``."""
        return self(X=batch["X"])


def shapelet_specs(shapelets: list[Any]) -> list[dict[str, Any]]:
    """:class:`~sciformers.timeseries.classification.discovery.Shapelet` objects -> ShapeFormer's JSON specs."""
    return [{"values": [float(v) for v in s.values], "channel": int(s.channel), "start": int(s.start),
             "end": int(s.end), "info_gain": float(s.info_gain), "label": int(s.label)} for s in shapelets]


def predict_proba(network: ShapeFormer, X: "np.ndarray", batch_size: int = 64) -> "np.ndarray":
    """Class probabilities ``(N, num_classes)`` for a padded panel ``X (N, C, T)`` (softmax of the logits).

    The same computation as the sktime classifier's ``predict_proba`` (float32, eval mode), without
    importing sktime: ``sciformers predict timeseries`` uses it.
    """
    import numpy as np

    network.eval()
    with torch.no_grad():
        x = torch.as_tensor(np.ascontiguousarray(X.transpose(0, 2, 1)), dtype=torch.float32)
        logits = [network(X=x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.softmax(torch.cat(logits), dim=-1).numpy()
