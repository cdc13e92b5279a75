"""Route, trip overloaded links, reroute, until nothing more trips.

An element loaded past its trip threshold fails in the same step; traffic
then moves to what is left, which can push further links past theirs. Each
round is a *wave*, recorded so a cascade can be replayed and explained.

The cascade is exact, with no round limit: every wave trips at least one
link in service and a tripped link stays down for the step, so a step has
at most as many waves as links in service, and the routing after the last
wave has no link past the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..physics.routing import Routing
from ..physics.transport import Router

__all__ = ["Wave", "CascadeResult", "route_with_cascade"]


@dataclass
class Wave:
    """One round of a cascade: the links it tripped and what they carried.

    ``utilization`` is each tripped link's utilization (busier direction)
    when it tripped; ``caused_by`` names what failed before this wave (the
    step's events for wave 1, the previous wave's links after that).
    """

    wave: int
    tripped: list[str]
    utilization: dict[str, float]
    caused_by: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"wave": self.wave, "tripped": self.tripped,
                "utilization": {k: round(v, 4) for k, v in self.utilization.items()},
                "caused_by": self.caused_by}


@dataclass
class CascadeResult:
    """The final routing of a step and the waves that led to it."""

    routing: Routing
    link_up: np.ndarray
    link_util: np.ndarray
    waves: list[Wave]


def link_utilization(router: Router, load_bps: np.ndarray, capacity_bps: np.ndarray) -> np.ndarray:
    """(n_links,) utilization of each link's busier direction."""
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(load_bps > 0, load_bps / capacity_bps[router.link], 0.0)
    per_link = np.zeros(len(router.links))
    np.maximum.at(per_link, router.link, u)
    return per_link


def route_with_cascade(router: Router, demands, link_up: np.ndarray, node_up: np.ndarray,
                       capacity_bps: np.ndarray, trip_utilization: float, mode: str = "ecmp",
                       first_cause: list[str] | None = None, weight=None,
                       cache=None) -> CascadeResult:
    """Route; while links in service exceed ``trip_utilization``, trip them and reroute.

    Parameters
    ----------
    router : Router
    demands : dict or tuple
        Demands as :meth:`Router.route` takes them, bit/s.
    link_up, node_up : (n_links,), (n_nodes,) bool
        Links and nodes in service before the cascade.
    capacity_bps : (n_links,) float
        Capacity of each link this step (after ``add_capacity``).
    trip_utilization : float
        A link whose busier direction exceeds this load / capacity trips.
    mode : {"ecmp", "spf"}
    first_cause : list of str
        What changed this step (event descriptions), recorded on wave 1.
    weight : (n_links,) float, optional
        Routing weight per link this step (``set_weight``); default the metric's.
    cache : RoutingCache, optional
        A :class:`twin3d.physics.incremental.RoutingCache` of ``router`` for
        these demands' (src, dst) and ``mode``: route incrementally (demands
        must then be the (src, dst, bps) arrays).

    Returns
    -------
    CascadeResult
        At most ``link_up.sum()`` waves; no link left in service is past
        ``trip_utilization``.

    Examples
    --------
    >>> import networkx as nx
    >>> from twin3d.physics.transport import Router
    >>> g = nx.MultiGraph()
    >>> for a, b in ("AB", "AC", "CB"):
    ...     _ = g.add_edge(a, b, key=a + b)
    >>> r = Router(g)                       # links in order AB, AC, CB
    >>> c = route_with_cascade(r, {("A", "B"): 1.5e9}, np.ones(3, bool), np.ones(3, bool),
    ...                        np.array([1e9, 2e9, 2e9]), 1.2)
    >>> [w.tripped for w in c.waves], c.link_up.tolist(), c.link_util.tolist()
    ([['AB']], [False, True, True], [0.0, 0.75, 0.75])
    """
    up = np.asarray(link_up, dtype=bool).copy()
    waves: list[Wave] = []
    cause = list(first_cause or [])
    k = 0
    while True:      # ends: each wave takes >= 1 link out of service, and none left cannot trip
        if cache is None:
            routing = router.route(demands, mode=mode, link_up=up, node_up=node_up, latency=False,
                                   weight=weight)
        else:
            routing = cache.route(demands[2], link_up=up, node_up=node_up, latency=False,
                                  weight=weight)
        util = link_utilization(router, routing.load_bps, capacity_bps)
        over = np.flatnonzero(up & (util > trip_utilization))
        if len(over) == 0:
            return CascadeResult(routing, up, util, waves)
        k += 1
        ids = [router.links[i] for i in over]
        waves.append(Wave(k, ids, {router.links[i]: float(util[i]) for i in over}, cause))
        up[over] = False
        cause = ids
