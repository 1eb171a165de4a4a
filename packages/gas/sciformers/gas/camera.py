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

Ground truth: a pixel is plume where the *visible* contrast ``|T_app - T_bg|`` reaches ``k`` times
the NETD, not where ``N`` crosses a threshold, so invisible gas is background.

Camera: optical blur, temporal white noise of std NETD, static row/column fixed-pattern noise,
a slow offset drift, then the automatic gain control (percentile stretch) and 8-bit quantisation
of exported frames, with an optional palette.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

PALETTES = ("whitehot", "blackhot", "rainbow")


def apparent_temperature(t_bg: np.ndarray, t_gas: float, column: np.ndarray, alpha: float) -> np.ndarray:
    """Brightness temperature seen through a gas column ``N`` [ppm·m] (eq. above)."""
    return t_bg - (t_bg - t_gas) * (1.0 - np.exp(-alpha * column))


def visible_mask(t_bg: np.ndarray, t_gas: float, column: np.ndarray, alpha: float, netd_k: float,
                 k: float) -> np.ndarray:
    """Plume ground truth: ``|T_app - T_bg| >= k * NETD`` (and some gas present)."""
    contrast = np.abs(t_bg - t_gas) * (1.0 - np.exp(-alpha * column))
    return (contrast >= k * netd_k) & (column > 0)


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
        palette: ``whitehot``, ``blackhot`` or ``rainbow``.
    """

    shape: tuple[int, int]
    netd_k: float
    rng: np.random.Generator
    blur: float = 0.7
    fpn: float = 0.5
    drift: float = 0.3
    agc_percentiles: tuple[float, float] = (0.5, 99.5)
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

    def sense(self, t_app: np.ndarray) -> np.ndarray:
        """Sensor reading in K: blurred scene + fixed pattern + drift + temporal noise."""
        self._offset += self.drift * self.netd_k * self.rng.standard_normal()
        scene = ndimage.gaussian_filter(t_app, self.blur) if self.blur > 0 else t_app
        return scene + self._pattern + self._offset + self.netd_k * self.rng.standard_normal(self.shape)

    def export(self, reading: np.ndarray) -> np.ndarray:
        """AGC stretch, 8-bit quantisation and palette: ``uint8 (channels, H, W)``."""
        lo, hi = np.percentile(reading, self.agc_percentiles)
        scaled = np.clip((reading - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
        if self.palette == "blackhot":
            scaled = 1.0 - scaled
        if self.palette == "rainbow":
            from matplotlib import colormaps  # only the rainbow palette needs it (no matplotlib at import)

            rgb = colormaps["jet"](scaled)[..., :3]
            return np.round(255 * rgb).astype(np.uint8).transpose(2, 0, 1)
        return np.round(255 * scaled).astype(np.uint8)[None]

    def frame(self, t_app: np.ndarray) -> np.ndarray:
        """One exported frame of the apparent-temperature map ``t_app``."""
        return self.export(self.sense(t_app))
