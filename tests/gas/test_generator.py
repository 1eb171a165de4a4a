"""Physics of the synthetic OGI generator: mass conservation, contrast sign, NETD mask, flow."""

from __future__ import annotations

import numpy as np
import pytest

from sciformers.core import ConfigError
from sciformers.gas.camera import Camera, Span, apparent_temperature, visible_mask
from sciformers.gas.data import OGIData
from sciformers.gas.plume import PlumeParams, PlumeSimulator, sccm_to_rate
from sciformers.gas.scene import BACKGROUNDS, make_background
from sciformers.gas.synthetic import GeneratorConfig, flow_class, generate_sequence, generate_split

C0 = 273.15


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


def test_mask_threshold_is_k_times_netd_and_one_grey_level():
    alpha, netd, k, t_gas, dt = 5e-5, 0.03, 1.5, 290.0, 10.0
    n_limit = -np.log(1 - k * netd / dt) / alpha  # column where |dT| (1 - e^-aN) = k NETD
    column = np.array([0.0, 0.9 * n_limit, 1.1 * n_limit, 10 * n_limit])
    t_bg = np.full(4, t_gas + dt)
    t_app = apparent_temperature(t_bg, t_gas, column, alpha)
    assert visible_mask(t_bg, t_app, netd, k).tolist() == [False, False, True, True]
    assert not visible_mask(np.full(4, t_gas), np.full(4, t_gas), netd, k).any()
    # a frame spanning 255 x (the contrast at 2 n_limit) shows 2 n_limit as exactly one grey level
    step = dt * (1 - np.exp(-alpha * 2 * n_limit))
    span = Span(float(t_gas), float(t_gas + 255 * step))
    assert np.isclose(span.grey_level_k, step)
    assert visible_mask(t_bg, t_app, netd, k, span).tolist() == [False, False, False, True]
    # gas in front of a saturated (clipped) background is not visible, however strong
    assert not visible_mask(t_bg, t_app, netd, k, Span(t_gas - 20.0, t_gas - 10.0)).any()


def test_no_labelled_pixel_below_one_grey_level_of_its_frame():
    for kind in ("ice", "cow", "clutter", "sky"):
        cfg = GeneratorConfig(size=64, frames_per_seq=3, history=0, backgrounds=[kind])
        labelled = 0
        for i in range(3):
            seq = generate_sequence(cfg, np.random.default_rng([3, i]), has_gas=True)
            for mask, contrast, grey, netd in zip(seq["masks"], seq["contrast"], seq["grey_level_k"],
                                                  [seq["netd_k"]] * len(seq["masks"])):
                shown = contrast[mask > 0]
                labelled += shown.size
                assert (shown >= grey).all(), (kind, float(shown.min()), float(grey))
                assert (shown >= cfg.k_netd * netd).all()
        assert labelled > 0, kind


def test_narrow_display_span_shows_fainter_gas():
    wide = GeneratorConfig(size=48, frames_per_seq=2, history=0, backgrounds=["clutter"])
    narrow = wide.model_copy(update={"span_k": 3.0})
    a = generate_sequence(wide, np.random.default_rng(5), has_gas=True)
    b = generate_sequence(narrow, np.random.default_rng(5), has_gas=True)
    np.testing.assert_allclose(b["grey_level_k"], 3.0 / 255, rtol=1e-6)
    assert a["grey_level_k"].min() > b["grey_level_k"].max()
    assert (b["contrast"][b["masks"] > 0] >= 3.0 / 255).all()


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
    t_air, dt = 290.0, 10.0
    ice, t_gas = make_background("ice", (64, 64), t_air, dt, rng)
    assert ice[20:44, 20:44].mean() < t_gas - 5
    sky, t_gas = make_background("sky", (64, 64), t_air, dt, rng)
    assert t_gas == t_air and sky.mean() < t_gas - 5
    cow, t_gas = make_background("cow", (64, 64), t_air, dt, rng)
    assert cow.max() > t_gas + 5
    for kind in BACKGROUNDS:
        assert make_background(kind, (32, 40), t_air, dt, rng)[0].shape == (32, 40)
    with pytest.raises(ValueError, match="unknown background"):
        make_background("lava", (8, 8), t_air, dt, rng)


