"""KPI charts as small inline SVG: one line per KPI over the steps, a marker at the step shown.

Each chart has a value axis (its unit, three ticks) and a step axis, and
shows the value of any step under the pointer (a hover label, and an SVG
``<title>`` tooltip). A what-if is drawn over its baseline: the what-if's
line solid, the scenario it was made on dashed grey.

Server-rendered strings, so the page needs no charting library.

Examples
--------
>>> svg = kpi_svg("served", [0.0, 1.0, 2.0], step_index=1, units="Gbit/s")
>>> svg.startswith("<svg") and "polyline" in svg and 'data-step="1"' in svg
True
>>> "step 2: 2 Gbit/s" in svg
True
"""

from __future__ import annotations

import html
import math

__all__ = ["kpi_svg", "CHART_KPIS", "charts_html", "fmt_num"]

#: KPIs charted: (key, title, scale, units).
CHART_KPIS = [("served_bps", "Served", 1e-9, "Gbit/s"), ("dropped_bps", "Dropped", 1e-9, "Gbit/s"),
              ("util_max", "Max link utilization", 100.0, "%"),
              ("latency_p95_ms", "Latency p95", 1.0, "ms"),
              ("coverage_pct", "Coverage", 1.0, "%"), ("energy_w", "Energy", 1e-3, "kW")]

#: Chart size and margins (px): left for the value axis, bottom for the step axis.
_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 308, 96, 40, 8, 16, 16
_STYLE = ("<style>.hv text{visibility:hidden}.hv:hover text{visibility:visible}"
          ".hv:hover line{stroke:#fff}</style>")


