"""Next-spike likelihood heads: two exact ones and Neuroformer's split heads (§3.3).

A window's spikes in canonical order (time bin, then neuron) *are* its count matrix, so a
sequence model that puts its mass on canonical sequences only is a distribution over count
matrices, and its log-likelihood compares with a Poisson model's on the same bins (bits/spike).
After the token ``s_t = (b_t, i_t)``, the ``k``-th spike of its cell, the next token is a spike
in a cell ``c = (b, i) >= c_t = (b_t, i_t)`` (lexicographic; equal: another spike in the same
cell) or the end of the window (EOS). Every head defines this distribution, the *joint* over the
``window_bins x N`` cells plus EOS:

- ``intensity`` (exact, the default): a discrete-time point process. The head gives every cell
  an expected count ``lam_c(h_t)``; a later cell's hazard is ``1 - exp(-lam_c)``, so
  ``P(c) = (1 - r) (1 - e^{-lam_c}) exp(-sum_{c_t < c' < c} lam_c')``,
  ``P(EOS) = (1 - r) exp(-sum_{c' > c_t} lam_c')``, and another spike in ``c_t`` comes with
  ``r = P(n >= k+1 | n >= k)`` of a Poisson count of mean ``lam_{c_t}``. Any joint has this form
  (``lam`` is free per prefix); with zero weights and ``log lam`` biases at the training rates
  the head *is* the homogeneous Poisson null, so training starts at 0 bits/spike.
- ``factored`` (exact): ``p(i | h_t) p(b | i, h_t)``. The time head reads the hidden state and the
  embedding of the next ID (teacher-forced in training). Any joint has this form too.
- ``split`` (the paper's ``head_id`` / ``head_dt``): ``p(i | h_t) p(b | h_t)``, both from the same
  state. The bin cannot depend on the ID: the heads score the product of the two marginals,
  lose ``I(b; i | prefix)`` per spike and put mass on non-canonical pairs.

Masks, the same when scoring and sampling: an ID is a neuron or EOS (never SOS/PAD); a bin lies
in the current window (the past window's longer ``dt`` range is input only); a neuron below
``i_t`` is impossible when ``b_t`` is the last bin; the bin is ``>= b_t``, and ``> b_t`` for an
ID below ``i_t`` where the head knows the ID (factored); a full block allows only EOS. Masked
entries get ``MASKED`` (finite, so that gradients through unselected entries stay finite).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciformers.neuro.tokenizer import Tokenizer

MASKED = -1e4  # log-probability of an impossible token: exp() underflows to exactly 0


class CanonicalState(NamedTuple):
    """Where each input token leaves the canonical order (tensors of one shape).

    Attributes:
        bin, id: the token's cell ``(b_t, i_t)``; SOS and PAD count as ``(0, -1)``, before every cell.
        repeats: ``k``, spikes in that cell up to and including the token (0 for SOS/PAD).
        full: the block is full after this token (only EOS remains).
    """

    bin: Tensor
    id: Tensor
    repeats: Tensor
    full: Tensor

    def last(self) -> CanonicalState:
        """The state after the last token of each row."""
        return CanonicalState(*(x[..., -1] for x in self))


def canonical_state(tok: Tokenizer, cur_id: Tensor, cur_dt: Tensor) -> CanonicalState:
    """:class:`CanonicalState` of every input token of ``(B, L)`` current-state sequences."""
    real = cur_id < tok.n_neurons
    last_bin, last_id = torch.where(real, cur_dt, 0), torch.where(real, cur_id, -1)
    pos = torch.arange(cur_id.shape[-1], device=cur_id.device).expand_as(cur_id)
    same = torch.zeros_like(real)
    same[..., 1:] = real[..., 1:] & (last_id[..., 1:] == last_id[..., :-1]) & (last_bin[..., 1:] == last_bin[..., :-1])
    run_start = torch.where(same, 0, pos).cummax(-1).values  # canonical order: a cell's spikes are adjacent
    repeats = torch.where(real, pos - run_start + 1, 0)
    return CanonicalState(last_bin, last_id, repeats, pos >= tok.max_current - 1)


def id_mask(tok: Tokenizer, state: CanonicalState) -> Tensor:
    """``(..., N + 1)`` True where the next ID (neurons, then EOS) is possible."""
    neuron = torch.arange(tok.n_neurons, device=state.bin.device)
    ok = (neuron >= state.id[..., None]) | (state.bin[..., None] < tok.window_bins - 1)
    ok = ok & ~state.full[..., None]
    return torch.cat([ok, torch.ones_like(ok[..., :1])], -1)


def bin_mask(tok: Tokenizer, state: CanonicalState, next_idx: Tensor | None) -> Tensor:
    """``(..., window_bins)`` True where the next bin is possible (given the next ID index when known)."""
    lo = state.bin if next_idx is None else state.bin + (next_idx < state.id).long()
    return torch.arange(tok.window_bins, device=state.bin.device) >= lo[..., None]


def cell_mask(tok: Tokenizer, state: CanonicalState) -> Tensor:
    """``(..., window_bins, N)`` True for the cells ``>= (b_t, i_t)`` (none when the block is full)."""
    b = torch.arange(tok.window_bins, device=state.bin.device)[:, None]
    i = torch.arange(tok.n_neurons, device=state.bin.device)
    sb, si = state.bin[..., None, None], state.id[..., None, None]
    return ((b > sb) | ((b == sb) & (i >= si))) & ~state.full[..., None, None]


def masked_log_softmax(logits: Tensor, allowed: Tensor) -> Tensor:
    """``log_softmax`` over the allowed entries (``MASKED`` elsewhere)."""
    return logits.masked_fill(~allowed, MASKED).log_softmax(-1).masked_fill(~allowed, MASKED)


def target_index(tok: Tokenizer, tgt_id: Tensor) -> Tensor:
    """The ID index of each target: a neuron's own, ``N`` for EOS (and for PAD, ignored)."""
    return torch.where(tgt_id < tok.n_neurons, tgt_id, tok.n_neurons)


