"""Thermal backgrounds for synthetic OGI frames: brightness-temperature maps in kelvin.

What makes gas visible to an OGI camera is the difference between the background's
temperature and the gas's (Zeng & Morris, JAWMA 2019, doi:10.1080/10962247.2018.1540366),
so each background kind fixes the *sign* of that difference and the generator draws its size
``|dT|`` from ``data.delta_t``. Where the background's temperature is fixed by physics, it
is drawn in its physical range and the air (gas) temperature follows from ``|dT|``; elsewhere
the air temperature is drawn (``data.t_gas_c``) and the background follows:

- ``ice``: the controlled-release set's ice block (Gasformer, MR): a melting block at
  :data:`ICE_C` (-3 to 0 °C; meltwater texture) in front of a wall at room temperature, the
  air at ``T_ice + |dT|``; the gas has no contrast against the wall;
- ``cow``: the livestock set's animals (CR): 1-2 superellipse bodies whose hair coat is at
  :data:`HIDE_C` (30-37 °C, the coat surface of cattle in infrared thermography, below the
  38.5 °C core), the air at ``T_hide - |dT|``; ground near air temperature;
- ``sky``: cold clear sky (``T_gas - |dT|``), colder towards the zenith (top of the frame);
- ``ground``: sun-warmed or shaded ground (either sign) with 1/f texture;
- ``clutter``: ground plus pipes and objects hotter and colder than the gas, so one frame holds
  both emission and absorption.

Textures are 1/f^beta noise (natural scenes have roughly 1/f^2 power spectra, Field 1987).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from skimage import draw

BACKGROUNDS = ("ice", "cow", "sky", "ground", "clutter")
ICE_C = (-3.0, 0.0)  # melting ice: never above 0 °C
HIDE_C = (30.0, 37.0)  # cattle hair-coat surface
ZERO_C = 273.15


def pink_noise(shape: tuple[int, int], rng: np.random.Generator, beta: float = 2.0) -> np.ndarray:
    """Zero-mean, unit-std noise with power spectrum ~ 1/f^beta."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = 1.0
    spectrum = (rng.standard_normal(f.shape) + 1j * rng.standard_normal(f.shape)) / f ** (beta / 2)
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=shape)
    return field / (field.std() + 1e-12)


def _ice(shape: tuple[int, int], t_air: float, dt: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    h, w = shape
    t_ice = ZERO_C + rng.uniform(-2.0, -0.5)
    t_air = t_ice + dt
    scene = t_air + rng.uniform(-0.5, 0.5) + 0.3 * pink_noise(shape, rng)  # the wall behind, ~room temperature
    top, left = rng.integers(0, h // 6 + 1), rng.integers(0, w // 6 + 1)
    bottom, right = h - rng.integers(0, h // 6 + 1), w - rng.integers(0, w // 6 + 1)
    ice = t_ice + 0.3 * pink_noise(shape, rng) + 0.15 * pink_noise(shape, rng, beta=0.5)
    scene[top:bottom, left:right] = np.clip(ice, ZERO_C + ICE_C[0], ZERO_C + ICE_C[1])[top:bottom, left:right]
    return scene, t_air


def _cow(shape: tuple[int, int], t_air: float, dt: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    h, w = shape
    t_hide = ZERO_C + rng.uniform(31.5, 35.5)
    t_air = t_hide - dt
    scene = t_air + rng.uniform(-2, 2) + 0.8 * pink_noise(shape, rng)
    hair = 0.4 * pink_noise(shape, rng, beta=0.3)
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(rng.integers(1, 3)):
        cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.2, 0.8) * w
        ry, rx = rng.uniform(0.25, 0.45) * h, rng.uniform(0.35, 0.6) * w
        n = rng.uniform(2.5, 4.0)  # superellipse exponent: boxy bodies
        body = np.abs((yy - cy) / ry) ** n + np.abs((xx - cx) / rx) ** n <= 1.0
        surface = t_hide + rng.uniform(-1, 1) + 0.5 * pink_noise(shape, rng) + hair
        scene[body] = np.clip(surface, ZERO_C + HIDE_C[0], ZERO_C + HIDE_C[1])[body]
    return scene, t_air


def _sky(shape: tuple[int, int], t_air: float, dt: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    h, _ = shape
    gradient = np.linspace(-1.0, 1.0, h)[:, None] * rng.uniform(0.5, 2.0)  # colder at the top
    return t_air - dt + gradient + 0.2 * pink_noise(shape, rng, beta=3.0), t_air


def _ground(shape: tuple[int, int], t_air: float, dt: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    sign = rng.choice((-1.0, 1.0))
    return t_air + sign * dt + 1.0 * pink_noise(shape, rng), t_air


def _clutter(shape: tuple[int, int], t_air: float, dt: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    h, w = shape
    scene, _ = _ground(shape, t_air, dt, rng)
    for _ in range(rng.integers(3, 7)):
        temp = t_air + rng.choice((-1.0, 1.0)) * dt * rng.uniform(0.5, 1.5)
        if rng.random() < 0.5:  # a pipe: a thick straight line
            r0, c0, r1, c1 = rng.integers(0, h), rng.integers(0, w), rng.integers(0, h), rng.integers(0, w)
            width = int(rng.integers(2, max(3, h // 16)))
            rr, cc = draw.line(r0, c0, r1, c1)
            for off in range(width):
                scene[np.clip(rr + off, 0, h - 1), cc] = temp
        else:  # an object: a random polygon
            cy, cx, rad = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.08, 0.25) * min(h, w)
            angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(3, 7)))
            rr, cc = draw.polygon(cy + rad * np.sin(angles), cx + rad * np.cos(angles), shape=shape)
            scene[rr, cc] = temp
    return scene, t_air


_MAKERS: dict[str, Callable[[tuple[int, int], float, float, np.random.Generator], tuple[np.ndarray, float]]] = {
    "ice": _ice, "cow": _cow, "sky": _sky, "ground": _ground, "clutter": _clutter,
}


def make_background(kind: str, shape: tuple[int, int], t_air: float, delta_t: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A background brightness-temperature map ``(H, W)`` in K, and the air (gas) temperature in K.

    Args:
        kind: one of :data:`BACKGROUNDS`.
        shape: ``(H, W)``.
        t_air: air temperature, K, for the kinds drawn relative to it (``ice`` and ``cow`` set
            their own from the ice or hide temperature and ``delta_t``).
        delta_t: size of the background-gas temperature difference ``|dT|``, K.
        rng: random generator.

    Raises:
        ValueError: for an unknown ``kind``.
    """
    if kind not in _MAKERS:
        raise ValueError(f"data.backgrounds: unknown background {kind!r}; expected some of {BACKGROUNDS}")
    return _MAKERS[kind](shape, t_air, delta_t, rng)
