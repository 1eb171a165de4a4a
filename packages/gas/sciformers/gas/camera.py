"""Radiance contrast of a gas column and an uncooled LWIR camera (FLIR GF77-like).

Contrast: the three-layer model of OGI (Zeng & Morris, JAWMA 2019, doi:10.1080/10962247.2018.1540366;
Benson et al., US patent 7,189,970) in temperature units. The gas layer, at the air temperature
``T_gas``, absorbs a fraction ``1 - exp(-alpha N)`` of the background's radiance (Beer-Lambert) and
emits the same fraction at its own temperature, so the camera sees

    T_app = T_bg - (T_bg - T_gas) (1 - exp(-alpha N))                     (Zeng & Morris eq. 3, linearised)

The gas shows in *emission* (brighter) against a colder background (ice, sky) and in *absorption*
(darker) against a warmer one (a cow); it vanishes where ``T_bg = T_gas``. ``alpha`` is an
effective band-averaged absorption per ppm·m for methane's 7.7 µm band behind a 7-8.5 µm filter;
5e-5 (ppm·m)^-1 puts the noise-equivalent column near 100 ppm·m at 10 K contrast and 25-40 mK NETD,
as FLIR quotes for the GF77 (see the data card).

Ground truth: a pixel is plume where the gas is *visible in the exported frame*, not where ``N``
crosses a threshold, so invisible gas is background. Two conditions, both on the noise-free scene:

    |T_app - T_bg| >= k NETD                                            (above the sensor noise)
    255 |s(T_app + b) - s(T_bg + b)| >= 1,   s(T) = clip((T - lo) / (hi - lo), 0, 1)   (one grey level)

where ``[lo, hi]`` is the frame's display span and ``b`` the camera's fixed pattern and offset.
Without clipping the second reads ``|T_app - T_bg| >= (hi - lo) / 255``: the label rule is
``contrast >= max(k NETD, one grey level of the frame)``, and gas in front of a saturated
(clipped) region is not labelled.

Camera: optical blur, temporal white noise of std NETD, static row/column fixed-pattern noise,
a slow offset drift, then the display span (automatic gain control, a percentile stretch, or a
fixed narrow span around the frame's median: the manual "high-sensitivity" setting of OGI
operators) and 8-bit quantisation of exported frames, with an optional palette. The same
percentile stretch (:func:`agc_span`) maps 16-bit and radiometric frames of real footage to
``[0, 1]`` (:mod:`.folder`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

PALETTES = ("whitehot", "blackhot", "rainbow")


def apparent_temperature(t_bg: np.ndarray, t_gas: float, column: np.ndarray, alpha: float) -> np.ndarray:
    """Brightness temperature seen through a gas column ``N`` [ppm·m] (eq. above)."""
    return t_bg - (t_bg - t_gas) * (1.0 - np.exp(-alpha * column))


AGC_PERCENTILES = (0.5, 99.5)


@dataclass(frozen=True)
class Span:
    """The display span of one frame: readings ``lo`` -> 0 and ``hi`` -> 1 (255 in 8 bits)."""

    lo: float
    hi: float

    @property
    def grey_level_k(self) -> float:
        """Temperature step of one 8-bit grey level, K."""
        return (self.hi - self.lo) / 255.0

    def scale(self, reading: np.ndarray) -> np.ndarray:
        """``clip((reading - lo) / (hi - lo), 0, 1)``."""
        return np.clip((reading - self.lo) / max(self.hi - self.lo, 1e-6), 0.0, 1.0)


def agc_span(reading: np.ndarray, percentiles: tuple[float, float] = AGC_PERCENTILES) -> Span:
    """Automatic gain control: the span between two percentiles of the frame."""
    lo, hi = np.percentile(reading, percentiles)
    return Span(float(lo), float(hi))


def visible_mask(t_bg: np.ndarray, t_app: np.ndarray, netd_k: float, k: float, span: Span | None = None,
                 bias: np.ndarray | float = 0.0) -> np.ndarray:
    """Plume ground truth (module docstring): contrast >= ``k`` NETD and, given the frame's ``span``,
    at least one grey level of it once both scenes (plus the camera's ``bias``) are clipped to the span."""
    visible = np.abs(t_app - t_bg) >= k * netd_k
    if span is not None:
        visible &= 255.0 * np.abs(span.scale(t_app + bias) - span.scale(t_bg + bias)) >= 1.0
    return visible


@dataclass
class Camera:
    """An uncooled microbolometer with fixed-pattern noise, drift, AGC and 8-bit export.

    Args:
        shape: frame ``(H, W)``.
        netd_k: noise-equivalent temperature difference, K (std of the temporal noise).
        rng: random generator (fixed pattern drawn once, noise and drift per frame).
        blur: std of the optical point-spread function, px.
        fpn: std of row and column offsets, in units of NETD.
        drift: std of the per-frame offset random walk, in units of NETD.
        agc_percentiles: the low/high percentiles mapped to 0 and 255.
        span_k: a fixed display span, K, centred on the frame's median (``None``: AGC percentiles).
        palette: ``whitehot``, ``blackhot`` or ``rainbow``.
    """

    shape: tuple[int, int]
    netd_k: float
    rng: np.random.Generator
    blur: float = 0.7
    fpn: float = 0.5
    drift: float = 0.3
    agc_percentiles: tuple[float, float] = AGC_PERCENTILES
    span_k: float | None = None
    palette: str = "whitehot"

    def __post_init__(self) -> None:
        if self.palette not in PALETTES:
            raise ValueError(f"data.palette: unknown palette {self.palette!r}; expected one of {PALETTES}")
        h, w = self.shape
        self._pattern = self.fpn * self.netd_k * (self.rng.standard_normal((h, 1)) + self.rng.standard_normal((1, w)))
        self._offset = 0.0

    @property
    def channels(self) -> int:
        """Channels of an exported frame (3 for the rainbow palette)."""
        return 3 if self.palette == "rainbow" else 1

    @property
    def bias(self) -> np.ndarray:
        """The noise-free part of the reading that is not the scene: fixed pattern + current offset, K."""
        return self._pattern + self._offset

    def sense(self, t_app: np.ndarray) -> np.ndarray:
        """Sensor reading in K: blurred scene + fixed pattern + drift + temporal noise."""
        self._offset += self.drift * self.netd_k * self.rng.standard_normal()
        scene = ndimage.gaussian_filter(t_app, self.blur) if self.blur > 0 else t_app
        return scene + self.bias + self.netd_k * self.rng.standard_normal(self.shape)

    def span(self, reading: np.ndarray) -> Span:
        """The display span of a reading: AGC percentiles, or ``span_k`` around its median."""
        if self.span_k is None:
            return agc_span(reading, self.agc_percentiles)
        mid = float(np.median(reading))
        return Span(mid - self.span_k / 2, mid + self.span_k / 2)

    def export(self, reading: np.ndarray) -> tuple[np.ndarray, Span]:
        """Display span, 8-bit quantisation and palette: ``uint8 (channels, H, W)`` and the span."""
        span = self.span(reading)
        return self._quantise(span.scale(reading)), span

    def _quantise(self, scaled: np.ndarray) -> np.ndarray:
        if self.palette == "blackhot":
            scaled = 1.0 - scaled
        if self.palette == "rainbow":
            from matplotlib import colormaps  # only the rainbow palette needs it (no matplotlib at import)

            rgb = colormaps["jet"](scaled)[..., :3]
            return np.round(255 * rgb).astype(np.uint8).transpose(2, 0, 1)
        return np.round(255 * scaled).astype(np.uint8)[None]

    def frame(self, t_app: np.ndarray) -> tuple[np.ndarray, Span]:
        """One exported frame of the apparent-temperature map ``t_app``, and its display span."""
        return self.export(self.sense(t_app))
