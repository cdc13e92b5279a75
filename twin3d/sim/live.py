"""A timeline whose events arrive while it runs: the episodes of the environments.

:class:`LiveTimeline` is a :class:`~twin3d.sim.events.Timeline` that is
told its events step by step (:meth:`LiveTimeline.add`) and is asked for
the steps in order. Its states equal those of a ``Timeline`` over the whole
event log (:attr:`LiveTimeline.log`), which is what a saved episode replays;
to stay cheap over a long episode it replays a compacted list in which an
event is dropped once nothing can read it any more: a ``set_weight``,
``set_capacity``, ``shed`` or ``pair_route`` overridden by a later one of the
same element, and a ``surge``, ``ddos``, ``cell_sleep`` or ``shed`` whose duration is over.
"""

from __future__ import annotations

import bisect

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
        self.add(sorted(scenario.events, key=lambda e: e.t))

    @property
    def scenario_spec(self) -> ScenarioSpec:
        """The scenario so far: the log as events (what a saved episode replays)."""
        s = self.scenario
        return ScenarioSpec(s.name, s.steps, s.step_s, s.profile, tuple(self.log), s.description,
                            s.start_hour)

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
            self.log.append(ev)
            if ev.kind == "restore":
                self._restores.setdefault(ev.target, []).append(ev.t)
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
        hidden.intersection_update(id(e) for e in self._events)
        return super().state(step)
