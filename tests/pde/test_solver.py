"""Physics of the Kolmogorov-flow solver (fp64): incompressibility, conservation, analytic solutions."""

import math

import pytest
import torch

from sciformers.pde.solver import KolmogorovPhysics, KolmogorovSolver, gaussian_random_field, spectral_downsample

N = 32


def _solver(reynolds=100.0, n=4, drag=0.1, dt=0.005, res=N):
    return KolmogorovSolver(res, KolmogorovPhysics(reynolds, n, drag), dt, dtype=torch.float64)


def _field(batch=2, res=N, seed=0):
    return 3 * gaussian_random_field(batch, res, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_velocity_from_stream_function_is_divergence_free_and_has_the_vorticity():
    s = _solver()
    w = s.to_physical(s.to_spectral(_field()) * s.dealias_mask)
    u, v = s.velocity(w)
    uh, vh = s.to_spectral(u), s.to_spectral(v)
    div = s.to_physical(1j * s.kx * uh + 1j * s.ky * vh)
    curl = s.to_physical(1j * s.kx * vh - 1j * s.ky * uh)  # dv/dx - du/dy
    assert div.abs().max() < 1e-10 * w.abs().max()
    assert torch.allclose(curl, w - w.mean(dim=(-2, -1), keepdim=True), atol=1e-10)


def test_advection_conserves_energy_and_enstrophy():
    """The dealiased (Galerkin-truncated) advection term moves energy and enstrophy between
    scales but creates none: <psi, N(w)> = <w, N(w)> = 0."""
    s = _solver()
    w_hat = s.to_spectral(_field()) * s.dealias_mask
    adv = s.to_physical(s.advection_hat(w_hat))
    w = s.to_physical(w_hat)
    psi = s.to_physical(w_hat * s.inv_k2)
    scale = adv.abs().mean() * w.abs().mean()
    assert (psi * adv).mean(dim=(-2, -1)).abs().max() < 1e-12 * scale
    assert (w * adv).mean(dim=(-2, -1)).abs().max() < 1e-12 * scale


@pytest.mark.parametrize("k", [(1, 0), (2, 3), (0, 5)])
def test_single_mode_decays_at_the_analytic_viscous_plus_drag_rate(k):
    """Unforced, a single Fourier mode is an exact solution (no advection):
    w(t) = w(0) exp(-(|k|^2/Re + drag) t), so the energy decays as exp(-2 (|k|^2/Re + drag) t)."""
    re, drag, t = 50.0, 0.1, 2.0
    s = _solver(reynolds=re, n=0, drag=drag, dt=0.01)
    x, y = s.grid()
    w0 = torch.cos(k[0] * x + k[1] * y)[None]
    w = s.advance(w0, t)
    rate = (k[0] ** 2 + k[1] ** 2) / re + drag
    assert torch.allclose(w, w0 * math.exp(-rate * t), atol=1e-6)
    assert s.energy(w).item() == pytest.approx(s.energy(w0).item() * math.exp(-2 * rate * t), rel=1e-5)  # CN: O(dt^2)


def test_laminar_kolmogorov_flow_is_steady_and_approached_at_the_analytic_rate():
    """w = A cos(n y), A = -n / (n^2/Re + drag), balances the forcing -n cos(n y); from rest the
    flow relaxes as A (1 - exp(L t)) cos(n y) with L = -(n^2/Re + drag)."""
    ph = KolmogorovPhysics(40.0, 4, 0.1)
    s = KolmogorovSolver(N, ph, 0.005, dtype=torch.float64)
    _, y = s.grid()
    shape = torch.cos(4 * y)[None]
    steady = ph.laminar_amplitude() * shape
    assert torch.allclose(s.advance(steady, 1.0), steady, atol=1e-10)
    t, rate = 1.5, 16 / 40.0 + 0.1
    from_rest = s.advance(torch.zeros_like(steady), t)
    assert torch.allclose(from_rest, ph.laminar_amplitude() * (1 - math.exp(-rate * t)) * shape, atol=1e-6)


def test_mean_vorticity_stays_zero_and_trajectory_is_finite():
    s = _solver(reynolds=200.0)
    frames = s.trajectory(_field(), n_frames=5, frame_dt=0.1, warmup=0.2)
    assert frames.shape == (2, 5, N, N)
    assert torch.isfinite(frames).all()
    assert frames.mean(dim=(-2, -1)).abs().max() < 1e-12


def test_solver_commutes_with_the_symmetries_of_the_forcing():
    """Any periodic shift in x, and shifts in y by a forcing period 2 pi / n, commute with the flow."""
    s = _solver(n=4)
    w0 = _field(batch=1)
    ref = s.advance(w0, 0.2)
    dx, dy = 5, N // 4
    shifted = s.advance(torch.roll(w0, (dx, dy), dims=(-2, -1)), 0.2)
    assert torch.allclose(shifted, torch.roll(ref, (dx, dy), dims=(-2, -1)), atol=1e-10)


def test_gaussian_random_field_is_seeded_zero_mean_unit_rms_and_smooth():
    a = gaussian_random_field(4, N, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    b = gaussian_random_field(4, N, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.equal(a, b)
    assert a.mean(dim=(-2, -1)).abs().max() < 1e-12
    assert torch.allclose(a.pow(2).mean(dim=(-2, -1)), torch.ones(4, dtype=torch.float64))
    power = torch.fft.rfft2(a).abs().pow(2).mean(0)
    k = torch.sqrt(torch.fft.fftfreq(N, 1 / N)[:, None] ** 2 + torch.fft.rfftfreq(N, 1 / N)[None, :] ** 2)
    assert power[(k > 0) & (k <= 4)].mean() > 10 * power[k >= 12].mean()  # (-lap + tau^2)^(-alpha) decay


def test_unstable_time_step_is_a_clear_error():
    s = KolmogorovSolver(16, KolmogorovPhysics(1e4, 4, 0.0), dt=2.0, dealias=False)
    with pytest.raises(FloatingPointError, match="lower data.dt"):
        s.advance(50 * gaussian_random_field(1, 16, generator=torch.Generator().manual_seed(0)), 200.0)


def test_bad_solver_arguments():
    with pytest.raises(ValueError, match="resolution"):
        KolmogorovSolver(15, KolmogorovPhysics(), 0.01)
    with pytest.raises(ValueError, match="whole multiple"):
        _solver().trajectory(_field(), 3, frame_dt=0.0123)


def test_spectral_downsampling_keeps_resolved_modes_and_does_not_alias():
    """Frames are subsampled through a spectral filter: a mode the coarse grid resolves survives
    exactly; a mode above its Nyquist wavenumber is removed, where plain subsampling (taking every
    4th point) aliases it onto the resolved wavenumber 20 - 16 = 4."""
    fine, coarse = 64, 16
    c = 2 * math.pi * torch.arange(fine, dtype=torch.float64) / fine
    x, y = torch.meshgrid(c, c, indexing="ij")
    cc = 2 * math.pi * torch.arange(coarse, dtype=torch.float64) / coarse
    xc, yc = torch.meshgrid(cc, cc, indexing="ij")
    resolved = torch.cos(3 * x + 2 * y) + 0.5 * torch.sin(5 * y)
    high = torch.cos(20 * x)  # above the coarse Nyquist wavenumber 8
    out = spectral_downsample(torch.stack([resolved, resolved + high]), coarse)
    expected = torch.cos(3 * xc + 2 * yc) + 0.5 * torch.sin(5 * yc)
    assert torch.allclose(out[0], expected, atol=1e-12)
    assert torch.allclose(out[1], expected, atol=1e-12)  # the high mode leaves no trace
    aliased = (resolved + high)[::4, ::4] - expected
    assert torch.allclose(aliased, torch.cos(4 * xc), atol=1e-12)  # what plain subsampling would store
    assert torch.equal(spectral_downsample(resolved, fine), resolved)
    with pytest.raises(ValueError, match="even and at most 64"):
        spectral_downsample(resolved, 15)
