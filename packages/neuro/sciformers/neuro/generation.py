"""Spike generation with a trained Neuroformer, window by window (Neuroformer §3.4).

Inside a window the model draws the next token from its head's joint over (bin, ID) cells and
EOS (:mod:`.heads`; for the factored head, drawing the ID then its bin), appends it and repeats
until it draws EOS or the block is full. Temperature and nucleus (top-p, Holtzman et al. 2020,
https://arxiv.org/abs/1904.09751) filtering act on that joint. Only tokens the scoring masks
allow can be drawn: cells at or after the last one in canonical order, or EOS (forced when the
block is full), so every window comes out in canonical order (the split heads' joint is
renormalised over those cells, the mass it wastes on the others dropped).

*Open loop* (``true_past=True``) conditions every window on the recorded past state, so all
windows are sampled in parallel. *Closed loop* feeds the model's own spikes back as the past
state of the next window, so windows are sampled in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from sciformers.neuro.heads import MASKED, canonical_state
from sciformers.neuro.spikes import SpikeData

if TYPE_CHECKING:
    from sciformers.neuro.model import Neuroformer


def filter_logits(logits: Tensor, allowed: Tensor, temperature: float, top_p: float) -> Tensor:
    """Probabilities after masking, temperature and nucleus filtering.

    Args:
        logits: ``(B, V)``.
        allowed: ``(B, V)`` boolean, True where a token may be drawn (each row has one at least).
        temperature: divides the logits (> 0).
        top_p: keep the smallest set of tokens whose probability reaches ``top_p`` (1: all).
    """
    if temperature <= 0 or not 0 < top_p <= 1:
        raise ValueError(f"sampling: need temperature > 0 and 0 < top_p <= 1, got {temperature}, {top_p}")
    probs = (logits / temperature).masked_fill(~allowed, float("-inf")).softmax(-1)
    if top_p < 1:
        sorted_p, order = probs.sort(-1, descending=True)
        # drop a token when the mass before it already reaches top_p (the top token always stays)
        drop = (sorted_p.cumsum(-1) - sorted_p) >= top_p
        probs = probs.scatter(-1, order, sorted_p.masked_fill(drop, 0.0))
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


@torch.no_grad()
def sample_windows(
    model: Neuroformer, batch: dict[str, Tensor], temperature: float = 1.0, top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Sample the current state of every window of ``batch`` given its past and modalities.

    Returns:
        ``ids, dts`` ``(B, max_current)``: neuron IDs and dt bins (at most ``max_current - 1`` spikes, as in
        scoring), EOS then PAD after the end.
    """
    tok = model.tok
    ctx = model.encode_context(batch)
    B, device = batch["past_id"].shape[0], batch["past_id"].device
    cur_id = torch.full((B, 1), tok.id_sos, dtype=torch.long, device=device)
    cur_dt = torch.full((B, 1), tok.dt_sos, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    steps = tok.max_current  # step s predicts the token after input position s; the last position must end
    for _ in range(steps):
        h = model.hidden(cur_id, cur_dt, ctx)[0][:, -1]
        cells, end = model.head.joint(h, canonical_state(tok, cur_id, cur_dt).last())
        logits = torch.cat([cells.flatten(1), end[:, None]], 1)  # cell b * N + i, then EOS
        pick = torch.multinomial(filter_logits(logits, logits > MASKED / 2, temperature, top_p), 1, generator=generator)[:, 0]
        eos = pick == logits.shape[1] - 1
        ids = torch.where(eos, tok.id_eos, pick % tok.n_neurons).masked_fill(done, tok.id_pad)
        dts = torch.where(eos | done, tok.dt_pad, pick // tok.n_neurons)
        done = done | eos
        cur_id, cur_dt = torch.cat([cur_id, ids[:, None]], 1), torch.cat([cur_dt, dts[:, None]], 1)
        if bool(done.all()):
            break
    pad = steps - (cur_id.shape[1] - 1)
    ids = torch.nn.functional.pad(cur_id[:, 1:], (0, pad), value=tok.id_pad)
    dts = torch.nn.functional.pad(cur_dt[:, 1:], (0, pad), value=tok.dt_pad)
    return ids, dts


@torch.no_grad()
def sample_id_sets(
    model: Neuroformer, windows: dict[str, Tensor], temperature: float = 1.0, top_p: float = 1.0, seed: int = 0,
    batch_windows: int = 256,
) -> list[set[int]]:
    """Open loop: the neuron IDs of one sampled current state per window of ``windows`` (their recorded past).

    Args:
        model: a trained Neuroformer.
        windows: model inputs with the windows on axis 0 (e.g. ``WindowDataset.tensors``).
        temperature, top_p: sampling of the next-token joint.
        seed: seeds the sampler.
        batch_windows: windows sampled at once.
    """
    model.eval()
    device = model.cur_pos.device
    g = torch.Generator(device=device).manual_seed(seed)
    n = len(next(iter(windows.values())))
    sets: list[set[int]] = []
    for c in range(0, n, batch_windows):
        batch = {k: v[c:c + batch_windows].to(device) for k, v in windows.items()}
        ids, _ = sample_windows(model, batch, temperature, top_p, g)
        sets += [set(row[row < model.tok.n_neurons].tolist()) for row in ids.cpu().numpy()]
    return sets


def _decode(model: Neuroformer, ids: Tensor, dts: Tensor, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    times, neurons = [], []
    for w, t0 in enumerate(starts):
        t, i = model.tok.decode(ids[w].cpu().numpy(), dts[w].cpu().numpy(), float(t0))
        times.append(t)
        neurons.append(i)
    return np.concatenate(times), np.concatenate(neurons)


@torch.no_grad()
def generate(
    model: Neuroformer, context: SpikeData, duration: float, *, true_past: bool = True, temperature: float = 1.0,
    top_p: float = 1.0, n_samples: int = 1, seed: int = 0, batch_windows: int = 256,
) -> list[SpikeData]:
    """Generate ``duration`` seconds of spikes after the first past window of ``context``.

    Args:
        model: a trained Neuroformer (put in eval mode here).
        context: the recording giving the past state (open loop: of every window; closed loop:
            of the first) and the behaviour and stimulus, which are exogenous.
        duration: seconds to generate, from ``context.t_start + past_window``; whole windows.
        true_past: open loop (recorded past) or closed loop (own past).
        temperature: sampling temperature of the next-token joint.
        top_p: nucleus mass of the next-token joint.
        n_samples: independent samples.
        seed: seeds the sampler.
        batch_windows: windows sampled at once in open loop.

    Returns:
        ``n_samples`` recordings on ``[t_start + past_window, that + n_windows * window)``.
    """
    model.eval()
    tok = model.tok
    starts = context.t_start + tok.past_window + tok.window * np.arange(int(np.floor(duration / tok.window + 1e-9)))
    if starts.size == 0:
        raise ValueError(f"generate: duration {duration} s is shorter than one window ({tok.window} s)")
    if starts[-1] + tok.window > context.t_stop + 1e-9 and (true_past or context.behavior is not None or context.stimulus is not None):
        raise ValueError(f"generate: context ends at {context.t_stop} s, generation needs it to "
                         f"{starts[-1] + tok.window} s (past state, behaviour or stimulus)")
    g = torch.Generator(device=model.cur_pos.device).manual_seed(seed)
    t0, t1 = float(starts[0]), float(starts[-1] + tok.window)
    if true_past:
        runs = []
        for _ in range(n_samples):
            parts = []
            for c in range(0, len(starts), batch_windows):
                s = starts[c:c + batch_windows]
                ids, dts = sample_windows(model, model.window_batch(context, s), temperature, top_p, g)
                parts.append(_decode(model, ids, dts, s))
            runs.append((np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])))
    else:  # the samples run side by side as one batch, window after window
        first = context.slice(context.t_start, t0)
        runs = [(first.times, first.ids) for _ in range(n_samples)]
        for s in starts:
            end = max(context.t_stop, t1)  # without exogenous inputs the context may stop after the first past
            own = [SpikeData(t, i, tok.n_neurons, context.t_start, end, context.behavior, context.stimulus) for t, i in runs]
            parts = [model.window_batch(d, np.array([s])) for d in own]
            batch = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
            ids, dts = sample_windows(model, batch, temperature, top_p, g)
            runs = [(np.concatenate([t, nt]), np.concatenate([i, ni]))
                    for (t, i), (nt, ni) in zip(runs, (_decode(model, ids[k:k + 1], dts[k:k + 1], np.array([s]))
                                                      for k in range(n_samples)))]
        runs = [(t[t >= t0], i[t >= t0]) for t, i in runs]
    return [SpikeData.from_times(t, i, n_neurons=tok.n_neurons, t_start=t0, t_stop=t1, behavior=context.behavior,
                                 frames=context.stimulus) for t, i in runs]
