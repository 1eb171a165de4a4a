"""Attention registry: every variant declares what it supports (xformers-style capability flags).

A variant is registered with :func:`register_attention` and built with :func:`create_attention`.
Tests are parametrized over :func:`list_attention`, so a new entry is covered by the
conformance suite (fp64 reference, gradcheck, declared tolerances) for free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

import torch
from torch import nn

Kind = Literal["sequence", "grid", "image", "graph"]
MaskSupport = Literal["none", "key_padding", "full"]


@dataclass(frozen=True)
class AttentionSpec:
    """What a registered attention variant is and what it supports.

    Args:
        name: registry name (``softmax``, ``linear`` ...).
        factory: builds the ``nn.Module``; keyword arguments come from :func:`create_attention`.
        kind: ``sequence`` kernels take ``(q, k, v, mask=None, causal=False)`` on ``(B, H, N, d)``;
            ``grid``, ``image`` and ``graph`` variants are layers with their own inputs.
        causal: whether ``causal=True`` is supported.
        mask: which masks are supported: ``full`` (broadcastable to ``(B, H, N, M)``),
            ``key_padding`` (``(B, M)`` or broadcastable to ``(B, 1, 1, M)``) or ``none``.
        dtypes: dtypes the variant is tested in.
        tolerances: ``{dtype: (atol, rtol)}`` against the fp64 reference.
        reference: a naive fp64 implementation with the same call signature, used by the
            conformance tests as the oracle (``None`` for layers tested by their own suites).
        paper: the paper the variant implements.
        description: one line for ``sciformers list attention``.
    """

    name: str
    factory: Callable[..., nn.Module]
    kind: Kind
    causal: bool
    mask: MaskSupport
    dtypes: tuple[torch.dtype, ...] = (torch.float32, torch.float64, torch.bfloat16)
    tolerances: dict[torch.dtype, tuple[float, float]] = field(
        default_factory=lambda: {
            torch.float64: (1e-10, 1e-10),
            torch.float32: (1e-5, 1e-5),
            torch.bfloat16: (2e-2, 5e-3),
        }
    )
    reference: Callable[..., torch.Tensor] | None = None
    paper: str = ""
    description: str = ""


_REGISTRY: dict[str, AttentionSpec] = {}


def register_attention(spec: AttentionSpec) -> AttentionSpec:
    """Add ``spec`` to the registry; a second entry with the same name is an error."""
    if spec.name in _REGISTRY:
        raise ValueError(f"attention {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def get_attention_spec(name: str) -> AttentionSpec:
    """The :class:`AttentionSpec` registered under ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown attention {name!r}; registered: {', '.join(list_attention())}"
        ) from None


def create_attention(name: str, **kwargs: object) -> nn.Module:
    """Build the attention variant registered under ``name`` with ``kwargs``."""
    return get_attention_spec(name).factory(**kwargs)


def list_attention(kind: Kind | None = None) -> list[str]:
    """Sorted registry names, optionally only those of one ``kind``."""
    return sorted(n for n, s in _REGISTRY.items() if kind is None or s.kind == kind)
