"""Sample labelled incidents: a fault kind, an element, a window, magnitudes, compounds.

Each incident draws from its own generator ``np.random.default_rng([seed,
incident_id])``, so an incident is the same whatever the order, the number
of incidents or the number of workers. Kinds are balanced exactly: every
block of ``K`` consecutive ids holds each of the ``K`` kinds that apply to
the scene once, in an order drawn from ``default_rng([seed, block, 1])``
(``cell_sleep_stuck`` applies only to scenes with radio cells). A ``mix``
(kind -> weight) draws each incident's kind with those weights instead.

An incident is observable: its fault must change some telemetry sample by
more than :data:`OBSERVABLE_REL` relative to the fault-free window (with a
floor of :data:`FLOOR_SHARE` of the metric's largest value), or change some
alarm, at its onset step or (when the onset step shows nothing) anywhere in
the window; the fault-free reference is simulated past the onset only then. Otherwise the element is drawn again (at most :data:`MAX_TRIES`
draws); :attr:`Incident.tries` and :attr:`Incident.observable` say how it went.

Rare compound events (``compound_rate``, split in two halves, drawn so
that the kind balance holds):

- ``busy_hour_cut``: a ``fiber_cut`` whose onset falls at 21:00, the
  diurnal profile's peak;
- ``during_recovery``: a ``fiber_cut`` or ``site_outage`` on another
  element, in force since before the window and repaired after the root's
  onset, while the root fault (any kind but ``none``) starts at its onset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import InputError
from ..ids import link_id, site_id
from .faults import FAULT_KINDS, Fault, WindowSpec
from .telemetry import Telemetry, _SignalStats, element_ids
from .window import causal_chain, run_window, slice_telemetry, window_scenario

__all__ = ["Incident", "SynthPlan", "sample_incidents", "synth_incident", "BUSY_HOUR",
           "COMPOUNDS", "OBSERVABLE_REL", "FLOOR_SHARE", "MAX_TRIES"]

#: The hour of the diurnal profile's peak (:data:`twin3d.sim.demand.DIURNAL_PROFILE`).
BUSY_HOUR = 21.0
#: Compound tags ("" is a single fault).
COMPOUNDS = ("busy_hour_cut", "during_recovery")
#: A fault is observable when a sample moves by more than this share ...
OBSERVABLE_REL = 0.10
#: ... of max(|baseline|, this share of the metric's largest |baseline| value).
FLOOR_SHARE = 0.01
#: Element draws per incident before it is kept as unobservable.
MAX_TRIES = 20
#: Misconfiguration: the weight is multiplied by one of these ...
MISCONFIG_FACTORS = (8.0, 16.0, 32.0)
#: ... or divided by 8 when the link carries less than this share of its capacity.
IDLE_UTIL = 0.01


@dataclass(frozen=True)
class Incident:
    """One sampled incident and its labels.

    ``faults`` lists the root fault first, then any secondary one.
    ``onset_step`` is the root's onset (-1 for ``none``), ``secondary`` the
    typed ids of the secondary faults, ``compound`` one of :data:`COMPOUNDS`
    or "", ``chain`` the causal chain as JSON text. ``tries`` counts the
    element draws (1: the first was observable); ``observable`` is False when
    :data:`MAX_TRIES` draws all left the telemetry unchanged.
    """

    incident_id: int
    window: WindowSpec
    faults: tuple[Fault, ...]
    fault_kind: str
    root_element: str
    onset_step: int
    secondary: tuple[str, ...] = ()
    compound: str = ""
    chain: str = "{}"
    tries: int = 1
    observable: bool = True


@dataclass
class SynthPlan:
    """What every incident of a scene draws from: kinds, candidates, window.

    Build it with :meth:`build`; ``probs`` is the share of each of ``kinds``.
    """

    kinds: tuple[str, ...]
    probs: np.ndarray
    balanced: bool
    candidates: dict[str, list[str]]
    window: int = 12
    step_s: float = 300.0
    compound_rate: float = 0.1
    link_cap_of_site: dict[str, float] = field(default_factory=dict)
    signal: _SignalStats = field(default_factory=_SignalStats)

    @classmethod
    def build(cls, sim, mix: dict[str, float] | None = None, window: int = 12,
              step_s: float = 300.0, compound_rate: float = 0.1) -> "SynthPlan":
        """The plan of a simulator's scene.

        Raises
        ------
        InputError
            A mix names an unknown kind, a kind with no element to act on in
            this scene, or a weight that is not >= 0; a window under 6
            steps; a step or a compound rate out of range.
        """
        path = sim.scene.spec.path
        if not isinstance(window, (int, np.integer)) or window < 6:
            raise InputError(path, f"the window must be at least 6 steps, got {window!r}", field="window")
        if not step_s > 0:
            raise InputError(path, f"the step must be > 0 s, got {step_s!r}", field="step_s")
        if not 0 <= compound_rate <= 1:
            raise InputError(path, f"the compound rate must be in [0, 1], got {compound_rate!r}",
                             field="compound_rate")
        cand = _candidates(sim)
        applies = tuple(k for k in FAULT_KINDS if k == "none" or cand[k])
        if mix is None:
            kinds, probs = applies, np.full(len(applies), 1.0 / len(applies))
        else:
            for k, w in mix.items():
                if k not in FAULT_KINDS:
                    raise InputError(path, f"unknown fault kind '{k}' in the mix (one of "
                                     f"{', '.join(FAULT_KINDS)})", field="mix")
                if k not in applies:
                    raise InputError(path, f"fault kind '{k}' has no element to act on in this "
                                     "scene", field="mix")
                if not (isinstance(w, (int, float)) and np.isfinite(w) and w >= 0):
                    raise InputError(path, f"the weight of '{k}' must be a number >= 0, got {w!r}",
                                     field="mix")
            kinds = tuple(k for k in FAULT_KINDS if mix.get(k, 0) > 0)
            if not kinds:
                raise InputError(path, "the mix gives no kind a weight > 0", field="mix")
            w = np.array([float(mix[k]) for k in kinds])
            probs = w / w.sum()
        caps = {}
        for i, l in enumerate(sim.link_ids):
            link = sim.twin.links[l]
            for s in (link.a, link.b):
                caps[s] = caps.get(s, 0.0) + float(sim.link_capacity_bps[i])
        return cls(kinds, probs, mix is None, cand, int(window), float(step_s), float(compound_rate),
                   caps)

    def p(self, kind: str) -> float:
        """The share of incidents of ``kind``."""
        return float(self.probs[self.kinds.index(kind)]) if kind in self.kinds else 0.0


def _candidates(sim) -> dict[str, list[str]]:
    """Typed ids each fault kind may act on in this scene (see the module's rules)."""
    twin, core = sim.twin, sim.core
    up = [s for s in sim.site_ids if twin.sites[s].state == "up"]
    routed = [s for s in up if s in sim.node_of_site]
    # a site outage of the core is the end of all service: not an incident to diagnose
    outage = [site_id(s) for s in up if s != core]
    links = [link_id(l) for l in sim.link_ids]
    if sim.cells:
        carry = [s for s in up if twin.sites[s].cells and _surge_ok(sim, s)]
        cells = [c for c in element_ids(sim)["cell"] if twin.sites[c[5:].rsplit("/", 1)[0]].state == "up"]
    else:
        in_demand = {n for pair in sim.base_demands for n in pair}
        carry = [s for s in routed if s in in_demand]
        cells = []
    return {"fiber_cut": links, "site_outage": outage, "power_outage": outage,
            "surge": [site_id(s) for s in carry], "ddos": [site_id(s) for s in routed],
            "capacity_degradation": links, "misconfiguration": links, "cell_sleep_stuck": cells,
            "none": [""]}


def _surge_ok(sim, site: str) -> bool:
    """Whether a surge on a radio site applies (its cells serve some point)."""
    try:
        sim.check(window_scenario(WindowSpec(0.0, 1), [Fault("surge", site_id(site), 0, 2.0)]))
    except InputError:
        return False
    return True


def _draw_kind(plan: SynthPlan, seed: int, incident_id: int, rng: np.random.Generator) -> str:
    if plan.balanced:
        k = len(plan.kinds)
        order = np.random.default_rng([seed, incident_id // k, 1]).permutation(k)
        return plan.kinds[int(order[incident_id % k])]
    return plan.kinds[int(rng.choice(len(plan.kinds), p=plan.probs))]


def _draw_compound(plan: SynthPlan, kind: str, u: float) -> str:
    """The compound tag: each half of the rate drawn among the kinds it applies to."""
    half = plan.compound_rate / 2
    p_cut, p_fault = plan.p("fiber_cut"), 1.0 - plan.p("none")
    q_cut = min(1.0, half / p_cut) if p_cut > 0 else 0.0
    if kind == "fiber_cut" and u < q_cut:
        return "busy_hour_cut"
    rest = p_fault - q_cut * p_cut
    q_rec = min(1.0, half / rest) if rest > 0 else 0.0
    if kind != "none" and kind != "fiber_cut" and u < q_rec:
        return "during_recovery"
    if kind == "fiber_cut" and q_cut < 1 and (u - q_cut) / (1 - q_cut) < q_rec:
        return "during_recovery"
    return ""


def _magnitude(sim, plan: SynthPlan, kind: str, element: str, rng: np.random.Generator,
               ref_step) -> float | None:
    name = element.split(":", 1)[1] if element else ""
    if kind == "surge":
        return float(rng.uniform(3.0, 8.0))
    if kind == "ddos":
        return float(rng.uniform(0.5, 1.5) * plan.link_cap_of_site.get(name, 0.0))
    if kind == "capacity_degradation":
        return float(rng.uniform(0.1, 0.5))
    if kind == "misconfiguration":
        i = sim.link_index[name]
        factor = float(rng.choice(MISCONFIG_FACTORS))
        idle = ref_step.link_util[i] < IDLE_UTIL
        return float(sim.link_weight[i] / 8.0 if idle else sim.link_weight[i] * factor)
    return None


def changed(a: Telemetry, b: Telemetry) -> bool:
    """Whether telemetry ``a`` differs from ``b`` as an operator would notice.

    A sample differs when it appears or vanishes, or moves by more than
    :data:`OBSERVABLE_REL` x max(|b|, :data:`FLOOR_SHARE` x the metric's
    largest |b|); an alarm differs when it is raised or cleared.
    """
    for name, x in a.alarms.items():
        if not np.array_equal(x, b.alarms[name]):
            return True
    for kind, metrics in a.values.items():
        for m, x in metrics.items():
            y = b.values[kind][m]
            if not x.size:
                continue
            nx, ny = np.isnan(x), np.isnan(y)
            if not np.array_equal(nx, ny):
                return True
            if nx.all():
                continue
            ay = np.abs(np.where(ny, 0.0, y))
            floor = max(FLOOR_SHARE * float(ay.max()), 1e-12)
            if np.any(np.abs(np.where(nx, 0.0, x - y)) > OBSERVABLE_REL * np.maximum(ay, floor)):
                return True
    return False


def synth_incident(sim, plan: SynthPlan, seed: int, incident_id: int) -> tuple[Incident, Telemetry]:
    """Sample and simulate one incident; its labels and noise-free telemetry.

    Parameters
    ----------
    sim : twin3d.sim.engine.Simulator
        Shared by every incident (its caches are reused).
    plan : SynthPlan
    seed, incident_id : int
        The incident draws from ``np.random.default_rng([seed, incident_id])``.

    Returns
    -------
    (Incident, Telemetry)

    Examples
    --------
    >>> plan = SynthPlan.build(sim)                                  # doctest: +SKIP
    >>> inc, tel = synth_incident(sim, plan, seed=7, incident_id=0)  # doctest: +SKIP
    >>> inc.fault_kind, inc.root_element                             # doctest: +SKIP
    ('ddos', 'site:ATLAng')
    """
    rng = np.random.default_rng([seed, incident_id])
    kind = _draw_kind(plan, seed, incident_id, rng)
    # fixed draw order: the same incident whatever the kind
    u_compound, start_hour = float(rng.random()), float(rng.uniform(0.0, 24.0))
    demand_factor = float(rng.lognormal(0.0, 0.1))
    onset = int(rng.integers(2, plan.window - 3))
    compound = _draw_compound(plan, kind, u_compound)
    if compound == "busy_hour_cut":
        start_hour = (BUSY_HOUR - onset * plan.step_s / 3600.0) % 24.0
    window = WindowSpec(start_hour, plan.window, plan.step_s, demand_factor)
    secondary: list[Fault] = []
    if compound == "during_recovery":       # in force since before the window, repaired after onset
        cuts, outages = plan.candidates["fiber_cut"], plan.candidates["site_outage"]
        sec_kind = "fiber_cut" if (rng.random() < 0.5 and cuts) or not outages else "site_outage"
        pool = plan.candidates[sec_kind]
        if pool:
            sec = pool[int(rng.integers(len(pool)))]
            secondary = [Fault(sec_kind, sec, -1, until=int(rng.integers(onset + 1, plan.window)))]
        else:                               # nothing to cut or take down (a network without links)
            compound = ""
    if kind == "none":
        ref = run_window(sim, window, [], plan.signal)
        return Incident(incident_id, window, (), "none", "", -1,
                        chain=json.dumps(causal_chain(sim, ref, ref))), ref.telemetry
    cands = [c for c in plan.candidates[kind] if not secondary or c != secondary[0].element]
    if not cands:                           # the only element is taken by the secondary fault
        cands, secondary, compound = plan.candidates[kind], [], ""
    # the reference (no root fault) up to the onset; the rest only when the onset step
    # shows nothing (most faults show at once)
    ref = run_window(sim, replace(window, steps=onset + 1), secondary, plan.signal)
    full_ref = None
    tries, observable = 0, False
    while tries < MAX_TRIES and not observable:
        tries += 1
        element = cands[int(rng.integers(len(cands)))]
        root = Fault(kind, element, onset, _magnitude(sim, plan, kind, element, rng, ref.steps[onset]))
        faults = [root, *secondary]
        run = run_window(sim, window, faults, plan.signal, first_step=onset, prefix=ref)
        observable = changed(slice_telemetry(run.telemetry, onset, onset + 1),
                             slice_telemetry(ref.telemetry, onset, onset + 1))
        if not observable:
            if full_ref is None:
                full_ref = run_window(sim, window, secondary, plan.signal, first_step=onset + 1,
                                      prefix=ref)
            observable = changed(run.telemetry, full_ref.telemetry)
    chain = causal_chain(sim, run, ref)
    return Incident(incident_id, window, tuple(faults), kind, faults[0].element, onset,
                    tuple(f.element for f in secondary), compound, json.dumps(chain), tries,
                    observable), run.telemetry


def sample_incidents(sim, n: int, seed: int, mix: dict[str, float] | None = None,
                     window: int = 12, step_s: float = 300.0,
                     compound_rate: float = 0.1) -> list[Incident]:
    """Sample ``n`` observable incidents (ids 0..n-1) on a simulator's scene.

    Parameters
    ----------
    sim : twin3d.sim.engine.Simulator
    n : int
        Number of incidents (>= 1).
    seed : int
        The seed; incident i draws from ``default_rng([seed, i])``.
    mix : dict, optional
        Fault kind -> weight; default: kinds balanced over those that apply.
    window : int
        Steps per incident window (>= 6).
    step_s : float
        Step length, s.
    compound_rate : float
        Share of compound incidents, half ``busy_hour_cut``, half ``during_recovery``.

    Returns
    -------
    list of Incident

    Examples
    --------
    >>> sim = Simulator(load_scene("scenes/topologyzoo/Abilene.toml"))   # doctest: +SKIP
    >>> [i.fault_kind for i in sample_incidents(sim, 3, seed=7)]        # doctest: +SKIP
    ['surge', 'fiber_cut', 'none']
    """
    if n < 1:
        raise InputError(sim.scene.spec.path, f"the number of incidents must be >= 1, got {n}",
                         field="incidents")
    plan = SynthPlan.build(sim, mix, window, step_s, compound_rate)
    return [synth_incident(sim, plan, seed, i)[0] for i in range(n)]
