"""Autoregressive decoding for :class:`~sciformers.planning.model.Searchformer` with a key/value cache.

The shared decoder blocks run a whole sequence at once; generating ``N`` tokens that way costs
``O(N^2)`` block passes. Here each block is stepped one token at a time with the block's own
weights: self-attention keys and values are cached per layer (rotated by RoPE at their
position), cross-attention keys and values of the encoder output are computed once. The result
equals the full causal forward pass (tested), so greedy decoding here is what teacher forcing
trained. Sampling draws from ``softmax(logits / temperature)`` with a seeded generator; best-of-k
keeps, per prompt, the sample a caller-supplied score ranks first (Searchformer, sec. 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from sciformers.attention import MultiHeadAttention, TransformerBlock
from sciformers.planning.data import Kind, PlanningExample, pad, parse_task
from sciformers.planning.scoring import best_of
from sciformers.planning.tokenizer import Tokenizer


def _heads(attn: MultiHeadAttention, t: Tensor) -> Tensor:
    """``(B, N, H*d) -> (B, H, N, d)``."""
    return t.unflatten(-1, (attn.heads, attn.dim_head)).transpose(1, 2)


def _merge(attn: MultiHeadAttention, out: Tensor) -> Tensor:
    """Output projection of per-head results ``(B, H, N, d)``."""
    return attn.dropout(attn.to_out(out.transpose(1, 2).flatten(2)))


@dataclass
class _LayerCache:
    keys: list[Tensor] = field(default_factory=list)
    values: list[Tensor] = field(default_factory=list)
    ctx_k: Tensor | None = None
    ctx_v: Tensor | None = None


class CachedDecoder:
    """Steps a Searchformer decoder one token at a time.

    Args:
        model: a :class:`~sciformers.planning.model.Searchformer` (in eval mode).
        src: prompt ids ``(B, M)``.
        src_mask: ``(B, M)``, True on real tokens.
    """

    def __init__(self, model, src: Tensor, src_mask: Tensor) -> None:
        self.model = model
        self.blocks: list[TransformerBlock] = list(model.net.decoder.blocks)
        memory = model.encode(src, src_mask)
        self.ctx_mask = src_mask[:, None, None, :]
        self.caches = []
        for blk in self.blocks:
            cross = blk.cross
            self.caches.append(_LayerCache(ctx_k=_heads(cross, cross.to_k(memory)), ctx_v=_heads(cross, cross.to_v(memory))))
        self.position = 0

    def step(self, tokens: Tensor) -> Tensor:
        """Logits ``(B, vocab)`` for the next token after ``tokens (B,)`` at the current position."""
        x = self.model.embed(tokens)[:, None, :]
        pos = torch.tensor([self.position], device=tokens.device)
        for blk, cache in zip(self.blocks, self.caches):
            attn = blk.attn
            h = blk.norm1(x)
            q, k, v = _heads(attn, attn.to_q(h)), _heads(attn, attn.to_k(h)), _heads(attn, attn.to_v(h))
            if attn.rotary is not None:
                q, k = attn.rotary.apply(q, pos), attn.rotary.apply(k, pos)
            cache.keys.append(k)
            cache.values.append(v)
            keys, values = torch.cat(cache.keys, dim=2), torch.cat(cache.values, dim=2)
            x = x + _merge(attn, attn.kernel(q, keys, values))
            cross = blk.cross
            qc = _heads(cross, cross.to_q(blk.norm_cross(x)))
            x = x + _merge(cross, cross.kernel(qc, cache.ctx_k, cache.ctx_v, mask=self.ctx_mask))
            x = x + blk.dropout(blk.ff(blk.norm2(x)))
        self.position += 1
        return self.model.head(self.model.net.decoder.norm(x))[:, 0]


@torch.no_grad()
def generate(model, src: Tensor, src_mask: Tensor, max_new_tokens: int, temperature: float = 0.0,
             generator: torch.Generator | None = None) -> Tensor:
    """Responses ``(B, L)`` starting with ``bos``: greedy when ``temperature == 0``, else sampled.

    Each row stops at its first ``eos`` (later positions are padding, id 0); decoding stops
    when every row has ended or after ``max_new_tokens`` tokens.

    Args:
        model: a Searchformer.
        src: prompt ids ``(B, M)``.
        src_mask: ``(B, M)`` True on real tokens.
        max_new_tokens: most tokens generated after ``bos``.
        temperature: 0 for greedy decoding, else the sampling temperature.
        generator: seeds sampling.
    """
    was_training = model.training
    model.eval()
    bos, eos, pad = 1, 2, 0
    dec = CachedDecoder(model, src, src_mask)
    tokens = torch.full((src.shape[0],), bos, dtype=torch.long, device=src.device)
    out = [tokens]
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
    for _ in range(max_new_tokens):
        logits = dec.step(tokens).float()
        if temperature > 0:
            probs = torch.softmax(logits / temperature, dim=-1)
            nxt = torch.multinomial(probs.cpu(), 1, generator=generator)[:, 0].to(src.device)
        else:
            nxt = logits.argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, pad), nxt)
        out.append(nxt)
        done |= nxt == eos
        tokens = torch.where(done, torch.full_like(nxt, eos), nxt)
        if bool(done.all()):
            break
    model.train(was_training)
    return torch.stack(out, dim=1)


def decode_responses(module: Any, examples: list[PlanningExample], tok: Tokenizer, kind: Kind,
                     n_boxes: int, max_new: int, batch_size: int, samples: int = 1, temperature: float = 1.0,
                     seed: int = 0, select: bool = True) -> list[list[list[str]]] | list[list[str]]:
    """Decode every prompt: greedily (one draw, ``select``) or by sampling ``samples`` draws.

    With ``select`` one response per prompt is returned (the greedy one, or the best of the
    samples: best-of-k); without it, the list of all sampled draws per prompt.
    """
    gen = torch.Generator().manual_seed(seed)
    device = next(module.parameters()).device
    out: list[Any] = []
    for i in range(0, len(examples), batch_size):
        chunk = examples[i:i + batch_size]
        src, mask = pad([ex.prompt for ex in chunk])
        src, mask = src.repeat_interleave(samples, 0).to(device), mask.repeat_interleave(samples, 0).to(device)
        greedy = select and samples == 1
        ids = generate(module, src, mask, max_new, temperature=0.0 if greedy else temperature, generator=gen)
        words = [tok.decode(row.tolist()) for row in ids.cpu()]
        for j, ex in enumerate(chunk):
            draws = words[j * samples:(j + 1) * samples]
            if not select:
                out.append(draws)
            elif greedy:
                out.append(draws[0])
            else:
                task = parse_task(kind, ex.text, check_solvable=False)
                out.append(best_of(kind, task, draws, ex.optimal_length, n_boxes))
    return out
