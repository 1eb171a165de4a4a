"""A seeded leaky integrate-and-fire circuit whose wiring is known, simulated with Brian2.

Physics (Brunel 2000, https://doi.org/10.1023/A:1008925309027; Gerstner et al., *Neuronal
Dynamics*, ch. 1 and 8):

``tau_m dv_i/dt = mu_i + g_i f(s(t - lag)) + c_i h_i(t) - v_i + sigma sqrt(tau_m) xi_i(t)``

with threshold ``v_th``, reset ``v_r`` and refractory period ``t_ref``. A spike of neuron ``i``
adds ``W_ij`` to ``v_j`` after the synaptic ``delay`` (delta synapses). Wiring: a fraction of
neurons are inhibitory and, by **Dale's law**, every outgoing weight of a neuron has its sign;
``p_connect`` random edges; a few excitatory **hubs** project to ``hub_fanout`` of the network.

Behaviour: a running speed ``s(t) = softplus(x(t))`` of an Ornstein-Uhlenbeck process ``x``,
drives a subset of neurons through a sigmoid ``f`` after a ``lag`` (nonlinear and delayed), with
gains ``g_i`` of either sign. Optional stimulus: drifting gratings whose orientation changes
every ``stim_block_s``; visual neurons respond as ``c_i cos^2(theta(t) - phi_i)``.

Rates: each neuron's drive ``mu_i`` is solved from the Siegert formula (diffusion
approximation) so that, without coupling and at the mean behaviour and stimulus drive, it
fires at a rate drawn uniformly from ``rate_range_hz``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field
from scipy.special import erfcx

from sciformers.core import Config
from sciformers.neuro.spikes import Behavior, SpikeData, Stimulus


def import_brian2() -> Any:
    """Brian2 with the numpy code-generation target (no C compiler needed).

    Raises:
        ImportError: if Brian2 is missing or cannot import (Brian2 2.9 fails under numpy >= 2.4).
    """
    try:
        import brian2
    except ImportError as err:
        raise ImportError("the circuit simulator needs brian2: pip install 'sciformers[neuro]'") from err
    except AttributeError as err:  # numpy 2.4 removed ndarray.ptp, which brian2 2.9 wraps at import
        raise ImportError(f"brian2 cannot import under numpy {np.__version__} ({err}); install numpy<2.4") from err
    brian2.prefs.codegen.target = "numpy"
    brian2.prefs.logging.console_log_level = "ERROR"
    return brian2


class CircuitConfig(Config):
    """Everything that defines a simulated circuit (units in the field names).

    Args:
        seed: seeds wiring, drives, behaviour and (with ``noise_seed``) the membrane noise.
        n_neurons: neurons simulated (observed or not).
        duration_s: recording length.
        dt_ms: integration step.
        tau_m_ms, v_thresh_mv, v_reset_mv, refractory_ms: LIF parameters.
        sigma_mv: noise amplitude ``sigma`` (Brunel's convention: the free membrane's s.d. is ``sigma/sqrt(2)``).
        rate_range_hz: uncoupled rates are drawn uniformly from this range.
        frac_inhibitory: fraction of inhibitory neurons (Dale's law).
        p_connect: probability of a random directed edge.
        n_hubs: excitatory hubs; hub_fanout: fraction of the network each hub targets.
        w_exc_mv: excitatory weight; w_inh_mv: inhibitory weight (negative).
        delay_ms: synaptic delay.
        behavior_fraction: fraction of neurons driven by the running speed.
        behavior_gain_mv: largest |g_i|; behavior_lag_s: the lag; speed_tau_s: OU time constant.
        behavior_hz: behaviour sampling rate.
        stimulus: simulate gratings and visual neurons.
        stim_fraction, stim_gain_mv, frame_size, fps, stim_block_s: the stimulus.
    """

    seed: int = 0
    n_neurons: int = Field(50, ge=2)
    duration_s: float = Field(60.0, gt=0)
    dt_ms: float = Field(0.5, gt=0)
    tau_m_ms: float = 20.0
    v_thresh_mv: float = 20.0
    v_reset_mv: float = 10.0
    refractory_ms: float = 2.0
    sigma_mv: float = Field(4.0, gt=0)
    rate_range_hz: tuple[float, float] = (5.0, 15.0)
    frac_inhibitory: float = Field(0.2, ge=0, le=1)
    p_connect: float = Field(0.05, ge=0, le=1)
    n_hubs: int = Field(3, ge=0)
    hub_fanout: float = Field(0.5, ge=0, le=1)
    w_exc_mv: float = Field(1.5, ge=0)
    w_inh_mv: float = Field(-6.0, le=0)
    delay_ms: float = Field(2.0, gt=0)
    behavior_fraction: float = Field(0.5, ge=0, le=1)
    behavior_gain_mv: float = 4.0
    behavior_lag_s: float = Field(0.05, ge=0)
    speed_tau_s: float = Field(1.0, gt=0)
    behavior_hz: float = Field(100.0, gt=0)
    stimulus: bool = False
    stim_fraction: float = Field(0.3, ge=0, le=1)
    stim_gain_mv: float = 4.0
    frame_size: int = Field(10, ge=2)
    fps: float = Field(20.0, gt=0)
    stim_block_s: float = Field(0.5, gt=0)


@dataclass(frozen=True)
class Circuit:
    """A simulated recording with its ground truth.

    Attributes:
        spikes: every neuron's spikes, the speed as behaviour, gratings as stimulus.
        weights: ``(N, N)`` ``W[i, j]`` = jump of ``v_j`` (mV) after a spike of ``i``.
        hubs: hub neuron indices.
        excitatory: ``(N,)`` True for excitatory neurons.
        target_rates: ``(N,)`` uncoupled rates the drives were solved for (Hz).
        mu_mv: ``(N,)`` solved drives.
    """

    spikes: SpikeData
    weights: np.ndarray
    hubs: np.ndarray
    excitatory: np.ndarray
    target_rates: np.ndarray
    mu_mv: np.ndarray


def siegert_rate(mu: float, sigma: float, tau: float, v_th: float, v_r: float, t_ref: float) -> float:
    """LIF rate under white noise (diffusion approximation), in Hz for times in seconds.

    ``1/nu = t_ref + tau sqrt(pi) int_{(v_r-mu)/sigma}^{(v_th-mu)/sigma} e^{u^2}(1 + erf u) du``,
    with ``e^{u^2}(1 + erf u) = erfcx(-u)`` for numerical stability.
    """
    from scipy.integrate import quad

    integral, _ = quad(lambda u: erfcx(-u), (v_r - mu) / sigma, (v_th - mu) / sigma, limit=200)
    return 1.0 / (t_ref + tau * np.sqrt(np.pi) * integral)


def solve_drive(rate: float, cfg: CircuitConfig) -> float:
    """The drive ``mu`` (mV) at which an uncoupled neuron fires at ``rate`` Hz."""
    from scipy.optimize import brentq

    args = (cfg.sigma_mv, cfg.tau_m_ms / 1e3, cfg.v_thresh_mv, cfg.v_reset_mv, cfg.refractory_ms / 1e3)
    return brentq(lambda mu: siegert_rate(mu, *args) - rate, cfg.v_reset_mv - 20 * cfg.sigma_mv,
                  cfg.v_thresh_mv + 20 * cfg.sigma_mv)


def wiring(cfg: CircuitConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dale's-law weights ``W (N, N)`` with random edges and hub fan-out, hub ids, excitatory mask."""
    n = cfg.n_neurons
    excitatory = np.ones(n, dtype=bool)
    excitatory[rng.choice(n, int(round(cfg.frac_inhibitory * n)), replace=False)] = False
    adj = rng.random((n, n)) < cfg.p_connect
    hubs = np.sort(rng.choice(np.flatnonzero(excitatory), min(cfg.n_hubs, int(excitatory.sum())), replace=False))
    for h in hubs:
        others = np.delete(np.arange(n), h)
        adj[h, rng.choice(others, int(round(cfg.hub_fanout * (n - 1))), replace=False)] = True
    np.fill_diagonal(adj, False)
    sign = np.where(excitatory, cfg.w_exc_mv, cfg.w_inh_mv)
    return adj * sign[:, None], hubs, excitatory


def speed_trace(cfg: CircuitConfig, rng: np.random.Generator, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Running speed ``softplus(x)`` of an OU process ``x`` (unit variance), sampled at ``behavior_hz``."""
    dt = 1.0 / cfg.behavior_hz
    n = int(np.ceil((duration + cfg.behavior_lag_s) / dt)) + 1
    a = np.exp(-dt / cfg.speed_tau_s)
    x = np.empty(n)
    x[0] = rng.normal()
    noise = rng.normal(size=n) * np.sqrt(1 - a * a)
    for k in range(1, n):
        x[k] = a * x[k - 1] + noise[k]
    return np.arange(n) * dt - cfg.behavior_lag_s, np.log1p(np.exp(2.0 * x))


def behavior_drive(speed: np.ndarray) -> np.ndarray:
    """The sigmoid ``f`` of speed that reaches the neurons (threshold near the median speed)."""
    return 1.0 / (1.0 + np.exp(-3.0 * (speed - 1.0)))


def gratings(cfg: CircuitConfig, rng: np.random.Generator, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Drifting-grating frames ``(F, S, S)`` and the orientation shown in each frame."""
    n_frames = int(np.ceil(duration * cfg.fps))
    per_block = max(1, int(round(cfg.stim_block_s * cfg.fps)))
    theta = np.repeat(rng.choice(4, size=n_frames // per_block + 1) * np.pi / 4, per_block)[:n_frames]
    yy, xx = np.mgrid[0:cfg.frame_size, 0:cfg.frame_size] / cfg.frame_size
    phase = 2 * np.pi * np.arange(n_frames)[:, None, None] / cfg.fps  # 1 Hz drift
    proj = xx[None] * np.cos(theta)[:, None, None] + yy[None] * np.sin(theta)[:, None, None]
    return np.sin(2 * np.pi * 2 * proj - phase).astype(np.float32), theta


def simulate_circuit(cfg: CircuitConfig, noise_seed: int = 0, t_start: float = 0.0, t_stop: float | None = None) -> Circuit:
    """Simulate ``[t_start, t_stop)`` of the circuit ``cfg`` (same wiring and inputs for any noise seed).

    Args:
        cfg: the circuit.
        noise_seed: seeds the membrane noise and initial voltages (repeats differ only here).
        t_start: start of the simulated segment (the inputs are those of the full recording).
        t_stop: end of the segment (default ``cfg.duration_s``).
    """
    b2 = import_brian2()
    t_stop = cfg.duration_s if t_stop is None else t_stop
    rng = np.random.default_rng(cfg.seed)
    n = cfg.n_neurons
    weights, hubs, excitatory = wiring(cfg, rng)
    target = rng.uniform(*cfg.rate_range_hz, size=n)
    beh_gain = np.where(rng.random(n) < cfg.behavior_fraction, rng.uniform(0.5, 1.0, n) * rng.choice([-1, 1], n), 0.0)
    beh_gain *= cfg.behavior_gain_mv
    bt, speed = speed_trace(cfg, rng, cfg.duration_s)
    drive = behavior_drive(speed)
    mu = np.array([solve_drive(r, cfg) for r in target]) - beh_gain * drive.mean()
    b_dt = 1.0 / cfg.behavior_hz
    lagged = np.interp(np.arange(0, cfg.duration_s + b_dt, b_dt) - cfg.behavior_lag_s, bt, drive)
    stim_drive = np.zeros((2, n))
    stimulus = None
    if cfg.stimulus:
        frames, theta = gratings(cfg, rng, cfg.duration_s)
        pref = rng.choice(4, size=n) * np.pi / 4
        gain = np.where(rng.random(n) < cfg.stim_fraction, cfg.stim_gain_mv, 0.0)
        stim_drive = gain[None] * np.cos(theta[:, None] - pref[None]) ** 2
        mu = mu - stim_drive.mean(0)
        stimulus = Stimulus(frames, cfg.fps, 0.0)
    b2.start_scope()
    b2.seed(cfg.seed * 1_000_003 + noise_seed)
    ns = {
        "tau": cfg.tau_m_ms * b2.ms, "sigma": cfg.sigma_mv * b2.mV, "t_off": t_start * b2.second,
        "beh": b2.TimedArray(lagged * b2.mV, dt=b_dt * b2.second),
        "stim": b2.TimedArray(stim_drive * b2.mV, dt=(1.0 / cfg.fps) * b2.second),
    }
    eqs = """dv/dt = (mu + g * beh(t + t_off) + stim(t + t_off, i) - v) / tau + sigma * xi / sqrt(tau) : volt (unless refractory)
    mu : volt
    g : 1"""
    group = b2.NeuronGroup(n, eqs, threshold=f"v > {cfg.v_thresh_mv}*mV", reset=f"v = {cfg.v_reset_mv}*mV",
                           refractory=cfg.refractory_ms * b2.ms, method="euler", namespace=ns, dt=cfg.dt_ms * b2.ms)
    group.mu = mu * b2.mV
    group.g = beh_gain
    init = np.random.default_rng([cfg.seed, noise_seed])
    group.v = init.uniform(cfg.v_reset_mv, cfg.v_thresh_mv, n) * b2.mV
    mon = b2.SpikeMonitor(group)
    net = b2.Network(group, mon)
    pre, post = np.nonzero(weights)
    if len(pre):  # Brian2 refuses a Synapses object without synapses
        syn = b2.Synapses(group, group, "w : volt", on_pre="v_post += w", dt=cfg.dt_ms * b2.ms)
        syn.connect(i=pre, j=post)
        syn.w = weights[pre, post] * b2.mV
        syn.delay = cfg.delay_ms * b2.ms
        net.add(syn)
    net.run((t_stop - t_start) * b2.second, namespace=ns)
    times = np.asarray(mon.t / b2.second) + t_start
    keep = times < t_stop
    behavior = Behavior(bt[bt >= 0], speed[bt >= 0][:, None], ("speed",))
    spikes = SpikeData.from_times(times[keep], np.asarray(mon.i)[keep], n_neurons=n, t_start=t_start, t_stop=t_stop,
                                  behavior=behavior, frames=stimulus)
    return Circuit(spikes, weights, hubs, excitatory, target, mu)
