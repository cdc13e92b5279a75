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

The SANDBOX kinds (SANDBOX.md section 2) hold from their step on until
another event changes the same thing: ``set_weight`` sets a link's routing
weight (both directions); ``set_capacity`` sets a link's capacity,
``degrade_capacity`` multiplies it by a factor in (0, 1), ``activate_spare``
adds the link's ``spare_capacity_bps`` once; these compose in event order
with ``add_capacity``. ``sector`` changes a cell's tilt, power or azimuth.
``cell_sleep`` silences one cell for ``duration`` steps (to the end when
absent); its site keeps routing. ``restore`` undoes failures only (cut,
trip, outage, power outage, power_down): weights, capacities, sector
settings and sleeping cells stay as the events left them.
``shed`` drops a share ``factor`` of one (src, dst) demand for ``duration``
steps (to the end when absent; the latest shed of a pair wins), as
admission control would. ``static_route`` and ``acl`` hold from their step
on (a later static route for the same node and destination replaces an
earlier one) and are listed in ``StepState.forwarding``; the simulator
routes a step with any of them in force through
:mod:`twin3d.physics.forwarding`. ``pair_route`` pins the traffic of one
(src, dst) pair to an explicit path from its step on (the latest of a pair
wins; an empty ``path`` ends it), listed in ``StepState.pair_route``; see
:mod:`twin3d.physics.pinned` for what the simulator does with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..scene import EventSpec, ScenarioSpec

__all__ = ["StepState", "Timeline", "LINK_STATES", "SITE_STATES"]

#: Link states: up, cut by an event, tripped by overload in a cascade.
LINK_STATES = ("up", "cut", "tripped")
#: Site states: up, down (outage), off (power outage), sleep (energy saving).
SITE_STATES = ("up", "down", "off", "sleep")
#: Kinds in force while ``active(step)`` that a state lists (power_down acts on sites).
_LASTING_KINDS = frozenset(("surge", "ddos", "cell_sleep", "shed"))


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
    #: Links whose routing weight an event set: link id -> weight (metric unit).
    weight: dict[str, float] = field(default_factory=dict)
    #: Capacity of every link, bit/s (None when the timeline was not given capacities).
    capacity_bps: dict[str, float] | None = None
    #: Cells ("<site>/<k>") asleep by a cell_sleep event.
    cell_sleep: set[str] = field(default_factory=set)
    #: Cell ("<site>/<k>") -> {parameter: value} set by sector events.
    sector: dict[str, dict[str, float]] = field(default_factory=dict)
    #: static_route and acl events in force.
    forwarding: list[EventSpec] = field(default_factory=list)
    #: (src, dst) -> share of that demand shed by a shed event in force (the latest wins).
    shed: dict[tuple[str, str], float] = field(default_factory=dict)
    #: (src, dst) -> the site ids its traffic is pinned to by a pair_route in force.
    pair_route: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    #: (n_links,) weights told as vectors (:meth:`LiveTimeline.set_weights`), NaN
    #: where never set; None when the weights come as set_weight events (``weight``).
    link_weight: np.ndarray | None = None
    #: The vector weight changes at this step (described first among its events).
    weight_changes: list = field(default_factory=list)
    #: Links whose capacity an event changed (set while the events replay).
    capacity_changed: set[str] = field(default_factory=set)


