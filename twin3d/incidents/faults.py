"""Incident faults: what breaks, where and when, as scenario events.

An incident is one fault on one element at an onset step of a short window
(SANDBOX.md sections 2 and 5). Each fault kind replays through the scenario
event of the same meaning, so an incident is also a scenario that
``twin3d build`` can show:

============================  ==================  ====================
fault kind                    element             event
============================  ==================  ====================
``fiber_cut``                 ``link:<id>``       ``fiber_cut``
``site_outage``               ``site:<id>``       ``site_outage``
``power_outage``              ``site:<id>``       ``power_outage``
``surge``                     ``site:<id>``       ``surge`` (factor)
``ddos``                      ``site:<id>``       ``ddos`` (bps)
``capacity_degradation``      ``link:<id>``       ``degrade_capacity``
``misconfiguration``          ``link:<id>``       ``set_weight``
``cell_sleep_stuck``          ``cell:<site>/<k>`` ``cell_sleep``
``none``                      ``""``              (no event)
============================  ==================  ====================
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ids import parse_id
from ..scene import EventSpec

__all__ = ["FAULT_KINDS", "ELEMENT_KIND", "Fault", "fault_events", "WindowSpec"]

#: Every fault kind, ``none`` last.
FAULT_KINDS = ("fiber_cut", "site_outage", "power_outage", "surge", "ddos",
               "capacity_degradation", "misconfiguration", "cell_sleep_stuck", "none")
#: The element kind each fault acts on.
ELEMENT_KIND = {"fiber_cut": "link", "site_outage": "site", "power_outage": "site",
                "surge": "site", "ddos": "site", "capacity_degradation": "link",
                "misconfiguration": "link", "cell_sleep_stuck": "cell", "none": ""}


@dataclass(frozen=True)
class WindowSpec:
    """The time an incident is watched: ``steps`` steps of ``step_s`` seconds.

    ``start_hour`` places step 0 on the diurnal profile; ``demand_factor``
    scales the whole demand (a busier or quieter day than the scene's).
    """

    start_hour: float
    steps: int = 12
    step_s: float = 300.0
    demand_factor: float = 1.0


@dataclass(frozen=True)
class Fault:
    """One fault: a kind on a typed element from step ``onset``.

    ``magnitude`` is the kind's parameter: the capacity factor kept
    (``capacity_degradation``, in (0, 1)), the new IGP weight
    (``misconfiguration``, in the metric's unit), the demand factor
    (``surge``) or the attack's bit/s (``ddos``). ``until`` is the step the
    fault is repaired (a ``restore``), None when it holds to the end.
    An onset below 0 is clamped to 0: the fault was there before the window.

    Examples
    --------
    >>> [e.kind for e in fault_events([Fault("fiber_cut", "link:L1", 3, until=6)])]
    ['fiber_cut', 'restore']
    """

    kind: str
    element: str
    onset: int
    magnitude: float | None = None
    until: int | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        """The element's id without its kind prefix ("" for ``none``)."""
        return parse_id(self.element)[1] if self.element else ""


def fault_events(faults: list[Fault]) -> list[EventSpec]:
    """The scenario events that replay ``faults`` (``none`` adds nothing).

    Raises
    ------
    ValueError
        An unknown kind, or a kind without the magnitude it needs.
    """
    out: list[EventSpec] = []
    for f in faults:
        t, name, m = max(0, f.onset), f.name, f.magnitude
        k = f.kind
        if k not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {k!r}")
        if k in ("surge", "ddos", "capacity_degradation", "misconfiguration") and m is None:
            raise ValueError(f"a {k} fault needs a magnitude")
        if k in ("fiber_cut", "site_outage", "power_outage"):
            out.append(EventSpec(t, k, target=name))
        elif k == "surge":
            out.append(EventSpec(t, "surge", target=name, factor=float(m)))
        elif k == "ddos":
            out.append(EventSpec(t, "ddos", target=name, bps=float(m)))
        elif k == "capacity_degradation":
            out.append(EventSpec(t, "degrade_capacity", link=name, factor=float(m)))
        elif k == "misconfiguration":
            out.append(EventSpec(t, "set_weight", link=name, weight=float(m)))
        elif k == "cell_sleep_stuck":
            out.append(EventSpec(t, "cell_sleep", cell=name,
                                 duration=None if f.until is None else max(1, f.until - t)))
        if f.until is not None and k != "none" and k != "cell_sleep_stuck":
            if k in ("fiber_cut", "site_outage", "power_outage"):
                out.append(EventSpec(f.until, "restore", target=name))
            elif k in ("surge", "ddos"):
                out[-1] = _with_duration(out[-1], max(1, f.until - t))
    return out


def _with_duration(ev: EventSpec, duration: int) -> EventSpec:
    from dataclasses import replace
    return replace(ev, duration=duration)