class TokenHead(nn.Module):
    """A next-token distribution: the masked joint over cells and EOS (see the module docstring)."""

    def __init__(self, tok: Tokenizer) -> None:
        super().__init__()
        self.tok = tok

    def joint(self, h: Tensor, state: CanonicalState) -> tuple[Tensor, Tensor]:
        """``log P(next spike in cell (b, i))`` ``(..., window_bins, N)`` and ``log P(EOS)`` ``(...)``."""
        raise NotImplementedError

    def target_log_probs(self, h: Tensor, state: CanonicalState, idx: Tensor, bins: Tensor) -> tuple[Tensor, Tensor]:
        """``log p(i)`` and ``log p(b | i)`` of the targets (ID index ``idx``, bin ``bins``; EOS: ``log p(b | i) = 0``)."""
        cells, end = self.joint(h, state)
        n = self.tok.n_neurons
        col = cells.gather(-1, idx.clamp(max=n - 1)[..., None, None].expand(*idx.shape, cells.shape[-2], 1))[..., 0]
        marginal = torch.where(idx < n, col.logsumexp(-1), end)
        cell = torch.where(idx < n, col.gather(-1, bins.clamp(max=self.tok.window_bins - 1)[..., None])[..., 0], end)
        return marginal, cell - marginal

    @torch.no_grad()
    def init_bias(self, tgt_id: np.ndarray, tgt_dt: np.ndarray) -> None:
        """Start at the training targets' frequencies (``window_batch`` arrays of the training windows)."""
        raise NotImplementedError


