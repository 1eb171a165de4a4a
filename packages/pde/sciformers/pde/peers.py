"""Peers run beside FactFormer on the same data and budget: neuraloperator's FNO and persistence.

- ``fno``: the Fourier Neural Operator (Li et al. 2021, https://arxiv.org/abs/2010.08895) from the
  ``neuraloperator`` package (``neuralop.models.FNO``), the input frames as channels and the
  ``out_steps`` next frames as output channels, trained by the same :class:`Surrogate` recipe
  (normalization, relative-L2 loss, curriculum, pushforward, rollout).
- ``persistence``: the next frame equals the current one; the trivial baseline.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor

from sciformers.core import register_model
from sciformers.pde.surrogate import Surrogate, example_batch


def _fno_class() -> Any:
    try:
        from neuralop.models import FNO
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the fno peer needs neuraloperator: pip install 'sciformers[pde]'") from err
    return FNO


def _fno_example(model: FNOSurrogate) -> dict[str, Tensor]:
    """A batch on an 8-point grid of the model's dimension (the registry's ``example``)."""
    return example_batch(model, (8,) * len(model.n_modes))


@register_model("fno", test_kwargs={"in_steps": 3, "out_steps": 2, "n_modes": [4, 4], "hidden_channels": 8, "n_layers": 2},
                example=_fno_example)
class FNOSurrogate(Surrogate):
    """neuraloperator's ``FNO`` as an autoregressive surrogate.

    Args:
        in_steps: input frames (FNO input channels).
        out_steps: frames per call (FNO output channels).
        n_modes: Fourier modes kept per axis (its length sets the grid dimension).
        hidden_channels: FNO width.
        n_layers: Fourier layers.
        channels: fields per frame (FNO channels are frames × fields).
        **train_kwargs: curriculum and pushforward settings of :class:`Surrogate`; any other key
            is passed to ``neuralop.models.FNO``.
    """

    def __init__(self, in_steps: int = 4, out_steps: int = 1, n_modes: Sequence[int] = (12, 12),
                 hidden_channels: int = 32, n_layers: int = 4, channels: int = 1, **kwargs: Any) -> None:
        train_keys = ("curriculum_steps", "pushforward_start", "pushforward_every", "pushforward_unroll",
                      "input_noise", "residual")
        train_kwargs = {k: kwargs.pop(k) for k in train_keys if k in kwargs}
        super().__init__(in_steps=in_steps, out_steps=out_steps, channels=channels, **train_kwargs)
        self.n_modes = tuple(int(m) for m in n_modes)
        self.fno = _fno_class()(n_modes=self.n_modes, in_channels=in_steps * channels, out_channels=out_steps * channels,
                                hidden_channels=hidden_channels, n_layers=n_layers, **kwargs)

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Tensors only: neuralop's ``BaseModel`` adds a ``_metadata`` dict, which safetensors cannot store."""
        return {k: v for k, v in super().state_dict(*args, **kwargs).items() if isinstance(v, Tensor)}

    def step(self, window: Tensor) -> Tensor:
        if self.grid_ndim(window) != len(self.n_modes):
            layout = f"{self.channels}, " if self.channels > 1 else ""
            raise ValueError(f"fno: input must be (B, {self.in_steps}, {layout}*{len(self.n_modes)} grid axes), "
                             f"got {tuple(window.shape)}")
        return self.unstack_frames(self.fno(self.stack_frames(window)))


@register_model("persistence", kind="estimator", test_kwargs={"in_steps": 2, "out_steps": 1})
class Persistence(Surrogate):
    """Predicts that every future frame equals the last input frame (no parameters)."""

    def __init__(self, in_steps: int = 4, out_steps: int = 1, channels: int = 1, **_: Any) -> None:
        super().__init__(in_steps=in_steps, out_steps=out_steps, channels=channels)

    def fit(self, *_: Any) -> "Persistence":
        """Nothing to fit: the estimator protocol's ``fit`` (the task passes no inputs)."""
        return self

    def step(self, window: Tensor) -> Tensor:
        last = window[:, -1:]
        return last.expand(-1, self.out_steps, *last.shape[2:]).clone()

    def training_step(self, batch: Any) -> Tensor:
        raise RuntimeError("persistence has nothing to train")

    def validation_step(self, batch: Any) -> Tensor:
        raise RuntimeError("persistence has nothing to validate")


def fno_width_for(target_params: int, in_steps: int, out_steps: int, n_modes: Sequence[int] = (12, 12),
                  n_layers: int = 4, tolerance: float = 0.15, channels: int = 1) -> int:
    """The FNO ``hidden_channels`` whose parameter count is closest to ``target_params``.

    Raises:
        ValueError: when no width comes within ``tolerance`` (relative) of the target.
    """
    best, best_gap = 1, float("inf")
    for width in range(4, 257, 2):
        with torch.device("meta"):
            n = sum(p.numel() for p in FNOSurrogate(in_steps, out_steps, n_modes, width, n_layers, channels).parameters())
        gap = abs(n - target_params) / target_params
        if gap < best_gap:
            best, best_gap = width, gap
        if n > target_params:
            break
    if best_gap > tolerance:
        raise ValueError(f"no FNO width within {tolerance:.0%} of {target_params} parameters (best {best})")
    return best
