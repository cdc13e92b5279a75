"""``twin3d check``: check a proposed change in the twin before it ships.

``twin3d check SCENE --change CHANGE.toml [--scenario NAME] [--json OUT]``
exits 0 when the change passes, 1 when it fails and 2 on bad input (one
line on stderr). ``--json`` is written on exit 0 and 1, atomically (a
temporary file, then :func:`os.replace`), so a reader never sees half a
report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .cli_common import err, load_with_status, out, status, write_json_atomic

__all__ = ["register", "summary_lines"]

#: New violations the terminal summary shows per check.
SHOWN = 3


def _describe(check: str, v: dict) -> str:
    if check == "loop":
        return f"{v['src']} -> {v['dst']}: loop {' -> '.join(v['cycle'] + v['cycle'][:1])}"
    if check == "black_hole":
        return f"{v['src']} -> {v['dst']}: black hole at {v['at']}"
    if check == "reachability":
        return f"{v['src']} -> {v['dst']}: no longer reachable"
    if check == "n1":
        why = (f"{v['lost_pairs']} pair(s) unreachable" if v["reason"] == "unreachable"
               else "SLA broken " + ", ".join(f"{k} {x:.4g}" for k, x in v["kpis"].items()))
        return f"no longer survives the failure of {v['element']}: {why}"
    if check == "sla":
        if v["kind"] == "utilization":
            return (f"step {v['step']} ({v['hour']:04.1f} h): link {v['link']} at "
                    f"{v['util']:.0%} (was {v['util_before']:.0%}, trips at {v['limit']:.0%})")
        if v["kind"] == "dropped_fraction":
            return (f"step {v['step']} ({v['hour']:04.1f} h): drops {v['value']:.2%} of the "
                    f"traffic (was {v['before']:.2%}, SLA {v['limit']:.2%})")
        return (f"step {v['step']} ({v['hour']:04.1f} h): latency p95 {v['value']:.3g} ms "
                f"(was {v['before']:.3g}, SLA {v['limit']:g})")
    if check == "coverage":
        return f"{v['kpi']} {v['after']:.4g} (was {v['before']:.4g}, SLA {v['limit']:g})"
    return json.dumps(v)


def summary_lines(report: dict) -> list[str]:
    """The short terminal summary: one line per check, the first few new violations, the verdict.

    Examples
    --------
    >>> r = {"verdict": "pass", "changes": [], "checks": {"loop": {"ok": True, "violations": []}}}
    >>> summary_lines(r)
    ['  loop          ok    0 new', 'verdict: PASS']
    """
    lines = []
    for name, c in report["checks"].items():
        vs = c["violations"]
        new = [v for v in vs if v.get("new", True)]
        state = "ok" if c["ok"] else "FAIL"
        extra = f", {len(vs) - len(new)} pre-existing" if len(vs) > len(new) else ""
        if "skipped" in c:
            extra += f" (skipped: {c['skipped']})"
        lines.append(f"  {name:<12}  {state:<4}  {len(new)} new{extra}")
        lines += [f"      {_describe(name, v)}" for v in new[:SHOWN]]
        if len(new) > SHOWN:
            lines.append(f"      ... and {len(new) - SHOWN} more (--json OUT lists them all)")
    lines.append(f"verdict: {report['verdict'].upper()}")
    return lines


def register(app: typer.Typer) -> None:
    """Add ``check`` to the ``twin3d`` app."""

    @app.command("check")
    def check_cmd(scene: Path = typer.Argument(..., help="Scene TOML."),
                  change: Path = typer.Option(..., "--change",
                                              # \[ : a literal bracket for rich's markup
                                              help=r"Change file (TOML: one \[\[change]] table "
                                                   "per change)."),
                  scenario: Optional[str] = typer.Option(None, "--scenario", "-s",
                                                         help="Check at every step of this scenario "
                                                              "(default: the busy hour, one step)."),
                  json_out: Optional[Path] = typer.Option(None, "--json",
                                                          help="Write the report as JSON here.")) -> None:
        """Check a proposed change before it ships: exit 0 pass, 1 fail, 2 bad input."""
        from .guard import check, parse_changes
        sc = load_with_status(scene)
        changes = parse_changes(change, sc)
        with status("checking the change"):
            report = check(sc, changes, scenario, change_file=change)
        n = len(changes)
        out.print(f"check of {change.name} ({n} change{'s' * (n != 1)}) on {sc.name}, "
                  f"{'scenario ' + report['scenario'] if report['scenario'] else 'busy hour'}, "
                  f"{report['seconds']:.2f} s", markup=False, emoji=False, highlight=False)
        for line in summary_lines(report):
            out.print(line, markup=False, emoji=False, highlight=False, soft_wrap=True)
        if json_out is not None:
            write_json_atomic(json_out, report)
            err.print(f"wrote {json_out}", markup=False, emoji=False, highlight=False)
        raise typer.Exit(0 if report["verdict"] == "pass" else 1)
