"""Incremental rerouting: recompute only the destinations a change reaches.

:class:`RoutingCache` routes one fixed list of demands (src, dst) on a
:class:`~twin3d.physics.transport.Router` again and again while links go
down and up, weights change and the demand bit/s change. It keeps, per
destination t (in :mod:`twin3d.physics.dagstore`):

* the distances d_t to t and t's shortest-path DAG (its edges in the order
  the router's kernels walk them, and each node's split share);
* each node's own demand to t and throughput to t (what each DAG edge
  carries follows: throughput x share), and which of t's demands reach t.

A change of one directed edge u -> v (down, up or a new weight w) can only
alter t's DAG when the edge is or becomes a DAG edge or a shortcut, i.e.
``w + d_t(v) <= d_t(u)`` (with a margin of twice the DAG tolerance, before
or after the change, and d_t(v) finite). When the only such changes for t
are DAG edges going down and every tail keeps another DAG edge, t's
distances stay: the edges are dropped from its DAG, the tails' split shares
renewed and the throughput recomputed below those tails only
(:func:`~twin3d.physics.dagflow.reflow`; no search, no walk of the whole
DAG: with all-pairs demands on a 1,000-node random geometric graph a cut
link is on about 70 % of the DAGs, and the flow moves at some 40 nodes of
each). Likewise, an edge coming up on a tie with a
shortest path (``w + d_t(v) = d_t(u)``) joins t's DAG without a search
(ECMP); a destination with both (a link cut and another restored in one
step) is trimmed, then joined. A destination whose distances change
because links went down (a node loses its last next hop) or came up as
shortcuts has them updated only where they change, by a dynamic
shortest-path update (:func:`~twin3d.physics.dagdynamic.update`, ECMP):
its DAG changes at those nodes and their in-neighbours, and the flows are
reflowed below them. Other touched destinations (a weight changed, or
SPF) are searched again; a destination whose demands' bit/s changed gets its flows pushed
again over its kept DAG. The edge loads are kept and moved in place by the
flows those kernels change (summed again in full over every kept DAG after
a push and every :data:`RESUM_CALLS` calls, so that the rounding of the
differences does not pile up; an edge on no DAG entry carrying flow is set
to exactly 0). Latency walks every kept DAG with the new edge delays:
queueing delays follow the loads, which a single cut changes almost
everywhere, so latency is always computed for every destination (without
searching), in the destinations' order; the per-demand array
(``Routing.latency_s``) is laid out on its first read, and
``Routing.latency_sample`` gives the percentiles without it. A change of ``node_up``, of the
kernel (hops or weighted) or the first call computes everything.

With capacities, the tail-drop shortcut of
:func:`~twin3d.physics.routing.lossy_delivery` applies when no edge is
overloaded; when one is, the call falls back to :meth:`Router.route`.

Results equal :meth:`Router.route` on the same inputs to the last bits: a
searched or pushed destination does the router kernels' operations in their
order, but a kept DAG can list its edges in another order than a fresh
search would (nodes at equal distance met in another order, after a trim
or with Dijkstra), a reflowed node adds its inflows in the graph's order,
and moved loads add differences, which changes sums in the last bits (the
tests hold every result to 1e-12 relative). The same calls give the same
bits in any process.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import dagdynamic, dagread, dagstore, routing
from .deferred import Deferred
from .fresh import empty_f64
from .kernel_args import writable_c
from .routing import Routing, _RTOL, _group, _ptr
from .transport import Router

__all__ = ["RoutingCache"]

#: Calls that move the kept loads by differences before they are summed again in full
#: (each difference rounds: the sum keeps them from piling up over an episode).
RESUM_CALLS = 64
_NO_LOADS = np.zeros(0)


class RoutingCache:
    """Incremental all-pairs routing of fixed demands on a :class:`Router`.

    Parameters
    ----------
    router : Router
    src, dst : array_like of int
        (n_demands,) node indices of the demands (fixed for the cache's life).
    mode : {"ecmp", "spf"}

    Notes
    -----
    Memory: four (n_nodes, n_nodes) float arrays (distances, split shares,
    own demand, throughput) and 12 bytes per kept DAG edge, with as much room
    again for the DAGs of later searches; about 90 MB for all pairs on the
    1,000-node, 4,161-link random geometric graph of
    ``benchmarks/bench_ecmp.py``.

    Attributes
    ----------
    searched : int
        Destinations searched again (distances and DAG) by the last call.
    trimmed : int
        Destinations whose DAG the last call only trimmed (edges that went
        down, every tail keeping another next hop) before pushing its flows
        again.
    joined : int
        Destinations whose DAG the last call only extended by edges that came
        up on a tie with a shortest path, before pushing its flows again.
    updated : int
        Destinations whose distances the last call updated where they changed
        (links down or up only, ECMP: :func:`dagdynamic.update`) instead of
        searching them again.
    pushed : int
        Destinations not searched whose flows the last call pushed again
        over their kept DAG, after any trim or join (their demands' bit/s
        changed).
    reflowed : int
        Nodes whose throughput the last call's trims and joins recomputed,
        summed over those destinations (:func:`dagflow.reflow`: the flows
        below the changed next hops; a push would walk the whole DAG).
    fell_back : bool
        The last call was overloaded and routed by :meth:`Router.route`.
    compactions : int
        Times the DAG arena was compacted (garbage of searched DAGs dropped).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiGraph([("A", "B", "AB"), ("B", "C", "BC"), ("A", "C", "AC")])
    >>> r = Router(g)
    >>> cache = RoutingCache(r, [0, 0], [1, 2])
    >>> cache.route(np.array([1e9, 2e9])).load_bps.tolist()   # A->B and A->C direct
    [1000000000.0, 2000000000.0, 0.0, 0.0, 0.0, 0.0]
    >>> r.links
    ['AB', 'AC', 'BC']
    >>> res = cache.route(np.array([1e9, 2e9]), link_up=np.array([True, False, True]))
    >>> float(res.load_bps.sum()), cache.updated, cache.searched   # A->C now over B: only C
    (5000000000.0, 1, 0)
    """

    def __init__(self, router: Router, src, dst, mode: str = "ecmp") -> None:
        if mode not in ("ecmp", "spf"):
            raise ValueError(f"mode must be 'ecmp' or 'spf', got {mode!r}")
        self.router, self.mode = router, mode
        self.src = np.ascontiguousarray(src, dtype=np.int64)
        self.dst = np.ascontiguousarray(dst, dtype=np.int64)
        n = router.n_nodes
        if self.src.shape != self.dst.shape or self.src.ndim != 1:
            raise ValueError("src and dst must be 1-d arrays of the same length")
        if np.any((self.src < 0) | (self.src >= n) | (self.dst < 0) | (self.dst >= n)):
            raise ValueError("demand node index out of range")
        self._eu = np.ascontiguousarray(router.u, dtype=np.int64)
        self._ev = np.ascontiguousarray(router.v, dtype=np.int64)
        # every directed edge by tail (the router's order) and by head, for the reflows
        rev = np.argsort(self._ev, kind="stable")
        u32 = lambda a: np.ascontiguousarray(a, dtype=np.uint32)   # noqa: E731 (see _search)
        self._graph = (_ptr(self._eu, n), u32(self._ev), u32(np.arange(len(self._eu))),
                       _ptr(self._ev, n), u32(self._eu[rev]), u32(rev))
        self._key: tuple | None = None            # (node_ok, kernel) the cache was built for
        self._given = None                        # the bit/s array of the last call, as given
        self._routable: np.ndarray | None = None
        self._delivered: np.ndarray | None = None  # read-only, shared by the calls' results
        self._lat_w: np.ndarray | None = None      # latency_sample's weights (grouped order)
        self._lat_kept: tuple | None = None        # dagstore.reached_weight of them, threaded only
        self._routable_out: np.ndarray | None = None
        self._load: np.ndarray | None = None
        #: The loads the kernels move in place this call (_NO_LOADS: summed after), and
        #: the calls that moved them since they were last summed.
        self._acc, self._moved = _NO_LOADS, 0
        self._uses = np.zeros(0, np.int64)         # DAG entries carrying flow per edge
        self.searched = self.trimmed = self.joined = self.pushed = self.compactions = 0
        self.updated = 0
        self.reflowed = 0
        self.fell_back = False

    def route(self, bps, *, edge_up=None, link_up=None, node_up=None, weight=None,
              edge_delay_s: np.ndarray | Callable | None = None, latency: bool = True,
              capacity_bps: np.ndarray | None = None) -> Routing:
        """Route the demands at ``bps`` bit/s; the arguments are :meth:`Router.route`'s.

        Parameters
        ----------
        bps : array_like
            (n_demands,) bit/s of each demand (finite, >= 0).
        edge_up, link_up, node_up, weight, edge_delay_s, latency, capacity_bps
            As :meth:`Router.route`.

        Returns
        -------
        Routing
            What :meth:`Router.route` returns for ``(src, dst, bps)``.
        """
        r = self.router
        given = bps
        # the same read-only array as the last call (a simulator's scaled base demand):
        # nothing can have changed it, so no comparison of every entry
        kept = (self._key is not None and given is self._given and isinstance(given, np.ndarray)
                and not given.flags.writeable)
        if not (isinstance(bps, np.ndarray) and bps.dtype == np.float64
                and bps.shape == self.src.shape and bps.flags.c_contiguous):
            bps = np.ascontiguousarray(np.broadcast_to(np.asarray(bps, dtype=float), self.src.shape))
        # else the array as given: the results hold it (a read-only one stays recognisable)
        same = kept or (self._key is not None and np.array_equal(bps, self._bps))
        bad = (np.zeros(0, bool) if same or (bps.min(initial=0.0) >= 0 and np.isfinite(bps.sum()))
               else ~np.isfinite(bps) | (bps < 0))    # the full test only to name the culprit
        if np.any(bad):
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(f"demand {j}: bit/s must be a finite number >= 0, got {bps[j]!r}")
        up = r._up_mask(edge_up, link_up, node_up)
        node_ok = np.ones(r.n_nodes, bool) if node_up is None else np.asarray(node_up, bool)
        w, unweighted = r.weight, r.metric == "hops"
        if weight is not None:
            lw = np.asarray(weight, dtype=float)
            if lw.shape != (len(r.links),):
                raise ValueError(f"weight must have shape ({len(r.links)},), got {lw.shape}")
            if not np.all(np.isfinite(lw) & (lw > 0)):
                raise ValueError("weight must be finite and > 0 for every link")
            w = lw[r.link]
            unweighted = unweighted and bool(np.all(w == 1.0))
        spf = self.mode == "spf"
        hops = unweighted and not spf and routing._HOPS_KERNEL
        key = (node_ok.tobytes(), unweighted, hops)
        if self._key != key:
            self._reset(bps, node_ok)
            todo, repush = self._dests, np.zeros(0, np.int64)
            cut = tie = dyn = np.zeros(0, np.int64)
            bps_g = self._bps_g
        else:
            # the DAG test of the reflows: by hops every usable edge weighs 1
            w_dag = np.ones(r.n_edges) if unweighted else np.ascontiguousarray(w, dtype=float)
            todo, cut, gone, tie, added, dyn = self._touched(up, w, spf)
            self.reflowed = 0
            repush = np.zeros(0, np.int64)
            if not same:
                bps_g = np.ascontiguousarray(bps[self._dem_idx])
                changed = bps_g != self._bps_g
                if changed.any():                 # pushed whole after any trim or join
                    repush = np.unique(self._dem_dst[changed])
                self._bps_g = bps_g
            bps_g = self._bps_g
            # the kernels move the kept loads by the flows they change (a push: summed again)
            if self._load is not None and not len(repush) and self._moved < RESUM_CALLS:
                self._acc = self._load
            before = up.copy()                    # the edges before those that came up
            before[added] = False
            if len(cut):                          # trimmed first, then joined
                need, self.reflowed = dagstore.remove(cut, gone, before, w_dag, self._graph, self._dist,
                                       self._split, self._own, self._thru, self._seg_start,
                                       self._seg_len, self._arena.arrays(), self._acc,
                                       self._uses)
                # a node lost its last next hop: distances grow (ECMP: updated, not joined)
                if spf:
                    todo = np.sort(np.r_[todo, cut[need]])
                else:
                    dyn = np.sort(np.r_[dyn, cut[need]])
                if need.any() and len(tie):
                    tie = np.setdiff1d(tie, cut[need])
                cut = cut[~need]
            self._insert(tie, added, w_dag, up)
            if len(dyn):
                dyn, failed = self._update(dyn, gone, added, before, w_dag, up, spf)
                todo = np.sort(np.r_[todo, failed])
            if len(repush) and len(todo):         # a search pushes with the new bit/s
                repush = np.setdiff1d(repush, todo)
        self._key, self._up, self._w = key, up, w
        if not same:
            self._bps = bps.copy()                # a copy: the caller may edit its array
            self._delivered = self._lat_w = self._lat_kept = None
        self._given = given
        self._search(todo, up, w, hops, unweighted, spf)
        if self._routable is None:
            self._routable = self._routable0.copy()
            self._routable[self._dem_idx] = self._reached > 0
            self._delivered = self._routable_out = self._lat_kept = None
        elif (len(todo) or len(dyn)) and dagstore.set_routable(
                np.r_[todo, dyn] if len(dyn) else todo, self._dem_ptr, self._dem_idx,
                self._reached, self._routable):
            # only a search changes what is reached
            self._delivered = self._routable_out = self._lat_kept = None
        if len(repush):
            dagstore.push(repush, self._dem_ptr, self._dem_src, bps_g, self._dist, self._split,
                          self._own, self._thru, self._seg_start, self._seg_len,
                          self._arena.arrays())
        self.searched, self.trimmed, self.joined = len(todo), len(cut), len(tie)
        self.pushed, self.updated = len(repush), len(dyn)
        self.fell_back = False
        # no flow changed (a simulator step's final route after its cascade): the last sum
        moved = len(todo) + len(cut) + len(tie) + len(repush) + len(dyn)
        if self._load is None or (moved and not len(self._acc)):
            self._load = dagstore.sum_loads(self._dests, self._seg_start, self._seg_len,
                                            self._arena.edge, self._arena.tail, self._split,
                                            self._thru, r.n_edges)
            self._uses = dagstore.count_uses(self._dests, self._seg_start, self._seg_len,
                                             self._arena.edge, self._arena.tail, self._thru,
                                             r.n_edges)
            self._moved = 0
        elif moved:          # moved in place: an edge on no kept DAG carries nothing (no residue)
            self._load[self._uses == 0] = 0.0
            self._moved += 1
        self._acc = _NO_LOADS
        load = self._load.copy()
        if self._routable_out is None:
            self._routable_out = self._routable.copy()    # read-only, shared while unchanged
            self._routable_out.flags.writeable = False
        routable = self._routable_out
        if capacity_bps is not None and not (routing._NO_DROP_SHORTCUT and
                                             not np.any(load > np.asarray(capacity_bps, float))):
            self.fell_back = True                 # overloaded: tail drop needs the full rounds
            return r.route((self.src, self.dst, bps), mode=self.mode, edge_up=edge_up,
                           link_up=link_up, node_up=node_up, edge_delay_s=edge_delay_s,
                           latency=latency, capacity_bps=capacity_bps, weight=weight)
        res = Routing(r, self.mode, up, load, self.src, self.dst, bps, routable)
        if latency:
            res.edge_delay_s = r.prop_delay_s + _extra_delay(edge_delay_s, load, r)
            m = len(self._dem_idx)
            if self._lat_w is None:
                self._lat_w = np.empty(m + 2)
                self._lat_w[:m] = self._bps_g
                self._lat_w[m:] = bps[self._at == m].sum(), 0.0   # src == dst pooled; a node down
            # + 0 (src == dst) and nan (a node down); kept by the result (no reused buffer),
            # and allocated without numpy's huge-page advice, whose faults cost more than the walk
            grouped = empty_f64(m + 2)
            grouped[m:] = 0.0, np.nan
            args = (self._dests, r.n_nodes, self._split, self._seg_start, self._seg_len,
                    self._arena.arrays(), np.ascontiguousarray(res.edge_delay_s), self._dem_ptr,
                    self._dem_src, self._reached, grouped, self._lat_w)
            # serial, or for large walks on threads when they measure quicker
            stats = dagread.LATENCY_CHOICE.timed(lambda k: self._walk(args, k), m,
                                                 dagstore.latency_chunks(m))
            # laid out in the demands' order on the first read (a pass over every demand
            # that an environment's step, reading percentiles only, does not need)
            res.latency_s = Deferred(_laid_out, grouped, self._at)
            res.latency_sample = (grouped, self._lat_w, stats)
        if capacity_bps is not None:              # nothing overloaded: delivered whole
            if self._delivered is None:           # kept while nothing reached and no bit/s change
                self._delivered = np.where(routable, bps, 0.0)
                self._delivered.flags.writeable = False
            res.delivered_bps = self._delivered
            res.carried_bps = load * np.ones(r.n_edges)
            res.drop_rounds, res.converged = 1, True
        return res

    def _walk(self, args: tuple, n_chunks: int):
        """The latency walk of :meth:`route` (``args``) on ``n_chunks`` runs of
        destinations (1: serial); its stats."""
        if n_chunks < 2:
            return dagstore.latency(*args)
        if self._lat_kept is None:        # kept while nothing reached and no bit/s change
            self._lat_kept = dagstore.reached_weight(self._dests, self._dem_ptr, self._reached,
                                                     self._lat_w)
        return dagstore.latency_threaded(*args, self._lat_kept, n_chunks)

    def _reset(self, bps: np.ndarray, node_ok: np.ndarray) -> None:
        """Group the demands by destination and forget every DAG."""
        n = self.router.n_nodes
        # writable_c: the simulator's read-only demand would compile _group again
        _, routable0, ptr, idx, dsrc, dbps = _group(self.src, self.dst, writable_c(bps, float),
                                                    writable_c(node_ok, bool), n)
        self._routable0, self._dem_ptr, self._dem_idx = routable0, ptr, idx
        self._dem_src = dsrc.astype(np.uint32)      # unsigned: see _search
        self._routable = self._load = self._delivered = self._lat_w = self._routable_out = None
        self._lat_kept = None
        #: Where each demand's latency is in the grouped order (+ 0 and nan after it).
        self._at = np.where(routable0, len(idx), len(idx) + 1)
        self._at[idx] = np.arange(len(idx))
        self._bps_g = dbps
        self._dem_dst = self.dst[idx]
        self._dests = np.flatnonzero(ptr[1:] > ptr[:-1])
        self._reached = np.zeros(len(idx))
        self._dist = np.full((n, n), np.inf)
        self._split = np.zeros((n, n))
        self._own = np.zeros((n, n))               # own reached demand to each destination
        self._thru = np.zeros((n, n))              # node throughput to each destination
        self._seg_start = np.zeros(n, np.int64)
        self._seg_len = np.zeros(n, np.int64)
        self._seg_cap = np.zeros(n, np.int64)      # entries reserved per segment (with slack)
        # about half the edges are on a DAG (RGG by hops), with slack, plus room to search again
        self._arena = dagstore.Arena(len(self._dests) * (self.router.n_edges // 2 + 1) * 33 // 32
                                     + 4 * self.router.n_edges)
        if self.mode == "ecmp":   # the dynamic update compiled (or loaded) now, not mid-episode
            none, ne = np.zeros(0, np.int64), self.router.n_edges
            dagdynamic.update(none, 0, 0, np.zeros(ne, bool), none, np.zeros(ne, bool),
                              np.zeros(ne, bool), np.ones(ne), self._eu, self._ev, self._graph,
                              False, self._dist, self._split, self._own, self._thru,
                              self._seg_start, self._seg_len, self._seg_cap, self._arena.arrays(),
                              self._dem_ptr, self._dem_src, self._bps_g, self._reached, _NO_LOADS,
                              self._uses, np.zeros(0, bool))

    def _touched(self, up: np.ndarray, w: np.ndarray, spf: bool) -> tuple:
        """Destinations a change of edge state or weight can alter.

        Returns (search, cut, gone, tie, added): the destinations to search
        again; those only losing DAG edges that went down (``gone``,
        (n_edges,) bool), for :func:`dagstore.remove`; those only gaining
        edges that came up (``added``, edge indices) on a tie with a shortest
        path, for :func:`dagstore.insert` (ECMP).
        """
        ch = np.flatnonzero((up != self._up) | (w != self._w))
        none = np.zeros(0, np.int64)
        if len(ch) == 0 or len(self._dests) == 0:
            return none, none, np.zeros(len(up), bool), none, none, none
        du = self._dist[np.ix_(self._dests, self._eu[ch])]
        dv = self._dist[np.ix_(self._dests, self._ev[ch])]
        lim = du * (1.0 + 2.0 * _RTOL)            # inf stays inf: an edge reaching t anew
        near = dv < np.inf
        was = self._up[ch] & near & (self._w[ch] + dv <= lim)
        now = up[ch] & near & (w[ch] + dv <= lim)
        down = self._up[ch] & ~up[ch]             # went down (a weight change with it is moot)
        came = ~self._up[ch] & up[ch]
        with np.errstate(invalid="ignore"):       # inf - inf where u and v are both unreached
            tie = came & now & (w[ch] + dv >= du) & (np.abs(du - w[ch] - dv) <= _RTOL * du)
        lose, gain = (was & down).any(axis=1), tie.any(axis=1)
        # losing DAG edges and gaining tied ones keeps the distances too: trimmed, then joined
        shorter = now & ~tie                      # a shortcut or a changed weight
        reweighted = ((was & ~down) | (shorter & ~came)).any(axis=1)
        search = shorter.any(axis=1) | reweighted
        if spf:                                   # a tie can change which next hop is first
            search |= gain
        gone = np.zeros(len(up), bool)
        gone[ch[down]] = True
        # only links down and up: the distances are updated where they change (dagdynamic;
        # ECMP: its reflow sums every tied next hop's flow)
        dyn = search & ~reweighted if not spf else np.zeros_like(search)
        return (self._dests[search & ~dyn], self._dests[~search & lose], gone,
                self._dests[~search & gain], ch[came], self._dests[dyn])

    def _search(self, todo: np.ndarray, up: np.ndarray, w: np.ndarray, hops: bool,
                unweighted: bool, spf: bool) -> None:
        """Distances, DAG, flows and reached demands of ``todo`` on the usable edges."""
        if len(todo) == 0:
            return
        n = self.router.n_nodes
        active = np.flatnonzero(up)
        ua, va, wa = self._eu[active], self._ev[active], np.asarray(w, dtype=float)[active]
        rev = np.argsort(va, kind="stable")
        # node and edge indices unsigned: numba indexes with them without a negative-index
        # fix-up (row pointers stay int64)
        u32 = lambda a: np.ascontiguousarray(a, dtype=np.uint32)   # noqa: E731
        csr = (_ptr(ua, n), u32(va), wa, u32(active), _ptr(va, n), u32(ua[rev]), wa[rev],
               u32(active[rev]))
        k, arena = 0, self._arena
        while True:
            status, k, end = dagstore.build(
                todo, k, arena.end, hops, unweighted, spf, n, *csr,
                self._dem_ptr, self._dem_src, self._bps_g, self._dist, self._split, self._own,
                self._thru, self._seg_start, self._seg_len, self._seg_cap, self._reached,
                arena.arrays(), self._acc, self._uses)
            arena.end = end
            if status == 0:
                return
            if status == 2:
                self._key = None                  # half updated: rebuilt by the next call
                raise RuntimeError("routing did not converge: the shortest-path graph has a cycle")
            arena = self._grow()       # full (the DAGs of todo[k:] are stale but still live)

    def _grow(self) -> dagstore.Arena:
        """Compact the arena, with as much room again as its live entries."""
        live = int(self._seg_len[self._dests].sum())
        self.compactions += 1
        self._arena = self._arena.compacted(self._dests, self._seg_start, self._seg_len,
                                            self._seg_cap, max(live, 4 * self.router.n_edges))
        return self._arena

    def _update(self, dyn: np.ndarray, gone: np.ndarray, added: np.ndarray, before: np.ndarray,
                w: np.ndarray, up: np.ndarray, spf: bool) -> tuple:
        """Update the distances, DAGs and flows of ``dyn`` for the edges ``gone`` down and
        ``added`` up (:func:`dagdynamic.update`; ``before``: the usable edges without
        ``added``). Returns (updated, to search)."""
        k, arena = 0, self._arena
        need = np.zeros(len(dyn), bool)
        while k < len(dyn):
            status, k, arena.end, done = dagdynamic.update(
                dyn, k, arena.end, gone, added, before, up, w, self._eu, self._ev, self._graph,
                spf, self._dist, self._split, self._own, self._thru, self._seg_start,
                self._seg_len, self._seg_cap, arena.arrays(), self._dem_ptr, self._dem_src,
                self._bps_g, self._reached, self._acc, self._uses, need)
            self.reflowed += done
            if status:
                arena = self._grow()
        return dyn[~need], dyn[need]

    def _insert(self, tie: np.ndarray, added: np.ndarray, w: np.ndarray, up: np.ndarray) -> None:
        """Join the edges that came up on a tie to the DAGs of ``tie`` (``w``: the DAG
        test's weight per directed edge, ``up``: the usable edges)."""
        k, arena = 0, self._arena
        while k < len(tie):
            status, k, arena.end, done = dagstore.insert(
                tie, k, arena.end, added, self._eu, self._ev, w, self._graph, up, self._dist,
                self._split, self._own, self._thru, self._seg_start, self._seg_len,
                self._seg_cap, arena.arrays(), self._acc, self._uses)
            self.reflowed += done
            if status:
                arena = self._grow()


def _laid_out(grouped: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``grouped[at]``: latency in the demands' order (:class:`Deferred`'s function)."""
    return dagstore.gather(grouped, at)


def _extra_delay(edge_delay_s, load: np.ndarray, r: Router) -> np.ndarray:
    """The extra (queueing) delay per directed edge, as :meth:`Router.route` takes it."""
    if edge_delay_s is None:
        extra = np.zeros(r.n_edges)
    elif callable(edge_delay_s):
        extra = np.asarray(edge_delay_s(load, r.capacity_bps), dtype=float)
    else:
        extra = np.asarray(edge_delay_s, dtype=float)
    if extra.shape != (r.n_edges,):
        raise ValueError(f"edge_delay_s must have shape ({r.n_edges},), got {extra.shape}")
    return extra
