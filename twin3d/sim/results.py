"""What a run returns: :class:`StepResult` per step, :class:`ScenarioResult` per
scenario; the ``[sla]`` check of a step's KPIs (:func:`sla_violated`) and the
text of a step's events (:func:`_describe`). Moved out of
:mod:`twin3d.sim.engine`, which re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..physics.coverage import RadioMap
from ..physics.deferred import Deferred, deferred_attribute
from ..scene import ScenarioSpec


@dataclass
class StepResult:
    """One step of a scenario; link and site arrays follow the result's id lists."""

    t: int
    hour: float
    kpis: dict[str, float]
    link_load_bps: np.ndarray
    link_util: np.ndarray
    link_state: list[str]
    site_state: list[str]
    site_load_bps: np.ndarray      # routable demand at each site (backhaul at its site), bit/s
    site_power_w: np.ndarray
    radio_key: bytes | None
    link_capacity_bps: np.ndarray | None = None
    waves: list[dict] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    #: Routing weight of each link this step, in the metric's unit (after set_weight).
    link_weight: np.ndarray | None = None
    #: Cells ("<site>/<k>") asleep by cell_sleep this step.
    cell_sleep: set[str] = field(default_factory=set)
    #: Cell ("<site>/<k>") -> parameters changed by sector events, in force this step.
    cell_params: dict[str, dict[str, float]] = field(default_factory=dict)
    #: The demands routed this step: (src node index, dst node index, bit/s) arrays.
    demand: tuple | None = None
    #: (n_cells,) air-interface load (resource share; > 1 is overloaded), radio scenes.
    cell_load: np.ndarray | None = None
    #: (n_cells,) traffic each cell serves, bit/s, radio scenes.
    cell_served_bps: np.ndarray | None = None
    #: (n_demands,) end-to-end latency of each routed demand (``demand``'s order), s.
    demand_latency_s: np.ndarray | None = None
    #: (n_demands,) bit/s of each demand delivered after tail drop.
    demand_delivered_bps: np.ndarray | None = None
    #: (n_links,) bool: the link is in service after the cascade (``link_state`` "up").
    link_up: np.ndarray | None = None
    #: The :data:`LATER_RADIO_KPIS` a step left for later (``radio_kpis="later"``),
    #: as a :class:`~twin3d.physics.deferred.Deferred` giving them; None when
    #: ``kpis`` holds them all. See :meth:`complete_kpis`.
    kpis_later: Deferred | None = None

    def complete_kpis(self) -> dict[str, float]:
        """``kpis`` with the KPIs left for later computed in (the same values a step
        with every radio KPI gives); ``kpis`` itself, updated once."""
        if self.kpis_later is not None:
            self.kpis.update(self.kpis_later.value())
            self.kpis_later = None
        return self.kpis


# laid out on the first read when the router computed it in another order
deferred_attribute(StepResult, "demand_latency_s")
# summed on the first read (a step of the compiled path: Simulator._routable_site_load)
deferred_attribute(StepResult, "site_load_bps")


@dataclass
class ScenarioResult:
    """Every step of one scenario, and the radio maps its steps used."""

    name: str
    spec: ScenarioSpec
    link_ids: list[str]
    site_ids: list[str]
    steps: list[StepResult]
    radio_maps: dict[bytes, RadioMap]

    def kpi_table(self) -> list[dict]:
        """[{"t": step, "hour": h, kpi: value, ...}] for kpis.json and tables."""
        return [{"t": s.t, "hour": s.hour, **s.kpis, "cascade_waves": len(s.waves)} for s in self.steps]

    def kpi_json(self) -> dict:
        """This scenario for kpis.json: steps with KPIs (NaN as null), events and waves."""
        steps = []
        for row, s in zip(self.kpi_table(), self.steps):
            clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
            steps.append({**clean, "events": list(s.events), "waves": list(s.waves)})
        return {"description": self.spec.description, "step_s": self.spec.step_s,
                "sla_violation_steps": self.sla_violation_steps, "sla_minutes": self.sla_minutes,
                "steps": steps}

    @property
    def sla_violation_steps(self) -> int:
        """Steps that breach the scene's ``[sla]`` (SANDBOX.md section 3)."""
        return int(sum(bool(s.kpis.get("sla_violated", False)) for s in self.steps))

    @property
    def sla_minutes(self) -> float:
        """Violating steps times ``step_s`` / 60."""
        return self.sla_violation_steps * float(self.spec.step_s) / 60.0


def _describe_weight(link: str, weight: float) -> str:
    """:func:`_describe` of ``EventSpec(t, "set_weight", link=link, weight=weight)``."""
    return f"set_weight {link} weight {weight:g}"


def _describe(ev) -> str:
    what = ev.element
    extra = (f" x{ev.factor:g}" if ev.factor else "") + (f" {ev.bps / 1e9:g} Gbit/s" if ev.bps else "")
    if ev.kind == "set_weight":
        extra += f" weight {ev.weight:g}"
    elif ev.kind == "set_capacity":
        extra += f" {ev.capacity_bps / 1e9:g} Gbit/s"
    elif ev.kind == "sector":
        extra += "".join(f" {n} {getattr(ev, n):g}" for n in ("tilt_deg", "p_tx_dbm", "azimuth_deg")
                         if getattr(ev, n) is not None)
    elif ev.kind == "static_route":
        extra += f" to {ev.dst} via {ev.next_hop}"
    elif ev.kind == "acl":
        extra += f" {ev.action} {ev.src}->{ev.dst}"
    elif ev.kind == "shed":
        what, extra = f"{ev.src}->{ev.dst}", f" {100 * ev.factor:g} %"
    elif ev.kind == "pair_route":
        what, extra = f"{ev.src}->{ev.dst}", (f" via {'-'.join(ev.path)}" if ev.path else " ended")
    return f"{ev.kind} {what}{extra}"


def sla_violated(sla, kpis: dict, radio: bool) -> bool:
    """Whether one step's KPIs breach the ``[sla]`` bounds (NaN KPIs breach nothing).

    Examples
    --------
    >>> from twin3d.scene import SlaSpec
    >>> k = {"latency_p95_ms": 10.0, "util_max": 0.95, "offered_bps": 1e9, "dropped_bps": 0.0}
    >>> sla_violated(SlaSpec(), k, radio=False), sla_violated(SlaSpec(util_max=1.0), k, radio=False)
    (True, False)
    """
    offered = kpis.get("offered_bps", 0.0)
    dropped = kpis.get("dropped_bps", 0.0) / offered if offered > 0 else 0.0
    breach = (kpis.get("latency_p95_ms", float("nan")) > sla.latency_p95_ms
              or kpis.get("util_max", float("nan")) > sla.util_max
              or dropped > sla.dropped_fraction_max)
    if radio:
        breach = breach or (kpis.get("coverage_pct", float("nan")) < sla.coverage_pct_min
                            or kpis.get("throughput_p5_bps", float("nan")) < sla.throughput_p5_bps_min)
    return bool(breach)
