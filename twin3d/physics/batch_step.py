"""The backhaul step for B copies of one small network at once, in compiled code.

:func:`twin3d.sim.transport_step.route_step` costs well under a millisecond
on a network of tens of nodes, and most of that is Python around the
compiled kernels (building the usable graph, dispatching each pass, the
cascade loop, the tail-drop rounds). A reinforcement-learning vector
environment steps many copies of the same network, each with its own link
and node states, capacities, IGP weights and demand volumes; paying that
Python cost per copy caps it at a few thousand steps a second.
:class:`BatchRouter` runs the whole step of every copy inside one compiled
function (:mod:`twin3d.physics.batch_kernels`) built on the router's own
compiled code: the demands grouped by :func:`~twin3d.physics.routing._group`,
the usable edges laid out as ``route_arrays`` lays them out, the distances
of :func:`~twin3d.physics.routing._distances`, and each pass over the
shortest-path DAGs done either by :func:`~twin3d.physics.routing._walk` /
:func:`~twin3d.physics.routing._walk_hops` themselves (``reuse_dags=False``)
or, by default, by a replay of DAGs recorded once per graph
(:mod:`twin3d.physics.batch_dags`: the same operations in the same order,
without searching again for the latency, tail-drop and survival passes;
each destination's DAG walked as one flat edge list, and the latency and
survival passes in one walk when traffic drops).
Around the passes, the floating-point operations of ``route_with_cascade``,
``link_delay_s`` and ``lossy_delivery`` run in the same order, so copy b's
result equals ``route_step`` on copy b's inputs bit for bit (the tests
compare every output of both paths with ``route_step``):

1. cascade: route without latency; trip every link in service whose busier
   direction's utilization exceeds ``trip_utilization``; reroute; repeat
   until nothing trips (each wave takes a link out, so it ends);
2. edge delay ``prop_delay_s + min(M/M/1 sojourn, max_queue_delay_s)`` on
   the final loads (the routing after the last wave: routing the same
   inputs again gives the same loads), then the expected latency;
3. tail drop: the pass-fraction fixed point of
   :func:`~twin3d.physics.routing.lossy_delivery` (plain rounds for the
   first ``n_nodes`` rounds, then damped by one half, tolerance
   :data:`~twin3d.physics.routing.PASS_FRACTION_TOL`, at most 500 rounds),
   then each demand's delivered share.

The demands are one set of (src, dst) pairs for the whole batch, with a
volume per copy. Weights are per copy: breadth-first search applies to a
copy only when the metric is hops and all its weights are 1, as in
:meth:`~twin3d.physics.transport.Router.route`.
"""

from __future__ import annotations

from typing import NamedTuple
import warnings

import numba
import numpy as np

from . import routing
from .batch_dense import DENSE_MAX_NODES
from .batch_kernels import _grouping, _step_batch, _step_batch_parallel
from .kernel_args import writable_c
from .queueing import MEAN_PACKET_BITS
from .routing import PASS_FRACTION_TOL, ConvergenceWarning
from .transport import Router

__all__ = ["BatchRouter", "BatchStepResult", "MAX_QUEUE_DELAY_S"]

#: Cap on the queueing delay of a saturated link, s: the value of
#: :data:`twin3d.sim.transport_step.MAX_QUEUE_DELAY_S` (a test keeps them
#: equal; physics does not import the simulator).
MAX_QUEUE_DELAY_S = 0.05
#: Round limit of the tail-drop fixed point (``lossy_delivery``'s default).
MAX_DROP_ROUNDS = 500


class BatchStepResult(NamedTuple):
    """What :meth:`BatchRouter.step` returns; row b is copy b.

    Attributes
    ----------
    link_up_after : (B, n_links) bool
        Links in service after the cascade.
    link_util : (B, n_links) float
        Utilization of each link's busier direction after the cascade
        (load / capacity; inf for load on a link of capacity 0).
    link_load_bps : (B, n_links) float
        Offered load of each link's busier direction, bit/s.
    demand_bps : (B, n_demands) float
        Offered bit/s per demand.
    delivered_bps : (B, n_demands) float
        Bit/s reaching the destination after tail drops (0 if unroutable).
    routable : (B, n_demands) bool
        A path is up and both end nodes are up.
    latency_s : (B, n_demands) float
        Expected end-to-end delay, s (0 for src == dst, nan if unroutable).
    converged : (B,) bool
        The tail-drop fixed point met its tolerance.
    n_waves : (B,) int
        Cascade waves (rounds that tripped at least one link).
    tripped : (B, n_links) bool
        Links this step's cascade took out of service.
    drop_rounds : (B,) int
        Rounds the tail-drop fixed point ran.
    trip_wave : (B, n_links) int
        The cascade wave (1, 2, ...) in which each link tripped; 0 if it did not.
    trip_util : (B, n_links) float
        A tripped link's utilization when it tripped (0 if it did not).
    """

    link_up_after: np.ndarray
    link_util: np.ndarray
    link_load_bps: np.ndarray
    demand_bps: np.ndarray
    delivered_bps: np.ndarray
    routable: np.ndarray
    latency_s: np.ndarray
    converged: np.ndarray
    n_waves: np.ndarray
    tripped: np.ndarray
    drop_rounds: np.ndarray
    trip_wave: np.ndarray
    trip_util: np.ndarray

    @property
    def lost_bps(self) -> np.ndarray:
        """(B,) unroutable demand plus tail drops, bit/s (summed as ``TransportStep.lost_bps``)."""
        return self.demand_bps.sum(axis=1) - self.delivered_bps.sum(axis=1)


