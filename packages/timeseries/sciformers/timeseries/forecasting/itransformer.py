"""iTransformer: attention across variates, each variate's whole lookback one token.

Liu et al., "iTransformer: Inverted Transformers Are Effective for Time Series Forecasting",
ICLR 2024, https://arxiv.org/abs/2310.06625 (Sec. 3, Fig. 4).

The Transformer is applied to the transposed series: the lookback of variate ``n``,
``X[:, n] in R^L``, is embedded by one shared MLP into a token ``h_n in R^D`` (Eq. 1, "Embedding");
self-attention mixes the ``N`` variate tokens (multivariate correlations), a feed-forward
network acts on each token alone (series representation) and layer normalisation normalises
each token over its features (Sec. 3.2). A linear "Projection" maps every token to its ``S``
future values. No positional encoding is used: the order of the variates carries no meaning,
so the network is equivariant to permuting them. Inputs are normalised per window with
non-affine RevIN, as in the paper's ``use_norm`` setting.
"""

from __future__ import annotations

from torch import Tensor, nn

from sciformers.attention import FeedForward, MultiHeadAttention
from sciformers.core import register_model
from sciformers.timeseries.forecasting.base import WindowForecaster, example_window, zero_loss
from sciformers.timeseries.forecasting.revin import RevIN


class InvertedEncoderLayer(nn.Module):
    """One iTransformer block (post-norm, as in the paper's Transformer encoder).

    ``H = LayerNorm(H + Attn(H))`` across variate tokens, then ``H = LayerNorm(H + FFN(H))``
    per token (Sec. 3.2).

    Args:
        dim: token width ``D``.
        heads: attention heads.
        ff_dim: hidden width of the feed-forward network.
        dropout: dropout on attention and feed-forward outputs.
    """

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.attn = MultiHeadAttention(dim, heads, dropout=0.0)
        self.ff = FeedForward(dim, ff_dim, "gelu", dropout=dropout)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: Tensor) -> Tensor:
        """Update the variate tokens ``h (B, N, D)``."""
        h = self.norm1(h + self.dropout(self.attn(h)))
        return self.norm2(h + self.dropout(self.ff(h)))


@register_model("timeseries.itransformer", test_kwargs={"seq_len": 12, "pred_len": 4, "n_vars": 3, "d_model": 8,
                                                         "depth": 1, "heads": 2, "d_ff": 8},
                example=example_window)
class ITransformer(WindowForecaster):
    """iTransformer for a lookback ``seq_len`` and horizon ``pred_len``.

    Args:
        seq_len: lookback length ``L`` (paper: 96).
        pred_len: horizon ``S`` (paper: 96, 192, 336, 720).
        n_vars: number of variates ``N`` (the model works with any ``N``; it sizes nothing).
        d_model: token width ``D``.
        depth: encoder blocks.
        heads: attention heads.
        d_ff: feed-forward hidden width.
        dropout: dropout in embedding and blocks.
        use_norm: non-affine RevIN on each window (the paper's default).
    """

    def __init__(
        self, seq_len: int, pred_len: int, n_vars: int, d_model: int = 128, depth: int = 2, heads: int = 8,
        d_ff: int = 128, dropout: float = 0.1, use_norm: bool = True,
    ) -> None:
        super().__init__(seq_len, pred_len, n_vars)
        self.revin = RevIN(n_vars, affine=False) if use_norm else None
        self.embed = nn.Linear(seq_len, d_model)  # Eq. 1: h_n^0 = Embedding(X[:, n])
        self.embed_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(InvertedEncoderLayer(d_model, heads, d_ff, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(d_model)
        self.project = nn.Linear(d_model, pred_len)  # Eq. 1: Y[:, n] = Projection(h_n^L)

    def encode(self, x: Tensor) -> Tensor:
        """Variate tokens ``(B, N, D)`` after the encoder, for a normalised window ``x (B, L, N)``."""
        h = self.embed_dropout(self.embed(x.transpose(1, 2)))  # (B, N, L) -> (B, N, D): one token per variate
        for block in self.blocks:
            h = block(h)
        return self.norm(h)

    def forecast(self, x: Tensor) -> tuple[Tensor, Tensor]:
        self.check_input(x)
        z = self.revin.normalize(x) if self.revin is not None else x
        y = self.project(self.encode(z)).transpose(1, 2)  # (B, N, S) -> (B, S, N)
        y = self.revin.denormalize(y) if self.revin is not None else y
        return y, zero_loss(y)
