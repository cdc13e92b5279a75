"""The red team's worst attack as a ``[[scenario]]`` that ``twin3d build`` plays.

:func:`scene_with_attack` returns the scene file's text with one scenario
per side of a :func:`~twin3d.guard.redteam.redteam` report appended:

* ``redteam_<objective>_k<K>``: the measured scenario (by default the busy
  hour, one step at 21:00, or the day for ``sla_steps``) with the worst
  failures without the change at step 0. Without ``--scenario``, its events
  are exactly those failures.
* ``redteam_<objective>_k<K>_with_change`` (with a change): the change's
  events at step 0, then the worst failures with the change.

A scene copied to another folder keeps its ``[[source]]`` files: their
relative ``path`` values are rewritten relative to the new file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import fields
from pathlib import Path

from ..scene import EventSpec, ScenarioSpec

__all__ = ["event_dict", "scenario_toml", "scene_with_attack"]

_PATH_LINE = re.compile(r"""^(\s*path\s*=\s*)(["'])(.*?)\2(\s*(?:#.*)?)$""")
_TABLE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.]+)\s*\]\]?\s*(?:#.*)?$")


def event_dict(ev: EventSpec) -> dict:
    """The event as a scenario event table: its set fields, in declaration order.

    Examples
    --------
    >>> event_dict(EventSpec(0, "fiber_cut", target="AB"))
    {'t': 0, 'kind': 'fiber_cut', 'target': 'AB'}
    """
    return {f.name: getattr(ev, f.name) for f in fields(ev) if getattr(ev, f.name) is not None}


def _value(x) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return repr(x)
    return json.dumps(str(x), ensure_ascii=False)     # a JSON string is a TOML basic string


def scenario_toml(name: str, sc: ScenarioSpec, events: list[dict], description: str) -> str:
    """A ``[[scenario]]`` table: ``sc``'s timing and own events, then ``events`` at step 0.

    Examples
    --------
    >>> from twin3d.guard.state import busy_hour_scenario
    >>> print(scenario_toml("worst", busy_hour_scenario(),
    ...                     [{"t": 0, "kind": "fiber_cut", "target": "AB"}], "a cut"))
    [[scenario]]
    name = "worst"
    description = "a cut"
    steps = 1
    step_s = 3600.0
    profile = "diurnal"
    start_hour = 21.0
    events = [
      { t = 0, kind = "fiber_cut", target = "AB" },
    ]
    <BLANKLINE>
    """
    rows = [event_dict(e) for e in sc.events] + [{**e, "t": 0} for e in events]
    lines = ["[[scenario]]", f"name = {_value(name)}", f"description = {_value(description)}",
             f"steps = {sc.steps}", f"step_s = {float(sc.step_s)!r}", f"profile = {_value(sc.profile)}",
             f"start_hour = {float(sc.start_hour)!r}", "events = ["]
    lines += ["  { " + ", ".join(f"{k} = {_value(v)}" for k, v in row.items()) + " }," for row in rows]
    lines.append("]")
    return "\n".join(lines) + "\n"


def _rebase_sources(text: str, scene_dir: Path, out_dir: Path) -> str:
    """``text`` with each ``[[source]]`` relative ``path`` made relative to ``out_dir``."""
    if scene_dir.resolve() == out_dir.resolve():
        return text
    out, table = [], None
    for line in text.splitlines(keepends=True):
        m = _TABLE.match(line)
        if m:
            table = m.group(1)
        p = _PATH_LINE.match(line.rstrip("\r\n"))
        if table == "source" and p and not os.path.isabs(p.group(3)):
            target = (scene_dir / p.group(3)).resolve()
            rel = Path(os.path.relpath(target, out_dir.resolve())).as_posix()
            end = line[len(line.rstrip("\r\n")):]
            line = f"{p.group(1)}{_value(rel)}{p.group(4)}{end}"
        out.append(line)
    return "".join(out)


def _unique(name: str, taken: set[str]) -> str:
    got, i = name, 2
    while got.casefold() in taken:
        got, i = f"{name}_{i}", i + 1
    taken.add(got.casefold())
    return got


def scene_with_attack(scene, report: dict, sc: ScenarioSpec, out_path: str | Path) -> tuple[str, list[str]]:
    """The scene file's text with the report's worst attacks appended as scenarios.

    Parameters
    ----------
    scene : Scene
        The loaded scene the report was made on (its file is copied).
    report : dict
        :func:`~twin3d.guard.redteam.redteam`'s report.
    sc : ScenarioSpec
        The scenario the objective was measured on
        (:func:`~twin3d.guard.redteam.objective_scenario`).
    out_path : str or Path
        Where the text will be written (source paths are made relative to it).

    Returns
    -------
    (str, list of str)
        The new scene text and the names of the scenarios appended.
    """
    path = Path(scene.spec.path)
    text = _rebase_sources(path.read_text(encoding="utf-8"), path.parent, Path(out_path).parent)
    taken = {s.name.casefold() for s in scene.spec.scenarios}
    base = f"redteam_{report['objective']}_k{report['budget']}"
    blocks, names = [], []
    sides = [("without_change", "", [])]
    if report.get("with_change"):
        sides.append(("with_change", "_with_change", report["change_events"]))
    for key, suffix, context in sides:
        side = report[key]
        name = _unique(base + suffix, taken)
        worst = ", ".join(a["element"] for a in side["worst"]) or "no failure"
        what = "the change, then " if context else ""
        desc = (f"twin3d redteam: {what}the worst set of up to {report['budget']} failures "
                f"({worst}); {report['objective']} {side['damage']:.6g}")
        blocks.append(scenario_toml(name, sc, [*context, *side["events"]], desc))
        names.append(name)
    sep = "" if text.endswith("\n") else "\n"
    return text + sep + "\n" + "\n".join(blocks), names