class BatchRouter:
    """Step B copies of one network's backhaul at once (see the module docstring).

    Parameters
    ----------
    router : Router
        The network; its metric decides whether all-1 weights mean hops.
    src, dst : array_like of int
        (n_demands,) node indices of the demands, the same for every copy.
    mode : {"ecmp", "spf"}
    max_queue_delay_s : float
        Cap on each edge's queueing delay, s.
    reuse_dags : bool
        Record each graph's shortest-path DAGs once and replay them for the
        latency, tail-drop and survival passes (:mod:`twin3d.physics.batch_dags`,
        same results); False calls the router's kernels for every pass.
    parallel : bool
        Step the copies on numba's threads (``numba.set_num_threads``); the
        result is the same, each copy being computed alone.
    dense : bool
        With ``reuse_dags``, search a copy whose weights are integers on up
        to :data:`~twin3d.physics.batch_dense.DENSE_MAX_NODES` nodes for
        every destination at once (:func:`~twin3d.physics.batch_dense.record_dense`,
        the same DAGs as the router's Dijkstra, several times faster on tens of nodes).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiGraph([("A", "B", "AB"), ("B", "C", "BC")])
    >>> br = BatchRouter(Router(g), [0], [2])
    >>> res = br.step(np.array([[4e9], [1e9]]), np.ones((2, 2), bool), np.ones((2, 3), bool),
    ...               np.array([[10e9, 2e9]] * 2), None, 2.5)
    >>> res.delivered_bps[:, 0].tolist(), res.link_util[0].tolist()
    ([2000000000.0, 1000000000.0], [0.4, 2.0])
    """

    def __init__(self, router: Router, src, dst, mode: str = "ecmp",
                 max_queue_delay_s: float = MAX_QUEUE_DELAY_S, reuse_dags: bool = True,
                 parallel: bool = False, dense: bool = True) -> None:
        if mode not in ("ecmp", "spf"):
            raise ValueError(f"mode must be 'ecmp' or 'spf', got {mode!r}")
        self.router, self.mode = router, mode
        self.src = writable_c(src, np.int64)
        self.dst = writable_c(dst, np.int64)
        n = router.n_nodes
        if self.src.shape != self.dst.shape or self.src.ndim != 1:
            raise ValueError("src and dst must be 1-d arrays of the same length")
        if np.any((self.src < 0) | (self.src >= n) | (self.dst < 0) | (self.dst >= n)):
            raise ValueError("demand node index out of range")
        self.max_queue_delay_s = float(max_queue_delay_s)
        self.reuse_dags = bool(reuse_dags)
        self.parallel = bool(parallel)
        self.dense = bool(dense)
        self.n_links = len(router.links)
        self._u = writable_c(router.u, np.int64)
        self._v = writable_c(router.v, np.int64)
        self._link = writable_c(router.link, np.int64)
        self._prop = writable_c(router.prop_delay_s, float)
        self._link_weight = np.zeros(self.n_links)        # the metric's, per link
        self._link_weight[self._link] = router.weight
        #: The demands grouped by destination with every node up (made once, for every copy).
        self._grouping = _grouping(self.src, self.dst, n)

    def step(self, bps, link_up, node_up, capacity_bps, weight, trip_utilization: float,
             copy_demand: bool = True, check: bool = True) -> BatchStepResult:
        """One backhaul step of every copy: cascade, latency, tail drop.

        Parameters
        ----------
        bps : (B, n_demands) or (1, n_demands) float
            Offered bit/s per demand, finite and >= 0; one row: the same for
            every copy (read by each, not copied; ``demand_bps`` is then a
            read-only broadcast of it).
        link_up : (B, n_links) bool
            Links in service before the cascade.
        node_up : (B, n_nodes) bool
            Nodes in service (a down node's edges and demands are out).
        capacity_bps : (B, n_links) float
            Capacity per link, bit/s (>= 0).
        weight : (B, n_links) float or None
            Routing weight per link, finite and > 0, in the metric's unit;
            None: the router's metric weights for every copy.
        trip_utilization : float
            Utilization past which a link in service trips.
        copy_demand : bool
            Return a copy of ``bps`` as ``demand_bps`` (False: ``bps`` itself,
            when the caller will not change it).
        check : bool
            Check every value of ``bps``, ``capacity_bps`` and ``weight``
            (False: the caller vouches for them, as a vector env whose rows
            are products of inputs it checked once; an invalid value then
            gives wrong numbers, not an error).

        Returns
        -------
        BatchStepResult

        Raises
        ------
        RuntimeError
            A copy's shortest-path graph has a cycle (a weight below the
            router's 1e-9 relative tolerance), as :meth:`Router.route` raises.
        """
        r, nd = self.router, len(self.src)
        demand = np.ascontiguousarray(bps, dtype=float)    # returned as it is (copy_demand)
        if demand.ndim != 2 or demand.shape[1] != nd:
            raise ValueError(f"bps must have shape (B, {nd}), got {demand.shape}")
        # the kernel's: a copy of a read-only demand, one kernel signature (see kernel_args)
        bps = writable_c(demand, float)
        nb = np.shape(link_up)[0] if np.ndim(link_up) == 2 else bps.shape[0]
        if bps.shape[0] not in (1, nb):
            raise ValueError(f"bps must have 1 or {nb} rows, got {bps.shape[0]}")
        link_up = _rows(link_up, bool, (nb, self.n_links), "link_up")
        node_up = _rows(node_up, bool, (nb, r.n_nodes), "node_up")
        cap = _rows(capacity_bps, float, (nb, self.n_links), "capacity_bps")
        if weight is None:
            lw = np.broadcast_to(self._link_weight, (nb, self.n_links)).copy()
        else:
            lw = _rows(weight, float, (nb, self.n_links), "weight")
        out = _alloc(nb, self.n_links, nd)
        # the values are checked in compiled code; the router walks ECMP by hops
        # with _walk_hops unless a test turned it off
        args = (r.n_nodes, self._u, self._v, self._link, self._prop, self.src, self.dst,
                bps, link_up, node_up, cap, lw, r.metric == "hops", self.mode == "spf",
                bool(routing._HOPS_KERNEL), self.reuse_dags, float(trip_utilization),
                self.max_queue_delay_s, MEAN_PACKET_BITS, MAX_DROP_ROUNDS,
                PASS_FRACTION_TOL, *out, self._grouping,
                DENSE_MAX_NODES if self.dense else -1, bool(routing._NO_DROP_SHORTCUT),
                bool(check))
        if self.parallel:               # a few chunks of copies per thread, one scratch each
            status = _step_batch_parallel(*args, 4 * numba.get_num_threads())
        else:
            status = _step_batch(*args)
        if np.count_nonzero(status):     # (quicker than .any() on a few copies)
            code = int(status.max())
            if code > 1:
                raise ValueError(_INVALID[code])
            raise RuntimeError("routing did not converge: the shortest-path graph has a cycle "
                               f"(copies {np.flatnonzero(status).tolist()})")
        o = list(out)
        wave = o[8]
        o[8] = wave > 0
        if copy_demand:                 # the kernel's copy will do (the kernel only reads it)
            demand = bps.copy() if bps is demand else bps
        if demand.shape[0] != nb:       # one row for every copy
            demand = np.broadcast_to(demand, (nb, nd))
        res = BatchStepResult(o[0], o[1], o[2], demand, *o[3:10], wave,
                              o[10])
        if np.count_nonzero(res.converged) < nb:     # rare: off the hot path
            bad = np.flatnonzero(~res.converged)
            warnings.warn(f"tail-drop fixed point not converged after {MAX_DROP_ROUNDS} rounds "
                          f"in copies {bad.tolist()}", ConvergenceWarning, stacklevel=2)
        return res


_INVALID = {2: "bps must be finite and >= 0", 3: "capacity_bps must be >= 0",
            4: "weight must be finite and > 0 for every link"}


def _rows(a, dtype, shape: tuple, name: str) -> np.ndarray:
    arr = writable_c(a, dtype)        # a read-only broadcast row: copied, one signature
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


def _alloc(nb: int, nl: int, nd: int) -> tuple:
    """Output arrays in :func:`_step_batch`'s order (without demand_bps).

    The kernel writes every entry of each copy it returns, except ``tripped``
    and ``trip_utilization`` (only where a link trips): only those two are
    zeroed (the others are (B, n_demands) rows not worth clearing first).
    """
    return (np.empty((nb, nl), bool), np.empty((nb, nl)), np.empty((nb, nl)),
            np.empty((nb, nd)), np.empty((nb, nd), bool), np.empty((nb, nd)),
            np.empty(nb, bool), np.empty(nb, np.int64), np.zeros((nb, nl), np.int64),
            np.empty(nb, np.int64), np.zeros((nb, nl)))
