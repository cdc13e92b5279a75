"""Colour legends: what the colours of a layer mean, as plain data.

A legend is a title, a unit and either stops (value, colour) of a continuous
map or named swatches. The signal meshes say which map coloured them
(``twin:colormap``, ``twin:colormap_min/max``, ``twin:units``); link and
site colours follow :mod:`twin3d.usd.colors`, which wrote them.

Examples
--------
>>> lg = utilization_legend()
>>> lg.title, lg.units, lg.stops[0][0], lg.stops[-1][0]
('Link utilization', '%', 0.0, 100.0)
>>> lg.css_gradient().startswith("linear-gradient(to right, rgb(26,178,51) 0.0%")
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pxr import Usd

from ..usd.colors import (COLORMAPS, LINK_DOWN, NO_DATA, RSRP_MAP, SINR_MAP, SITE_STATE_COLORS,
                          UTILIZATION_MAP, VIRIDIS, ColorMap, linear_to_srgb)

__all__ = ["Legend", "mesh_legend", "utilization_legend", "site_state_legend", "basemap_legend",
           "hex_color"]

#: Colour stops (sRGB) of every map a stage may name in ``twin:colormap``.
_NAMED = {"viridis": VIRIDIS, **{name: m.colors for name, m in COLORMAPS.items()}}


def hex_color(rgb) -> str:
    """RGB 0..1 -> ``#rrggbb``."""
    r, g, b = (int(round(float(c) * 255)) for c in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


@dataclass
class Legend:
    """A colour legend: stops of a continuous map and/or named swatches."""

    title: str
    units: str = ""
    stops: list[tuple[float, tuple[float, float, float]]] = field(default_factory=list)
    swatches: list[tuple[str, tuple[float, float, float]]] = field(default_factory=list)

    def css_gradient(self) -> str:
        """A CSS ``linear-gradient`` of the stops, left (low) to right (high)."""
        if not self.stops:
            return "none"
        lo, hi = self.stops[0][0], self.stops[-1][0]
        span = (hi - lo) or 1.0
        parts = [f"rgb({','.join(str(int(round(c * 255))) for c in rgb)}) "
                 f"{100.0 * (v - lo) / span:.1f}%" for v, rgb in self.stops]
        return f"linear-gradient(to right, {', '.join(parts)})"

    def as_dict(self) -> dict:
        """JSON-ready: title, units, gradient, low/mid/high labels, swatches."""
        labels = []
        if self.stops:
            lo, hi = self.stops[0][0], self.stops[-1][0]
            labels = [f"{v:g}" for v in (lo, (lo + hi) / 2, hi)]
        return {"title": self.title, "units": self.units, "gradient": self.css_gradient(),
                "labels": labels,
                "swatches": [{"name": n, "color": hex_color(c)} for n, c in self.swatches]}


def _from_map(title: str, cmap: ColorMap) -> Legend:
    return Legend(title, cmap.units, [(float(v), tuple(float(x) for x in c))
                                      for v, c in zip(cmap.stop_values(), cmap.colors)])


def mesh_legend(prim: Usd.Prim) -> Legend | None:
    """Legend of a mesh that records its colour map (``twin:colormap`` ...), else None.

    The title is the mesh's name, followed by the radio model its parent
    records (``twin:radio_model`` of the signal layer), e.g. "RSRP (geometric)".
    """
    lg = _mesh_legend(prim)
    parent = prim.GetParent()
    attr = parent.GetAttribute("twin:radio_model") if parent else None
    model = attr.Get() if attr else None
    if lg is not None and model:
        lg.title = f"{lg.title} ({model})"
    return lg


def _mesh_legend(prim: Usd.Prim) -> Legend | None:
    attr = prim.GetAttribute("twin:colormap")
    name = attr.Get() if attr else None
    if not name:
        return None
    if name == "categorical":
        ids = prim.GetAttribute("twin:cell_ids").Get() if prim.HasAttribute("twin:cell_ids") else None
        cols = prim.GetAttribute("twin:cell_colors").Get() if prim.HasAttribute("twin:cell_colors") else None
        swatches = []
        if ids and cols is not None and len(cols) == len(ids):      # linear, as authored
            rgb = linear_to_srgb(np.asarray(cols, float).reshape(-1, 3))
            swatches = [(str(i), tuple(float(x) for x in c)) for i, c in zip(ids, rgb)]
        return Legend(f"{prim.GetName()}", "", [], swatches + [("no server", NO_DATA)])
    lo = prim.GetAttribute("twin:colormap_min").Get()
    hi = prim.GetAttribute("twin:colormap_max").Get()
    units = prim.GetAttribute("twin:units").Get() or ""
    colors = _NAMED.get(str(name))
    if lo is None or hi is None or colors is None:
        known = {"RSRP": RSRP_MAP, "SINR": SINR_MAP}.get(prim.GetName())
        return _from_map(prim.GetName(), known) if known else None
    return _from_map(prim.GetName(), ColorMap(str(name), float(lo), float(hi), units,
                                              np.asarray(colors)))


def utilization_legend() -> Legend:
    """Link colours: utilization (load / capacity) and links that are down."""
    lg = _from_map("Link utilization", UTILIZATION_MAP)
    lg.swatches = [("cut / tripped", LINK_DOWN)]
    return lg


def site_state_legend() -> Legend:
    """Mast (or node) colours by site state."""
    return Legend("Site state", "", [], [(k, v) for k, v in SITE_STATE_COLORS.items()])


def basemap_legend() -> Legend:
    """The basemap's lines, credited to Natural Earth (public domain)."""
    from .basemap import BASEMAP_RGB
    return Legend("Map (Natural Earth)", "", [],
                  [(k, tuple(c / 255.0 for c in rgb)) for k, rgb in BASEMAP_RGB.items()])
