"""Checkpoints as safetensors + JSON (never pickle), written atomically.

A checkpoint is a folder. It is written as ``<name>.tmp`` and swapped into place with renames
(``<name>`` -> ``<name>.old``, ``<name>.tmp`` -> ``<name>``), so a crash at any moment leaves
either the previous or the new checkpoint whole; readers fall back to ``<name>.old``.

- training state (:func:`save_checkpoint`): ``model``, ``optimizer`` and ``extra`` tensors
  (RNG states, best weights) in safetensors, everything else in ``state.json``;
- inference weights (:func:`save_model`): ``model.safetensors`` + ``config.json``, whose
  ``model`` key names the registry entry so another model's checkpoint is refused;
  :func:`load_model` rebuilds that model from the registry and loads its weights.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, TypeVar

from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from torch.optim import Optimizer

from sciformers.core.registry import create_model

M = TypeVar("M", bound=nn.Module)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(tmp_dir)`` in ``<target>.tmp``, fsync it, and swap it into ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp, old = target.with_name(target.name + ".tmp"), target.with_name(target.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write(tmp)
    for f in tmp.iterdir():
        with f.open("rb") as fh:
            os.fsync(fh.fileno())
    _fsync_dir(tmp)
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def _readable(target: Path) -> Path | None:
    """``target`` if complete, else the previous version left by an interrupted swap."""
    for candidate in (target, target.with_name(target.name + ".old")):
        if (candidate / "state.json").is_file() or (candidate / "config.json").is_file():
            return candidate
    return None


def _tensors(state: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().cpu().clone().contiguous() for k, v in state.items()}


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True))


def _split_optimizer(opt_state: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, slots in opt_state["state"].items():
        for name, value in slots.items():
            if isinstance(value, Tensor):
                tensors[f"{idx}.{name}"] = value
            else:
                scalars.setdefault(str(idx), {})[name] = value
    return tensors, {"param_groups": opt_state["param_groups"], "scalars": scalars}


def _join_optimizer(tensors: dict[str, Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    for idx, slots in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(slots)
    # JSON turned tuples (``betas``) into lists; torch's optimizers store them as tuples.
    groups = [{k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
              for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_checkpoint(
    directory: Path, model: nn.Module, optimizer: Optimizer, scheduler: Any, state: dict[str, Any],
    extra: dict[str, Tensor] | None = None,
) -> None:
    """Atomically write a resumable training checkpoint into ``directory``.

    Args:
        directory: the checkpoint folder (replaced whole).
        model: its ``state_dict`` goes to ``model.safetensors``.
        optimizer: tensors to ``optimizer.safetensors``, the rest to ``optimizer.json``.
        scheduler: its ``state_dict`` (JSON-serialisable) goes into ``state.json``.
        state: JSON-serialisable training state (step, epoch, position, history ...).
        extra: more tensors (RNG states, best weights) for ``extra.safetensors``.
    """
    opt_tensors, opt_meta = _split_optimizer(optimizer.state_dict())

    def write(tmp: Path) -> None:
        save_file(_tensors(model.state_dict()), str(tmp / "model.safetensors"))
        save_file(_tensors(opt_tensors), str(tmp / "optimizer.safetensors"))
        save_file(_tensors(extra or {}), str(tmp / "extra.safetensors"))
        _write_json(tmp / "optimizer.json", opt_meta)
        _write_json(tmp / "state.json", {**state, "scheduler": scheduler.state_dict()})

    _write_atomically(directory, write)


def load_checkpoint(
    directory: Path, model: nn.Module, optimizer: Optimizer, scheduler: Any,
) -> tuple[dict[str, Any], dict[str, Tensor]] | None:
    """Restore what :func:`save_checkpoint` wrote; ``None`` if there is no checkpoint.

    Args:
        directory: the checkpoint folder (its ``.old`` sibling is used after an interrupted swap).
        model, optimizer, scheduler: built as for the saved run; loaded in place.

    Returns:
        ``(state, extra)``: the JSON training state and the extra tensors.
    """
    found = _readable(directory)
    if found is None:
        return None
    model.load_state_dict(load_file(str(found / "model.safetensors")))
    meta = json.loads((found / "optimizer.json").read_text())
    optimizer.load_state_dict(_join_optimizer(load_file(str(found / "optimizer.safetensors")), meta))
    state = json.loads((found / "state.json").read_text())
    scheduler.load_state_dict(state.pop("scheduler"))
    return state, load_file(str(found / "extra.safetensors"))


def save_model(directory: Path, model: nn.Module, config: dict[str, Any]) -> None:
    """Atomically write inference weights and the config needed to rebuild the model.

    Args:
        directory: the checkpoint folder (replaced whole).
        model: the trained model.
        config: JSON-serialisable, with ``config["model"]`` the registry name (``pde.factformer2d``)
            and whatever else rebuilds the model (e.g. ``kwargs``).

    Raises:
        ValueError: if ``config`` does not name the model.
    """
    if not isinstance(config.get("model"), str):
        raise ValueError(f"{directory}: save_model needs config['model'], the registry name of the model")

    def write(tmp: Path) -> None:
        save_file(_tensors(model.state_dict()), str(tmp / "model.safetensors"))
        _write_json(tmp / "config.json", config)

    _write_atomically(Path(directory), write)


def load_model_state(directory: Path | str, expected_model: str | None = None) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Weights and config written by :func:`save_model`.

    Args:
        directory: the checkpoint folder.
        expected_model: the registry name the caller is about to build; ``None`` accepts any.

    Returns:
        ``(state_dict, config)``: CPU tensors for ``load_state_dict`` and the saved config.

    Raises:
        FileNotFoundError: if ``directory`` holds no model checkpoint.
        ValueError: if ``expected_model`` is given and the checkpoint is of another model.
    """
    directory = Path(directory)
    found = _readable(directory)
    if found is None or not (found / "model.safetensors").is_file():
        raise FileNotFoundError(f"{directory}: no model checkpoint (expected model.safetensors and config.json)")
    config = json.loads((found / "config.json").read_text())
    if expected_model is not None and config.get("model") != expected_model:
        raise ValueError(
            f"{directory}: checkpoint is of model {config.get('model')!r}, not {expected_model!r}"
        )
    return load_file(str(found / "model.safetensors")), config


def load_model(directory: Path | str, kind: type[M] = nn.Module) -> M:  # type: ignore[assignment]
    """The model :func:`save_model` wrote: rebuilt from the registry, weights loaded, in eval mode.

    Args:
        directory: the checkpoint folder.
        kind: the class the model must be an instance of (e.g. a domain's base class).

    Raises:
        FileNotFoundError: if ``directory`` holds no model checkpoint.
        ValueError: if the checkpoint's model is not a ``kind``.
    """
    state, config = load_model_state(directory)
    name = config.get("model")
    model = create_model(name, **config.get("kwargs", {}))
    if not isinstance(model, kind):
        raise ValueError(f"{directory}: checkpoint holds {name!r}, not a {kind.__name__}")
    model.load_state_dict(state)
    return model.eval()
