"""Model registry (timm style): ``register_model`` / ``create_model`` / ``list_models``.

Names are ``<domain>.<model>`` for domain models (``crystals.icomformer``) and short
lowercase names for peers and baselines (``cgcnn``, ``majority``). Every entry declares its
protocol (``kind``): ``trainable`` torch modules fitted by the :class:`~sciformers.core.Trainer`
(``training_step`` / ``predict``), or ``estimator`` peers and baselines with their own
``fit`` / ``predict`` (a GLM, A*, an sktime classifier). Each also declares small
``test_kwargs`` and, for trainables, an ``example`` batch, which the conformance suites build,
run and round-trip. A name whose domain is
not yet imported is looked up by importing ``sciformers.<domain>`` lazily, so shared code
never imports a domain.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
ModelKind = Literal["trainable", "estimator"]


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry.

    Args:
        name: the registry name.
        factory: builds the model from keyword arguments.
        kind: ``trainable`` (a :class:`~sciformers.core.TrainModule` the Trainer fits) or
            ``estimator`` (``fit`` / ``predict`` of its own).
        test_kwargs: small keyword arguments the conformance suite builds the model with.
        example: ``example(model) -> batch`` a batch the built model's ``predict`` accepts
            (trainables; the conformance suite runs it and round-trips the weights).
    """

    name: str
    factory: Callable[..., Any]
    kind: ModelKind = "trainable"
    test_kwargs: dict[str, Any] = field(default_factory=dict)
    example: Callable[[Any], Any] | None = None


_MODELS: dict[str, ModelSpec] = {}


def register_model(name: str, *, kind: ModelKind = "trainable", test_kwargs: dict[str, Any] | None = None,
                   example: Callable[[Any], Any] | None = None) -> Callable[[F], F]:
    """Decorator registering a model factory (a class or function) under ``name``.

    Args:
        name: ``<domain>.<model>`` or a short peer name.
        kind: the protocol the runner drives it by (see :class:`ModelSpec`).
        test_kwargs: small kwargs for the conformance suite.
        example: a batch for ``predict`` of the model built from ``test_kwargs``.
    """
    if kind not in ("trainable", "estimator"):
        raise ValueError(f"register_model({name!r}): kind must be 'trainable' or 'estimator', got {kind!r}")

    def deco(factory: F) -> F:
        if name in _MODELS and _MODELS[name].factory is not factory:
            raise ValueError(f"model {name!r} is already registered")
        _MODELS[name] = ModelSpec(name, factory, kind, dict(test_kwargs or {}), example)
        return factory

    return deco


SHARED_PORTIONS = ("attention", "core", "evaluation", "attention_suites")
#: Registry prefixes served by a portion of another name: ``attention.listops`` and
#: ``attention.sequence_classifier`` live in the attention benchmark suites, not in the kernels.
PREFIX_HOMES = {"attention": "attention_suites"}


def domain_of(name: str) -> str:
    """The portion that registers ``name`` (``crystals.icomformer`` -> ``crystals``)."""
    prefix = name.split(".", 1)[0]
    return PREFIX_HOMES.get(prefix, prefix)


def import_domain(name: str) -> Any:
    """Import ``sciformers.<domain>`` for a name ``<domain>.<entry>`` (or a bare domain), if it exists.

    Registration happens on import, so this is how shared registries find domain entries
    without importing any domain themselves. Returns the module (``None`` if there is none).
    """
    domain = domain_of(name)
    try:
        return importlib.import_module(f"sciformers.{domain}")
    except ModuleNotFoundError as err:
        if err.name != f"sciformers.{domain}":
            raise
        return None


def domain_names() -> list[str]:
    """Names of the installed domain packages (every ``sciformers.*`` portion but the shared ones)."""
    import sciformers

    found = {m.name for m in pkgutil.iter_modules(sciformers.__path__) if m.ispkg}
    return sorted(found - set(SHARED_PORTIONS))


def registering_portions() -> list[str]:
    """Every portion that registers entries: the domains and the shared suites (``attention_suites``)."""
    return domain_names() + sorted(set(PREFIX_HOMES.values()))


def import_all_domains() -> None:
    """Import every installed domain (and the shared suites), so the registries list all their entries."""
    for portion in registering_portions():
        import_domain(portion)


def get_model_spec(name: str) -> ModelSpec:
    """The entry registered under ``name`` (importing its domain if needed)."""
    if name not in _MODELS and "." in name:
        import_domain(name)
    try:
        return _MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(list_models())}") from None


def get_model_factory(name: str) -> Callable[..., Any]:
    """The factory registered under ``name`` (importing its domain if needed)."""
    return get_model_spec(name).factory


def create_model(name: str, **kwargs: Any) -> Any:
    """Build the model registered under ``name`` with ``kwargs``."""
    return get_model_factory(name)(**kwargs)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted registered names matching a glob ``pattern`` (``"crystals.*"``)."""
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))