@pytest.mark.parametrize("dt", [2.0, 10.0, 25.0])
def test_ice_and_hide_temperatures_are_physical(dt):
    """Melting ice at -3..0 °C, the air |dT| warmer; a cow's hair coat at 30-37 °C, the air |dT| colder."""
    for i in range(4):
        rng = np.random.default_rng([11, i])
        ice, t_gas = make_background("ice", (64, 64), C0 + 20.0, dt, rng)
        block = ice < t_gas - dt / 2
        assert block.mean() > 0.3
        assert ice[block].min() >= C0 - 3.0 and ice[block].max() <= C0
        assert np.isclose(ice[block].mean(), t_gas - dt, atol=1.0)
        cow, t_gas = make_background("cow", (64, 64), C0 + 20.0, dt, rng)
        body = cow > t_gas + dt / 2
        assert body.mean() > 0.1
        assert cow[body].min() >= C0 + 30.0 and cow[body].max() <= C0 + 37.0
    for kind in ("ice", "cow"):  # the generated scene, not just the maker
        seq = generate_sequence(GeneratorConfig(size=48, frames_per_seq=1, history=0, backgrounds=[kind],
                                                delta_t=(dt, dt)), np.random.default_rng(2), has_gas=True)
        scene, t_gas = seq["background_k"], seq["t_gas"]
        obj = scene < t_gas - dt / 2 if kind == "ice" else scene > t_gas + dt / 2
        lo, hi = (C0 - 3.0, C0) if kind == "ice" else (C0 + 30.0, C0 + 37.0)
        assert lo <= scene[obj].min() and scene[obj].max() <= hi, kind
        assert C0 - 3.0 < t_gas < C0 + 40.0


def test_camera_noise_is_netd_and_export_is_8bit():
    rng = np.random.default_rng(0)
    cam = Camera((64, 64), 0.05, rng, blur=0.0, fpn=0.0, drift=0.0)
    reading = cam.sense(np.full((64, 64), 300.0))
    assert abs(reading.std() - 0.05) < 0.005
    frame, span = cam.export(reading + np.linspace(0, 1, 64)[None])
    assert frame.dtype == np.uint8 and frame.shape == (1, 64, 64) and frame.max() == 255
    assert 0.9 / 255 < span.grey_level_k < 1.3 / 255
    assert Camera((8, 8), 0.05, rng, palette="rainbow").frame(np.random.rand(8, 8))[0].shape == (3, 8, 8)
    black = Camera((8, 8), 0.05, np.random.default_rng(1), palette="blackhot")
    white = Camera((8, 8), 0.05, np.random.default_rng(1), palette="whitehot")
    scene = np.random.default_rng(2).random((8, 8))
    assert (black.frame(scene)[0].astype(int) + white.frame(scene)[0]).max() == 255


def test_discrete_flow_levels_as_in_the_controlled_release_set():
    cfg = GeneratorConfig(size=32, frames_per_seq=2, history=1, empty_fraction=0.0, classes="flow",
                          flow_range=(10, 100), flow_step=10)
    assert cfg.flow_levels() == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    split = generate_split(cfg, "train", 24)
    flows = np.unique(split["flow"])
    assert set(flows) <= set(cfg.flow_levels()) and len(flows) >= 4
    for flow in flows:  # class k is the release of 10 k SCCM
        assert set(np.unique(split["masks"][split["flow"] == flow])) <= {0, int(flow // 10)}
    assert split["lead"].shape == (12, 1, 1, 32, 32) and split["position"][:4].tolist() == [0, 1, 0, 1]
    assert GeneratorConfig(flow_range=(5, 20), flow_step=5).flow_levels() == [5.0, 10.0, 15.0, 20.0]
    with pytest.raises(ValueError, match="data.flow_step"):
        GeneratorConfig(flow_range=(11, 19), flow_step=10)


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
