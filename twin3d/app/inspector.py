"""What the inspector shows for a picked element: id, state, load, utilization, ...

Values come from the element prim's ``twin:`` attributes at the step shown
(the scenario's time samples). A link's latency is its one-way fibre
propagation (:func:`twin3d.physics.fiber.propagation_delay_s`) plus its
M/M/1 delay at the load shown (:func:`twin3d.physics.queueing.link_delay_s`,
capped at the simulator's 50 ms buffer).

Examples
--------
>>> fmt_bps(2.5e9), fmt_bps(0.0)
('2.50 Gbit/s', '0 bit/s')
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pxr import Usd, UsdGeom

__all__ = ["describe", "face_values", "fmt_bps", "link_latency_ms"]


def fmt_bps(v: float) -> str:
    """Bit rate with a readable prefix."""
    v = float(v)
    for scale, unit in ((1e12, "Tbit/s"), (1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")):
        if abs(v) >= scale:
            return f"{v / scale:.2f} {unit}"
    return f"{v:g} bit/s"


def link_latency_ms(length_m: float, load_bps: float, capacity_bps: float) -> float:
    """One-way latency of a link, ms: propagation plus queueing at ``load_bps``."""
    from twin3d.physics.fiber import propagation_delay_s
    from twin3d.physics.queueing import link_delay_s
    from twin3d.sim.engine import MAX_QUEUE_DELAY_S
    q = float(np.minimum(link_delay_s(max(load_bps, 0.0), max(capacity_bps, 0.0)), MAX_QUEUE_DELAY_S))
    return (float(propagation_delay_s(max(length_m, 0.0))) + q) * 1e3


def face_values(prim: Usd.Prim, item: int, time) -> dict[str, Any]:
    """Per-face values of the picked face (uniform primvars other than colours).

    A building chunk's ``twin:building_index`` is turned into the building's
    id and height.
    """
    out: dict[str, Any] = {}
    if not prim.IsA(UsdGeom.Mesh):
        return out
    for pv in UsdGeom.PrimvarsAPI(prim).GetPrimvars():
        name = pv.GetPrimvarName()
        if name in ("displayColor", "displayOpacity", "normals", "st") or \
                pv.GetInterpolation() != UsdGeom.Tokens.uniform:
            continue
        vals = pv.ComputeFlattened(time)
        if vals is not None and 0 <= item < len(vals):
            v = vals[item]
            out[str(name)] = float(v) if isinstance(v, float) else (int(v) if isinstance(v, int) else str(v))
    if "twin:building_index" in out:
        ids = prim.GetAttribute("twin:building_ids").Get()
        heights = prim.GetAttribute("twin:heights_m").Get()
        b = int(out.pop("twin:building_index"))
        if ids is not None and 0 <= b < len(ids):
            out["building"] = str(ids[b])
        if heights is not None and 0 <= b < len(heights):
            out["height_m"] = round(float(heights[b]), 1)
    return out


def describe(elem: Usd.Prim, attrs: dict, extra: dict | None = None) -> dict:
    """Inspector record: kind of element, title, rows of (label, value) and the raw attributes.

    ``type`` is ``link`` (curves with a capacity), ``site`` (a site Xform
    with a kind), or ``prim``; the what-if actions depend on it.
    """
    a = {k.removeprefix("twin:"): v for k, v in attrs.items()}
    if "capacity_bps" in a and "a" in a:
        kind = "link"
    elif elem.GetParent() and elem.GetParent().GetName() == "Sites" and "id" in a:
        kind = "site"
    else:
        kind = "prim"
    rows: list[list[str]] = []

    def row(label, value):
        rows.append([label, str(value)])

    row("id", a.get("id", elem.GetName()))
    row("prim", str(elem.GetPath()))
    if kind == "link":
        row("ends", f"{a.get('a')} - {a.get('b')}")
        row("state", a.get("state", "-"))
        load, cap = float(a.get("load_bps", 0.0)), float(a["capacity_bps"])
        row("load", fmt_bps(load))
        row("utilization", f"{100.0 * float(a.get('utilization', load / cap if cap else 0.0)):.1f} %")
        row("capacity", fmt_bps(cap))
        if "length_m" in a:
            row("length", f"{float(a['length_m']):.0f} m")
            lat = link_latency_ms(float(a["length_m"]), load, cap)
            row("latency", f"{lat:.3f} ms")
    elif kind == "site":
        row("kind", a.get("kind", "-"))
        row("state", a.get("state", "-"))
        if "load_bps" in a:
            row("load", fmt_bps(float(a["load_bps"])))
        if "power_w" in a:
            row("power", f"{float(a['power_w']):.0f} W")
        if "height_m" in a:
            row("height", f"{float(a['height_m']):.1f} m")
    else:
        row("type", elem.GetTypeName())
        for k, v in list(a.items())[:8]:
            if k != "id":
                row(k, v)
    for k, v in (extra or {}).items():
        row(k.removeprefix("twin:"), v)
    return {"type": kind, "id": str(a.get("id", elem.GetName())), "path": str(elem.GetPath()),
            "rows": rows}
