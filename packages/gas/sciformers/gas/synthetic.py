"""The synthetic OGI generator: sequences of 8-bit thermal frames with plume masks.

One *sequence* is one release seen by one camera: a background (:mod:`.scene`), a methane
source of a fixed flow rate, a wandering turbulent wind (:mod:`.plume`), and a camera
(:mod:`.camera`). After a spin-up long enough for the plume to cross most of the frame,
``history + frames_per_seq`` frames are taken ``frame_step`` simulation steps apart: the first
``history`` are only the temporal context of the others (``data.temporal``, :mod:`.inputs`),
the rest are the samples. A fraction ``empty_fraction`` of sequences has no gas (flow 0: empty
masks). Release rates are drawn uniformly over ``flow_range``, or, with ``flow_step``, from its
multiples in that range (Gasformer's controlled release: 10, 20, ..., 100 SCCM). Splits are
built from disjoint sequences (never split by frame), each sequence seeded by
``(data.seed, split, index)``, so generation is deterministic and independent of the order it
runs in.

Masks: binary (plume where the gas is visible in the exported frame: its contrast reaches
``k_netd`` x NETD and one grey level of that frame, :func:`~sciformers.gas.camera.visible_mask`),
or, with ``classes: flow``, 11 classes as in Gasformer's controlled-release set: background and
ten flow-rate bins over ``flow_range`` (with ``flow_range: [10, 100]`` and ``flow_step: 10``,
class ``k`` is the release of ``10 k`` SCCM).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field
from scipy import ndimage

from sciformers.core import Config, cache_dir
from sciformers.gas.camera import Camera, apparent_temperature, visible_mask
from sciformers.gas.plume import PlumeParams, PlumeSimulator, sccm_to_rate
from sciformers.gas.scene import BACKGROUNDS, make_background

FLOW_BINS = 10
SPLITS = ("train", "val", "test")


class GeneratorConfig(Config):
    """Settings of the synthetic OGI generator (every range is ``[low, high]``, drawn per sequence).

    Args:
        seed: seeds every sequence.
        size: frame height and width, px.
        frames_per_seq: frames taken from each sequence.
        frame_step: simulation steps between frames.
        empty_fraction: fraction of sequences without gas.
        flow_range: release rate, SCCM (Gasformer's controlled release: 10-100).
        flow_step: draw release rates from the multiples of this within ``flow_range`` (``None``: uniform;
            default 10: Gasformer's ten rates 10, 20, ..., 100 SCCM).
        history: frames simulated before each sequence's first sample, as its temporal context.
        wind_speed: mean wind, image px per step.
        wind_direction_deg: mean wind direction (image axes; -90 = up, the buoyant rise).
        wind_spread_deg: per-sequence direction drawn uniformly within ± this of the mean.
        direction_std_deg: std of the direction's wander within a sequence (OU process).
        turbulence: RMS turbulent speed as a fraction of the mean wind.
        diffusivity: turbulent diffusivity, image px² per step.
        backgrounds: background kinds to draw from (``ice``, ``cow``, ``sky``, ``ground``, ``clutter``).
        netd_mk: camera NETD, mK.
        delta_t: ``|T_bg - T_gas|``, K.
        t_gas_c: gas (air) temperature, °C, where the background does not set it (ice and cows do:
            the air is ``|dT|`` warmer than the ice, colder than the hide).
        k_netd: a pixel is plume where the visible contrast >= ``k_netd`` x NETD (and one grey level).
        span_k: a fixed display span, K, around each frame's median (``None``: AGC percentile stretch).
        alpha: effective absorption per ppm·m.
        pixel_mm: size of one pixel at the plume, mm.
        dt_s: simulation step, s.
        sim_scale: the plume is simulated on a grid ``sim_scale`` times coarser than the frame.
        palette: exported frame palette (``whitehot``, ``blackhot``, ``rainbow``: 3 channels).
        classes: ``binary`` (background/plume) or ``flow`` (background + 10 flow bins).
    """

    seed: int = 0
    size: int = Field(default=128, ge=16)
    frames_per_seq: int = Field(default=8, ge=1)
    frame_step: int = Field(default=3, ge=1)
    empty_fraction: float = Field(default=0.2, ge=0, le=1)
    flow_range: tuple[float, float] = (10.0, 100.0)
    flow_step: float | None = Field(default=10.0, gt=0)
    history: int = Field(default=4, ge=0)
    wind_speed: tuple[float, float] = (0.5, 1.5)
    wind_direction_deg: float = -90.0
    wind_spread_deg: float = 45.0
    direction_std_deg: float = 15.0
    turbulence: tuple[float, float] = (0.2, 0.6)
    diffusivity: float = Field(default=0.5, ge=0)
    backgrounds: list[str] = Field(default_factory=lambda: ["ice", "cow", "clutter"])
    netd_mk: tuple[float, float] = (25.0, 40.0)
    delta_t: tuple[float, float] = (5.0, 25.0)
    t_gas_c: tuple[float, float] = (15.0, 30.0)
    k_netd: float = Field(default=1.5, gt=0)
    span_k: float | None = Field(default=None, gt=0)
    alpha: float = Field(default=5e-5, gt=0)
    pixel_mm: float = Field(default=2.0, gt=0)
    dt_s: float = Field(default=0.05, gt=0)
    sim_scale: int = Field(default=2, ge=1)
    palette: Literal["whitehot", "blackhot", "rainbow"] = "whitehot"
    classes: Literal["binary", "flow"] = "binary"

    def model_post_init(self, _: Any) -> None:
        for name in ("flow_range", "wind_speed", "turbulence", "netd_mk", "delta_t", "t_gas_c"):
            lo, hi = getattr(self, name)
            if lo > hi or lo < (-100 if name == "t_gas_c" else 0):
                raise ValueError(f"data.{name}: expected [low, high] with 0 <= low <= high, got [{lo}, {hi}]")
        if self.flow_step is not None and not self.flow_levels():
            raise ValueError(f"data.flow_step: no multiple of {self.flow_step} in flow_range {list(self.flow_range)}")
        if self.wind_speed[0] <= 0:
            raise ValueError(f"data.wind_speed: must be > 0, got {list(self.wind_speed)}")
        unknown = [b for b in self.backgrounds if b not in BACKGROUNDS]
        if unknown or not self.backgrounds:
            raise ValueError(f"data.backgrounds: {unknown or 'empty'}; expected some of {list(BACKGROUNDS)}")

    def flow_levels(self) -> list[float] | None:
        """The discrete release rates (multiples of ``flow_step`` in ``flow_range``), or ``None``."""
        if self.flow_step is None:
            return None
        lo, hi = self.flow_range
        first, last = math.ceil(lo / self.flow_step - 1e-9), math.floor(hi / self.flow_step + 1e-9)
        return [round(i * self.flow_step, 9) for i in range(first, last + 1)]


def flow_class(flow: float, flow_range: tuple[float, float]) -> int:
    """Class 1..10 of a flow rate: its decile bin over ``flow_range`` (0 is background)."""
    lo, hi = flow_range
    frac = 0.0 if hi <= lo else (flow - lo) / (hi - lo)
    return 1 + int(np.clip(math.floor(frac * FLOW_BINS), 0, FLOW_BINS - 1))


def generate_sequence(cfg: GeneratorConfig, rng: np.random.Generator, has_gas: bool | None = None) -> dict[str, Any]:
    """One release sequence.

    Args:
        cfg: generator settings.
        rng: this sequence's generator.
        has_gas: force gas on/off (default: off with probability ``empty_fraction``).

    Returns:
        ``frames`` uint8 ``(F, C, S, S)``, ``masks`` uint8 ``(F, S, S)`` (binary), ``columns``
        float32 ``(F, S, S)`` in ppm·m, ``contrast`` float32 ``(F, S, S)`` (noise-free
        ``|T_app - T_bg|``, K), ``grey_level_k`` float32 ``(F,)`` (one grey level of each frame,
        K), ``lead`` uint8 ``(history, C, S, S)`` (the context frames before the first), the
        ``background_k`` map ``(S, S)``, and scalars ``flow`` (SCCM), ``background``, ``t_gas``
        (K), ``delta_t`` (signed ``T_bg - T_gas`` of the scene's mean, K), ``netd_k``.
    """
    s = cfg.size
    kind = str(rng.choice(cfg.backgrounds))
    if has_gas is None:
        has_gas = bool(rng.random() >= cfg.empty_fraction)
    levels = cfg.flow_levels()
    flow = 0.0 if not has_gas else float(rng.choice(levels)) if levels else float(rng.uniform(*cfg.flow_range))
    t_air = 273.15 + rng.uniform(*cfg.t_gas_c)
    delta_t = float(rng.uniform(*cfg.delta_t))
    netd = float(rng.uniform(*cfg.netd_mk)) / 1000.0
    background, t_gas = make_background(kind, (s, s), t_air, delta_t, rng)
    camera = Camera((s, s), netd, rng, span_k=cfg.span_k, palette=cfg.palette)

    scale, margin = cfg.sim_scale, max(2, s // (4 * cfg.sim_scale))
    n = s // scale + 2 * margin
    speed = float(rng.uniform(*cfg.wind_speed))
    theta = math.radians(cfg.wind_direction_deg + rng.uniform(-cfg.wind_spread_deg, cfg.wind_spread_deg))
    center = np.array([s / 2, s / 2]) - 0.3 * s * np.array([math.sin(theta), math.cos(theta)])
    source = center + rng.uniform(-0.1, 0.1, 2) * s
    params = PlumeParams(
        shape=(n, n), source=(float(source[0] / scale + margin), float(source[1] / scale + margin)),
        rate=sccm_to_rate(flow, cfg.pixel_mm * scale, cfg.dt_s), wind_speed=speed / scale, wind_direction=theta,
        direction_std=math.radians(cfg.direction_std_deg), turbulence=float(rng.uniform(*cfg.turbulence)),
        eddy_scale=max(2.0, s / (16 * scale)), diffusivity=cfg.diffusivity / scale**2,
    )
    plume = PlumeSimulator(params, rng)
    if has_gas:
        plume.run(min(400, math.ceil(0.8 * s / speed)))  # spin-up: the plume crosses most of the frame
    out: dict[str, list[Any]] = {k: [] for k in ("lead", "frames", "masks", "columns", "contrast", "grey_level_k")}
    for i in range(cfg.history + cfg.frames_per_seq):
        if has_gas:
            plume.run(cfg.frame_step)
        column = ndimage.zoom(plume.column[margin:n - margin, margin:n - margin], scale, order=1)[:s, :s]
        column = np.clip(column, 0.0, None)
        t_app = apparent_temperature(background, t_gas, column, cfg.alpha)
        frame, span = camera.frame(t_app)
        if i < cfg.history:
            out["lead"].append(frame)
            continue
        out["frames"].append(frame)
        out["masks"].append(visible_mask(background, t_app, netd, cfg.k_netd, span, camera.bias))
        out["columns"].append(column.astype(np.float32))
        out["contrast"].append(np.abs(t_app - background).astype(np.float32))
        out["grey_level_k"].append(span.grey_level_k)
    leads = out.pop("lead")
    lead = np.stack(leads) if leads else np.zeros((0, camera.channels, s, s), np.uint8)
    arrays = {k: np.stack(v) for k, v in out.items()}
    return arrays | {
        "masks": arrays["masks"].astype(np.uint8), "grey_level_k": arrays["grey_level_k"].astype(np.float32),
        "lead": lead, "background_k": background, "flow": flow, "background": kind, "t_gas": float(t_gas),
        "delta_t": float(background.mean() - t_gas), "netd_k": netd,
    }


def generate_split(cfg: GeneratorConfig, split: str, n_frames: int) -> dict[str, np.ndarray]:
    """At least ``n_frames`` frames from whole sequences of ``split`` (truncated to ``n_frames``).

    Returns:
        ``frames`` uint8 ``(N, C, S, S)``, ``masks`` uint8 ``(N, S, S)`` (binary or flow class),
        ``flow`` float32, ``sequence`` int32, ``position`` int32 (index of the frame in its
        sequence), ``background`` int16 (index into :data:`~sciformers.gas.scene.BACKGROUNDS`) per
        frame, and ``lead`` uint8 ``(sequences, history, C, S, S)``: each sequence's context frames.
    """
    split_id = {name: i for i, name in enumerate(SPLITS)}.get(split, 10 + sum(split.encode()))
    keys = ("frames", "masks", "flow", "sequence", "position", "background")
    out: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    leads = []
    n_seq = math.ceil(n_frames / cfg.frames_per_seq)
    for i in range(n_seq):
        seq = generate_sequence(cfg, np.random.default_rng([cfg.seed, split_id, i]))
        masks = seq["masks"]
        if cfg.classes == "flow" and seq["flow"] > 0:
            masks = masks * flow_class(seq["flow"], cfg.flow_range)
        f = len(masks)
        out["frames"].append(seq["frames"])
        out["masks"].append(masks.astype(np.uint8))
        out["flow"].append(np.full(f, seq["flow"], np.float32))
        out["sequence"].append(np.full(f, i, np.int32))
        out["position"].append(np.arange(f, dtype=np.int32))
        out["background"].append(np.full(f, BACKGROUNDS.index(seq["background"]), np.int16))
        leads.append(seq["lead"])
    return {k: np.concatenate(v)[:n_frames] for k, v in out.items()} | {"lead": np.stack(leads)}


def cached_split(cfg: GeneratorConfig, split: str, n_frames: int) -> Path:
    """Generate ``split`` once into the cache (``.npz``, no pickles) and return its path."""
    from sciformers.evaluation.records import config_hash  # the run records' hash; not at import (no harness)

    key = config_hash({"generator": cfg.model_dump(mode="json"), "split": split, "n": n_frames})[:16]
    path = cache_dir("gas", "synthetic_ogi") / f"{split}-{key}.npz"
    if not path.is_file():
        arrays = generate_split(cfg, split, n_frames)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # concurrent runs never share a temp file
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
    return path


def load_split(path: Path) -> dict[str, np.ndarray]:
    """Arrays written by :func:`cached_split` (read without pickle)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
