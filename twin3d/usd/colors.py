"""Colour maps for the signal and scenario layers: values -> RGB (0..1).

``primvars:displayColor`` is *linear* RGB (USD's convention; Omniverse and
Storm shade with it as such), while palettes and colour maps are written
and shown in sRGB. So every colour here is listed in sRGB (what a legend
or a web page shows) and converted with :func:`srgb_to_linear` where it is
authored; a viewer converts back with :func:`linear_to_srgb` to display it.

Continuous maps are sampled from matplotlib's colormaps (``Blues_r`` for
RSRP, ``Purples_r`` for SINR: two different ramps, both away from the
green-yellow-red of link utilization drawn over them), interpolate
linearly between the samples in sRGB and clamp outside their range; a
value that is not finite (-inf RSRP where no cell reaches, NaN) gets
:data:`NO_DATA` grey. The best-server map is categorical: cell ``k`` gets
a hue ``k`` golden-ratio turns round the wheel, kept out of the reds
(site "down" is red), so the cells of one site (consecutive indices) never
look alike.

Examples
--------
>>> RSRP_MAP.display([-120.0, -60.0, -np.inf]).astype(float).round(3).tolist()
[[0.031, 0.188, 0.42], [0.58, 0.77, 0.874], [0.5, 0.5, 0.5]]
>>> UTILIZATION_MAP.display([0.0, 70.0, 150.0]).astype(float).round(2).tolist()
[[0.1, 0.7, 0.2], [0.95, 0.85, 0.1], [0.85, 0.1, 0.1]]
>>> round(float(srgb_to_linear(0.5)), 4), round(float(linear_to_srgb(srgb_to_linear(0.25))), 4)
(0.214, 0.25)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ColorMap", "NO_DATA", "VIRIDIS", "RSRP_MAP", "SINR_MAP", "UTILIZATION_MAP", "COLORMAPS",
           "category_colors", "best_server_colors", "LINK_DOWN", "SITE_STATE_COLORS",
           "site_state_color", "srgb_to_linear", "linear_to_srgb", "matplotlib_stops",
           "CATEGORY_HUES_DEG"]

#: Colour where a map has no value (no server, -inf, NaN).
NO_DATA = (0.5, 0.5, 0.5)
#: A link that is cut or tripped (carries nothing).
LINK_DOWN = (0.25, 0.25, 0.25)
#: Tower (or node building) colour by site state.
SITE_STATE_COLORS = {"up": (0.20, 0.75, 0.30), "sleep": (0.25, 0.45, 0.95),
                     "down": (0.85, 0.12, 0.12), "off": (0.42, 0.42, 0.45)}   # off: seen on dark
_SITE_UNKNOWN = (0.85, 0.10, 0.85)

#: Hues (degrees) the best-server palette spans: everything but the reds.
CATEGORY_HUES_DEG = (35.0, 320.0)


def srgb_to_linear(rgb) -> np.ndarray:
    """sRGB (0..1, as shown) -> linear RGB (as ``displayColor`` carries it), float32."""
    c = np.clip(np.asarray(rgb, float), 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(rgb) -> np.ndarray:
    """Linear RGB (``displayColor``) -> sRGB (0..1, to show), float32."""
    c = np.clip(np.asarray(rgb, float), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055).astype(np.float32)


def matplotlib_stops(name: str, n: int = 9, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """``n`` sRGB colours (n, 3) sampled evenly from ``lo`` to ``hi`` of matplotlib's ``name``."""
    from matplotlib import colormaps
    return np.asarray(colormaps[name](np.linspace(lo, hi, n)))[:, :3].round(4)


#: matplotlib's viridis at 9 even stops (perceptually uniform, colour-blind safe).
VIRIDIS = matplotlib_stops("viridis")


