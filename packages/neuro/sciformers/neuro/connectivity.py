"""Functional connectivity read from Neuroformer's attention (past-state ID -> current-state ID).

The attention that each current-state position pays to each past spike (renormalised over the
past spikes, the SOS sink left out) is credited to the pair (source = the past spike's neuron
``i``, target = the neuron ``j`` whose spike that position predicts), summed over windows, and
divided by what uniform attention would have given the same pairs, so ``score_ij = 1`` means
"no more than chance" whatever the rates.

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
    """``(N, N)`` score ``i -> j``: attention over chance from current ``j`` predictions to past ``i`` spikes.

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
    score = torch.where(uniform > 0, attn / uniform.clamp_min(1e-12), torch.ones_like(attn))
    return score.double().numpy()