def fmt_num(v: float | None) -> str:
    """Three significant digits, no exponent for everyday magnitudes (``-`` for none)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.3g}" if abs(v) < 1e5 else f"{v:.3e}"


def _tick_labels(values: list[float]) -> list[str]:
    """Labels of axis ticks with just enough digits to tell them apart (3 to 6 significant)."""
    for digits in range(3, 7):
        labels = [f"{v:.{digits}g}" for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def _clean(values) -> list[float | None]:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]


def kpi_svg(title: str, values: list[float], step_index: int, units: str = "",
            color: str = "#4fc3f7", steps: list[int] | None = None,
            base: list[float] | None = None) -> str:
    """An SVG line chart of ``values`` (with ``base`` dashed under it) and a marker at ``step_index``.

    Parameters
    ----------
    title, units : str
        Chart title and the values' unit (already scaled).
    values : list of float
        One value per step (None or NaN: no value).
    step_index : int
        Index of the step shown (the marker).
    steps : list of int, optional
        Step numbers of the values (default 0..n-1), for the axis and hover labels.
    base : list of float, optional
        The baseline's values, drawn dashed (a what-if over the scenario it was made on).
    """
    vals, ref = _clean(values), _clean(base) if base is not None else None
    n = len(vals)
    steps = list(steps) if steps is not None else list(range(n))
    finite = [v for v in vals + (ref or []) if v is not None]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    x0, x1, y0, y1 = _LEFT, _W - _RIGHT, _H - _BOTTOM, _TOP + 4
    x = lambda i: x0 + (x1 - x0) * (i / max(n - 1, 1))          # noqa: E731
    y = lambda v: y0 - (y0 - y1) * ((v - lo) / (hi - lo))         # noqa: E731
    u = html.escape(units)

    def line(vs, extra: str) -> str:
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vs) if v is not None)
        return f'<polyline points="{pts}" fill="none" {extra}/>'

    cur = vals[step_index] if 0 <= step_index < n else None
    head = html.escape(title) + (f" ({u})" if u else "")
    now = f"step {steps[step_index]}: {fmt_num(cur)} {u}".rstrip() if cur is not None else ""
    font = 'font-family="sans-serif"'
    parts = [f'<svg class="kpi-chart" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
             f'data-step="{step_index}" xmlns="http://www.w3.org/2000/svg">', _STYLE,
             f'<rect width="{_W}" height="{_H}" fill="#1e2328" rx="3"/>',
             f'<text x="6" y="11" fill="#ddd" font-size="11" {font}>{head}</text>',
             f'<text x="{_W - 6}" y="11" fill="#ff7043" font-size="10" text-anchor="end" '
             f'class="now" {font}>{now}</text>',
             # axes: value ticks at lo, middle, hi; step ticks at the first, middle, last step
             f'<line x1="{x0}" x2="{x0}" y1="{y1}" y2="{y0}" stroke="#666"/>',
             f'<line x1="{x0}" x2="{x1}" y1="{y0}" y2="{y0}" stroke="#666"/>']
    ticks = (lo, (lo + hi) / 2, hi)
    for v, text in zip(ticks, _tick_labels(list(ticks))):
        parts.append(f'<text x="{x0 - 3}" y="{y(v) + 3:.1f}" fill="#999" font-size="8" '
                     f'text-anchor="end" {font}>{text}</text>')
    for i in sorted({0, (n - 1) // 2, n - 1} if n else set()):
        parts.append(f'<text x="{x(i):.1f}" y="{_H - 5}" fill="#999" font-size="8" '
                     f'text-anchor="middle" {font}>{steps[i]}</text>')
    parts.append(f'<text x="{x0 - 3}" y="{_H - 4}" fill="#777" font-size="8" text-anchor="end" '
                 f'{font}>step</text>')
    if ref is not None:
        parts.append(line(ref, 'class="base" stroke="#9e9e9e" stroke-width="1.3" '
                               'stroke-dasharray="3 2"'))
    parts.append(line(vals, f'class="value" stroke="{color}" stroke-width="1.6"'))
    mx = x(step_index)
    parts.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{y1}" y2="{y0}" stroke="#ff7043" '
                 f'stroke-width="1.5"/>')
    # hover: one transparent band per step, its value (and the baseline's) in a label and a title
    band = (x1 - x0) / max(n - 1, 1)
    for i, v in enumerate(vals):
        tip = f"step {steps[i]}: {fmt_num(v)} {u}".rstrip()
        if ref is not None and i < len(ref):
            tip += f" (baseline {fmt_num(ref[i])})"
        tx = min(max(x(i), x0 + 75), x1 - 75)
        parts.append(f'<g class="hv" data-step="{steps[i]}"><title>{tip}</title>'
                     f'<rect x="{x(i) - band / 2:.1f}" y="{y1}" width="{band:.1f}" height="{y0 - y1}" '
                     f'fill="transparent"/><line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y1}" y2="{y0}" '
                     f'stroke="transparent"/><text x="{tx:.1f}" y="{y1 + 9}" fill="#fff" font-size="9" '
                     f'text-anchor="middle" stroke="#1e2328" stroke-width="3" paint-order="stroke" '
                     f'{font}>{tip}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def charts_html(rows: list[dict], step: int, base_rows: list[dict] | None = None,
                base_name: str = "") -> str:
    """All :data:`CHART_KPIS` present in ``rows`` (KPI table), stacked.

    ``base_rows``: the KPI table of the scenario a what-if was made on,
    drawn dashed under each line, with a key naming ``base_name``.
    """
    if not rows:
        return '<div class="text-caption">No KPI table on this stage.</div>'
    steps = [r.get("t", i) for i, r in enumerate(rows)]
    idx = steps.index(step) if step in steps else 0
    base_by_t = {r.get("t"): r for r in base_rows} if base_rows else None
    out = []
    if base_by_t is not None:
        out.append('<div class="text-caption" id="chart-key"><span style="color:#4fc3f7">'
                   '&#8212; what-if</span> &#160; <span style="color:#9e9e9e">- - baseline: '
                   f'{html.escape(base_name)}</span></div>')
    for key, title, scale, units in CHART_KPIS:
        vals = [r.get(key) for r in rows]
        if all(v is None for v in vals):
            continue
        vals = [None if v is None else float(v) * scale for v in vals]
        base = None
        if base_by_t is not None:
            base = [base_by_t.get(t, {}).get(key) for t in steps]
            base = [None if v is None else float(v) * scale for v in base]
        out.append(kpi_svg(title, vals, idx, units, steps=steps, base=base))
    return "".join(out)
