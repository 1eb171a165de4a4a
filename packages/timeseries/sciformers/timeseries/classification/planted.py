"""A seeded planted-shapelet generator: class-specific motifs at random offsets in AR(1) noise.

Every channel of every series is a stationary Gaussian AR(1) process
``e_t = phi e_{t-1} + sigma sqrt(1 - phi^2) z_t`` (``e_0 ~ N(0, sigma^2)``, so ``Var e_t = sigma^2``
and ``corr(e_t, e_{t-1}) = phi``; Box, Jenkins and Reinsel, *Time Series Analysis*, Sec. 3.2).
Class ``k`` owns a motif (``amplitude`` times a sine with ``k + 1`` half-periods, so the motifs
differ in shape, not only in level), a channel and a nominal start; each
series of class ``k`` gets its motif added on that channel at the nominal start plus a uniform
jitter of at most ``jitter`` steps. The planted spans are returned, so a test can check that
shapelet discovery finds them (the synthetic check proposed in the research notes, Sec. 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sciformers.core import Config
from sciformers.timeseries.classification.data import ClassificationData


class PlantedConfig(Config):
    """Settings of the planted-shapelet generator (``data.planted`` of the pipeline).

    Args:
        seed: seeds everything (train and test use derived streams).
        n_train: training series (balanced over classes, remainder to the first classes).
        n_test: test series.
        classes: number of classes.
        channels: channels per series.
        length: steps per series.
        motif_length: steps per motif.
        amplitude: motif peak in units of the noise standard deviation.
        phi: AR(1) coefficient of the noise (|phi| < 1).
        sigma: stationary standard deviation of the noise.
        jitter: largest shift of a motif from its class's nominal start.
    """

    seed: int = 0
    n_train: int = 40
    n_test: int = 80
    classes: int = 3
    channels: int = 4
    length: int = 100
    motif_length: int = 20
    amplitude: float = 4.0
    phi: float = 0.5
    sigma: float = 1.0
    jitter: int = 8


@dataclass
class PlantedSplit:
    """One generated split.

    Args:
        X: series ``(N, C, T)``.
        y: integer classes ``(N,)``.
        starts: start of each series' planted motif ``(N,)``.
        channels: channel of each series' planted motif ``(N,)``.
        noise: the AR(1) noise alone ``(N, C, T)`` (``X - noise`` is the planted motif).
    """

    X: np.ndarray
    y: np.ndarray
    starts: np.ndarray
    channels: np.ndarray
    noise: np.ndarray


def motifs(cfg: PlantedConfig) -> np.ndarray:
    """The class motifs ``(classes, motif_length)``: ``amplitude sigma sin(pi (k + 1) tau)``, ``tau in [0, 1]``."""
    tau = np.linspace(0.0, 1.0, cfg.motif_length)
    return np.stack([cfg.amplitude * cfg.sigma * np.sin(np.pi * (k + 1) * tau) for k in range(cfg.classes)])


def class_layout(cfg: PlantedConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per class: the channel and the nominal start of its motif (drawn from ``seed``)."""
    if cfg.motif_length + 2 * cfg.jitter > cfg.length:
        raise ValueError(f"planted: motif_length {cfg.motif_length} + 2 * jitter {cfg.jitter} exceeds length {cfg.length}")
    if not -1 < cfg.phi < 1:
        raise ValueError(f"planted: phi must be in (-1, 1) for a stationary AR(1), got {cfg.phi}")
    rng = np.random.default_rng([cfg.seed, 0])
    channels = rng.integers(0, cfg.channels, cfg.classes)
    starts = rng.integers(cfg.jitter, cfg.length - cfg.motif_length - cfg.jitter + 1, cfg.classes)
    return channels, starts


def ar1_noise(rng: np.random.Generator, shape: tuple[int, ...], phi: float, sigma: float) -> np.ndarray:
    """Stationary AR(1) noise along the last axis with variance ``sigma^2`` and lag-1 correlation ``phi``."""
    z = rng.standard_normal(shape)
    e = np.empty(shape)
    e[..., 0] = sigma * z[..., 0]
    scale = sigma * np.sqrt(1.0 - phi ** 2)
    for t in range(1, shape[-1]):
        e[..., t] = phi * e[..., t - 1] + scale * z[..., t]
    return e


def generate_split(cfg: PlantedConfig, n: int, stream: int) -> PlantedSplit:
    """``n`` labelled series; ``stream`` separates train (1) from test (2)."""
    class_channel, class_start = class_layout(cfg)
    rng = np.random.default_rng([cfg.seed, stream])
    y = np.arange(n) % cfg.classes
    rng.shuffle(y)
    noise = ar1_noise(rng, (n, cfg.channels, cfg.length), cfg.phi, cfg.sigma)
    starts = class_start[y] + rng.integers(-cfg.jitter, cfg.jitter + 1, n)
    channels = class_channel[y]
    X = noise.copy()
    shapes = motifs(cfg)
    for i in range(n):
        X[i, channels[i], starts[i]:starts[i] + cfg.motif_length] += shapes[y[i]]
    return PlantedSplit(X, y, starts, channels, noise)


def planted_dataset(cfg: PlantedConfig) -> ClassificationData:
    """The generator's train/test split as a :class:`ClassificationData` (labels ``"c0"``, ``"c1"``, ...)."""
    train, test = generate_split(cfg, cfg.n_train, 1), generate_split(cfg, cfg.n_test, 2)
    return ClassificationData(
        "PlantedShapelets", list(train.X), np.array([f"c{k}" for k in train.y]), list(test.X),
        np.array([f"c{k}" for k in test.y]), source=f"planted-shapelet generator (seed {cfg.seed})",
    )
