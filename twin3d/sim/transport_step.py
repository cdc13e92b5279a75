"""One step of the backhaul: route with cascades, then latency and tail drop.

:func:`route_step` is what :meth:`twin3d.sim.engine.Simulator.step` does to
the transport network once the step's demands, element states, capacities
and weights are known; the environments (:mod:`twin3d.envs`) call the same
function, so an agent trains on the simulator's physics and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..physics.batch_step import BatchRouter
from ..physics.queueing import link_delay_s
from ..physics.routing import Routing
from ..physics.transport import Router
from .cascade import Wave, route_with_cascade

__all__ = ["TransportStep", "route_step", "route_step_compiled", "MAX_QUEUE_DELAY_S"]

#: Queueing delay of a saturated link: a router buffer of 50 ms at line rate.
MAX_QUEUE_DELAY_S = 0.05


#: (array, its sum) of the read-only arrays summed lately, newest first: a step on a
#: flat profile sums the same demand and delivered arrays again (a pass over every
#: demand). Kept with the array, so that no other array can take its id.
_SUMS: list = []


def _total(a: np.ndarray):
    """``a.sum()``, kept for read-only arrays that own their data (nothing can
    change them; a read-only view's base might be written)."""
    # np.add.reduce(a, None) is a.sum() without its Python wrapper (the same pairwise sum)
    if a.flags.writeable or a.base is not None:
        return np.add.reduce(a, None)
    for x, s in list(_SUMS):
        if x is a:
            return s
    s = np.add.reduce(a, None)
    _SUMS[:] = [(a, s)] + _SUMS[:3]
    return s


@dataclass
class TransportStep:
    """The routing of one step after its cascade.

    ``link_up`` is the links in service after the cascade, ``link_util`` the
    busier direction's utilization per link, ``routing`` the final routing
    with latency (s) and tail drop (``delivered_bps``).
    """

    routing: Routing
    link_up: np.ndarray
    link_util: np.ndarray
    waves: list[Wave]
    #: (n_links,) busier direction's load, bit/s, when known without the edge loads.
    link_load: np.ndarray | None = None

    @property
    def lost_bps(self) -> float:
        """Unroutable demand plus tail drops on overloaded links, bit/s."""
        return float(_total(self.routing.demand_bps) - _total(self.routing.delivered_bps))

    def link_load_bps(self, n_links: int) -> np.ndarray:
        """(n_links,) load of each link's busier direction, bit/s."""
        if self.link_load is not None:
            return self.link_load
        out = np.zeros(n_links)
        np.maximum.at(out, self.routing.router.link, self.routing.load_bps)
        return out


def route_step(router: Router, demands, link_up: np.ndarray, node_up: np.ndarray,
               capacity_bps: np.ndarray, trip_utilization: float, mode: str = "ecmp",
               first_cause: list[str] | None = None, weight=None, cache=None) -> TransportStep:
    """Route ``demands`` with cascades, then again with queueing latency and tail drop.

    Parameters
    ----------
    router : Router
    demands : dict or tuple
        As :meth:`Router.route` takes them, bit/s (arrays are faster).
    link_up, node_up : (n_links,), (n_nodes,) bool
        In service before the cascade.
    capacity_bps : (n_links,) float
        Capacity per link this step, bit/s.
    trip_utilization : float
        Utilization past which a link trips.
    mode : {"ecmp", "spf"}
    first_cause : list of str, optional
        The step's events, recorded on the first wave.
    weight : (n_links,) float, optional
        Routing weight per link (``set_weight``), in the metric's unit.
    cache : RoutingCache, optional
        Route incrementally with this
        :class:`twin3d.physics.incremental.RoutingCache` (of ``router``, for
        ``demands``' src and dst and ``mode``; ``demands`` as arrays): the
        cascade's routings and the final one search again only the
        destinations that changed.

    Returns
    -------
    TransportStep

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiGraph([("A", "B", "AB"), ("B", "C", "BC")])
    >>> r = Router(g)
    >>> s = route_step(r, {("A", "C"): 4e9}, np.ones(2, bool), np.ones(3, bool),
    ...                np.array([10e9, 2e9]), 2.5)
    >>> s.lost_bps, s.link_util.tolist()        # BC passes 2 of 4 Gbit/s
    (2000000000.0, [0.4, 2.0])
    """
    casc = route_with_cascade(router, demands, link_up, node_up, capacity_bps,
                              trip_utilization, mode, first_cause, weight=weight, cache=cache)
    edge_cap = np.asarray(capacity_bps, dtype=float)[router.link]
    kw = dict(link_up=casc.link_up, node_up=node_up, capacity_bps=edge_cap, weight=weight,
              edge_delay_s=lambda load, _c: np.minimum(link_delay_s(load, edge_cap),
                                                       MAX_QUEUE_DELAY_S))
    routing = (router.route(demands, mode=mode, **kw) if cache is None
               else cache.route(demands[2], **kw))
    return TransportStep(routing, casc.link_up, casc.link_util, casc.waves)


def route_step_compiled(batch: BatchRouter, bps: np.ndarray, link_up: np.ndarray,
                        node_up: np.ndarray, capacity_bps: np.ndarray, trip_utilization: float,
                        weight=None, first_cause: list[str] | None = None) -> TransportStep:
    """:func:`route_step` for the demand pairs of ``batch`` in one compiled call.

    The same result bit for bit (:class:`~twin3d.physics.batch_step.BatchRouter`
    copies every operation, and records the wave each link tripped in and
    its utilization then, from which the waves are rebuilt), without the
    Python around each pass. The routing carries no per-edge loads
    (``load_bps`` None): ``link_load`` has the links'.
    """
    # a read-only float64 array (the simulator's scaled base demand) is the routing's
    # demand as it is: no copy, and its sum is kept (_total)
    own = not bps.flags.writeable and bps.dtype == np.float64 and bps.flags.c_contiguous
    res = batch.step(bps[None], link_up[None], node_up[None], capacity_bps[None],
                     None if weight is None else np.asarray(weight, dtype=float)[None],
                     trip_utilization, copy_demand=not own)
    r = batch.router
    waves, cause = [], list(first_cause or [])
    wave_of, util_at = res.trip_wave[0], res.trip_util[0]
    for k in range(1, int(res.n_waves[0]) + 1):
        hit = (wave_of == k).nonzero()[0]
        # Python ints index the list, and tolist() gives float(util_at[i]) of each
        ids = [r.links[i] for i in hit.tolist()]
        waves.append(Wave(k, ids, dict(zip(ids, util_at[hit].tolist())), cause))
        cause = ids
    routing = Routing(r, batch.mode, None, None, batch.src, batch.dst,
                      bps if own else res.demand_bps[0], res.routable[0],
                      latency_s=res.latency_s[0], delivered_bps=res.delivered_bps[0])
    routing.converged, routing.drop_rounds = bool(res.converged[0]), int(res.drop_rounds[0])
    return TransportStep(routing, res.link_up_after[0], res.link_util[0], waves, res.link_load_bps[0])
