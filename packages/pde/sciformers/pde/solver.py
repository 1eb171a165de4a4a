"""Pseudo-spectral solver for 2-D Kolmogorov flow (vorticity form) on the periodic square [0, 2π)².

The equation (Kochkov et al. 2021, https://arxiv.org/abs/2102.01010; FactFormer's KM2d data,
Li et al. 2023, https://arxiv.org/abs/2305.17560, sec. 4):

    ∂ω/∂t + u·∇ω = (1/Re) Δω − α ω + f,      f(x, y) = −n cos(n y),                      (1)
    Δψ = −ω,   u = ∂ψ/∂y,   v = −∂ψ/∂x,                                                     (2)

where ``f`` is the curl of the body force ``sin(n y) x̂``. Time stepping is the IMEX
Crank–Nicolson / Heun scheme: the linear part ``L = −|k|²/Re − α`` is treated implicitly with
Crank–Nicolson, the advection and forcing ``N(ω) = −u·∇ω + f`` explicitly with Heun's
(second-order Runge–Kutta) predictor–corrector,

    ω* = [(1 + dt L/2) ω + dt N(ω)] / (1 − dt L/2),
    ω' = [(1 + dt L/2) ω + dt/2 (N(ω) + N(ω*))] / (1 − dt L/2),                            (3)

with the 2/3 rule removing aliasing of the quadratic term. Everything is torch, batched over
trajectories, so it runs on a CPU or a GPU and in float32 or float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class KolmogorovPhysics:
    """Parameters of equation (1).

    Args:
        reynolds: Reynolds number ``Re`` (viscosity ``1/Re``).
        forcing_wavenumber: ``n`` in ``f = −n cos(n y)``; 0 switches the forcing off.
        drag: linear drag coefficient ``α``.
    """

    reynolds: float = 100.0
    forcing_wavenumber: int = 4
    drag: float = 0.1

    def laminar_amplitude(self) -> float:
        """Amplitude ``A`` of the steady laminar solution ``ω = A cos(n y)`` of (1)."""
        n = self.forcing_wavenumber
        return -n / (n * n / self.reynolds + self.drag)


class KolmogorovSolver:
    """Pseudo-spectral Crank–Nicolson/Heun integrator for (1) on an ``N × N`` grid.

    Fields are real tensors ``(..., N, N)`` indexed ``[x, y]`` (``ij`` indexing), grid points
    ``2π i / N`` with the endpoint excluded.

    Args:
        resolution: grid points per axis ``N`` (even).
        physics: Reynolds number, forcing and drag.
        dt: time step.
        dealias: apply the 2/3 rule to the nonlinear term.
        dtype: real dtype of the fields (float32 or float64).
        device: where the fields live.
    """

    def __init__(self, resolution: int, physics: KolmogorovPhysics, dt: float, dealias: bool = True,
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> None:
        if resolution < 4 or resolution % 2:
            raise ValueError(f"KolmogorovSolver: resolution must be even and >= 4, got {resolution}")
        if dt <= 0:
            raise ValueError(f"KolmogorovSolver: dt must be positive, got {dt}")
        self.n, self.physics, self.dt, self.dtype = resolution, physics, dt, dtype
        self.device = torch.device(device)
        kx = torch.fft.fftfreq(resolution, 1.0 / resolution, dtype=dtype, device=self.device)
        ky = torch.fft.rfftfreq(resolution, 1.0 / resolution, dtype=dtype, device=self.device)
        self.k2 = kx[:, None] ** 2 + ky[None, :] ** 2
        cutoff = resolution // 3  # 2/3 rule: keep |k_i| <= N/3
        keep = (kx[:, None].abs() <= cutoff) & (ky[None, :].abs() <= cutoff)
        kx[resolution // 2], ky[resolution // 2] = 0.0, 0.0  # odd derivatives drop the Nyquist mode
        self.kx, self.ky = kx[:, None], ky[None, :]  # integer wavenumbers on [0, 2π)
        inv_lap = torch.zeros_like(self.k2)
        inv_lap[self.k2 > 0] = 1.0 / self.k2[self.k2 > 0]
        self.inv_k2 = inv_lap  # ψ̂ = ω̂ / |k|² from (2); the mean mode is dropped
        self.dealias_mask = keep.to(dtype) if dealias else torch.ones_like(self.k2)
        self.linear = -self.k2 / physics.reynolds - physics.drag  # L in (3)
        self.forcing_hat = self.to_spectral(self.forcing())

    # -- grid and transforms -----------------------------------------------------------------

    def grid(self) -> tuple[Tensor, Tensor]:
        """Coordinates ``x, y`` of shape ``(N, N)`` (``ij`` indexing) on ``[0, 2π)``."""
        c = 2 * math.pi * torch.arange(self.n, dtype=self.dtype, device=self.device) / self.n
        return torch.meshgrid(c, c, indexing="ij")

    def forcing(self) -> Tensor:
        """The vorticity forcing ``f = −n cos(n y)`` of (1), ``(N, N)``."""
        n = self.physics.forcing_wavenumber
        _, y = self.grid()
        return -n * torch.cos(n * y)

    def to_spectral(self, w: Tensor) -> Tensor:
        return torch.fft.rfft2(w)

    def to_physical(self, w_hat: Tensor) -> Tensor:
        return torch.fft.irfft2(w_hat, s=(self.n, self.n))

    # -- physics -----------------------------------------------------------------------------

    def velocity(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """Velocity ``(u, v)`` from vorticity through the stream function, equation (2)."""
        psi_hat = self.to_spectral(w) * self.inv_k2
        u = self.to_physical(1j * self.ky * psi_hat)
        v = self.to_physical(-1j * self.kx * psi_hat)
        return u, v

    def energy(self, w: Tensor) -> Tensor:
        """Kinetic energy per unit area ``½ ⟨u² + v²⟩`` of each field, shape ``w.shape[:-2]``."""
        u, v = self.velocity(w)
        return 0.5 * (u**2 + v**2).mean(dim=(-2, -1))

    def advection_hat(self, w_hat: Tensor) -> Tensor:
        """Spectral ``−u·∇ω``, dealiased by the 2/3 rule."""
        w_hat = w_hat * self.dealias_mask
        psi_hat = w_hat * self.inv_k2
        u = self.to_physical(1j * self.ky * psi_hat)
        v = self.to_physical(-1j * self.kx * psi_hat)
        wx = self.to_physical(1j * self.kx * w_hat)
        wy = self.to_physical(1j * self.ky * w_hat)
        return -self.to_spectral(u * wx + v * wy) * self.dealias_mask

    def step_hat(self, w_hat: Tensor) -> Tensor:
        """One step of the CN/Heun scheme (3) in spectral space."""
        half = 0.5 * self.dt * self.linear
        explicit, implicit = 1.0 + half, 1.0 - half
        n0 = self.advection_hat(w_hat) + self.forcing_hat
        w_star = (explicit * w_hat + self.dt * n0) / implicit
        n1 = self.advection_hat(w_star) + self.forcing_hat
        return (explicit * w_hat + 0.5 * self.dt * (n0 + n1)) / implicit

    def advance(self, w: Tensor, duration: float) -> Tensor:
        """Integrate ``w (..., N, N)`` for ``duration`` time units (``round(duration/dt)`` steps).

        Raises:
            FloatingPointError: if the field stops being finite (dt too large for the resolution).
        """
        steps = int(round(duration / self.dt))
        w_hat = self.to_spectral(w.to(self.dtype))
        for _ in range(steps):
            w_hat = self.step_hat(w_hat)
        out = self.to_physical(w_hat)
        if not bool(torch.isfinite(out).all()):
            raise FloatingPointError(
                f"Kolmogorov solver blew up (Re={self.physics.reynolds}, N={self.n}, dt={self.dt}): "
                "lower data.dt or raise data.resolution"
            )
        return out

    def trajectory(self, w0: Tensor, n_frames: int, frame_dt: float, warmup: float = 0.0) -> Tensor:
        """Frames ``(..., n_frames, N, N)`` every ``frame_dt`` after discarding ``warmup`` time units."""
        if abs(frame_dt / self.dt - round(frame_dt / self.dt)) > 1e-6:
            raise ValueError(f"frame_dt={frame_dt} must be a whole multiple of the solver dt={self.dt}")
        w = self.advance(w0, warmup) if warmup > 0 else w0.to(self.dtype)
        frames = [w]
        for _ in range(n_frames - 1):
            w = self.advance(w, frame_dt)
            frames.append(w)
        return torch.stack(frames, dim=-3)


def gaussian_random_field(n_samples: int, resolution: int, alpha: float = 2.5, tau: float = 7.0,
                          generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
    """Zero-mean Gaussian random fields with covariance ``(−Δ + τ²)^(−α)`` on [0, 2π)², unit RMS.

    The FNO/FactFormer initial-condition prior (Li et al. 2021, https://arxiv.org/abs/2010.08895):
    white noise filtered by ``(|k|² + τ²)^(−α/2)``, mean mode removed, scaled per sample to RMS 1.

    Args:
        n_samples: number of fields.
        resolution: grid points per axis.
        alpha, tau: smoothness and length-scale of the covariance.
        generator: seeds the white noise.
        dtype: output dtype.
    """
    noise = torch.randn(n_samples, resolution, resolution, generator=generator, dtype=torch.float64)
    kx = torch.fft.fftfreq(resolution, 1.0 / resolution, dtype=torch.float64)[:, None]
    ky = torch.fft.rfftfreq(resolution, 1.0 / resolution, dtype=torch.float64)[None, :]
    spectrum = (kx**2 + ky**2 + tau**2) ** (-alpha / 2)
    spectrum[0, 0] = 0.0
    field = torch.fft.irfft2(torch.fft.rfft2(noise) * spectrum, s=(resolution, resolution))
    field = field / field.pow(2).mean(dim=(-2, -1), keepdim=True).sqrt()
    return field.to(dtype)


def spectral_downsample(w: Tensor, resolution: int) -> Tensor:
    """Fields ``(..., N, N)`` on [0, 2π)² restricted to a ``resolution``² grid by Fourier truncation.

    Keeps the modes the coarse grid resolves, ``|k_x|, |k_y| < resolution/2`` (its Nyquist mode,
    which cannot hold a sine, is dropped), and evaluates them on the coarse points ``2π i/resolution``.
    Unlike taking every ``N/resolution``-th point, no mode above the coarse Nyquist wavenumber
    aliases onto a resolved one.

    Raises:
        ValueError: if ``resolution`` is odd or larger than ``N``.
    """
    n = w.shape[-1]
    if w.shape[-2] != n:
        raise ValueError(f"spectral_downsample: fields must be square (..., N, N), got {tuple(w.shape)}")
    if resolution == n:
        return w
    if resolution % 2 or resolution > n:
        raise ValueError(f"spectral_downsample: resolution must be even and at most {n}, got {resolution}")
    m = resolution // 2
    w_hat = torch.fft.rfft2(w)
    coarse = w_hat.new_zeros(*w.shape[:-2], resolution, m + 1)
    coarse[..., :m, :m] = w_hat[..., :m, :m]  # k_x = 0 … m−1
    coarse[..., m + 1:, :m] = w_hat[..., n - m + 1:, :m]  # k_x = −(m−1) … −1
    return torch.fft.irfft2(coarse * (resolution / n) ** 2, s=(resolution, resolution))
