"""Colour maps for the signal and scenario layers: values -> RGB (0..1).

Continuous maps interpolate linearly between stops and clamp outside their
range; a value that is not finite (-inf RSRP where no cell reaches, NaN)
gets :data:`NO_DATA` grey. The best-server map is categorical: cell ``k``
gets a hue ``k`` golden-ratio turns round the colour wheel, so the cells of
one site (consecutive indices) never look alike.

Colours are authored as they are listed (display values, like the base
layer's), so every viewer of the stage shows the same numbers.

Examples
--------
>>> RSRP_MAP([-120.0, -60.0, -np.inf]).astype(float).round(3).tolist()
[[0.267, 0.005, 0.329], [0.993, 0.906, 0.144], [0.5, 0.5, 0.5]]
>>> UTILIZATION_MAP([0.0, 0.7, 1.5]).astype(float).round(2).tolist()
[[0.1, 0.7, 0.2], [0.95, 0.85, 0.1], [0.85, 0.1, 0.1]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ColorMap", "NO_DATA", "VIRIDIS", "RSRP_MAP", "SINR_MAP", "UTILIZATION_MAP",
           "category_colors", "best_server_colors", "LINK_DOWN", "SITE_STATE_COLORS",
           "site_state_color"]

#: Colour where a map has no value (no server, -inf, NaN).
NO_DATA = (0.5, 0.5, 0.5)
#: A link that is cut or tripped (carries nothing).
LINK_DOWN = (0.25, 0.25, 0.25)
#: Tower (or node building) colour by site state.
SITE_STATE_COLORS = {"up": (0.20, 0.75, 0.30), "sleep": (0.25, 0.45, 0.95),
                     "down": (0.85, 0.12, 0.12), "off": (0.12, 0.12, 0.12)}
_SITE_UNKNOWN = (0.85, 0.10, 0.85)

#: matplotlib's viridis at 9 even stops (perceptually uniform, colour-blind safe).
VIRIDIS = np.array([[0.2670, 0.0049, 0.3294], [0.2788, 0.1755, 0.4834], [0.2297, 0.3224, 0.5457],
                    [0.1727, 0.4488, 0.5579], [0.1276, 0.5669, 0.5506], [0.1579, 0.6838, 0.5017],
                    [0.3692, 0.7889, 0.3829], [0.6785, 0.8637, 0.1895], [0.9932, 0.9062, 0.1439]])


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
        """RGB (n, 3) float32 of ``values`` (any shape, flattened)."""
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


#: RSRP, dBm: -120 (edge of coverage) to -60 (next to a site).
RSRP_MAP = ColorMap("viridis", -120.0, -60.0, "dBm", VIRIDIS)
#: SINR, dB: -5 (unusable) to 25 (peak rate).
SINR_MAP = ColorMap("viridis", -5.0, 25.0, "dB", VIRIDIS)
#: Link utilization (load / capacity): green, yellow at 0.7, red from 1.
UTILIZATION_MAP = ColorMap("traffic_light", 0.0, 1.0, "1",
                           np.array([[0.10, 0.70, 0.20], [0.95, 0.85, 0.10], [0.85, 0.10, 0.10]]),
                           np.array([0.0, 0.7, 1.0]))


def category_colors(n: int) -> np.ndarray:
    """``n`` distinct colours (n, 3) float32: hues k * 0.618... turns apart.

    Examples
    --------
    >>> category_colors(2).astype(float).round(2).tolist()
    [[0.9, 0.31, 0.31], [0.31, 0.49, 0.9]]
    """
    h = (np.arange(n) * 0.6180339887498949) % 1.0 * 6.0
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
    """RGB (n, 3) float32 of best-server indices; :data:`NO_DATA` where -1."""
    b = np.asarray(best_server).ravel()
    palette = np.vstack([category_colors(n_cells), np.array([NO_DATA], np.float32)])
    return palette[np.where(b >= 0, b, n_cells)]


def site_state_color(state: str) -> tuple[float, float, float]:
    """Tower colour of a site state (magenta for a state this map does not know)."""
    return SITE_STATE_COLORS.get(state, _SITE_UNKNOWN)
