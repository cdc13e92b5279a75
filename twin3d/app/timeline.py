"""What happens at each step of a scenario: its events and its cascade waves, as page rows.

Read from the scenario layer's ``customLayerData["twin3d"]`` (``events``
and ``cascades`` by step key) or, for a what-if, from its run. A wave lists
the links it tripped with their utilization when they tripped (%), and what
failed before it.

Examples
--------
>>> wave_text({"wave": 1, "tripped": ["F-3"], "utilization": {"F-3": 1.24}, "caused_by": ["cut F-2"]})
'wave 1: tripped F-3 (124 %) after cut F-2'
"""

from __future__ import annotations

from typing import Any

__all__ = ["wave_text", "story", "story_of_record", "story_of_result"]


def wave_text(wave: dict[str, Any]) -> str:
    """One cascade wave in words."""
    util = dict(wave.get("utilization") or {})
    tripped = [f"{lk} ({100.0 * float(util[lk]):.0f} %)" if lk in util else str(lk)
               for lk in list(wave.get("tripped") or [])]
    cause = [str(c) for c in list(wave.get("caused_by") or [])]
    text = f"wave {int(wave.get('wave', 0))}: tripped {', '.join(tripped) or 'nothing'}"
    return text + (f" after {', '.join(cause)}" if cause else "")


def _row(t: int, hour, events, waves) -> dict:
    waves = sorted(waves, key=lambda w: int(w.get("wave", 0)))
    return {"t": int(t), "hour": "" if hour is None else f"{float(hour) % 24:04.1f} h",
            "events": [str(e) for e in events], "waves": [wave_text(w) for w in waves]}


def story_of_result(result) -> list[dict]:
    """Rows of a simulated :class:`~twin3d.sim.engine.ScenarioResult` (steps with something)."""
    return [_row(s.t, s.hour, s.events, s.waves) for s in result.steps if s.events or s.waves]


def story_of_record(rec: dict, hours: dict[int, float] | None = None) -> list[dict]:
    """Rows of a scenario layer's record (``events`` and ``cascades`` keyed ``t08``)."""
    hours = hours or {}
    by_t: dict[int, dict] = {}

    def at(key) -> dict | None:
        try:
            t = int(str(key).lstrip("t"))
        except ValueError:
            return None
        return by_t.setdefault(t, {"events": [], "waves": []})

    for key, evs in dict(rec.get("events") or {}).items():
        slot = at(key)
        if slot is not None:
            slot["events"] = list(evs)
    for key, casc in dict(rec.get("cascades") or {}).items():
        slot = at(key)
        if slot is not None:
            slot["waves"] = [dict(w) for w in dict(dict(casc).get("waves") or {}).values()]
    return [_row(t, hours.get(t), v["events"], v["waves"]) for t, v in sorted(by_t.items())]


def story(engine, name: str | None = None) -> list[dict]:
    """Steps of scenario ``name`` (default: the one shown) with events or cascade waves."""
    from twin3d.viz.scenarios import scenario_record
    name = name or engine.current
    if engine.whatif is not None and name in engine.whatif.results:
        return story_of_result(engine.whatif.results[name])
    hours = {r["t"]: r["hour"] for r in engine.kpi_rows(name) if "t" in r and "hour" in r}
    return story_of_record(scenario_record(engine.scenarios[name].stage, name), hours)