class _Applied:
    """What the events replayed for a state set besides element states and capacities
    (the :class:`StepState` fields of the same names; a plain object: made every state)."""

    __slots__ = ("weight", "capacity_changed", "sector", "forwarding", "pair_route")

    def __init__(self) -> None:
        self.weight: dict[str, float] = {}
        self.capacity_changed: set[str] = set()
        self.sector: dict[str, dict[str, float]] = {}
        self.forwarding: list[EventSpec] = []
        self.pair_route: dict[tuple[str, str], tuple[str, ...]] = {}


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
    link_capacity_bps, spare_capacity_bps : dict, optional
        Link id -> capacity and spare capacity, bit/s: with them each state
        carries ``capacity_bps`` (set_capacity, activate_spare).

    Examples
    --------
    >>> from twin3d.scene import ScenarioSpec, EventSpec
    >>> sc = ScenarioSpec("cut", steps=4, events=(EventSpec(1, "fiber_cut", "F1"),
    ...                                           EventSpec(3, "restore", "F1")))
    >>> tl = Timeline(sc, ["F1"], ["S1"])
    >>> [tl.state(t).link_state["F1"] for t in range(4)]
    ['up', 'cut', 'cut', 'up']

    The SANDBOX kinds hold from their step on (a cell sleeps ``duration`` steps):

    >>> sc = ScenarioSpec("w", steps=4, events=(
    ...     EventSpec(1, "set_weight", link="F1", weight=3.0),
    ...     EventSpec(1, "degrade_capacity", link="F1", factor=0.5),
    ...     EventSpec(2, "cell_sleep", cell="S1/1", duration=1)))
    >>> tl = Timeline(sc, ["F1"], ["S1"], link_capacity_bps={"F1": 10e9})
    >>> [(tl.state(t).weight, tl.state(t).capacity_bps["F1"], tl.state(t).cell_sleep)
    ...  for t in range(4)]                                       # doctest: +NORMALIZE_WHITESPACE
    [({}, 10000000000.0, set()), ({'F1': 3.0}, 5000000000.0, set()),
     ({'F1': 3.0}, 5000000000.0, {'S1/1'}), ({'F1': 3.0}, 5000000000.0, set())]
    """

    def __init__(self, scenario: ScenarioSpec, link_ids: list[str], site_ids: list[str],
                 initial_site_state: dict[str, str] | None = None,
                 link_capacity_bps: dict[str, float] | None = None,
                 spare_capacity_bps: dict[str, float] | None = None) -> None:
        self.scenario = scenario
        self.link_ids = list(link_ids)
        self.site_ids = list(site_ids)
        self._initial_sites = {s: (initial_site_state or {}).get(s, "up") for s in site_ids}
        self._events = sorted(scenario.events, key=lambda e: e.t)    # stable: file order on ties
        self._base_cap = None if link_capacity_bps is None else dict(link_capacity_bps)
        if self._base_cap is None and any(e.kind in ("set_capacity", "activate_spare")
                                          for e in self._events):
            raise ValueError("set_capacity and activate_spare need link_capacity_bps "
                             "(use Simulator.timeline)")
        self._spare = dict(spare_capacity_bps or {})
        self._trips: dict[str, set[int]] = {}
        self._restores: dict[str, list[int]] = {}
        self._cap0: dict[str, float] | None = None
        self._all_up = dict.fromkeys(self.link_ids, "up")       # copied by every state
        self._all_one = dict.fromkeys(self.link_ids, 1.0)
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
        return self._holds(self._trips.get(link_id, ()), link_id, step)

    def _trips_to_check(self) -> dict[str, set[int]]:
        """Link -> trip steps that :meth:`state` checks (every trip recorded)."""
        return self._trips

    def _holds(self, trips, link_id: str, step: int) -> bool:
        """Whether one of ``trips`` (steps) of the link holds at ``step``."""
        restores = self._restores.get(link_id, ())
        for at in trips:     # plain loops: called per link and step
            if at < step:
                for r in restores:
                    if at < r <= step:
                        break
                else:
                    return True
        return False

    def state(self, step: int) -> StepState:
        """The state at ``step`` (events with ``t <= step`` applied)."""
        links = dict(self._all_up)        # a copy of a dict is quicker than building it
        sites = dict(self._initial_sites)
        if self._cap0 is None:          # every link's starting capacity (1.0: a factor)
            base = self._base_cap or {}
            self._cap0 = {l: float(base.get(l, 1.0)) for l in self.link_ids}
        cap = dict(self._cap0)
        extra = _Applied()
        spared: set[str] = set()
        applied = []
        surges, ddos, sleeping, shed = [], [], set(), {}
        for ev in self._events:
            if ev.t > step:
                break
            if ev.t == step:
                applied.append(ev)
            self._apply(ev, step, links, sites, cap, extra, spared)
        for ev in self._events:         # lasting events in force (any t: active() tests it)
            k = ev.kind
            if k in _LASTING_KINDS and ev.active(step):
                if k == "surge":
                    surges.append(ev)
                elif k == "ddos":
                    ddos.append(ev)
                elif k == "cell_sleep":
                    sleeping.add(ev.cell)
                else:
                    shed[(ev.src, ev.dst)] = ev.factor
        for l, trips in self._trips_to_check().items():
            if links[l] == "up" and self._holds(trips, l, step):
                links[l] = "tripped"
        if self._base_cap is None:
            factor, cap_bps = cap, None
        else:
            # a capacity no event changed is its base: the factor is base / base = 1.0
            base = self._base_cap
            factor = dict(self._all_one)
            for l in extra.capacity_changed:
                factor[l] = cap[l] / base[l] if 0 < base.get(l, 0) < float("inf") else 1.0
            cap_bps = cap
        return StepState(step, links, sites, factor, surges, ddos, applied, weight=extra.weight,
                         capacity_bps=cap_bps, cell_sleep=sleeping, sector=extra.sector,
                         forwarding=extra.forwarding, shed=shed, pair_route=extra.pair_route)

    def _apply(self, ev: EventSpec, step: int, links: dict, sites: dict, cap: dict,
               extra: "_Applied", spared: set) -> None:
        k, target = ev.kind, ev.target
        if k == "set_weight":
            extra.weight[ev.link] = ev.weight
        elif k == "set_capacity":
            cap[ev.link] = ev.capacity_bps
            extra.capacity_changed.add(ev.link)
        elif k == "degrade_capacity":
            cap[ev.link] *= ev.factor
            extra.capacity_changed.add(ev.link)
        elif k == "activate_spare":
            if ev.link not in spared:
                spared.add(ev.link)
                cap[ev.link] += self._spare.get(ev.link, 0.0)
                extra.capacity_changed.add(ev.link)
        elif k == "sector":
            p = extra.sector.setdefault(f"{ev.site}/{ev.sector}", {})
            p.update({n: getattr(ev, n) for n in ("tilt_deg", "p_tx_dbm", "azimuth_deg")
                      if getattr(ev, n) is not None})
        elif k in ("static_route", "acl"):
            extra.forwarding.append(ev)
        elif k == "pair_route":
            extra.pair_route.pop((ev.src, ev.dst), None)      # a later route replaces it
            if ev.path:
                extra.pair_route[(ev.src, ev.dst)] = ev.path
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
            extra.capacity_changed.add(target)
        elif k == "restore":
            if target in links:
                links[target] = "up"
            if target in sites:
                sites[target] = "up"
