"""Physics of the simulated circuit: rates from the Siegert formula, wiring as configured, CCG peaks at the delay."""

import numpy as np
import pytest

from sciformers.neuro.circuit import CircuitConfig, siegert_rate, simulate_circuit, solve_drive, wiring


def test_siegert_inversion_and_limits():
    cfg = CircuitConfig()
    for rate in (2.0, 10.0, 40.0):
        mu = solve_drive(rate, cfg)
        assert siegert_rate(mu, cfg.sigma_mv, 0.02, 20.0, 10.0, 0.002) == pytest.approx(rate, rel=1e-6)
    # suprathreshold, nearly noiseless: the deterministic LIF rate 1/(t_ref + tau ln((mu-v_r)/(mu-v_th)))
    det = 1 / (0.002 + 0.02 * np.log((30 - 10) / (30 - 20)))
    assert siegert_rate(30.0, 0.05, 0.02, 20.0, 10.0, 0.002) == pytest.approx(det, rel=1e-2)


def test_wiring_is_what_the_config_says():
    cfg = CircuitConfig(n_neurons=200, p_connect=0.05, n_hubs=4, hub_fanout=0.5, frac_inhibitory=0.2,
                        w_exc_mv=1.5, w_inh_mv=-6.0)
    w, hubs, exc = wiring(cfg, np.random.default_rng(0))
    assert (~exc).sum() == 40 and len(hubs) == 4 and exc[hubs].all()
    assert np.all(np.diag(w) == 0)
    assert set(np.unique(w[exc])) <= {0.0, 1.5} and set(np.unique(w[~exc])) <= {0.0, -6.0}  # Dale's law
    out_degree = (w != 0).sum(1)
    assert np.all(out_degree[hubs] >= round(0.5 * 199))
    others = np.setdiff1d(np.arange(200), hubs)
    density = (w[others] != 0).mean()
    assert density == pytest.approx(0.05, abs=0.01)


def test_uncoupled_rates_follow_their_targets(brian2):
    cfg = CircuitConfig(n_neurons=20, duration_s=10.0, w_exc_mv=0.0, w_inh_mv=0.0, behavior_fraction=0.0,
                        rate_range_hz=(5.0, 20.0))
    c = simulate_circuit(cfg)
    rates = c.spikes.rates()
    assert np.all((c.target_rates >= 5.0) & (c.target_rates <= 20.0))
    assert np.corrcoef(rates, c.target_rates)[0, 1] > 0.8
    # Euler steps of 0.5 ms miss some threshold crossings: a few percent below the diffusion limit
    assert 0.75 < rates.mean() / c.target_rates.mean() < 1.1


def test_coupled_network_rates_and_behaviour(brian2):
    c = simulate_circuit(CircuitConfig(n_neurons=30, duration_s=10.0, rate_range_hz=(5.0, 15.0), seed=1))
    assert 4.0 < c.spikes.rates().mean() < 16.0
    speed = c.spikes.behavior.values[:, 0]
    assert speed.min() >= 0 and speed.std() > 0.2
    assert c.spikes.behavior.t[0] <= 0.0 + 1e-9 and c.spikes.behavior.t[-1] >= 10.0


def test_connected_pairs_show_a_ccg_peak_at_the_delay(brian2):
    cfg = CircuitConfig(n_neurons=12, duration_s=20.0, p_connect=0.15, n_hubs=0, frac_inhibitory=0.0, w_exc_mv=4.0,
                        delay_ms=3.0, behavior_fraction=0.0, rate_range_hz=(10.0, 20.0), seed=2)
    c = simulate_circuit(cfg)
    x = c.spikes.binned(0.001).astype(float)
    lags = np.arange(1, 16)
    ccg = np.stack([x[:-lag].T @ x[lag:] for lag in lags])  # (lag, i, j): j spikes lag ms after i
    base = ccg[8:].mean(0)  # lags 9-15 ms as baseline
    peak_lag = lags[np.argmax(ccg, axis=0)]
    connected = c.weights != 0
    z = (ccg[2:4].mean(0) - base) / np.sqrt(base + 1e-9)  # lags 3-4 ms: delay, plus one bin
    assert connected.sum() > 5
    assert np.median(z[connected]) > 3.0
    off = ~connected & ~connected.T & ~np.eye(12, dtype=bool)
    assert np.median(np.abs(z[off])) < 1.5
    assert np.mean(np.isin(peak_lag[connected], [3, 4])) > 0.6
