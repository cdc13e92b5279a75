"""``twin3d check`` and ``twin3d redteam``: check a proposed change before it ships.

``twin3d check SCENE --change CHANGE.toml [--scenario NAME] [--json OUT]``
exits 0 when the change passes, 1 when it fails and 2 on bad input (one
line on stderr). ``--json`` is written on exit 0 and 1, atomically (a
temporary file, then :func:`os.replace`), so a reader never sees half a
report.

``twin3d redteam SCENE [--change CHANGE.toml] --budget K --objective
dropped_bps|sla_steps [--surges] [--scenario NAME] [--seed S] [--max-evals N]
[--json OUT] [--write-scenario OUT.toml]`` searches the worst failure sets
(:func:`twin3d.guard.redteam`) and exits 0, or 2 on bad input;
``--write-scenario`` writes a copy of the scene with the worst sets
appended as ``[[scenario]]`` tables, atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .cli_common import err, load_with_status, out, status, write_json_atomic, write_text_atomic

__all__ = ["register", "summary_lines", "redteam_lines"]

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


def _damage(objective: str, x: float) -> str:
    return f"{x / 1e9:.4g} Gbit/s dropped" if objective == "dropped_bps" else f"{x:g} SLA steps"


def redteam_lines(report: dict) -> list[str]:
    """The short terminal summary of a red-team report: per side the damage and the worst set.

    Examples
    --------
    >>> side = {"damage": 2.5e9, "baseline": 0.0, "method": "exhaustive", "evaluations": 325,
    ...         "search_seconds": 0.4, "worst": [{"element": "link:AB", "event": "fiber_cut"}]}
    >>> redteam_lines({"objective": "dropped_bps", "without_change": side, "with_change": None})
    ['  without the change: 2.5 Gbit/s dropped (0 Gbit/s dropped with no failure)', \
'      worst: fiber_cut link:AB', '      exhaustive, 325 sets in 0.4 s']
    """
    obj, lines = report["objective"], []
    for key, label in (("without_change", "without the change"), ("with_change", "with the change")):
        side = report.get(key)
        if side is None:
            continue
        worst = ", ".join(f"{a['event']} {a['element']}" for a in side["worst"]) or "none does harm"
        lines += [f"  {label}: {_damage(obj, side['damage'])} "
                  f"({_damage(obj, side['baseline'])} with no failure)",
                  f"      worst: {worst}",
                  f"      {side['method']}, {side['evaluations']} sets in {side['search_seconds']:.3g} s"]
    if report.get("with_change") is not None:
        inc = report["damage_increase"]
        verb = "raises" if inc > 0 else ("lowers" if inc < 0 else "leaves")
        lines.append(f"the change {verb} the worst damage"
                     + (f" by {_damage(obj, abs(inc))}" if inc else " unchanged"))
    return lines


def _integer(path, option: str, text: str) -> int:
    from .errors import InputError
    try:
        return int(text)
    except ValueError:
        raise InputError(path, f"must be an integer, got {text!r}", f"option {option}") from None


def register(app: typer.Typer) -> None:
    """Add ``check`` and ``redteam`` to the ``twin3d`` app."""

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

    @app.command("redteam")
    def redteam_cmd(scene: Path = typer.Argument(..., help="Scene TOML."),
                    budget: str = typer.Option(..., "--budget", "-k", metavar="<int>",
                                               help="Largest number of elements failed together."),
                    objective: str = typer.Option(..., "--objective",
                                                  help="dropped_bps (busy hour) or sla_steps (a day)."),
                    change: Optional[Path] = typer.Option(None, "--change",
                                                          help="Change file: attack the network "
                                                               "with it and without it."),
                    surges: bool = typer.Option(False, "--surges",
                                                help="Attacks include a demand surge at a site."),
                    scenario: Optional[str] = typer.Option(None, "--scenario", "-s",
                                                           help="Measure on this scenario of the scene."),
                    seed: Optional[int] = typer.Option(None, "--seed",
                                                       help="Orders equal-damage sets (default: "
                                                            "the scene's seed)."),
                    max_evals: str = typer.Option("5000", "--max-evals", metavar="<int>",
                                                  help="Exhaustive up to this many sets, else a "
                                                       "beam search scoring at most this many."),
                    json_out: Optional[Path] = typer.Option(None, "--json",
                                                            help="Write the report as JSON here."),
                    write_scenario: Optional[Path] = typer.Option(
                        None, "--write-scenario",
                        help=r"Write a copy of the scene with the worst sets as \[\[scenario]]s.")
                    ) -> None:
        """Search the failure sets of up to K elements that do the most damage."""
        from .guard import parse_changes, redteam
        from .guard.redteam import _check_args, objective_scenario
        from .guard.redteam_scene import scene_with_attack
        sc = load_with_status(scene)
        # integers parsed here: a bad one is one line naming the option, as every bad input
        budget, max_evals = (_integer(sc.spec.path, n, v) for n, v in
                             (("--budget", budget), ("--max-evals", max_evals)))
        _check_args(sc.spec.path, budget, objective, max_evals, 3.0)   # before the slow part
        changes = parse_changes(change, sc) if change is not None else None
        with status("searching the worst failures"):
            report = redteam(sc, changes, budget=budget, objective=objective, surges=surges,
                             scenario=scenario, seed=seed, max_evals=max_evals, change_file=change)
        where = "busy hour" if report["scenario"] == "guard_busy_hour" else f"scenario {report['scenario']}"
        out.print(f"redteam of {sc.name}: up to {budget} failure{'s' * (budget != 1)}, "
                  f"{objective} ({where}), {report['seconds']:.2f} s",
                  markup=False, emoji=False, highlight=False, soft_wrap=True)
        for line in redteam_lines(report):
            out.print(line, markup=False, emoji=False, highlight=False, soft_wrap=True)
        if write_scenario is not None:
            text, names = scene_with_attack(sc, report, objective_scenario(sc, objective, scenario),
                                            write_scenario)
            write_text_atomic(write_scenario, text)
            err.print(f"wrote {write_scenario} (scenarios {', '.join(names)})",
                      markup=False, emoji=False, highlight=False)
        if json_out is not None:
            write_json_atomic(json_out, report)
            err.print(f"wrote {json_out}", markup=False, emoji=False, highlight=False)
        raise typer.Exit(0)
