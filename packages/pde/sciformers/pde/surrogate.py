"""Autoregressive PDE surrogates: normalization, rollout and FactFormer's training procedure.

Every model of the PDE domain (FactFormer, the FNO peer, persistence) maps a window of
``in_steps`` frames to the next ``out_steps`` frames. This base class owns what they share,
following FactFormer's training recipe (Li, Shu & Barati Farimani 2023,
https://arxiv.org/abs/2305.17560, sec. 4 and the KM2d example):

- fields are normalized by the training mean and standard deviation (buffers, saved with the
  weights), and the loss is the relative L2 error on normalized fields, per sample over
  ``(t, *grid)``, averaged over the batch;
- a curriculum over the number of supervised future frames: ``1`` at the start, rising to
  ``out_steps`` over ``curriculum_steps`` optimizer steps;
- pushforward (Brandstetter et al. 2022, https://arxiv.org/abs/2202.03376): after
  ``pushforward_start`` steps, every ``pushforward_every``-th step unrolls ``pushforward_unroll``
  chunks without gradient and takes the loss on the chunk after them;
- optionally (``input_noise > 0``, not in FactFormer's recipe) training noise (Sanchez-Gonzalez
  et al. 2020, https://arxiv.org/abs/2002.09405, sec. 3; Stachenfeld et al. 2022,
  https://arxiv.org/abs/2112.15275): Gaussian noise of standard deviation ``input_noise`` (in
  normalized units) is added to every input frame of a training step while the target stays the
  true next frame, so the model learns to pull a perturbed state back towards the data, the
  error a rollout feeds itself;
- :meth:`Surrogate.rollout` marches for any horizon by feeding predictions back in;
- optionally (``residual=True``, not in the paper) every predicted frame is the last input frame
  plus the network's output, so the network learns the increment; persistence is then its
  starting point (Brandstetter et al. 2022 and PDEArena, Gupta & Brandstetter 2022, predict
  increments the same way).

A batch is ``{"inputs": (B, in_steps, *grid), "target": (B, T, *grid)}`` in physical units; a
model of ``channels > 1`` fields per frame (3-D smoke: density and three velocity components)
takes ``(B, T, channels, *grid)`` and normalizes each channel by its own statistics.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor

from sciformers.core import TrainModule


def relative_l2_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean over the batch of ``||pred_i - target_i|| / ||target_i||``, each sample flattened."""
    diff = torch.linalg.vector_norm((pred - target).flatten(1), dim=1)
    return (diff / torch.linalg.vector_norm(target.flatten(1), dim=1).clamp_min(1e-12)).mean()


def example_batch(model: "Surrogate", grid: tuple[int, ...] = (8, 8)) -> dict[str, Tensor]:
    """A small batch for ``model.predict``: two random windows on ``grid`` (the same on every call),
    rolled out three frames."""
    frame = (model.channels, *grid) if model.channels > 1 else grid
    inputs = torch.randn(2, model.in_steps, *frame, generator=torch.Generator().manual_seed(0))
    return {"inputs": inputs, "target": torch.zeros(2, 3, *frame)}


