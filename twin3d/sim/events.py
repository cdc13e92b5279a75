"""Scenario events on a timeline -> the state of every element at each step.

Events apply at the start of their step, in the order of ``t`` (ties in file
order). Failures (``fiber_cut``, ``site_outage``, ``power_outage``) and
``power_down`` hold until a ``restore`` names the element, or, for
``power_down``, until its ``duration`` ends. A link tripped by a cascade
stays down from the next step until a ``restore`` names it; it can trip
again after that (every trip is kept, so each one holds for its own
interval). ``surge`` and ``ddos`` last
``duration`` steps (to the end when absent). ``add_capacity`` multiplies a
link's capacity from its step on; ``add_site`` brings up a site that the
scene lists with state ``down`` (a planned site).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..scene import EventSpec, ScenarioSpec

__all__ = ["StepState", "Timeline", "LINK_STATES", "SITE_STATES"]

#: Link states: up, cut by an event, tripped by overload in a cascade.
LINK_STATES = ("up", "cut", "tripped")
#: Site states: up, down (outage), off (power outage), sleep (energy saving).
SITE_STATES = ("up", "down", "off", "sleep")


@dataclass
class StepState:
    """What holds at one step, before routing and cascades."""

    step: int
    link_state: dict[str, str]
    site_state: dict[str, str]
    capacity_factor: dict[str, float]
    surges: list[EventSpec] = field(default_factory=list)
    ddos: list[EventSpec] = field(default_factory=list)
    events: list[EventSpec] = field(default_factory=list)   # the events applied at this step


class Timeline:
    """Replays a scenario's events step by step.

    Parameters
    ----------
    scenario : ScenarioSpec
    link_ids, site_ids : list of str
        Every element of the twin.
    initial_site_state : dict, optional
        Site states before step 0 (a site with state ``down`` in the scene
        data is a planned site that ``add_site`` brings up).

    Examples
    --------
    >>> from twin3d.scene import ScenarioSpec, EventSpec
    >>> sc = ScenarioSpec("cut", steps=4, events=(EventSpec(1, "fiber_cut", "F1"),
    ...                                           EventSpec(3, "restore", "F1")))
    >>> tl = Timeline(sc, ["F1"], ["S1"])
    >>> [tl.state(t).link_state["F1"] for t in range(4)]
    ['up', 'cut', 'cut', 'up']
    """

    def __init__(self, scenario: ScenarioSpec, link_ids: list[str], site_ids: list[str],
                 initial_site_state: dict[str, str] | None = None) -> None:
        self.scenario = scenario
        self.link_ids = list(link_ids)
        self.site_ids = list(site_ids)
        self._initial_sites = {s: (initial_site_state or {}).get(s, "up") for s in site_ids}
        self._events = sorted(scenario.events, key=lambda e: e.t)    # stable: file order on ties
        self._trips: dict[str, set[int]] = {}
        self._restores: dict[str, list[int]] = {}
        for ev in self._events:
            if ev.kind == "restore":
                self._restores.setdefault(ev.target, []).append(ev.t)

    def trip(self, link_ids, step: int) -> None:
        """Record links tripped by the cascade of ``step``.

        Each trip holds from step ``step + 1`` until the first ``restore`` of
        the link after ``step``; a link that trips again after a restore
        starts a new interval. Recording the same step twice (a step
        simulated again) changes nothing.
        """
        for l in link_ids:
            self._trips.setdefault(l, set()).add(int(step))

    def tripped(self, link_id: str, step: int) -> bool:
        """Whether a trip recorded before ``step`` still holds at ``step``.

        Examples
        --------
        >>> from twin3d.scene import ScenarioSpec, EventSpec
        >>> sc = ScenarioSpec("x", steps=6, events=(EventSpec(2, "restore", "F1"),))
        >>> tl = Timeline(sc, ["F1"], [])
        >>> tl.trip(["F1"], 0); tl.trip(["F1"], 3)
        >>> [tl.tripped("F1", t) for t in range(6)]
        [False, True, False, False, True, True]
        """
        restores = self._restores.get(link_id, [])
        return any(at < step and not any(at < r <= step for r in restores)
                   for at in self._trips.get(link_id, ()))

    def state(self, step: int) -> StepState:
        """The state at ``step`` (events with ``t <= step`` applied)."""
        links = {l: "up" for l in self.link_ids}
        sites = dict(self._initial_sites)
        cap = {l: 1.0 for l in self.link_ids}
        applied = []
        for ev in self._events:
            if ev.t > step:
                break
            if ev.t == step:
                applied.append(ev)
            self._apply(ev, step, links, sites, cap)
        for l in self._trips:
            if links[l] == "up" and self.tripped(l, step):
                links[l] = "tripped"
        surges = [e for e in self._events if e.kind == "surge" and e.active(step)]
        ddos = [e for e in self._events if e.kind == "ddos" and e.active(step)]
        return StepState(step, links, sites, cap, surges, ddos, applied)

    def _apply(self, ev: EventSpec, step: int, links: dict, sites: dict, cap: dict) -> None:
        k, target = ev.kind, ev.target
        if k == "fiber_cut":
            links[target] = "cut"
        elif k == "site_outage":
            sites[target] = "down"
        elif k == "power_outage":
            sites[target] = "off"
        elif k == "power_down":
            if ev.active(step) and sites[target] == "up":
                sites[target] = "sleep"
            elif not ev.active(step) and sites[target] == "sleep":
                sites[target] = "up"
        elif k == "add_site":
            sites[target] = "up"
        elif k == "add_capacity":
            cap[target] *= ev.factor
        elif k == "restore":
            if target in links:
                links[target] = "up"
            if target in sites:
                sites[target] = "up"
