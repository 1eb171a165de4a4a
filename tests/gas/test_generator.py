"""Physics of the synthetic OGI generator: mass conservation, contrast sign, NETD mask, flow."""

from __future__ import annotations

import numpy as np
import pytest

from sciformers.core import ConfigError
from sciformers.gas.camera import Camera, apparent_temperature, visible_mask
from sciformers.gas.data import OGIData
from sciformers.gas.plume import PlumeParams, PlumeSimulator, sccm_to_rate
from sciformers.gas.scene import BACKGROUNDS, make_background
from sciformers.gas.synthetic import GeneratorConfig, flow_class, generate_sequence, generate_split


@pytest.mark.parametrize("turbulence, tol", [(0.0, 1e-9), (0.5, 0.03)])
def test_plume_conserves_mass_away_from_edges(turbulence, tol):
    params = PlumeParams(shape=(96, 96), source=(70.0, 48.0), rate=1000.0, wind_speed=0.8,
                         wind_direction=-np.pi / 2, turbulence=turbulence, diffusivity=0.5)
    sim = PlumeSimulator(params, np.random.default_rng(0))
    for steps in (10, 20, 40):
        sim.run(10 if steps == 10 else steps - (steps // 2))
        total = sim.column.sum()
        assert abs(total - steps * params.rate) <= tol * steps * params.rate
    assert sim.column.min() >= -1e-9
    assert np.isclose(sim._source.sum(), 1.0)


def test_plume_moves_downwind_and_leaves_through_the_edge():
    params = PlumeParams(shape=(40, 40), source=(20.0, 5.0), rate=100.0, wind_speed=1.0, wind_direction=0.0,
                         turbulence=0.0, direction_std=0.0)
    sim = PlumeSimulator(params, np.random.default_rng(0))
    sim.run(20)
    cols = sim.column.sum(0)
    assert np.argmax(cols) > 5  # the mass centre moved to +x
    sim.run(100)
    assert sim.column.sum() < 120 * params.rate  # steady state: outflow balances emission


def test_sccm_conversion():
    # 60 SCCM = 1e-6 m^3/s -> 1 ppm·m^3 per s; over 1 s on 1 mm pixels: 1e6 ppm·m per pixel summed
    assert np.isclose(sccm_to_rate(60.0, pixel_mm=1.0, dt_s=1.0), 1e6)


def test_contrast_sign_flips_with_background_temperature():
    column = np.full((4, 4), 500.0)
    t_gas, alpha = 293.0, 5e-5
    cold = apparent_temperature(np.full((4, 4), t_gas - 10), t_gas, column, alpha)
    warm = apparent_temperature(np.full((4, 4), t_gas + 10), t_gas, column, alpha)
    equal = apparent_temperature(np.full((4, 4), t_gas), t_gas, column, alpha)
    assert (cold > t_gas - 10).all()  # emission in front of ice / sky
    assert (warm < t_gas + 10).all()  # absorption in front of a cow
    np.testing.assert_allclose(equal, t_gas)
    # Beer-Lambert: optically thick gas shows the gas temperature; thin gas is linear in N
    thick = apparent_temperature(np.array([303.0]), t_gas, np.array([1e7]), alpha)
    np.testing.assert_allclose(thick, t_gas, atol=1e-6)
    thin = apparent_temperature(np.array([303.0]), t_gas, np.array([10.0]), alpha) - 303.0
    np.testing.assert_allclose(thin, -10.0 * alpha * 10.0, rtol=1e-3)


def test_mask_threshold_is_k_times_netd():
    alpha, netd, k, t_gas, dt = 5e-5, 0.03, 1.5, 290.0, 10.0
    n_limit = -np.log(1 - k * netd / dt) / alpha  # column where |dT| (1 - e^-aN) = k NETD
    column = np.array([0.0, 0.9 * n_limit, 1.1 * n_limit, 10 * n_limit])
    mask = visible_mask(np.full(4, t_gas + dt), t_gas, column, alpha, netd, k)
    assert mask.tolist() == [False, False, True, True]
    assert not visible_mask(np.full(4, t_gas), t_gas, column, alpha, netd, k).any()


def test_zero_flow_gives_empty_masks():
    cfg = GeneratorConfig(size=32, frames_per_seq=3)
    seq = generate_sequence(cfg, np.random.default_rng(1), has_gas=False)
    assert seq["flow"] == 0.0
    assert seq["masks"].sum() == 0 and seq["columns"].max() == 0.0
    assert seq["frames"].shape == (3, 1, 32, 32) and seq["frames"].dtype == np.uint8


def test_more_flow_gives_more_visible_area():
    area = {}
    for flow in (10.0, 40.0, 160.0):
        cfg = GeneratorConfig(size=48, frames_per_seq=2, flow_range=(flow, flow), delta_t=(10.0, 10.0),
                              backgrounds=["sky"])
        seqs = [generate_sequence(cfg, np.random.default_rng([7, i]), has_gas=True) for i in range(3)]
        area[flow] = np.mean([s["masks"].mean() for s in seqs])
    assert area[10.0] < area[40.0] < area[160.0]


def test_backgrounds_have_the_documented_sign():
    rng = np.random.default_rng(0)
    t_gas, dt = 290.0, 10.0
    assert make_background("ice", (64, 64), t_gas, dt, rng)[20:44, 20:44].mean() < t_gas - 5
    assert make_background("sky", (64, 64), t_gas, dt, rng).mean() < t_gas - 5
    cow = make_background("cow", (64, 64), t_gas, dt, rng)
    assert cow.max() > t_gas + 5
    for kind in BACKGROUNDS:
        assert make_background(kind, (32, 40), t_gas, dt, rng).shape == (32, 40)
    with pytest.raises(ValueError, match="unknown background"):
        make_background("lava", (8, 8), t_gas, dt, rng)


def test_camera_noise_is_netd_and_export_is_8bit():
    rng = np.random.default_rng(0)
    cam = Camera((64, 64), 0.05, rng, blur=0.0, fpn=0.0, drift=0.0)
    reading = cam.sense(np.full((64, 64), 300.0))
    assert abs(reading.std() - 0.05) < 0.005
    frame = cam.export(reading + np.linspace(0, 1, 64)[None])
    assert frame.dtype == np.uint8 and frame.shape == (1, 64, 64) and frame.max() == 255
    assert Camera((8, 8), 0.05, rng, palette="rainbow").frame(np.random.rand(8, 8)).shape == (3, 8, 8)
    black = Camera((8, 8), 0.05, np.random.default_rng(1), palette="blackhot")
    white = Camera((8, 8), 0.05, np.random.default_rng(1), palette="whitehot")
    scene = np.random.default_rng(2).random((8, 8))
    assert (black.frame(scene).astype(int) + white.frame(scene)).max() == 255


def test_split_is_deterministic_and_flow_classes():
    cfg = GeneratorConfig(size=32, frames_per_seq=4, empty_fraction=0.0, classes="flow", flow_range=(10, 100))
    a, b = generate_split(cfg, "train", 10), generate_split(cfg, "train", 10)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert len(a["frames"]) == 10 and set(np.unique(a["sequence"])) == {0, 1, 2}
    other = generate_split(cfg, "test", 10)
    assert not np.array_equal(a["frames"], other["frames"])
    for seq in range(3):
        labels = np.unique(a["masks"][a["sequence"] == seq])
        assert set(labels) <= {0, flow_class(float(a["flow"][a["sequence"] == seq][0]), cfg.flow_range)}
    assert flow_class(10, (10, 100)) == 1 and flow_class(100, (10, 100)) == 10 and flow_class(55, (10, 100)) == 6


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="data.flow_rnge"):
        OGIData.parse({"flow_rnge": [1, 2]}, where="data")
    with pytest.raises(ValueError, match="data.flow_range"):
        OGIData.parse({"flow_range": [50, 10]}, where="data")
    with pytest.raises(ValueError, match="data.backgrounds"):
        OGIData.parse({"backgrounds": ["lava"]}, where="data")
    with pytest.raises(ValueError, match="unknown shift"):
        OGIData.parse({"shifts": {"mars": {}}}, where="data")
    with pytest.raises(ConfigError, match="data.shifts.low_flow.flow"):
        OGIData.parse({"shifts": {"low_flow": {"flow": [1, 2]}}}, where="data")