class IntensityHead(TokenHead):
    """Per-cell expected counts ``lam = exp(W h + c)``, ``(window_bins x N)`` per position; ``W`` starts at 0.

    Args:
        dim: width of the hidden state.
        tok: the tokenizer (``N``, ``window_bins``).
    """

    LOG_RATE = (-15.0, 6.0)  # clamp of log lam: at most e^6 spikes expected in one cell

    def __init__(self, dim: int, tok: Tokenizer) -> None:
        super().__init__(tok)
        self.rate = nn.Linear(dim, tok.window_bins * tok.n_neurons)
        nn.init.zeros_(self.rate.weight)

    def joint(self, h: Tensor, state: CanonicalState) -> tuple[Tensor, Tensor]:
        tok = self.tok
        lam = self.rate(h).clamp(*self.LOG_RATE).exp()  # (..., C), cell c = b * N + i
        C = lam.shape[-1]
        c0 = (state.bin * tok.n_neurons + state.id).clamp(min=-1)  # -1: before every cell
        cell = torch.arange(C, device=h.device)
        after = (cell > c0[..., None]) & ~state.full[..., None]
        mass = torch.where(after, lam, 0.0).cumsum(-1)
        skipped = mass - torch.where(after, lam, 0.0)  # expected counts of the later cells before c
        k = state.repeats.to(lam.dtype)[..., None]
        lam0 = lam.gather(-1, c0.clamp(min=0)[..., None])
        tail = torch.special.gammainc(k.clamp(min=1), lam0).clamp_min(1e-30).log()  # log P(n >= k)
        again = torch.special.gammainc(k + 1, lam0).clamp_min(1e-30).log() - tail  # log r
        stop = -lam0 + k * lam0.log() - torch.lgamma(k + 1) - tail  # log (1 - r) = log P(n = k) - log P(n >= k)
        repeat = state.repeats[..., None] > 0
        again, stop = torch.where(repeat, again, MASKED), torch.where(repeat, stop, 0.0)
        log_cells = torch.where(after, torch.log(-torch.expm1(-lam)) - skipped + stop, MASKED)
        log_cells = torch.where((cell == c0[..., None]) & repeat & ~state.full[..., None], again, log_cells)
        log_end = torch.where(state.full, 0.0, stop[..., 0] - mass[..., -1])
        return log_cells.unflatten(-1, (tok.window_bins, tok.n_neurons)), log_end

    @torch.no_grad()
    def init_bias(self, tgt_id: np.ndarray, tgt_dt: np.ndarray) -> None:
        """``log lam`` of every cell at its neuron's mean count per bin (the homogeneous Poisson null)."""
        tok = self.tok
        spikes = tgt_id[tgt_id < tok.n_neurons]
        per_bin = (np.bincount(spikes, minlength=tok.n_neurons) + 0.5) / (len(tgt_id) * tok.window_bins)
        self.rate.bias.copy_(torch.as_tensor(np.log(np.tile(per_bin, tok.window_bins)), dtype=self.rate.bias.dtype))


class FactoredHead(TokenHead):
    """ID logits over ``N`` neurons and EOS, and bin logits over the current window's bins.

    Args:
        dim: width of the hidden state.
        tok: the tokenizer.
        factored: the time head also reads the next ID (exact); else the paper's split heads.
    """

    def __init__(self, dim: int, tok: Tokenizer, factored: bool) -> None:
        super().__init__(tok)
        self.factored = factored
        self.id = nn.Linear(dim, tok.n_neurons + 1)
        if factored:
            self.next_id = nn.Embedding(tok.n_neurons + 1, dim)
            self.mix = nn.Linear(dim, dim)
        self.bin = nn.Linear(dim, tok.window_bins)

    def id_logits(self, h: Tensor) -> Tensor:
        """``(..., N + 1)``."""
        return self.id(h)

    def bin_logits(self, h: Tensor, next_idx: Tensor) -> Tensor:
        """``(..., n_bins)``: ``W GELU(W_h h + E[i]) + c`` (factored) or ``W h + c`` (split)."""
        if self.factored:
            return self.bin(F.gelu(self.mix(h) + self.next_id(next_idx)))
        return self.bin(h)

    def target_log_probs(self, h: Tensor, state: CanonicalState, idx: Tensor, bins: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher-forced: the bin head reads the target's ID (only the targets' bin logits are computed)."""
        lid = masked_log_softmax(self.id_logits(h), id_mask(self.tok, state))
        allow = bin_mask(self.tok, state, idx if self.factored else None) | (idx == self.tok.n_neurons)[..., None]
        ldt = masked_log_softmax(self.bin_logits(h, idx), allow)
        lp_bin = ldt.gather(-1, bins.clamp(max=self.tok.window_bins - 1)[..., None])[..., 0]
        return lid.gather(-1, idx[..., None])[..., 0], torch.where(idx < self.tok.n_neurons, lp_bin, 0.0)

    def joint(self, h: Tensor, state: CanonicalState) -> tuple[Tensor, Tensor]:
        """``p(i) p(b | i)`` of every cell (split: ``p(i) p(b)``, not normalised over canonical cells)."""
        n = self.tok.n_neurons
        lid = masked_log_softmax(self.id_logits(h), id_mask(self.tok, state))
        ids = torch.arange(n, device=h.device)
        expand = CanonicalState(*(x[..., None] for x in state))
        lbin = masked_log_softmax(self.bin_logits(h[..., None, :], ids.expand(*h.shape[:-1], n)),
                                  bin_mask(self.tok, expand, ids if self.factored else None))  # (..., N, bins)
        cells = (lid[..., :n, None] + lbin).transpose(-1, -2)
        return cells.masked_fill(~cell_mask(self.tok, state), MASKED), lid[..., n]

    @torch.no_grad()
    def init_bias(self, tgt_id: np.ndarray, tgt_dt: np.ndarray) -> None:
        """Both biases at the log-frequencies of the targets (add-half smoothing)."""
        tok = self.tok
        idx = np.where(tgt_id[tgt_id != tok.id_pad] < tok.n_neurons, tgt_id[tgt_id != tok.id_pad], tok.n_neurons)
        for layer, counts in ((self.id, np.bincount(idx, minlength=tok.n_neurons + 1)),
                              (self.bin, np.bincount(tgt_dt[tgt_dt != tok.dt_pad], minlength=tok.window_bins))):
            freq = (counts + 0.5) / (counts.sum() + 0.5 * len(counts))
            layer.bias.copy_(torch.as_tensor(np.log(freq), dtype=layer.bias.dtype))


HEADS = ("intensity", "factored", "split")


def make_head(kind: str, dim: int, tok: Tokenizer) -> TokenHead:
    """The ``token_heads`` head: ``intensity``, ``factored`` or ``split``."""
    if kind == "intensity":
        return IntensityHead(dim, tok)
    if kind in ("factored", "split"):
        return FactoredHead(dim, tok, factored=kind == "factored")
    raise ValueError(f"Neuroformer: token_heads must be one of {HEADS}, got {kind!r}")


def token_log_probs(head: TokenHead, tok: Tokenizer, h: Tensor, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Masked ``log p(i_{t+1})`` and ``log p(b_{t+1} | ...)`` of every target ``(B, L)``; 0 where ignored.

    Args:
        head: the token head.
        tok: the tokenizer.
        h: hidden states ``(B, L, dim)`` of the input tokens ``batch["cur_id"], batch["cur_dt"]``.
        batch: with ``tgt_id, tgt_dt`` (PAD: ignored; the bin target of EOS is PAD).
    """
    tgt_id, tgt_dt = batch["tgt_id"], batch["tgt_dt"]
    state = canonical_state(tok, batch["cur_id"], batch["cur_dt"])
    lp_id, lp_bin = head.target_log_probs(h, state, target_index(tok, tgt_id), tgt_dt.clamp(max=tok.window_bins - 1))
    return torch.where(tgt_id != tok.id_pad, lp_id, 0.0), torch.where(tgt_dt != tok.dt_pad, lp_bin, 0.0)


