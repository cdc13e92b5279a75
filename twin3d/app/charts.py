"""KPI charts as small inline SVG: one polyline per KPI over the steps, a marker at the step shown.

Server-rendered strings, so the page needs no charting library.

Examples
--------
>>> svg = kpi_svg("served", [0.0, 1.0, 2.0], step_index=1, units="Gbit/s")
>>> svg.startswith("<svg") and "polyline" in svg and 'data-step="1"' in svg
True
"""

from __future__ import annotations

import html
import math

__all__ = ["kpi_svg", "CHART_KPIS", "charts_html"]

#: KPIs charted: (key, title, scale, units).
CHART_KPIS = [("served_bps", "Served", 1e-9, "Gbit/s"), ("dropped_bps", "Dropped", 1e-9, "Gbit/s"),
              ("util_max", "Max link utilization", 100.0, "%"),
              ("latency_p95_ms", "Latency p95", 1.0, "ms"),
              ("coverage_pct", "Coverage", 1.0, "%"), ("energy_w", "Energy", 1e-3, "kW")]

_W, _H, _PAD = 300, 70, 4


def kpi_svg(title: str, values: list[float], step_index: int, units: str = "",
            color: str = "#4fc3f7") -> str:
    """An SVG line chart of ``values`` with a vertical marker at ``step_index``."""
    vals = [v if v is not None and not (isinstance(v, float) and math.isnan(v)) else None for v in values]
    finite = [v for v in vals if v is not None]
    n = len(vals)
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    x = lambda i: _PAD + (_W - 2 * _PAD) * (i / max(n - 1, 1))          # noqa: E731
    y = lambda v: _H - _PAD - (_H - 2 * _PAD - 12) * ((v - lo) / (hi - lo))   # noqa: E731
    pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vals) if v is not None)
    cur = vals[step_index] if 0 <= step_index < n else None
    label = f"{html.escape(title)}: {cur:.3g} {html.escape(units)}" if cur is not None else html.escape(title)
    mx = x(step_index)
    return (f'<svg class="kpi-chart" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
            f'data-step="{step_index}" xmlns="http://www.w3.org/2000/svg">'
            f'<rect width="{_W}" height="{_H}" fill="#1e2328" rx="3"/>'
            f'<text x="6" y="12" fill="#ddd" font-size="11" font-family="sans-serif">{label}</text>'
            f'<text x="{_W - 6}" y="12" fill="#999" font-size="9" text-anchor="end" '
            f'font-family="sans-serif">{hi:.3g} / {lo:.3g}</text>'
            f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.6"/>'
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="14" y2="{_H - 2}" stroke="#ff7043" '
            f'stroke-width="1.5"/></svg>')


def charts_html(rows: list[dict], step: int) -> str:
    """All :data:`CHART_KPIS` present in ``rows`` (KPI table), stacked."""
    if not rows:
        return '<div class="text-caption">No KPI table on this stage.</div>'
    steps = [r.get("t", i) for i, r in enumerate(rows)]
    idx = steps.index(step) if step in steps else 0
    out = []
    for key, title, scale, units in CHART_KPIS:
        vals = [r.get(key) for r in rows]
        if all(v is None for v in vals):
            continue
        vals = [None if v is None else float(v) * scale for v in vals]
        out.append(kpi_svg(title, vals, idx, units))
    return "".join(out)
