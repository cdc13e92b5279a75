"""A timeline whose events arrive while it runs: the episodes of the environments.

:class:`LiveTimeline` is a :class:`~twin3d.sim.events.Timeline` that is
told its events step by step (:meth:`LiveTimeline.add`) and is asked for
the steps in order. Its states equal those of a ``Timeline`` over the whole
event log (:attr:`LiveTimeline.log`), which is what a saved episode replays;
to stay cheap over a long episode it replays a compacted list in which an
event is dropped once nothing can read it any more: a ``set_weight``,
``set_capacity``, ``shed`` or ``pair_route`` overridden by a later one of the
same element, and a ``surge``, ``ddos``, ``cell_sleep`` or ``shed`` whose duration is over.

An agent that sets many link weights each step tells them as one vector
(:meth:`LiveTimeline.set_weights`) rather than as one ``set_weight`` event
per link: the states carry the weights in force as an array
(``StepState.link_weight``), and the log lists them as the ``set_weight``
events they stand for, so a saved episode replays them as any scenario.
"""

from __future__ import annotations

import bisect
import copy

from dataclasses import dataclass

import numpy as np

from ..scene import EventSpec, ScenarioSpec
from .events import StepState, Timeline

__all__ = ["LiveTimeline"]

#: Kinds whose latest event for an element replaces the earlier ones entirely.
_LATEST_WINS = {"set_weight": "link", "set_capacity": "link", "shed": ("src", "dst"),
                "pair_route": ("src", "dst")}
#: Kinds that only act while ``active(step)``.
_LASTING = ("surge", "ddos", "cell_sleep", "shed")


def _time(ev: EventSpec) -> int:
    return ev.t


def _key(ev: EventSpec):
    f = _LATEST_WINS[ev.kind]
    return (ev.kind, getattr(ev, f)) if isinstance(f, str) else (ev.kind, *(getattr(ev, x) for x in f))


def _outlasts(old: EventSpec, new: EventSpec) -> bool:
    """Whether lasting event ``old`` is still in force after ``new`` ends."""
    if old.kind not in _LASTING or new.duration is None:
        return False
    return old.duration is None or old.t + old.duration > new.t + new.duration


@dataclass(frozen=True)
class WeightChange:
    """Links' routing weights set at step ``t`` (one ``set_weight`` event per link)."""

    t: int
    link_index: np.ndarray       # (k,) int: positions in the timeline's link ids
    weight: np.ndarray           # (k,) float: the new weights, in the metric's unit

    def events(self, link_ids: list[str]) -> list[EventSpec]:
        """The ``set_weight`` events this change stands for, in link order."""
        return [EventSpec(self.t, "set_weight", link=link_ids[i], weight=float(w))
                for i, w in zip(self.link_index.tolist(), self.weight.tolist())]


