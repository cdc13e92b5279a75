"""What the inspector shows for a picked element: id, state, load, utilization, ...

Values come from the element prim's ``twin:`` attributes at the step shown
(the scenario's time samples). A link's latency is its one-way fibre
propagation (:func:`twin3d.physics.fiber.propagation_delay_s`) plus its
M/M/1 delay at the load shown (:func:`twin3d.physics.queueing.link_delay_s`,
capped at the simulator's 50 ms buffer).

Every value is shown rounded, with its unit, read from the name's suffix
(:func:`fmt_value`: ``_dbm`` dBm, ``_db`` dB, ``_m`` m, ``_bps`` bit/s with
a prefix, ``_w`` W, ``_ms`` ms, ``_pct`` %; a utilization, stored as a
fraction, as a percentage). Arrays are not listed (a building chunk's 480
heights say nothing in a table; the picked face's own value is shown).

Examples
--------
>>> fmt_bps(2.5e9), fmt_bps(0.0)
('2.50 Gbit/s', '0 bit/s')
>>> fmt_value("rsrp_dbm", -64.66727447509766), fmt_value("utilization", 0.4321)
('-64.7 dBm', '43.2 %')
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pxr import Usd, UsdGeom

__all__ = ["describe", "criticality_rows", "face_values", "fmt_bps", "fmt_value", "link_latency_ms"]

#: Name suffix -> (scale, unit, decimals) of the inspector's numbers.
_SUFFIX_UNITS = [("_dbm", 1.0, "dBm", 1), ("_db", 1.0, "dB", 1), ("_ms", 1.0, "ms", 2),
                 ("_pct", 1.0, "%", 1), ("_kw", 1.0, "kW", 2), ("_w", 1.0, "W", 0),
                 ("_mhz", 1.0, "MHz", 1), ("_hz", 1e-6, "MHz", 1), ("_deg", 1.0, "°", 1),
                 ("_km", 1.0, "km", 2), ("_m", 1.0, "m", 1), ("_s", 1.0, "s", 1)]


def fmt_bps(v: float) -> str:
    """Bit rate with a readable prefix."""
    v = float(v)
    for scale, unit in ((1e12, "Tbit/s"), (1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")):
        if abs(v) >= scale:
            return f"{v / scale:.2f} {unit}"
    return f"{v:g} bit/s"


def fmt_value(name: str, value: Any) -> str:
    """``value`` rounded, with the unit its attribute ``name`` carries (see the module notes)."""
    key = str(name).rsplit(":", 1)[-1].lower()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt_value(name, v) for v in value)
    if isinstance(value, (int, np.integer)) and not key.endswith("_bps"):
        return str(int(value))
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(v):
        return "no signal" if key.endswith(("_dbm", "_db")) and v < 0 else "-"
    if key.endswith("_bps"):
        return fmt_bps(v)
    if key in ("utilization", "util") or key.endswith(("_utilization", "_util")):
        return f"{100.0 * v:.1f} %"
    for suffix, scale, unit, decimals in _SUFFIX_UNITS:
        if key.endswith(suffix):
            return f"{v * scale:.{decimals}f} {unit}"
    return f"{v:.4g}"


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


def _label(name: str) -> str:
    """Row label of an attribute: its last name part without the unit suffix the value shows."""
    key = str(name).rsplit(":", 1)[-1]
    for suffix in ("_bps", *(u[0] for u in _SUFFIX_UNITS)):
        if key.lower().endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    return key.replace("_", " ")


def _is_summary(v: Any) -> bool:
    """An array :func:`twin3d.viz.read.prim_attributes` summarised as ``[N values]``."""
    return isinstance(v, str) and v.startswith("[") and v.endswith(" values]")


def _with_ci(text, lo_text, hi_text) -> str:
    return f"{text} [{lo_text}, {hi_text}]" if lo_text != "-" and hi_text != "-" else text


def criticality_rows(a: dict) -> list[list[str]]:
    """Rows of an element's criticality (``twin:`` prefix removed from the keys), with the
    95 % interval in brackets; empty without a criticality layer.

    Examples
    --------
    >>> criticality_rows({"criticality_lost_bps": 2e9, "criticality_lost_bps_ci_low": 1e9,
    ...                   "criticality_lost_bps_ci_high": 3e9, "criticality_rank": 4})
    [['criticality rank', '4'], ['traffic lost if it fails', '2.00 Gbit/s [1.00 Gbit/s, 3.00 Gbit/s]']]
    """
    rows = []
    if a.get("criticality_rank"):
        rows.append(["criticality rank", str(int(a["criticality_rank"]))])
    for key, label, fmt in (("criticality_lost_bps", "traffic lost if it fails", fmt_bps),
                            ("criticality_sla_minutes", "SLA minutes lost if it fails",
                             lambda v: f"{float(v):.1f} min")):
        if key not in a:
            continue
        vals = [a.get(k) for k in (key, f"{key}_ci_low", f"{key}_ci_high")]
        texts = ["-" if v is None or not np.isfinite(float(v)) else fmt(v) for v in vals]
        rows.append([label, _with_ci(*texts)])
    return rows


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
        shown = [(k, v) for k, v in a.items() if k != "id" and not _is_summary(v)
                 and not k.startswith("primvars:") and not k.startswith("criticality_")]
        units = str(a.get("units", ""))
        for k, v in shown[:8]:
            text = fmt_value(k, v)
            if units and k.startswith("colormap_") and text.lstrip("-").replace(".", "").isdigit():
                text = f"{text} {units}"        # a colour map's range is in the mesh's units
            row(_label(k), text)
    rows += criticality_rows(a)
    for k, v in (extra or {}).items():
        if not _is_summary(v):
            row(_label(k), fmt_value(k, v))
    return {"type": kind, "id": str(a.get("id", elem.GetName())), "path": str(elem.GetPath()),
            "rows": rows}
