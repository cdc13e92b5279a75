"""Red-team attacks and the damage they do: many failure sets of one scenario, in batches.

An attack is one scenario event at step 0 (SANDBOX.md section 2): a link's
``fiber_cut``, a site's ``site_outage`` or, optionally, a ``surge`` at a
site. :class:`DamageEvaluator` plays a scenario with the events already in
force (``context``: a change under test) plus each failure set, and scores
it:

* ``dropped_bps``: the step's ``dropped_bps`` KPI at the scenario's busiest
  step (the busy hour, by default a one-step scenario), cascades included:
  unroutable demand plus tail drops, the failed sites' own traffic too.
* ``sla_steps``: the steps whose KPIs breach ``[sla]`` (SANDBOX.md section
  3) over the scenario, by default a day of 24 hourly steps; the failures
  hold all day, and so do the links their cascades trip.

On a transport-only scene whose scenario holds no static routes, ACLs,
demand events or restores (the common case), every set of a batch is one
copy of :class:`~twin3d.physics.batch_step.BatchRouter`, the compiled step
the simulator itself uses (same operations, same results); otherwise each
set is a :meth:`Simulator.run <twin3d.sim.engine.Simulator.run>` of the
scenario. Either way the router is built once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..physics.batch_step import BatchRouter
from ..scene import EventSpec, ScenarioSpec
from ..sim.demand import profile_factor
from ..sim.engine import Simulator, sla_violated
from ..sim.kpi import transport_kpis
from .state import with_events

__all__ = ["Attack", "attack_menu", "Scores", "DamageEvaluator", "DEFAULT_SURGE_FACTOR"]

#: Demand multiplier of a surge attack (every demand to or from the site).
DEFAULT_SURGE_FACTOR = 3.0
#: Failure sets per compiled batch call (memory: batch x demands x 8 bytes per array).
BATCH = 64


@dataclass(frozen=True)
class Attack:
    """One element's failure: its typed id (``link:L7``, ``site:S1``) and its event at step 0.

    Examples
    --------
    >>> a = Attack("link:AB", EventSpec(0, "fiber_cut", target="AB"))
    >>> a.as_dict()
    {'element': 'link:AB', 'event': 'fiber_cut'}
    """

    element: str
    event: EventSpec

    def as_dict(self) -> dict:
        d = {"element": self.element, "event": self.event.kind}
        if self.event.factor is not None:
            d["factor"] = self.event.factor
        return d


def attack_menu(sim: Simulator, context=(), surges: bool = False,
                surge_factor: float = DEFAULT_SURGE_FACTOR) -> list[Attack]:
    """Every attack on the network as it stands at the busy hour with ``context``.

    Links in service are cut, routing sites that are up (or asleep) go
    down, and with ``surges`` each such site also gets a ``surge`` of
    ``surge_factor`` times its demand. Elements already out are left out.

    Examples
    --------
    >>> [a.element for a in attack_menu(sim)][:3]             # doctest: +SKIP
    ['link:AB', 'link:BC', 'site:A']
    """
    from .state import busy_hour_scenario
    st = sim.timeline(with_events(busy_hour_scenario(), context)).state(0)
    out = [Attack(f"link:{l}", EventSpec(0, "fiber_cut", target=l))
           for l in sim.link_ids if st.link_state[l] == "up"]
    nodes = [str(n) for n in sim.router.nodes if st.site_state.get(n, "up") in ("up", "sleep")]
    out += [Attack(f"site:{s}", EventSpec(0, "site_outage", target=s)) for s in nodes]
    if surges:
        out += [Attack(f"site:{s}", EventSpec(0, "surge", target=s, factor=float(surge_factor)))
                for s in nodes]
    return out


@dataclass
class Scores:
    """What :class:`DamageEvaluator` returns for B failure sets; row b is set b.

    ``damage`` is the objective, ``tie`` its tie-break (the scenario's
    dropped bits, for ``sla_steps``; equal to ``damage`` for
    ``dropped_bps``), ``load_bps`` each link's busier-direction load at the
    busiest step (what the search ranks the next cut by).
    """

    damage: np.ndarray
    tie: np.ndarray
    dropped_bps: np.ndarray
    sla_steps: np.ndarray
    dropped_bits: np.ndarray
    load_bps: np.ndarray


class DamageEvaluator:
    """Score failure sets (tuples of indices into ``attacks``) on one scenario.

    Parameters
    ----------
    sim : Simulator
        Built once for the scene; reused for every set.
    scenario : ScenarioSpec
        The scenario played (failures at its step 0).
    context : list of EventSpec
        Events in force with every set (the change under test), at step 0.
    attacks : list of Attack
    objective : {"dropped_bps", "sla_steps"}

    Examples
    --------
    >>> ev = DamageEvaluator(sim, busy_hour_scenario(), [], attack_menu(sim),
    ...                      "dropped_bps")                   # doctest: +SKIP
    >>> ev([(), (0,), (0, 3)]).damage                         # doctest: +SKIP
    array([0.0e+00, 0.0e+00, 2.1e+09])
    """

    def __init__(self, sim: Simulator, scenario: ScenarioSpec, context, attacks: list[Attack],
                 objective: str) -> None:
        self.sim, self.scenario, self.objective = sim, scenario, objective
        self.context, self.attacks = list(context), list(attacks)
        self.evaluations = 0
        hours = scenario.start_hour + np.arange(scenario.steps) * scenario.step_s / 3600.0
        self.factors = np.asarray(profile_factor(hours, scenario.profile), float)
        self.busiest = int(np.argmax(self.factors))
        # dropped_bps needs the steps up to the busiest (trips carry forward), sla_steps all
        self.steps = self.busiest + 1 if objective == "dropped_bps" else scenario.steps
        self.fast = self._fast_path()

    def _fast_path(self) -> bool:
        sim, sc = self.sim, self.scenario
        if sim.cells or any(e.kind == "restore" for e in (*sc.events, *self.context)):
            return False
        tl = sim.timeline(with_events(sc, self.context))
        states = [tl.state(t) for t in range(self.steps)]
        if any(s.forwarding or s.surges or s.ddos or s.shed for s in states):
            return False
        r, ids = sim.router, sim.link_ids
        self._link_up = np.array([[s.link_state[l] == "up" for l in ids] for s in states],
                                 dtype=bool)            # bool with no link too
        self._node_up = np.array([[s.site_state.get(n, "up") in ("up", "sleep") for n in r.nodes]
                                  for s in states], dtype=bool)
        self._cap = np.array([[s.capacity_bps[l] for l in ids] for s in states])
        self._weight = []
        for s in states:
            w = None
            if s.weight:
                w = sim.link_weight.copy()
                for l, x in s.weight.items():
                    w[sim.link_index[l]] = x
            self._weight.append(w)
        self._src, self._dst, self._bps = sim.base_demand_arrays()
        self._batch = BatchRouter(r, self._src, self._dst, sim.scene.spec.traffic.routing)
        return True

    def __call__(self, sets) -> Scores:
        """Scores of each failure set (an iterable of attack indices; () is no failure)."""
        sets = [tuple(s) for s in sets]
        self.evaluations += len(sets)
        parts = [self._fast(sets[i:i + BATCH]) if self.fast else self._slow(sets[i:i + BATCH])
                 for i in range(0, len(sets), BATCH)]
        if not parts:
            z = np.zeros(0)
            return Scores(z, z, z, z.astype(int), z, np.zeros((0, len(self.sim.link_ids))))
        cat = [np.concatenate(x) for x in zip(*parts)]
        drop, sla, bits, load = cat
        damage = drop if self.objective == "dropped_bps" else sla.astype(float)
        tie = drop if self.objective == "dropped_bps" else bits
        return Scores(damage, tie, drop, sla, bits, load)

    def _slow(self, sets):
        """Each set through :meth:`Simulator.run` (static routes, ACLs, radio, demand events)."""
        sim, sc = self.sim, self.scenario
        drop, sla, bits, load = [], [], [], []
        for s in sets:
            res = sim.run(with_events(sc, [*self.context, *(self.attacks[i].event for i in s)]))
            steps = res.steps[:self.steps]
            drop.append(steps[self.busiest].kpis["dropped_bps"])
            sla.append(sum(bool(x.kpis["sla_violated"]) for x in steps))
            bits.append(sum(x.kpis["dropped_bps"] for x in steps) * sc.step_s)
            load.append(steps[self.busiest].link_load_bps)
        return np.array(drop), np.array(sla, int), np.array(bits), np.array(load)

    def _fast(self, sets):
        """All sets at once: one compiled batch call per step, trips carried to the next step."""
        sim, nb = self.sim, len(sets)
        nl, nn = len(sim.link_ids), sim.router.n_nodes
        cut, down = np.zeros((nb, nl), bool), np.zeros((nb, nn), bool)
        surge = [[] for _ in sets]
        for b, s in enumerate(sets):
            for i in s:
                ev = self.attacks[i].event
                if ev.kind == "fiber_cut":
                    cut[b, sim.link_index[ev.target]] = True
                elif ev.kind == "site_outage":
                    down[b, sim.router.node_index[ev.target]] = True
                else:   # a surge multiplies every demand to or from its site (surge_arrays)
                    n = sim.router.node_index[ev.target]
                    surge[b].append(((self._src == n) | (self._dst == n), ev.factor))
        tripped = np.zeros((nb, nl), bool)
        trip = sim.scene.spec.traffic.trip_utilization
        sla_spec = sim.scene.spec.sla
        drop = np.zeros(nb)
        sla, bits = np.zeros(nb, int), np.zeros(nb)
        load = np.zeros((nb, nl))
        for t in range(self.steps):
            bps = np.repeat((self._bps * float(self.factors[t]))[None], nb, axis=0)
            for b, hits in enumerate(surge):
                for hit, f in hits:
                    bps[b] = np.where(hit, bps[b] * f, bps[b])
            w = self._weight[t]
            res = self._batch.step(bps, self._link_up[t] & ~cut & ~tripped, self._node_up[t] & ~down,
                                   np.repeat(self._cap[t][None], nb, axis=0),
                                   None if w is None else np.repeat(w[None], nb, axis=0), trip)
            tripped |= res.tripped            # a tripped link stays down (no restore here)
            offered = bps.sum(axis=1)
            dropped = offered - np.maximum(0.0, offered - res.lost_bps)
            bits += dropped * self.scenario.step_s
            if t == self.busiest:
                drop, load = dropped, res.link_load_bps
            if self.objective == "sla_steps":
                for b in range(nb):
                    k = transport_kpis(res.link_util[b], res.link_up_after[b], res.latency_s[b],
                                       res.demand_bps[b])
                    k.update(offered_bps=offered[b], dropped_bps=dropped[b])
                    sla[b] += sla_violated(sla_spec, k, False)
        return drop, sla, bits, load
