"""A seeded ETT-like multivariate hourly series: the offline stand-in for ETTh1.

ETT (Zhou et al., "Informer", AAAI 2021, https://arxiv.org/abs/2012.07436) records six power-load
features and the oil temperature (``OT``) of an electricity transformer every hour for two
years (17,420 rows). Its forecasting-relevant structure is reproduced here:

- **seasonality**: loads follow a daily (24 h) cycle with a second harmonic and a weekly
  (168 h) cycle (weekday/weekend), with random phases per variate;
- **trend**: a slow linear drift plus an annual-period wave on every variate;
- **cross-variate structure**: the six loads share a common AR(1) factor (high/middle/low
  useful and useless loads move together), and the oil temperature responds to the total
  useful load ``coupling_lag`` hours earlier (thermal inertia of the transformer);
- **heteroscedastic noise**: AR(1) innovations whose standard deviation rises with the
  daily load cycle (busier hours are noisier).

The result is a ``pd.DataFrame`` in the ETT CSV layout (``date`` index, columns HUFL, HULL,
MUFL, MULL, LUFL, LULL, OT), so it flows through the same loader and protocol as real files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sciformers.core import Config, cache_dir, cached_file

ETT_COLUMNS = ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")
ETT_START = "2016-07-01 00:00:00"


class ETTLikeConfig(Config):
    """Generator settings (the ``data:`` keys of ``timeseries/forecast_ettlike`` that shape the series).

    Args:
        seed: seeds every random draw.
        n_rows: hourly rows (ETTh1: 17,420).
        daily_amplitude: amplitude of the 24 h cycle of the loads.
        weekly_amplitude: amplitude of the 168 h cycle of the loads.
        trend_slope: drift per 1,000 hours.
        coupling_lag: hours between a load change and the oil temperature's response.
        coupling_strength: gain from the useful loads to the oil temperature.
        noise: base standard deviation of the AR(1) innovations.
        heteroscedasticity: relative rise of the noise level at the daily peak (0 = homoscedastic).
        ar: AR(1) coefficient of the noise and of the shared load factor.
    """

    seed: int = 0
    n_rows: int = 17420
    daily_amplitude: float = 1.0
    weekly_amplitude: float = 0.5
    trend_slope: float = 0.05
    coupling_lag: int = 6
    coupling_strength: float = 0.8
    noise: float = 0.3
    heteroscedasticity: float = 1.0
    ar: float = 0.9


def _ar1(innovations: np.ndarray, phi: float) -> np.ndarray:
    """AR(1) filter ``e_t = phi e_{t-1} + innovations_t`` along axis 0, started at stationarity."""
    out = np.empty_like(innovations)
    out[0] = innovations[0] / np.sqrt(1.0 - phi**2)
    for t in range(1, len(innovations)):
        out[t] = phi * out[t - 1] + innovations[t]
    return out


def generate_ettlike(cfg: ETTLikeConfig) -> pd.DataFrame:
    """The ETT-like series for ``cfg``: ``n_rows`` hourly rows, 7 float columns, a ``date`` index."""
    if cfg.n_rows < 2 * 168:
        raise ValueError(f"ETT-like generator: n_rows must be >= 336 (two weeks), got {cfg.n_rows}")
    if not 0 <= cfg.ar < 1:
        raise ValueError(f"ETT-like generator: ar must be in [0, 1), got {cfg.ar}")
    rng = np.random.default_rng(cfg.seed)
    n, lag = cfg.n_rows, cfg.coupling_lag
    t = np.arange(n + lag, dtype=np.float64)[:, None]  # lag extra hours so OT has a past at row 0
    n_loads = len(ETT_COLUMNS) - 1
    phase_d, phase_w = rng.uniform(0, 2 * np.pi, (2, n_loads))
    daily_unit = np.sin(2 * np.pi * t / 24 + phase_d) + 0.4 * np.sin(4 * np.pi * t / 24 + 2 * phase_d)
    weekly_unit = np.sin(2 * np.pi * t / 168 + phase_w)
    scales = rng.uniform(0.6, 1.4, n_loads)
    daily = cfg.daily_amplitude * scales * daily_unit
    weekly = cfg.weekly_amplitude * scales * weekly_unit
    trend = cfg.trend_slope * t / 1000 * rng.uniform(-1, 1, n_loads) + 0.3 * np.sin(2 * np.pi * t / 8766 + rng.uniform(0, 2 * np.pi, n_loads))
    level = rng.uniform(2, 10, n_loads)
    # noise level follows the daily cycle: sigma_t = noise * (1 + h * (1 + sin) / 2)
    sigma = cfg.noise * (1 + cfg.heteroscedasticity * (1 + np.sin(2 * np.pi * t / 24 + phase_d)) / 2)
    common = _ar1(rng.normal(0, np.sqrt(1 - cfg.ar**2), (n + lag, 1)), cfg.ar)
    own = _ar1(rng.normal(0, 1, (n + lag, n_loads)) * sigma * np.sqrt(1 - cfg.ar**2), cfg.ar)
    loads = level + trend + daily + weekly + 0.5 * common + own
    useful = loads[:, 0::2].mean(axis=1)  # HUFL, MUFL, LUFL
    ot_noise = _ar1(rng.normal(0, cfg.noise * np.sqrt(1 - cfg.ar**2), n), cfg.ar)
    ot = 20 + cfg.coupling_strength * (useful[:n] - useful.mean()) * 3 + 2 * np.sin(2 * np.pi * t[lag:, 0] / 8766) + ot_noise
    values = np.column_stack([loads[lag:], ot])
    index = pd.date_range(ETT_START, periods=n, freq="h", name="date")
    return pd.DataFrame(values, index=index, columns=list(ETT_COLUMNS))


def ettlike_csv(cfg: ETTLikeConfig) -> Path:
    """The generated series as an ETT-layout CSV in the cache (written once per config)."""
    from sciformers.evaluation.records import config_hash

    path = cache_dir("ettlike", config_hash(cfg.model_dump(mode="json"))[:16]) / "ETTlike.csv"
    return cached_file(path, lambda tmp: generate_ettlike(cfg).to_csv(tmp, date_format="%Y-%m-%d %H:%M:%S",
                                                                      float_format="%.6f"))