class LiveTimeline(Timeline):
    """A scenario built while it runs, step after step.

    Parameters
    ----------
    scenario : ScenarioSpec
        Name, step count, step length and profile; its events, if any, are
        the first ones of the log.
    link_ids, site_ids, initial_site_state, link_capacity_bps, spare_capacity_bps
        As for :class:`Timeline`.

    Examples
    --------
    >>> from twin3d.scene import ScenarioSpec, EventSpec
    >>> tl = LiveTimeline(ScenarioSpec("ep", steps=3), ["F1"], ["S1"])
    >>> tl.add([EventSpec(0, "set_weight", link="F1", weight=2.0)])
    >>> tl.state(0).weight
    {'F1': 2.0}
    >>> tl.add([EventSpec(1, "fiber_cut", "F1"), EventSpec(1, "set_weight", link="F1", weight=5.0)])
    >>> s = tl.state(1); s.link_state["F1"], s.weight, len(tl.log)
    ('cut', {'F1': 5.0}, 3)

    Weights told as a vector:

    >>> tl = LiveTimeline(ScenarioSpec("ep", steps=3), ["F1", "F2"], ["S1"])
    >>> tl.set_weights(0, np.array([1]), np.array([4.0]))
    >>> tl.state(0).link_weight.tolist(), tl.scenario_spec.events[0].weight
    ([nan, 4.0], 4.0)
    """

    def __init__(self, scenario: ScenarioSpec, link_ids, site_ids, initial_site_state=None,
                 link_capacity_bps=None, spare_capacity_bps=None) -> None:
        super().__init__(ScenarioSpec(scenario.name, scenario.steps, scenario.step_s,
                                      scenario.profile, (), scenario.description,
                                      scenario.start_hour),
                         link_ids, site_ids, initial_site_state, link_capacity_bps,
                         spare_capacity_bps)
        #: Every event told so far, in the order told (stable by ``t``).
        self.log: list[EventSpec] = []
        self._latest: dict[tuple, EventSpec] = {}
        self._hidden: set[int] = set()        # id() of events overridden for good
        self._now = 0
        #: Weights told by set_weights: (n_links,) the latest per link (NaN: never set),
        #: and the changes not yet folded into it (their step is still ahead).
        self._weight: np.ndarray | None = None
        self._weight_ahead: list[WeightChange] = []
        self._weight_now: list[WeightChange] = []      # the changes of the step last asked for
        #: Restores told and not yet used to forget what they end (see :meth:`_forget_restored`).
        self._restores_ahead: list[EventSpec] = []
        #: The trips (link -> steps) no restore up to the step last asked for ended.
        self._open_trips: dict[str, set[int]] = {}
        self._links_only = frozenset(self.link_ids) - frozenset(self.site_ids)
        self.add(sorted(scenario.events, key=lambda e: e.t))

    @property
    def scenario_spec(self) -> ScenarioSpec:
        """The scenario so far: the log as events (what a saved episode replays)."""
        s = self.scenario
        if self._weight is None:
            events = list(self.log)
        else:       # a step's vector weights come first among its events (as simulated)
            keyed = [((x.t, 0), e) if isinstance(x, WeightChange) else ((x.t, 1), x)
                     for x in self.log
                     for e in (x.events(self.link_ids) if isinstance(x, WeightChange) else (x,))]
            events = [e for _, e in sorted(keyed, key=lambda k: k[0])]
        return ScenarioSpec(s.name, s.steps, s.step_s, s.profile, tuple(events), s.description,
                            s.start_hour)

    def fork(self) -> "LiveTimeline":
        """An independent copy (a lookahead steps it without touching this one)."""
        tl = copy.copy(self)
        tl.log, tl._events, tl._latest = list(self.log), list(self._events), dict(self._latest)
        tl._hidden = set(self._hidden)
        tl._trips = {k: set(v) for k, v in self._trips.items()}
        tl._restores = {k: list(v) for k, v in self._restores.items()}
        tl._weight_ahead, tl._weight_now = list(self._weight_ahead), list(self._weight_now)
        tl._restores_ahead = list(self._restores_ahead)
        tl._open_trips = {k: set(v) for k, v in self._open_trips.items()}
        return tl                      # _weight is replaced, never edited, once shared

    def set_weights(self, t: int, link_index, weight) -> None:
        """Set links' routing weights from step ``t`` on, as ``set_weight`` events would.

        Its ``set_weight`` events come first among the step's events (in
        ``StepState.weight_changes`` and in :attr:`scenario_spec`; the order
        of a step's events changes no state), and a timeline takes weights
        either this way or as ``set_weight`` events.

        Parameters
        ----------
        t : int
            The step (the current one or later).
        link_index : array_like of int
            (k,) positions of the links in ``link_ids``.
        weight : array_like of float
            (k,) their new weights, finite and > 0, in the metric's unit.

        Raises
        ------
        ValueError
            ``t`` is in the past, or set_weight events were told.
        """
        idx = np.asarray(link_index, dtype=np.int64).ravel()
        w = np.asarray(weight, dtype=float).ravel()
        if t < self._now or (self._weight_ahead and self._weight_ahead[-1].t > t):
            raise ValueError(f"weights at step {t} are in the past (now {self._now}, or weights "
                             "told for a later step)")
        if any(k[0] == "set_weight" for k in self._latest):
            raise ValueError("this timeline takes weights as set_weight events already")
        # both bounds in one reduction: as uint64 a negative position is past the last one
        if idx.shape != w.shape or (idx.size and np.maximum.reduce(idx.view(np.uint64))
                                    >= len(self.link_ids)):
            raise ValueError("link_index and weight must be (k,) arrays of link positions and weights")
        if self._weight is None:
            self._weight = np.full(len(self.link_ids), np.nan)
        change = WeightChange(int(t), idx, w.copy())
        self.log.append(change)
        self._weight_ahead.append(change)

    def add(self, events) -> None:
        """Append events at the current step or later (never in the past).

        Raises
        ------
        ValueError
            An event's ``t`` is before the step last asked for.
        """
        for ev in events:
            if ev.t < self._now:
                raise ValueError(f"event at step {ev.t} is in the past (now {self._now})")
            if ev.kind == "set_weight" and self._weight is not None:
                raise ValueError("this timeline takes weights as vectors (set_weights)")
            self.log.append(ev)
            if ev.kind == "restore":
                self._restores.setdefault(ev.target, []).append(ev.t)
                self._restores_ahead.append(ev)
            if ev.kind in _LATEST_WINS:
                old = self._latest.get(_key(ev))
                # an override at the same step or later hides the older one for good,
                # unless the older one lasts longer (a shed comes back when a shorter
                # later shed of the pair ends, as Timeline.state has it)
                if old is not None and old.t <= ev.t and not _outlasts(old, ev):
                    self._hidden.add(id(old))
                self._latest[_key(ev)] = ev
            # after every event at the same step: the order told on ties
            if not self._events or self._events[-1].t <= ev.t:
                self._events.append(ev)
            else:
                bisect.insort_right(self._events, ev, key=_time)

    def trip(self, link_ids, step: int) -> None:
        link_ids = list(link_ids)
        super().trip(link_ids, step)
        for l in link_ids:
            self._open_trips.setdefault(l, set()).add(int(step))

    def _trips_to_check(self) -> dict[str, set[int]]:
        return self._open_trips

    def _forget_restored(self, step: int) -> None:
        """Drop from the replay what the restores up to ``step`` made unreadable.

        A live timeline is asked for steps in order only, so from ``step`` on:
        a link's trips that a restore at or before ``step`` ended stay ended
        (:meth:`state` no longer checks them; ``_trips`` keeps every trip),
        and a restore before ``step`` of a link (not also a site id) sets it
        "up" whatever the ``fiber_cut`` and ``restore`` events of it before
        did: those and the restore leave the replay (it is not one of the
        step's own events any more; the log keeps them all). Every state
        from ``step`` on is the one the full replay gives.
        """
        done = [r for r in self._restores_ahead if r.t <= step]
        self._restores_ahead = [r for r in self._restores_ahead if r.t > step]
        for r in done:
            ats = self._open_trips.get(r.target)
            if ats:
                ats.difference_update([a for a in ats if a < r.t])
                if not ats:
                    del self._open_trips[r.target]
        past = {id(r) for r in done if r.t < step and r.target in self._links_only}
        self._restores_ahead += [r for r in done if r.t == step]    # used again next step
        if not past:
            return
        last = {e.target: i for i, e in enumerate(self._events) if id(e) in past}
        self._events = [e for i, e in enumerate(self._events)
                        if not (e.kind in ("fiber_cut", "restore") and i <= last.get(e.target, -1))]

    def state(self, step: int) -> StepState:
        """The state at ``step``: the current step or the next one."""
        if step < self._now:
            raise ValueError(f"a live timeline moves forward: step {step} is before {self._now}")
        self._now = step
        # lasting events that ended can no longer act: drop them from the replay
        hidden = self._hidden
        self._events = [e for e in self._events if id(e) not in hidden and not (
            e.kind in _LASTING and e.duration is not None and e.t + e.duration <= step)]
        # the log keeps every hidden event alive, so no id() is reused while listed
        if hidden:
            hidden.intersection_update(id(e) for e in self._events)
        if any(r.t <= step for r in self._restores_ahead):
            self._forget_restored(step)
        state = super().state(step)
        if self._weight is not None:
            if self._weight_ahead and self._weight_ahead[0].t <= step:
                self._weight = self._weight.copy()     # a snapshot may share the old array
                self._weight_now = ([c for c in self._weight_now if c.t == step]
                                    + [c for c in self._weight_ahead if c.t == step])
                for c in self._weight_ahead:
                    if c.t <= step:
                        self._weight[c.link_index] = c.weight
                self._weight_ahead = [c for c in self._weight_ahead if c.t > step]
            elif self._weight_now and self._weight_now[0].t != step:
                self._weight_now = []
            state.link_weight = self._weight
            state.weight_changes = list(self._weight_now)
        return state
