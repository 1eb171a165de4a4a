"""Neuroformer: multimodal generative pretraining for spiking data.

Antoniades, Yu, Canzano, Wang and Smith, ICLR 2024, https://arxiv.org/abs/2311.00136.

Read top to bottom as the method section:

1. **Tokens** (§3.1): each spike is an ID token plus a ``dt`` token (see :mod:`.tokenizer`),
   embedded as ``E_id[id] + PE_sin[dt] + P_learned[position]``.
2. **Encoders** (§3.2): the *current state* passes causal self-attention blocks; the *past
   state* is its embeddings (optionally a few non-causal blocks); the *stimulus* is cut into
   3-D (time, height, width) patches by one ``Conv3d`` then self-attention; *behaviour* samples
   go through an MLP with a sinusoidal time embedding then self-attention.
3. **Fusion** (§3.2): the current state cross-attends, in order, to the past state, the
   stimulus and the behaviour, then causal self-attention blocks.
4. **Heads and loss** (§3.3): the next spike's ID and time bin (see :mod:`.heads`). The default
   ``token_heads="intensity"`` is the joint over (bin, ID) cells plus EOS from per-cell expected
   counts (a discrete-time point process that starts at the Poisson null); ``"factored"`` scores
   ``p(i | h) p(b | i, h)``; both are exact for the canonical order. The paper's ``"split"`` heads
   read the same hidden state for ID and bin. Impossible tokens are masked.
   ``L = w_tok (w_id CE_id + w_dt CE_dt) + w_clip InfoNCE`` (reference: 0.75, 0.6, 0.4, 0.25),
   with the InfoNCE aligning the pooled current state to each other modality's pooled features;
   validation (early stopping) scores the token negative log-likelihood per target token.
5. **Behaviour decoding** (§4.4): a linear head on the mean-pooled final state, trained with MSE
   (``objective="behavior"``), with the behaviour modality removed from the input.

Every modality is optional: a model built without ``n_behavior`` or ``frame_shape`` has no
such encoder, and a batch without ``behavior``/``frames`` skips those cross-attention blocks.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.attention import Encoder, FeedForward, MultiHeadAttention, TransformerBlock, sinusoidal_encoding
from sciformers.core import TrainModule, register_model
from sciformers.neuro.contrastive import ContrastiveHead
from sciformers.neuro.heads import HEADS, make_head, token_log_probs
from sciformers.neuro.spikes import SpikeData
from sciformers.neuro.tokenizer import Tokenizer, TruncationReport
from sciformers.neuro.windows import window_batch


def attention_probs(mha: MultiHeadAttention, x: Tensor, context: Tensor, mask: Tensor | None, causal: bool) -> Tensor:
    """Softmax attention weights ``(B, H, N, M)`` that ``mha`` uses for queries ``x`` and keys ``context``.

    Args:
        mha: the attention layer (its query/key projections are reused).
        x: normalised queries' tokens ``(B, N, dim)``.
        context: normalised keys' tokens ``(B, M, dim)``.
        mask: ``(B, M)`` key-padding mask, True on real keys.
        causal: query ``i`` sees keys ``j <= i``.
    """
    q = mha.to_q(x).unflatten(-1, (mha.heads, mha.dim_head)).transpose(1, 2)
    k = mha.to_k(context).unflatten(-1, (mha.heads, mha.dim_head)).transpose(1, 2)
    scores = q @ k.transpose(-1, -2) / math.sqrt(mha.dim_head)
    allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=x.device)
    if causal:
        allowed = allowed.tril()
    allowed = allowed[None, None]
    if mask is not None:
        allowed = allowed & mask[:, None, None, :]
    return scores.masked_fill(~allowed, float("-inf")).softmax(-1).nan_to_num(0.0)


class CrossBlock(nn.Module):
    """Pre-norm cross-attention block: ``x + CrossAttn(LN x, LN c)`` then ``x + FFN(LN x)``.

    Args:
        dim: model width.
        heads: attention heads.
        mlp_ratio: feed-forward width over ``dim``.
        dropout: on attention and feed-forward outputs.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        self.norm_q, self.norm_kv, self.norm_ff = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, dropout=dropout)
        self.ff = FeedForward(dim, int(dim * mlp_ratio), "gelu", dropout=dropout)

    def forward(self, x: Tensor, context: Tensor, mask: Tensor | None = None) -> Tensor:
        x = x + self.attn(self.norm_q(x), context=self.norm_kv(context), mask=mask)
        return x + self.ff(self.norm_ff(x))

    def probs(self, x: Tensor, context: Tensor, mask: Tensor | None = None) -> Tensor:
        """The block's attention weights ``(B, H, N, M)``."""
        return attention_probs(self.attn, self.norm_q(x), self.norm_kv(context), mask, causal=False)