@dataclass(frozen=True)
class ColorMap:
    """A piecewise-linear colour map from ``vmin`` to ``vmax``.

    Parameters
    ----------
    name : str
        Recorded next to the colours (``twin:colormap``).
    vmin, vmax : float
        Values at the first and last stop, in ``units``.
    units : str
        Unit of the values ("dBm", "dB", "1").
    colors : (k, 3) array
        RGB at the stops.
    stops : (k,) array, optional
        Stop values; default evenly spaced from vmin to vmax.
    """

    name: str
    vmin: float
    vmax: float
    units: str
    colors: np.ndarray
    stops: np.ndarray | None = None

    def stop_values(self) -> np.ndarray:
        """The value of every stop, in ``units``."""
        if self.stops is not None:
            return np.asarray(self.stops, float)
        return np.linspace(self.vmin, self.vmax, len(self.colors))

    def __call__(self, values) -> np.ndarray:
        """Linear RGB (n, 3) float32 of ``values`` (any shape, flattened): for ``displayColor``."""
        return srgb_to_linear(self.display(values))

    def display(self, values) -> np.ndarray:
        """sRGB (n, 3) float32 of ``values`` (any shape, flattened): as shown."""
        v = np.asarray(values, float).ravel()
        ok = np.isfinite(v)
        c = np.asarray(self.colors, float)
        s = self.stop_values()
        out = np.empty((v.size, 3), np.float32)
        vc = np.clip(np.where(ok, v, self.vmin), s[0], s[-1])
        for ch in range(3):
            out[:, ch] = np.interp(vc, s, c[:, ch])
        out[~ok] = NO_DATA
        return out


#: RSRP, dBm: -120 (edge of coverage, dark blue) to -60 (next to a site, sky blue).
RSRP_MAP = ColorMap("Blues_r", -120.0, -60.0, "dBm", matplotlib_stops("Blues_r", 9, 0.0, 0.6))
#: SINR, dB: -5 (unusable, dark purple) to 25 (peak rate, lavender).
SINR_MAP = ColorMap("Purples_r", -5.0, 25.0, "dB", matplotlib_stops("Purples_r", 9, 0.0, 0.6))
#: Link utilization in percent of capacity: green, yellow at 70 %, red from 100 %.
UTILIZATION_MAP = ColorMap("traffic_light", 0.0, 100.0, "%",
                           np.array([[0.10, 0.70, 0.20], [0.95, 0.85, 0.10], [0.85, 0.10, 0.10]]),
                           np.array([0.0, 70.0, 100.0]))
#: The continuous maps by the name they record (``twin:colormap``).
COLORMAPS = {m.name: m for m in (RSRP_MAP, SINR_MAP, UTILIZATION_MAP)}


def category_colors(n: int) -> np.ndarray:
    """``n`` distinct sRGB colours (n, 3) float32: hues k * 0.618... turns apart.

    The hues stay within :data:`CATEGORY_HUES_DEG` (no red: red means a
    site is down).

    Examples
    --------
    >>> category_colors(2).astype(float).round(2).tolist()
    [[0.9, 0.66, 0.31], [0.31, 0.6, 0.9]]
    """
    lo, hi = CATEGORY_HUES_DEG
    turn = (np.arange(n) * 0.6180339887498949) % 1.0
    h = (lo + (hi - lo) * turn) / 60.0
    s, v = 0.65, 0.9
    k = np.floor(h).astype(int) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    vv = np.full(n, v)
    pp = np.full(n, p)
    r = np.choose(k, [vv, q, pp, pp, t, vv])
    g = np.choose(k, [t, vv, vv, q, pp, pp])
    b = np.choose(k, [pp, pp, t, vv, vv, q])
    return np.column_stack([r, g, b]).astype(np.float32)


def best_server_colors(best_server, n_cells: int) -> np.ndarray:
    """Linear RGB (n, 3) float32 of best-server indices; :data:`NO_DATA` where -1."""
    b = np.asarray(best_server).ravel()
    palette = np.vstack([category_colors(n_cells), np.array([NO_DATA], np.float32)])
    return srgb_to_linear(palette[np.where(b >= 0, b, n_cells)])


def site_state_color(state: str) -> np.ndarray:
    """Linear RGB of a site state's tower colour (magenta for a state this map does not know)."""
    return srgb_to_linear(SITE_STATE_COLORS.get(state, _SITE_UNKNOWN))
