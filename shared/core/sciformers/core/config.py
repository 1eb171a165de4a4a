"""Typed configs: frozen pydantic models that reject unknown keys, plus ``--set a.b=VALUE`` overrides.

A misspelt key is an error naming the key and the keys that exist, before anything runs.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

C = TypeVar("C", bound="Config")


class ConfigError(ValueError):
    """A config value or key is wrong; the message names the key and what was expected."""


class Config(BaseModel):
    """Base for every sciformers config: frozen, unknown keys forbidden."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    @classmethod
    def parse(cls: type[C], data: Mapping[str, Any], where: str = "config") -> C:
        """Validate ``data``; errors name each offending key as ``where.a.b``.

        Raises:
            ConfigError: one line per problem, e.g. ``train.stpes: unknown key``.
        """
        try:
            return cls.model_validate(dict(data))
        except ValidationError as err:
            raise ConfigError(format_validation_error(err, where, cls)) from None


def format_validation_error(err: ValidationError, where: str, cls: type[BaseModel]) -> str:
    """Turn pydantic's errors into ``where.key: problem`` lines, listing the allowed keys."""
    lines = []
    for e in err.errors():
        path = ".".join([where, *(str(p) for p in e["loc"])])
        if e["type"] == "extra_forbidden":
            allowed = _allowed_keys(cls, e["loc"][:-1])
            hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
            lines.append(f"{path}: unknown key{hint}")
        else:
            lines.append(f"{path}: {e['msg']} (got {e.get('input')!r})")
    return "invalid config:\n  " + "\n  ".join(lines)


def _allowed_keys(cls: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    model: Any = cls
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = field.annotation
    fields = getattr(model, "model_fields", None)
    return sorted(fields) if fields else []


def parse_override(item: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=VALUE`` into ``(["a", "b", "c"], value)``, VALUE parsed as YAML.

    Raises:
        ConfigError: if there is no ``=`` or the key is empty.
    """
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. train.steps=50")
    key, raw = item.split("=", 1)
    parts = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise ConfigError(f"--set {item!r}: empty key segment in {key!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {item!r}: VALUE is not valid YAML: {err}") from None
    return parts, _yaml12_float(value)


_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _yaml12_float(value: Any) -> Any:
    """Read ``1e-3`` as a float, as YAML 1.2 does (PyYAML's YAML 1.1 keeps it a string)."""
    if isinstance(value, str) and _FLOAT.match(value):
        return float(value)
    if isinstance(value, list):
        return [_yaml12_float(v) for v in value]
    if isinstance(value, dict):
        return {k: _yaml12_float(v) for k, v in value.items()}
    return value


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge ``update`` into a copy of ``base`` (dicts merge, everything else replaces)."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _existing_keys(node: Any, parts: list[str]) -> list[str]:
    """Rejoin dotted segments that name one existing key, longest first, so that
    ``models.timeseries.shapeformer.kwargs.dim`` reaches the entry ``timeseries.shapeformer``."""
    keys: list[str] = []
    i = 0
    while i < len(parts):
        j = next((j for j in range(len(parts), i + 1, -1)
                  if isinstance(node, dict) and ".".join(parts[i:j]) in node), i + 1)
        keys.append(".".join(parts[i:j]))
        node = node.get(keys[-1]) if isinstance(node, dict) else None
        i = j
    return keys


def apply_overrides(data: Mapping[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``--set`` items to a nested dict; unknown keys are caught later by validation.

    A key whose name holds dots (a model entry such as ``timeseries.shapeformer``) is reached
    by writing it as it is: ``models.timeseries.shapeformer.kwargs.dim=32``.
    """
    out = copy.deepcopy(dict(data))
    for item in overrides:
        parts, value = parse_override(item)
        parts = _existing_keys(out, parts)
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"--set {item!r}: {part!r} is a value, not a section")
            node = child
        node[parts[-1]] = value
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; errors name the file.

    Raises:
        ConfigError: if the file is missing, not YAML, or not a mapping.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at top level, got {type(data).__name__}")
    return _yaml12_float(data)
