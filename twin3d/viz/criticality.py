"""Criticality colour modes: links and sites coloured by what their failure costs.

A stage that carries a criticality layer (:mod:`twin3d.usd.criticality` or
:mod:`twin3d.usd.criticality_attach`: ``twin:criticality_lost_bps`` and
``twin:criticality_sla_minutes`` on the link and site prims) can be shown
in one of :data:`MODES`: ``lost`` (expected traffic lost, bit/s) or
``sla`` (SLA minutes lost). :func:`paint` writes, on the existing merged
network parts (no actor per element), a float cell array :data:`SCALARS`
holding each cell's element value (bit/s or minutes, NaN where the element
has none) and the ``rgb`` cells the actors show, from
:data:`twin3d.usd.criticality.CRITICALITY_MAP` over 0 .. the largest value
(grey: no value). The overlays (site glyphs, link lines) copy both from the
parts they mark.

Examples
--------
>>> from pxr import Usd
>>> has_criticality(Usd.Stage.CreateInMemory())
False
>>> criticality_legend("lost", 2.5e9).as_dict()["labels"]
['0', '1.25', '2.5']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pxr import Usd

from ..usd.colors import NO_DATA
from ..usd.criticality import CRITICALITY_MAP
from .legend import Legend
from .parts import RGB, Part, to_rgb8

__all__ = ["Mode", "MODES", "SCALARS", "element_values", "has_criticality", "paint", "clear",
           "criticality_legend"]

#: Name of the float cell array with each cell's element value (the mode's SI unit).
SCALARS = "criticality"


@dataclass(frozen=True)
class Mode:
    """A criticality colour mode: the attribute read and how its legend reads."""

    attr: str            # twin: attribute on the element prims (SI: bit/s or minutes)
    title: str
    units: str           # the legend's unit
    scale: float         # attribute value * scale = legend value


#: The colour modes, by the name the viewer shows.
MODES = {
    "lost": Mode("twin:criticality_lost_bps", "Criticality: traffic lost", "Gbit/s", 1e-9),
    "sla": Mode("twin:criticality_sla_minutes", "Criticality: SLA minutes lost", "min", 1.0),
}


def _network_prims(stage: Usd.Stage):
    root = stage.GetDefaultPrim() or stage.GetPseudoRoot()
    for group in ("Links", "Sites"):
        folder = root.GetChild("Network").GetChild(group) if root.GetChild("Network") else None
        if folder:
            yield from folder.GetChildren()


def element_values(stage: Usd.Stage, mode: str) -> dict[str, float]:
    """{element prim path: value} of ``MODES[mode].attr`` (SI units; NaN kept)."""
    attr = MODES[mode].attr
    out = {}
    for prim in _network_prims(stage):
        a = prim.GetAttribute(attr)
        v = a.Get() if a else None
        if v is not None:
            out[str(prim.GetPath())] = float(v)
    return out


def has_criticality(stage: Usd.Stage) -> bool:
    """Whether any link or site of the stage has a criticality value."""
    attr = MODES["lost"].attr
    return any(p.HasAttribute(attr) for p in _network_prims(stage))


def _top(values: dict[str, float]) -> float:
    v = np.array(list(values.values()), float)
    top = float(np.max(v[np.isfinite(v)], initial=0.0))
    return top if top > 0 else 1.0


def paint(parts: list[Part], values: dict[str, float]) -> tuple[list[str], float]:
    """Colour every network part by ``values`` (see the module); returns (parts changed, top).

    ``top`` is the value (SI) at the top of the colour map: the largest
    finite value (1 when there is none above 0).
    """
    top = _top(values)
    changed = []
    for part in parts:
        if part.group != "Network" or part.fixed or part.source is not None:
            continue
        per_slot = np.array([values.get(s.element, np.nan) for s in part.slots], float)
        cells = per_slot[part.cell_slot] if len(per_slot) else np.zeros(0)
        part.mesh.cell_data[SCALARS] = cells
        part.mesh.cell_data[RGB] = to_rgb8(CRITICALITY_MAP.display(100.0 * cells / top))
        part.version += 1
        changed.append(part.name)
    for part in parts:          # overlays copy their source's cells
        if part.source is not None and part.source.name in changed:
            src = part.source.mesh.cell_data
            part.mesh.cell_data[SCALARS] = np.asarray(src[SCALARS])[part.source_cells]
            part.mesh.cell_data[RGB] = np.asarray(src[RGB])[part.source_cells]
            part.source_version = part.source.version
            part.version += 1
            changed.append(part.name)
    return changed, top


def clear(parts: list[Part]) -> None:
    """Drop the :data:`SCALARS` arrays (the stage's colours are read back by the caller)."""
    for part in parts:
        if SCALARS in part.mesh.cell_data:
            del part.mesh.cell_data[SCALARS]


def criticality_legend(mode: str, top: float) -> Legend:
    """Legend of ``mode`` from 0 to ``top`` (SI), in the mode's unit; grey: not ranked."""
    m = MODES[mode]
    hi = top * m.scale
    stops = [(float(s) / 100.0 * hi, tuple(float(x) for x in c))
             for s, c in zip(CRITICALITY_MAP.stop_values(), CRITICALITY_MAP.colors)]
    return Legend(m.title, m.units, stops, [("not ranked", NO_DATA)])