def example_batch(model: Neuroformer) -> dict[str, Tensor]:
    """Four windows of seeded random spikes (with behaviour and frames when the model takes them)."""
    rng = np.random.default_rng(0)
    tok, n = model.tok, model.tok.n_neurons
    t = np.linspace(0.0, 1.0, 101)
    behavior = None
    if model.behavior_in is not None:
        n_behavior = model.behavior_mean.numel()
        behavior = (t, np.sin(6 * t[:, None] + np.arange(n_behavior)))
    frames = (rng.random((20, *model.frame_shape[1:])), 20.0) if model.frame_shape else None
    data = SpikeData.from_times(rng.uniform(0, 1, 40), rng.integers(0, n, 40), n_neurons=n, t_stop=1.0,
                                behavior=behavior, frames=frames)
    return model.window_batch(data, tok.window_starts(0.0, 1.0)[:4])


_TEST_KWARGS = {"n_neurons": 4, "resolution": 0.01, "window": 0.05, "past_window": 0.05, "max_current": 16,
                "max_past": 16, "dim": 16, "heads": 2, "mlp_ratio": 2, "dropout": 0.0, "current_layers": 1,
                "cross_layers": (1, 0, 0), "self_layers": 1, "proj_dim": 8}


@register_model("neuro.neuroformer", test_kwargs=_TEST_KWARGS, example=example_batch)
class Neuroformer(TrainModule):
    """Neuroformer with optional stimulus and behaviour modalities.

    Args:
        n_neurons: neurons in the ID vocabulary.
        resolution, window, past_window, max_current, max_past: the :class:`Tokenizer`.
        dim: model width (reference: 256).
        heads: attention heads (reference: 8).
        mlp_ratio: feed-forward width over ``dim`` (reference: 4).
        dropout: everywhere (reference: 0.2).
        current_layers: causal self-attention blocks of the current-state encoder (reference: 6).
        past_layers: non-causal blocks over the past state (reference: 0, embeddings only).
        cross_layers: cross-attention blocks to each of past, stimulus, behaviour (reference: 6/6/4).
        self_layers: final causal self-attention blocks (reference: 6).
        modality_layers: self-attention blocks of the stimulus and behaviour encoders.
        n_behavior: behaviour variables per sample (0: no behaviour modality).
        behavior_len: behaviour samples per window.
        frame_shape: ``(frames, height, width)`` of a window's stimulus clip (``None``: no stimulus).
        patch: Conv3d kernel and stride ``(t, h, w)`` (reference: ``[3, 5, 5]``).
        proj_dim: width of the contrastive space.
        temperature: InfoNCE temperature (reference: 0.5).
        loss_weights: ``(w_tok, w_id, w_dt, w_clip)`` (reference: 0.75, 0.6, 0.4, 0.25).
        objective: ``tokens`` (generative pretraining) or ``behavior`` (decoding, MSE).
        token_heads: ``intensity`` (exact, per-cell intensities), ``factored`` (exact ``p(i) p(b | i)``) or
            ``split`` (the paper's ``p(i) p(b)``).
    """

    def __init__(
        self, n_neurons: int, resolution: float = 0.01, window: float = 0.05, past_window: float = 0.05,
        max_current: int = 64, max_past: int = 128, dim: int = 256, heads: int = 8, mlp_ratio: float = 4.0,
        dropout: float = 0.2, current_layers: int = 6, past_layers: int = 0, cross_layers: tuple[int, int, int] = (6, 6, 4),
        self_layers: int = 6, modality_layers: int = 1, n_behavior: int = 0, behavior_len: int = 0,
        frame_shape: tuple[int, int, int] | None = None, patch: tuple[int, int, int] = (3, 5, 5), proj_dim: int = 64,
        temperature: float = 0.5, loss_weights: tuple[float, float, float, float] = (0.75, 0.6, 0.4, 0.25),
        objective: Literal["tokens", "behavior"] = "tokens", token_heads: Literal["intensity", "factored", "split"] = "intensity",
    ) -> None:
        super().__init__()
        if objective not in ("tokens", "behavior"):
            raise ValueError(f"Neuroformer: objective must be 'tokens' or 'behavior', got {objective!r}")
        if objective == "behavior" and n_behavior < 1:
            raise ValueError("Neuroformer: objective='behavior' needs n_behavior >= 1")
        if token_heads not in HEADS:
            raise ValueError(f"Neuroformer: token_heads must be one of {HEADS}, got {token_heads!r}")
        self.tok = Tokenizer(n_neurons, resolution, window, past_window, max_current, max_past)
        self.objective, self.loss_weights = objective, tuple(loss_weights)
        self.behavior_len, self.frame_shape = behavior_len, (tuple(frame_shape) if frame_shape else None)
        # z-scoring statistics of the training behaviour, set by the task, saved with the weights
        self.register_buffer("behavior_mean", torch.zeros(max(n_behavior, 1)))
        self.register_buffer("behavior_std", torch.ones(max(n_behavior, 1)))
        block = dict(mlp_ratio=mlp_ratio, dropout=dropout)
        # 1. token embeddings
        self.id_emb = nn.Embedding(self.tok.id_vocab, dim)
        self.register_buffer("dt_table", sinusoidal_encoding(self.tok.dt_vocab, dim), persistent=False)
        self.cur_pos = nn.Parameter(torch.zeros(max_current, dim))
        self.past_pos = nn.Parameter(torch.zeros(max_past, dim))
        self.drop = nn.Dropout(dropout)
        # 2. encoders
        self.current = nn.ModuleList(TransformerBlock(dim, heads, **block) for _ in range(current_layers))
        self.past = Encoder(past_layers, dim, heads, **block) if past_layers else None
        self.behavior_in = None
        if n_behavior:
            self.behavior_in = nn.Sequential(nn.Linear(n_behavior, dim), nn.GELU(), nn.Linear(dim, dim))
            self.register_buffer("beh_time", sinusoidal_encoding(max(behavior_len, 1), dim), persistent=False)
            self.behavior_enc = Encoder(modality_layers, dim, heads, **block)
        self.frames_in = None
        if frame_shape is not None:
            self.frames_in = nn.Conv3d(1, dim, kernel_size=tuple(patch), stride=tuple(patch))
            n_patches = math.prod(s // p for s, p in zip(frame_shape, patch))
            if n_patches < 1:
                raise ValueError(f"Neuroformer: frame_shape {frame_shape} is smaller than patch {patch}")
            self.frames_norm = nn.LayerNorm(dim)
            self.frames_pos = nn.Parameter(torch.zeros(n_patches, dim))
            self.frames_enc = Encoder(modality_layers, dim, heads, **block)
        # 3. fusion
        n_past, n_stim, n_beh = cross_layers
        self.cross_past = nn.ModuleList(CrossBlock(dim, heads, **block) for _ in range(n_past))
        self.cross_stim = nn.ModuleList(CrossBlock(dim, heads, **block) for _ in range(n_stim if frame_shape else 0))
        self.cross_beh = nn.ModuleList(CrossBlock(dim, heads, **block) for _ in range(n_beh if n_behavior else 0))
        self.fusion = nn.ModuleList(TransformerBlock(dim, heads, **block) for _ in range(self_layers))
        self.norm = nn.LayerNorm(dim)
        # 4.-5. heads
        self.head = make_head(token_heads, dim, self.tok)
        self.contrastive = ContrastiveHead(dim, proj_dim, temperature) if (n_behavior or frame_shape) else None
        self.head_behavior = nn.Linear(dim, n_behavior) if n_behavior else None
        nn.init.normal_(self.cur_pos, std=0.02)
        nn.init.normal_(self.past_pos, std=0.02)

    # -- 1.-2. embeddings and encoders -----------------------------------------------------------

    def embed(self, ids: Tensor, dts: Tensor, pos: Tensor, gate: Tensor | None = None) -> Tensor:
        """``E_id[id] + PE_sin[dt] + P[position]`` for ``(B, L)`` token ids.

        ``gate`` ``g (B, L)`` (default 1) moves each spike's identity towards the mean neuron's,
        ``Ē + g (E_id[id] - Ē)`` (time and position kept); the gradient attribution read-out
        differentiates through it (:mod:`.connectivity`).
        """
        identity = self.id_emb(ids)
        if gate is not None:
            mean = self.id_emb.weight[: self.tok.n_neurons].mean(0)
            identity = mean + gate[..., None] * (identity - mean)
        return self.drop(identity + self.dt_table[dts] + pos[: ids.shape[1]])

    def encode_context(self, batch: dict[str, Tensor], use_behavior: bool = True) -> dict[str, Tensor]:
        """Encode the past state and the optional modalities of a batch.

        Args:
            batch: ``past_id, past_dt`` and optionally ``past_gate (B, L_past)``, ``behavior (B, T, D)``,
                ``frames (B, F, H, W)``.
            use_behavior: include the behaviour modality (``False`` when decoding behaviour).

        Returns:
            ``past, past_mask`` and, when present, ``stim`` and ``beh`` token features.
        """
        ctx: dict[str, Tensor] = {"past_mask": batch["past_id"] != self.tok.id_pad}
        past = self.embed(batch["past_id"], batch["past_dt"], self.past_pos, batch.get("past_gate"))
        ctx["past"] = self.past(past, mask=ctx["past_mask"]) if self.past is not None else past
        if self.frames_in is not None and "frames" in batch:
            x = self.frames_in(batch["frames"].unsqueeze(1))  # (B, dim, t, h, w): 3-D patches
            x = F.relu(self.frames_norm(x.flatten(2).transpose(1, 2)))
            ctx["stim"] = self.frames_enc(x + self.frames_pos)
        if self.behavior_in is not None and use_behavior and "behavior" in batch:
            b = self.behavior_in(batch["behavior"])
            ctx["beh"] = self.behavior_enc(b + self.beh_time[: b.shape[1]])
        return ctx

    # -- 3. fusion --------------------------------------------------------------------------------

    def hidden(self, cur_id: Tensor, cur_dt: Tensor, ctx: dict[str, Tensor],
               gate: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Final hidden states ``(B, L, dim)`` of the current state, and its pooled encoder features ``(B, dim)``."""
        mask = cur_id != self.tok.id_pad
        x = self.embed(cur_id, cur_dt, self.cur_pos, gate)
        for blk in self.current:
            x = blk(x, mask=mask, causal=True)
        pooled = _masked_mean(x, mask)
        for blk in self.cross_past:
            x = blk(x, ctx["past"], ctx["past_mask"])
        if "stim" in ctx:
            for blk in self.cross_stim:
                x = blk(x, ctx["stim"])
        if "beh" in ctx:
            for blk in self.cross_beh:
                x = blk(x, ctx["beh"])
        for blk in self.fusion:
            x = blk(x, mask=mask, causal=True)
        return self.norm(x), pooled

    # -- 4. losses --------------------------------------------------------------------------------

    def token_log_probs(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor, dict[str, Tensor]]:
        """Masked per-target ``log p(ID)`` and ``log p(bin | ...)`` ``(B, L)`` (0 where ignored), the pooled
        neural features and the encoded context. ``batch`` may carry ``cur_gate`` / ``past_gate``."""
        ctx = self.encode_context(batch)
        h, pooled = self.hidden(batch["cur_id"], batch["cur_dt"], ctx, batch.get("cur_gate"))
        lp_id, lp_dt = token_log_probs(self.head, self.tok, h, batch)
        return lp_id, lp_dt, pooled, ctx

    def token_nll(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """Per-window summed ID and bin negative log-likelihoods (nats), and the contrastive loss."""
        lp_id, lp_dt, pooled, ctx = self.token_log_probs(batch)
        nll_id, nll_dt = -lp_id.sum(1), -lp_dt.sum(1)
        clip = torch.zeros((), device=lp_id.device)
        others = [ctx[k].mean(1) for k in ("stim", "beh") if k in ctx]
        if self.contrastive is not None and others and lp_id.shape[0] > 1:
            clip = self.contrastive(pooled, others)
        return nll_id, nll_dt, clip

    def training_step(self, batch: dict[str, Tensor]) -> Tensor:
        if self.objective == "behavior":
            return F.mse_loss(self.decode_behavior(batch), batch["target"])
        w_tok, w_id, w_dt, w_clip = self.loss_weights
        nll_id, nll_dt, clip = self.token_nll(batch)
        n_id = (batch["tgt_id"] != self.tok.id_pad).sum().clamp_min(1)
        n_dt = (batch["tgt_dt"] != self.tok.dt_pad).sum().clamp_min(1)
        return w_tok * (w_id * nll_id.sum() / n_id + w_dt * nll_dt.sum() / n_dt) + w_clip * clip

    def validation_step(self, batch: dict[str, Tensor]) -> Tensor:
        """Token objective: the negative log-likelihood per target token (nats), what bits/spike scores."""
        if self.objective == "behavior":
            return self.training_step(batch)
        nll_id, nll_dt, _ = self.token_nll(batch)
        return (nll_id + nll_dt).sum() / (batch["tgt_id"] != self.tok.id_pad).sum().clamp_min(1)

    def init_output_bias(self, tgt_id: np.ndarray, tgt_dt: np.ndarray) -> None:
        """Start the token head at the training targets' frequencies (``window_batch`` arrays of the training windows):
        the intensity head at the homogeneous Poisson null, the ID and bin heads at their log-frequencies."""
        self.head.init_bias(np.asarray(tgt_id), np.asarray(tgt_dt))

    def decode_behavior(self, batch: dict[str, Tensor]) -> Tensor:
        """Behaviour ``(B, n_behavior)`` from the mean-pooled final state, behaviour input removed."""
        if self.head_behavior is None:
            raise ValueError("Neuroformer: built without a behaviour head (n_behavior=0)")
        ctx = self.encode_context(batch, use_behavior=False)
        h, _ = self.hidden(batch["cur_id"], batch["cur_dt"], ctx)
        return self.head_behavior(_masked_mean(h, batch["cur_id"] != self.tok.id_pad))

    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``behavior`` predictions, or the per-window token log-likelihood ``loglik`` (nats)."""
        if self.objective == "behavior":
            return {"behavior": self.decode_behavior(batch)}
        nll_id, nll_dt, _ = self.token_nll(batch)
        return {"loglik": -(nll_id + nll_dt)}

    # -- windows, generation (see windows.py, generation.py) -------------------------------------

    def window_batch(self, data: SpikeData, starts: np.ndarray, report: TruncationReport | None = None) -> dict[str, Tensor]:
        """The model's inputs for the windows of ``data`` starting at ``starts``, on the model's device (a behaviour
        decoder reads no behaviour, so ``data`` needs none)."""
        reads_behavior = self.behavior_in is not None and self.objective == "tokens"
        arrays = window_batch(
            data, starts, self.tok, behavior_len=self.behavior_len if reads_behavior else 0,
            frame_shape=self.frame_shape, behavior_mean=self.behavior_mean.cpu().numpy(),
            behavior_std=self.behavior_std.cpu().numpy(), report=report)
        device = self.cur_pos.device
        return {k: torch.as_tensor(v, device=device, dtype=torch.long if v.dtype.kind == "i" else torch.float32)
                for k, v in arrays.items()}

    def generate(self, context: Any, duration: float, **kwargs: Any) -> Any:
        """Sample spikes window by window; see :func:`sciformers.neuro.generation.generate`."""
        from sciformers.neuro.generation import generate

        return generate(self, context, duration, **kwargs)


def _masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)
