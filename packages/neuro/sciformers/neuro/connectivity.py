"""Functional connectivity read out of a trained Neuroformer: the paper's attention map and a
target-specific gradient attribution. Both scores are 0 for "no effect", so their magnitude
ranks edges of either sign (``metrics.conn_auroc``).

**Attribution** (ours, the task's primary read-out): for every target spike of neuron ``j`` in
bin ``b`` and every earlier token ``s`` of neuron ``i`` (past window, or current window before
the target in canonical order), ``a = log lambda_j(b) - log lambda_j(b | s anonymous)``.
``lambda_j(b)`` is the model's conditional intensity of the target cell given every earlier cell
(:func:`~sciformers.neuro.heads.cell_log_intensity`, from the cell's hazard: free of the
canonical order's bookkeeping, which makes ``log p(next token)`` depend on the previous token's
identity even for independent neurons; the GLM's coupling is the same log-rate effect); *s
anonymous* replaces the source's identity embedding by the mean neuron's, its time kept (the
gate of :meth:`Neuroformer.embed` at 0). So ``a`` is how much knowing that spike ``s`` was neuron
``i`` changes the target's intensity; it is specific to the target and sees the current window,
where delays of a few ms put most of the drive. ``score_ij`` is the mean of ``a`` over such
(source, target) pairs. Occlusion, not the gradient at the gate: on a two-neuron chain the
gradient saw 0.03 of a true effect of 1.4 (a saturated response); one forward pass per source
position costs about what a backward pass per target position would.

**Attention** (the reference's ``get_att_neurons``): the attention that each current-state position pays to
each past spike (renormalised over the past spikes, the SOS sink left out) is credited to the
pair (source = the past spike's neuron ``i``, target = the neuron ``j`` whose spike that position
predicts), summed over windows; ``score_ij = log(attention / uniform attention)`` of the same
pairs, 0 at chance whatever the rates. Only past spikes are sources, and the query is built
before the target is known.

*Without rollout* the map is the cross-attention to the past averaged over heads and layers
(the reference's ``get_att_neurons``). *With rollout* (Abnar and Zuidema 2020,
https://arxiv.org/abs/2005.00928) attention is propagated through the layers with the residual
counted as half: a cross-attention layer gives ``R <- (R + A)/2``, a later causal self-attention
layer ``S`` over the current state gives ``R <- (R + S R)/2``.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from sciformers.neuro.heads import canonical_state, cell_log_intensity
from sciformers.neuro.model import Neuroformer, attention_probs


@torch.no_grad()
def attention_maps(model: Neuroformer, batch: dict[str, Tensor], rollout: bool = False) -> Tensor:
    """``(B, L_cur, L_past)`` attention of current positions onto past tokens (heads averaged)."""
    model.eval()
    ctx = model.encode_context(batch)
    cur_id, mask = batch["cur_id"], batch["cur_id"] != model.tok.id_pad
    x = model.embed(cur_id, batch["cur_dt"], model.cur_pos)
    for blk in model.current:
        x = blk(x, mask=mask, causal=True)
    R = torch.zeros(x.shape[0], x.shape[1], ctx["past"].shape[1], device=x.device)
    maps = []
    for blk in model.cross_past:
        A = blk.probs(x, ctx["past"], ctx["past_mask"]).mean(1)
        maps.append(A)
        R = 0.5 * (R + A)
        x = blk(x, ctx["past"], ctx["past_mask"])
    if not rollout:
        return torch.stack(maps).mean(0)
    for key, blocks in (("stim", model.cross_stim), ("beh", model.cross_beh)):
        if key in ctx:
            for blk in blocks:
                x = blk(x, ctx[key])
    for blk in model.fusion:
        h = blk.norm1(x)
        S = attention_probs(blk.attn, h, h, mask, causal=True)
        R = 0.5 * (R + S.mean(1) @ R)
        x = blk(x, mask=mask, causal=True)
    return R


def accumulate(maps: Tensor, tgt_id: Tensor, past_id: Tensor, n_neurons: int) -> tuple[Tensor, Tensor]:
    """Summed attention and summed uniform attention per (source, target) neuron pair, ``(N, N)`` each.

    The past state's SOS token is a sink (attention with nowhere better to go); each row's
    attention is renormalised over the real past spikes before it is credited, so chance is
    ``1 / (number of past spikes)``.

    Args:
        maps: ``(B, L_cur, L_past)`` attention.
        tgt_id: ``(B, L_cur)`` the neuron each position predicts (EOS/PAD are skipped).
        past_id: ``(B, L_past)`` past tokens (SOS/PAD are skipped as sources).
        n_neurons: ``N``.
    """
    real = past_id < n_neurons
    maps = maps * real[:, None, :]
    maps = maps / maps.sum(-1, keepdim=True).clamp_min(1e-12)
    tgt = F.one_hot(tgt_id.clamp(max=n_neurons), n_neurons + 1)[..., :n_neurons].to(maps.dtype)
    src = F.one_hot(past_id.clamp(max=n_neurons), n_neurons + 1)[..., :n_neurons].to(maps.dtype)
    attn = torch.einsum("btj,bts,bsi->ij", tgt, maps, src)
    uniform = torch.einsum("btj,b,bsi->ij", tgt, 1.0 / real.sum(1).clamp_min(1).to(maps.dtype), src)
    return attn, uniform


def attention_connectivity(model: Neuroformer, batches: Iterable[dict[str, Tensor]], rollout: bool = False) -> np.ndarray:
    """``(N, N)`` score ``i -> j``: log attention over chance from current ``j`` predictions to past ``i`` spikes.

    Args:
        model: a trained Neuroformer.
        batches: model inputs (``window_batch`` outputs), e.g. chunks of the training windows.
        rollout: propagate attention through the later layers.
    """
    n = model.tok.n_neurons
    attn, uniform = torch.zeros(n, n), torch.zeros(n, n)
    for batch in batches:
        a, u = accumulate(attention_maps(model, batch, rollout), batch["tgt_id"], batch["past_id"], n)
        attn, uniform = attn + a.cpu(), uniform + u.cpu()
    score = torch.where(uniform > 0, torch.log(attn.clamp_min(1e-12) / uniform.clamp_min(1e-12)), torch.zeros_like(attn))
    return score.double().numpy()


def trim(batch: dict[str, Tensor], n_neurons: int) -> dict[str, Tensor]:
    """``batch`` cut to its longest current and past sequences (the PAD columns after them dropped)."""
    lc = int((batch["cur_id"] < n_neurons + 2).sum(1).max()) + 1  # SOS and spikes (and EOS target) kept
    lp = int((batch["past_id"] < n_neurons + 2).sum(1).max())
    cur, past = ("cur_id", "cur_dt", "tgt_id", "tgt_dt"), ("past_id", "past_dt")
    return {k: v[:, :lc] if k in cur else v[:, :lp] if k in past else v for k, v in batch.items()}


@torch.no_grad()
def occlusion_maps(model: Neuroformer, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """``log lam(target_t) - log lam(target_t | token s anonymous)`` onto current ``(B, L, L)`` and past
    ``(B, L, L_past)`` tokens ``s``: one forward pass per source position, every window and target at once."""
    model.eval()
    tok = model.tok
    state = canonical_state(tok, batch["cur_id"], batch["cur_dt"])
    idx, bins = batch["tgt_id"].clamp(max=tok.n_neurons - 1), batch["tgt_dt"].clamp(max=tok.window_bins - 1)

    def log_rates(cur_gate: Tensor | None, past_gate: Tensor | None) -> Tensor:
        ctx = model.encode_context({**batch, "past_gate": past_gate} if past_gate is not None else batch)
        h, _ = model.hidden(batch["cur_id"], batch["cur_dt"], ctx, cur_gate)
        return cell_log_intensity(model.head, h, state, idx, bins)

    base = log_rates(None, None)
    maps = []
    for key in ("cur_id", "past_id"):
        B, S = batch[key].shape
        out = torch.zeros(B, batch["tgt_id"].shape[1], S, dtype=base.dtype, device=base.device)
        for s in range(1, S):  # position 0 is SOS
            if not bool((batch[key][:, s] < tok.n_neurons).any()):
                continue
            gate = torch.ones(B, S, dtype=base.dtype, device=base.device)
            gate[:, s] = 0.0
            out[:, :, s] = base - (log_rates(gate, None) if key == "cur_id" else log_rates(None, gate))
        maps.append(out)
    return maps[0], maps[1]


def accumulate_attribution(cur: Tensor, past: Tensor, batch: dict[str, Tensor], n_neurons: int) -> tuple[Tensor, Tensor]:
    """Summed attributions and pair counts per (source ``i``, target ``j``) neuron pair, ``(N, N)`` each.

    Sources of the target at position ``t``: the real past spikes, and the current spikes at input
    positions ``1..t`` (those before the target in canonical order).
    """
    def hot(ids: Tensor) -> Tensor:
        return F.one_hot(ids.clamp(max=n_neurons), n_neurons + 1)[..., :n_neurons].to(cur.dtype)

    tgt, src_cur, src_past = hot(batch["tgt_id"]), hot(batch["cur_id"]), hot(batch["past_id"])
    L, Lc = cur.shape[1], cur.shape[2]
    before = torch.ones(L, Lc, dtype=torch.bool, device=cur.device).tril()  # input s <= t
    before[:, 0] = False  # SOS
    before = before.to(cur.dtype)
    total = torch.einsum("btj,bts,bsi->ij", tgt, cur * before, src_cur) + torch.einsum("btj,bts,bsi->ij", tgt, past, src_past)
    count = (torch.einsum("btj,ts,bsi->ij", tgt, before, src_cur)
             + torch.einsum("btj,bsi->ij", tgt, src_past))
    return total, count


def attribution_connectivity(model: Neuroformer, batches: Iterable[dict[str, Tensor]]) -> np.ndarray:
    """``(N, N)`` score ``i -> j``: the mean occlusion attribution of the log intensity of target spikes of ``j`` to
    earlier spikes of ``i``, past and current window (0: no effect, or no such pair).

    Args:
        model: a trained Neuroformer.
        batches: model inputs (``window_batch`` outputs), e.g. chunks of the training windows.
    """
    n = model.tok.n_neurons
    total, count = torch.zeros(n, n, dtype=torch.float64), torch.zeros(n, n, dtype=torch.float64)
    for batch in batches:
        batch = trim(batch, n)
        t, c = accumulate_attribution(*occlusion_maps(model, batch), batch, n)
        total, count = total + t.double().cpu(), count + c.double().cpu()
    return torch.where(count > 0, total / count.clamp_min(1.0), torch.zeros_like(total)).numpy()
