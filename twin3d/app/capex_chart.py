"""The capex ranking of a build as a small inline SVG bar chart (the viewer's "Capex" panel).

``twin3d capex ... --stage BUILD`` writes its JSON to
``BUILD/analysis/capex.json`` (:data:`twin3d.sweep.capex.CAPEX_FILE`);
:func:`capex_panel` finds it next to the stage the viewer shows and draws
two bar panels, best candidate on top: SLA minutes saved and traffic at
risk reduced, both per million of the currency, with the 95 % intervals as
whiskers, a zero line (the baseline network: no gain) and the baseline's
own expected SLA minutes and dropped traffic in the caption.

The path is fixed (never one from the page). Candidate names come from a
user's file, so every text is escaped; a file that cannot be read gives no
panel, not an error.

Examples
--------
>>> doc = {"currency": "EUR", "baseline": {"sla_minutes": 4.0, "dropped_bps": 2e9, "draws": 9},
...        "ranking": [{"rank": 1, "name": "<b>x</b>", "sla_minutes_saved_per_cost": 2e-6,
...                     "sla_minutes_saved_per_cost_ci95": [1e-6, 3e-6],
...                     "dropped_bps_reduced_per_cost": 1.0,
...                     "dropped_bps_reduced_per_cost_ci95": [None, None]}]}
>>> svg = capex_svg(doc)
>>> svg.count('class="bar"'), "&lt;b&gt;x&lt;/b&gt;" in svg, "<b>" in svg
(2, True, False)
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

from twin3d.sweep.capex import CAPEX_FILE
from twin3d.usd.layers import ROOT_NAME

from .charts import fmt_num

__all__ = ["CAPEX_METRICS", "build_folder", "read_capex", "capex_svg", "capex_panel"]

#: Costs are shown per this many units of the currency.
COST_UNIT = 1e6
#: Bars drawn: (key in a ranking row, title, scale to the shown unit, unit before the currency).
CAPEX_METRICS = [("sla_minutes_saved_per_cost", "SLA min saved per draw", COST_UNIT, "min"),
                 ("dropped_bps_reduced_per_cost", "Traffic at risk reduced", COST_UNIT / 1e6,
                  "Mbit/s")]

#: Chart width, label column, right margin, row height, panel header (px).
_W, _LABEL, _RIGHT, _ROW, _HEAD = 308, 112, 10, 16, 26
_NAME_CHARS = 18
_FONT = 'font-family="sans-serif"'


def build_folder(source: str | Path | None) -> Path | None:
    """The ``twin3d build`` folder a viewer source belongs to (None: a scene, or no build).

    ``BUILD``, ``BUILD/twin.usda`` and ``BUILD/scenarios/<name>.usda`` all
    give ``BUILD``.

    Examples
    --------
    >>> build_folder("scenes/helsinki.toml") is None
    True
    """
    if source is None:
        return None
    p = Path(source)
    if p.suffix.lower() == ".toml":
        return None
    folder = p if p.is_dir() else p.parent
    for cand in (folder, folder.parent):
        if (cand / ROOT_NAME).is_file():
            return cand
    return None


def read_capex(build: Path | None) -> dict | None:
    """The capex JSON of a build folder, or None (no file, unreadable, or no ranking)."""
    if build is None:
        return None
    path = Path(build) / CAPEX_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("ranking"), list):
        return None
    return doc


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _short(name: str) -> str:
    return name if len(name) <= _NAME_CHARS else name[:_NAME_CHARS - 1] + "\u2026"


def _panel(rows: list[dict], key: str, title: str, scale: float, unit: str, currency: str,
           top: float) -> tuple[list[str], float]:
    """One bar panel starting at ``top`` (px); returns its SVG parts and its bottom."""
    vals = [_num(r.get(key)) * scale for r in rows]
    cis = []
    for r in rows:
        ci = r.get(f"{key}_ci95") or [None, None]
        lo, hi = (_num(ci[0]) * scale, _num(ci[1]) * scale) if len(ci) == 2 else (math.nan,) * 2
        cis.append((lo, hi))
    finite = [v for v in vals + [c for pair in cis for c in pair] if math.isfinite(v)] + [0.0]
    lo_x, hi_x = min(finite), max(finite)
    if hi_x - lo_x < 1e-300:
        hi_x = lo_x + 1.0
    x0, x1 = _LABEL, _W - _RIGHT
    x = lambda v: x0 + (x1 - x0) * (v - lo_x) / (hi_x - lo_x)     # noqa: E731
    label = html.escape(f"{title} ({unit} per M{currency})")
    parts = [f'<text x="6" y="{top + 11:.1f}" fill="#ddd" font-size="10" class="axis-label" '
             f'{_FONT}>{label}</text>']
    y_top = top + 16
    bottom = y_top + _ROW * len(rows)
    zx = x(0.0)
    for i, (r, v, (lo, hi)) in enumerate(zip(rows, vals, cis)):
        y = y_top + i * _ROW
        name = str(r.get("name", ""))
        rank = r.get("rank", i + 1)
        tip = html.escape(f"{rank}. {name}: {fmt_num(v)} {unit} per M{currency}"
                          + (f" [{fmt_num(lo)}, {fmt_num(hi)}]" if math.isfinite(lo) else ""))
        parts.append(f'<g class="row" data-rank="{html.escape(str(rank))}"><title>{tip}</title>'
                     f'<text x="{x0 - 4}" y="{y + 11:.1f}" fill="#ccc" font-size="9" '
                     f'text-anchor="end" class="name" {_FONT}>'
                     f'{html.escape(f"{rank}. {_short(name)}")}</text>')
        if math.isfinite(v):
            left, right = sorted((zx, x(v)))
            parts.append(f'<rect class="bar" x="{left:.2f}" y="{y + 3:.1f}" '
                         f'width="{right - left:.2f}" height="{_ROW - 6}" fill="#3b7dd8" '
                         f'data-value="{v!r}" data-name="{html.escape(name)}"/>')
        if math.isfinite(lo) and math.isfinite(hi):
            ym = y + _ROW / 2
            parts.append(f'<g class="ci" data-lo="{lo!r}" data-hi="{hi!r}" stroke="#eee">'
                         f'<line x1="{x(lo):.2f}" x2="{x(hi):.2f}" y1="{ym:.1f}" y2="{ym:.1f}"/>'
                         f'<line x1="{x(lo):.2f}" x2="{x(lo):.2f}" y1="{ym - 3:.1f}" y2="{ym + 3:.1f}"/>'
                         f'<line x1="{x(hi):.2f}" x2="{x(hi):.2f}" y1="{ym - 3:.1f}" y2="{ym + 3:.1f}"/>'
                         f'</g>')
        parts.append("</g>")
    # the zero line is the baseline network: a bar to its right buys resilience
    parts.append(f'<line class="zero" x1="{zx:.2f}" x2="{zx:.2f}" y1="{y_top}" y2="{bottom}" '
                 f'stroke="#999" stroke-dasharray="3 2"/>')
    for v, anchor in ((lo_x, "start"), (hi_x, "end")):
        parts.append(f'<text x="{x(v):.1f}" y="{bottom + 9:.1f}" fill="#999" font-size="8" '
                     f'text-anchor="{anchor}" {_FONT}>{fmt_num(v)}</text>')
    return parts, bottom + 12


def capex_svg(doc: dict) -> str:
    """An SVG of a capex JSON's ranking: one bar per candidate and metric, best on top.

    Parameters
    ----------
    doc : dict
        What ``twin3d capex --json`` writes (``currency``, ``baseline``,
        ``ranking``); rows are drawn in the order of ``ranking``.

    Returns
    -------
    str
        ``<svg class="capex-chart">``: per metric (:data:`CAPEX_METRICS`) a
        ``rect.bar`` per candidate carrying ``data-value`` (the value shown,
        per million of the currency) and ``data-name``, the 95 % interval as
        ``g.ci`` whiskers, and the zero line; the caption gives the baseline.
    """
    rows = [r for r in doc.get("ranking", []) if isinstance(r, dict)]
    currency = str(doc.get("currency", ""))
    base = doc.get("baseline") or {}
    caption = (f"baseline per draw: {fmt_num(_num(base.get('sla_minutes')))} SLA min, "
               f"{fmt_num(_num(base.get('dropped_bps')) / 1e9)} Gbit/s dropped")
    parts = [f'<text x="6" y="12" fill="#ff7043" font-size="10" class="baseline" {_FONT}>'
             f'{html.escape(caption)}</text>']
    top = 18.0
    for key, title, scale, unit in CAPEX_METRICS:
        more, top = _panel(rows, key, title, scale, unit, currency, top)
        parts += more
    height = math.ceil(top + 2)
    # scales to the panel's width (the drawer's expansion panel is narrower than _W)
    return (f'<svg class="capex-chart" width="{_W}" height="{height}" viewBox="0 0 {_W} {height}" '
            f'style="width: 100%; height: auto" '
            f'xmlns="http://www.w3.org/2000/svg"><rect width="{_W}" height="{height}" '
            f'fill="#1e2328" rx="3"/>' + "".join(parts) + "</svg>")


def capex_panel(source: str | Path | None) -> dict:
    """The page's capex state for a viewer source: ``svg`` and ``title`` ("" when no ranking).

    Examples
    --------
    >>> capex_panel("scenes/helsinki.toml")
    {'svg': '', 'title': ''}
    """
    doc = read_capex(build_folder(source))
    if doc is None:
        return {"svg": "", "title": ""}
    s = doc.get("settings") or {}
    draws = (doc.get("baseline") or {}).get("draws", "?")
    title = (f"{len(doc['ranking'])} candidates from {doc.get('candidates_file', '?')}, "
             f"{draws} draws ({s.get('faults', '?')} faults), ranked by SLA minutes saved per "
             f"unit cost; bars: mean gain, whiskers: 95 % interval")
    return {"svg": capex_svg(doc), "title": title}