def cell_log_hazard(head: TokenHead, h: Tensor, state: CanonicalState, tgt_idx: Tensor, tgt_bin: Tensor) -> Tensor:
    """``log P(spike in cell (b, j) | no spike in the cells between the current token and it)``, ``(...)``.

    The conditional intensity of the target cell given every earlier cell: ``log P(b, j)`` minus
    the log of the joint's mass on the cells ``>= (b, j)`` and EOS. Unlike ``log p(next token)``
    it does not depend on how many cells the canonical order skipped: for independent Poisson
    counts it is ``log(1 - exp(-lam_j))`` whatever came before.

    Args:
        head: the token head.
        h: hidden states ``(..., dim)`` of the current tokens; ``state`` their canonical state.
        tgt_idx, tgt_bin: the target cell (a neuron index and a bin of the current window).
    """
    cells, end = head.joint(h, state)
    tok = head.tok
    b = torch.arange(tok.window_bins, device=h.device)[:, None]
    i = torch.arange(tok.n_neurons, device=h.device)
    tb, ti = tgt_bin[..., None, None], tgt_idx[..., None, None]
    later = (b > tb) | ((b == tb) & (i >= ti))
    rest = torch.cat([cells.masked_fill(~later, MASKED).flatten(-2), end[..., None]], -1).logsumexp(-1)
    target = cells.flatten(-2).gather(-1, (tgt_bin * tok.n_neurons + tgt_idx.clamp(max=tok.n_neurons - 1))[..., None])[..., 0]
    return target - rest


def cell_log_intensity(head: TokenHead, h: Tensor, state: CanonicalState, tgt_idx: Tensor, tgt_bin: Tensor) -> Tensor:
    """``log lam = log(-log(1 - hazard))`` of the target cell (:func:`cell_log_hazard`): the log expected count that
    the hazard implies, ``log lam_j`` for Poisson counts; unlike the hazard it does not saturate when a spike
    becomes likely."""
    hazard = cell_log_hazard(head, h, state, tgt_idx, tgt_bin).clamp(max=-1e-6)
    return torch.log(-torch.log1p(-hazard.exp()))
