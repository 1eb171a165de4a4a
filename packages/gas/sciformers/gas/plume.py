"""A turbulent 2-D advection-diffusion plume of methane column density (ppm·m).

The camera integrates concentration along each line of sight, so the image sees the column
density ``N(x, y)`` [ppm·m]. Vertical mixing along the line of sight does not change ``N``; it
moves with the wind in the image plane and spreads by turbulent diffusion:

    dN/dt + u . grad N = K lap N + Q delta(x - x_s)                       (1)

solved by operator splitting on a grid of pixels, one step of ``dt`` at a time:

- advection: semi-Lagrangian back-trace ``N(x) <- N(x - u(x) dt)`` with bilinear interpolation
  (``scipy.ndimage.map_coordinates``; Staniforth & Côté, Mon. Wea. Rev. 1991);
- diffusion: the exact heat kernel, a Gaussian of variance ``2 K dt`` (``gaussian_filter``);
- source: ``Q dt`` added as a small normalised Gaussian at ``x_s``.

Wind ``u = U (cos th, sin th) + u'``: the direction ``th`` follows an Ornstein-Uhlenbeck walk
around its mean (a wandering plume), and ``u' = (d psi/dy, -d psi/dx)`` is divergence-free
turbulence from a smoothed random stream function ``psi`` re-drawn with AR(1) temporal
correlation. A divergence-free ``u`` keeps (1) mass-conserving up to outflow through the
domain edge, which the tests check. Gas leaves through the edges (zero inflow).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class PlumeParams:
    """One plume's physical settings, in grid pixels and steps.

    Args:
        shape: grid ``(H, W)`` in pixels.
        source: source position ``(y, x)`` in pixels.
        rate: emission per step ``Q dt`` in ppm·m·px² (the column integrated over the plume grows by it).
        wind_speed: mean speed ``U`` in px/step.
        wind_direction: mean direction in radians (image axes: 0 = +x, pi/2 = +y, i.e. down).
        direction_std: stationary standard deviation of the OU direction walk, radians.
        direction_tau: OU correlation time in steps.
        turbulence: RMS of ``u'`` as a fraction of ``U``.
        eddy_scale: length scale of the stream-function smoothing, px.
        eddy_tau: correlation time of the turbulence, steps.
        diffusivity: ``K`` in px²/step.
        source_sigma: width of the source blob, px.
    """

    shape: tuple[int, int]
    source: tuple[float, float]
    rate: float
    wind_speed: float
    wind_direction: float
    direction_std: float = 0.3
    direction_tau: float = 20.0
    turbulence: float = 0.4
    eddy_scale: float = 6.0
    eddy_tau: float = 10.0
    diffusivity: float = 0.5
    source_sigma: float = 1.0


class PlumeSimulator:
    """Steps equation (1) forward; ``column`` is the current ``N`` field in ppm·m.

    Args:
        params: the plume's settings.
        rng: the random generator driving direction wander and turbulence.
    """

    def __init__(self, params: PlumeParams, rng: np.random.Generator) -> None:
        self.p, self.rng = params, rng
        h, w = params.shape
        self.column = np.zeros((h, w))
        self.theta = params.wind_direction
        self._grid = np.mgrid[0:h, 0:w].astype(float)
        self._psi = self._unit_stream_function()
        self._source = self._source_kernel()

    def _unit_stream_function(self) -> np.ndarray:
        """Smoothed white noise scaled so that its curl has unit RMS speed."""
        psi = ndimage.gaussian_filter(self.rng.standard_normal(self.p.shape), self.p.eddy_scale, mode="wrap")
        gy, gx = np.gradient(psi)
        rms = np.sqrt(np.mean(gx**2 + gy**2))
        return psi / rms if rms > 0 else psi

    def _source_kernel(self) -> np.ndarray:
        """A Gaussian at the source summing to 1 (so each step adds exactly ``rate``)."""
        y, x = self._grid
        sy, sx = self.p.source
        blob = np.exp(-((y - sy) ** 2 + (x - sx) ** 2) / (2 * self.p.source_sigma**2))
        total = blob.sum()
        if total == 0:
            raise ValueError(f"plume source {self.p.source} lies outside the grid {self.p.shape}")
        return blob / total

    def velocity(self) -> tuple[np.ndarray, np.ndarray]:
        """Current wind ``(u_y, u_x)`` in px/step: mean wind plus divergence-free turbulence."""
        gy, gx = np.gradient(self._psi)
        amp = self.p.turbulence * self.p.wind_speed
        return self.p.wind_speed * np.sin(self.theta) - amp * gx, self.p.wind_speed * np.cos(self.theta) + amp * gy

    def advect(self, column: np.ndarray, uy: np.ndarray, ux: np.ndarray) -> np.ndarray:
        """Semi-Lagrangian advection over one step (zero inflow at the edges)."""
        y, x = self._grid
        return ndimage.map_coordinates(column, [y - uy, x - ux], order=1, mode="constant", cval=0.0)

    def step(self) -> np.ndarray:
        """Advance one step (advect, diffuse, emit, then evolve the wind); returns ``column``."""
        uy, ux = self.velocity()
        column = self.advect(self.column, uy, ux)
        if self.p.diffusivity > 0:
            column = ndimage.gaussian_filter(column, np.sqrt(2 * self.p.diffusivity), mode="constant")
        self.column = column + self.p.rate * self._source
        self._evolve_wind()
        return self.column

    def _evolve_wind(self) -> None:
        """OU step of the direction; AR(1) step of the turbulence stream function."""
        p = self.p
        decay = np.exp(-1.0 / p.direction_tau)
        self.theta = (p.wind_direction + decay * (self.theta - p.wind_direction)
                      + p.direction_std * np.sqrt(1 - decay**2) * self.rng.standard_normal())
        rho = np.exp(-1.0 / p.eddy_tau)
        self._psi = rho * self._psi + np.sqrt(1 - rho**2) * self._unit_stream_function()

    def run(self, steps: int) -> np.ndarray:
        """Take ``steps`` steps; returns the final ``column``."""
        for _ in range(steps):
            self.step()
        return self.column


def sccm_to_rate(flow_sccm: float, pixel_mm: float, dt_s: float) -> float:
    """Emission per step ``Q dt`` in ppm·m·px² for a release of ``flow_sccm`` of pure methane.

    A volume ``V`` of pure gas holds ``10^6 ppm · V`` of concentration-volume, so a flow of
    ``F`` SCCM (``F / 6e7`` m³/s) adds ``1e6 · F / 6e7 · dt`` ppm·m³ per step, i.e. that divided by
    the pixel area in ppm·m per pixel. (Standard vs actual conditions differ by a few % and are
    ignored.)

    Args:
        flow_sccm: flow rate in standard cubic centimetres per minute.
        pixel_mm: size of one grid pixel at the plume, mm.
        dt_s: length of one step, s.
    """
    return 1e6 * flow_sccm / 6e7 * dt_s / (pixel_mm * 1e-3) ** 2
