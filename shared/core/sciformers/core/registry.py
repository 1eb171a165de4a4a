"""Model registry (timm style): ``register_model`` / ``create_model`` / ``list_models``.

Names are ``<domain>.<model>`` for domain models (``crystals.icomformer``) and short
lowercase names for peers and baselines (``cgcnn``, ``majority``). A name whose domain is
not yet imported is looked up by importing ``sciformers.<domain>`` lazily, so shared code
never imports a domain.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_MODELS: dict[str, Callable[..., Any]] = {}


def register_model(name: str) -> Callable[[F], F]:
    """Decorator registering a model factory (a class or function) under ``name``."""

    def deco(factory: F) -> F:
        if name in _MODELS and _MODELS[name] is not factory:
            raise ValueError(f"model {name!r} is already registered")
        _MODELS[name] = factory
        return factory

    return deco


def import_domain(name: str) -> None:
    """Import ``sciformers.<domain>`` for a name ``<domain>.<entry>`` (or a bare domain), if it exists.

    Registration happens on import, so this is how shared registries find domain entries
    without importing any domain themselves.
    """
    domain = name.split(".", 1)[0]
    try:
        importlib.import_module(f"sciformers.{domain}")
    except ModuleNotFoundError as err:
        if err.name != f"sciformers.{domain}":
            raise


SHARED_PORTIONS = ("attention", "core", "evaluation")


def domain_names() -> list[str]:
    """Names of the installed domain packages (every ``sciformers.*`` portion but the shared ones)."""
    import sciformers

    found = {m.name for m in pkgutil.iter_modules(sciformers.__path__) if m.ispkg}
    return sorted(found - set(SHARED_PORTIONS))


def import_all_domains() -> None:
    """Import every installed domain, so the registries list all their entries."""
    for domain in domain_names():
        import_domain(domain)


def get_model_factory(name: str) -> Callable[..., Any]:
    """The factory registered under ``name`` (importing its domain if needed)."""
    if name not in _MODELS and "." in name:
        import_domain(name)
    try:
        return _MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(list_models())}") from None


def create_model(name: str, **kwargs: Any) -> Any:
    """Build the model registered under ``name`` with ``kwargs``."""
    return get_model_factory(name)(**kwargs)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted registered names matching a glob ``pattern`` (``"crystals.*"``)."""
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))