class Surrogate(TrainModule):
    """Base class: maps ``in_steps`` frames to ``out_steps`` frames; subclasses implement :meth:`step`.

    Args:
        in_steps: frames in the input window.
        out_steps: frames predicted per call.
        curriculum_steps: optimizer steps over which the supervised frames rise from 1 to
            ``out_steps`` (0: all frames from the start).
        pushforward_start: optimizer step after which pushforward is used (``None``: never).
        pushforward_every: every this many steps, a pushforward step.
        pushforward_unroll: chunks unrolled without gradient before the supervised chunk.
        input_noise: standard deviation of the training noise added to the normalized inputs (0: none).
        residual: predict increments over the last input frame instead of the frames themselves.
    """

    def __init__(self, in_steps: int = 4, out_steps: int = 1, channels: int = 1, curriculum_steps: int = 0,
                 pushforward_start: int | None = None, pushforward_every: int = 3, pushforward_unroll: int = 2,
                 input_noise: float = 0.0, residual: bool = False) -> None:
        super().__init__()
        if in_steps < 1 or out_steps < 1 or channels < 1:
            raise ValueError(f"in_steps, out_steps and channels must be >= 1, got {in_steps}, {out_steps}, {channels}")
        if input_noise < 0:
            raise ValueError(f"input_noise must be >= 0, got {input_noise}")
        self.in_steps, self.out_steps, self.channels = in_steps, out_steps, channels
        self.curriculum_steps = curriculum_steps
        self.pushforward_start, self.pushforward_every = pushforward_start, pushforward_every
        self.pushforward_unroll = pushforward_unroll
        self.input_noise = input_noise
        self.residual = residual
        stat_shape = () if channels == 1 else (channels,)
        self.register_buffer("field_mean", torch.zeros(stat_shape))
        self.register_buffer("field_std", torch.ones(stat_shape))
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))  # drives curriculum and pushforward

    @property
    def train_frames(self) -> int:
        """Target frames a training sample must carry (enough for pushforward when it is used)."""
        chunks = 1 + (self.pushforward_unroll if self.pushforward_start is not None else 0)
        return chunks * self.out_steps

    def set_normalization(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        """Store the training-set mean and standard deviation of the field (one per channel)."""
        mean_t = torch.as_tensor(mean, dtype=self.field_mean.dtype).reshape(self.field_mean.shape)
        std_t = torch.as_tensor(std, dtype=self.field_std.dtype).reshape(self.field_std.shape)
        if not bool((std_t > 0).all()):
            raise ValueError(f"field standard deviation must be positive, got {std}")
        self.field_mean.copy_(mean_t)
        self.field_std.copy_(std_t)

    def _stat(self, stat: Tensor, u: Tensor) -> Tensor:
        """A statistic broadcast over ``(B, T, [channels,] *grid)``."""
        return stat if self.channels == 1 else stat.reshape(self.channels, *[1] * (u.dim() - 3))

    def normalize(self, u: Tensor) -> Tensor:
        return (u - self._stat(self.field_mean, u)) / self._stat(self.field_std, u)

    def denormalize(self, u: Tensor) -> Tensor:
        return u * self._stat(self.field_std, u) + self._stat(self.field_mean, u)

    def grid_ndim(self, window: Tensor) -> int:
        """Grid axes of a ``(B, T, [channels,] *grid)`` tensor."""
        return window.dim() - 2 - (self.channels > 1)

    def stack_frames(self, window: Tensor) -> Tensor:
        """``(B, T, [channels,] *grid)`` -> ``(B, T * channels, *grid)``: frames and channels as features."""
        return window if self.channels == 1 else window.flatten(1, 2)

    def unstack_frames(self, out: Tensor) -> Tensor:
        """``(B, T * channels, *grid)`` -> ``(B, T, [channels,] *grid)``, the inverse of :meth:`stack_frames`."""
        return out if self.channels == 1 else out.unflatten(1, (-1, self.channels))

    def step(self, window: Tensor) -> Tensor:
        """The network: normalized ``(B, in_steps, *grid)`` -> ``(B, out_steps, *grid)``."""
        raise NotImplementedError

    def advance(self, window: Tensor) -> Tensor:
        """Normalized window -> normalized next ``out_steps`` frames (``step``, plus the last frame if residual)."""
        out = self.step(window)
        return out + window[:, -1:] if self.residual else out

    def forward(self, window: Tensor) -> Tensor:
        """Physical ``(B, in_steps, *grid)`` -> physical next ``(B, out_steps, *grid)``."""
        self._check_window(window)
        return self.denormalize(self.advance(self.normalize(window)))

    def _check_window(self, window: Tensor) -> None:
        chans = self.channels > 1
        if window.dim() < 3 + chans or window.shape[1] != self.in_steps or (chans and window.shape[2] != self.channels):
            layout = f"{self.channels} channels, " if chans else ""
            raise ValueError(f"{type(self).__name__}: input must be (B, {self.in_steps} frames, {layout}*grid), "
                             f"got {tuple(window.shape)}")

    def _march(self, window: Tensor, steps: int) -> Tensor:
        """Normalized autoregressive rollout of ``steps`` frames."""
        outs, made = [], 0
        while made < steps:
            pred = self.advance(window)
            outs.append(pred)
            made += pred.shape[1]
            window = torch.cat([window, pred], dim=1)[:, -self.in_steps:]
        return torch.cat(outs, dim=1)[:, :steps]

    def rollout(self, u0: Tensor, steps: int) -> Tensor:
        """Predict ``steps`` future frames from the window ``u0 (B, in_steps, *grid)``, physical units.

        Each call of the model yields ``out_steps`` frames, which are appended to the window;
        the window keeps the last ``in_steps`` frames.
        """
        self._check_window(u0)
        if steps < 1:
            raise ValueError(f"rollout: steps must be >= 1, got {steps}")
        return self.denormalize(self._march(self.normalize(u0), steps))

    def supervised_frames(self) -> int:
        """Frames the loss covers now: the curriculum's count while training, else ``out_steps``."""
        if not self.training or self.curriculum_steps <= 0:
            return self.out_steps
        return min(self.out_steps, 1 + int(self.iteration) * self.out_steps // self.curriculum_steps)

    def training_step(self, batch: Any) -> Tensor:
        inputs, target = self.normalize(batch["inputs"]), self.normalize(batch["target"])
        it, k = int(self.iteration), self.supervised_frames()
        if self.training:
            self.iteration += 1
        chunk = 0
        use_pf = (self.training and self.pushforward_start is not None and it >= self.pushforward_start
                  and it % self.pushforward_every == 0)
        if use_pf:
            if target.shape[1] < self.train_frames:
                raise ValueError(f"pushforward needs {self.train_frames} target frames, the batch has {target.shape[1]}")
            with torch.no_grad():  # pushforward: unrolled chunks carry no gradient
                rolled = self._march(inputs, self.pushforward_unroll * self.out_steps)
            inputs = torch.cat([inputs, rolled], dim=1)[:, -self.in_steps:]
            chunk = self.pushforward_unroll
        if self.training and self.input_noise > 0:
            inputs = inputs + self.input_noise * torch.randn_like(inputs)  # training noise; the target stays clean
        pred = self.advance(inputs)[:, :k]
        start = chunk * self.out_steps
        return relative_l2_loss(pred, target[:, start:start + k])

    def validation_step(self, batch: Any) -> Tensor:
        pred = self.advance(self.normalize(batch["inputs"]))
        return relative_l2_loss(pred, self.normalize(batch["target"][:, : self.out_steps]))

    def predict(self, batch: Any) -> Tensor:
        """Rollout over as many frames as ``batch["target"]`` holds (only its length is used)."""
        return self.rollout(batch["inputs"], batch["target"].shape[1])
