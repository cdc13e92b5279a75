"""Shortest-path routing of a traffic matrix on edge arrays (no networkx).

:func:`route_arrays` routes every demand at once in compiled code (numba),
one destination after another, O(E) per destination and O(N·E) in all,
with no dense (destinations x edges) array:

1. distances to the destination: breadth-first search (hops) or Dijkstra
   with a binary heap (weights > 0) on the reversed graph of usable edges;
   the order in which nodes are reached sorts them by distance (Dijkstra
   breaks ties by node index);
2. the shortest-path DAG: edges u -> v with ``d(u) = w(u, v) + d(v)``
   (relative tolerance 1e-9);
3. splits: ECMP gives each DAG edge leaving u the share 1/outdeg(u) (so
   parallel equal-cost links each take a share, and the split is per hop,
   not per path); SPF keeps only the first edge in (u, v, key) order, i.e.
   the lowest next-hop node index, then the lowest key;
4. node throughput: every node, farthest first (a topological order of the
   DAG), adds its own demand to what its upstream neighbours sent it and
   passes the sum down its DAG edges by the splits; the edge load is the
   sum over destinations of what each edge passes.

:func:`expected_latency` walks the same DAGs nearest first,
``T(u) = sum split * (delay + T(v))``; :func:`lossy_delivery` repeats step 4
with each edge passing only its pass fraction, in rounds until the pass
fractions settle. ECMP by hops records each destination's DAG during its
breadth-first search (:func:`_walk_hops`: one scan of the edges instead of
a search and a DAG test). The DAGs are not stored: each pass recomputes them
(distances and DAG test cost the same O(E) per destination as the walk).

Weights must be > 0 so that the DAG has no cycle (a weight below the 1e-9
tolerance of its distance can make one: that raises RuntimeError). Demands
are grouped by destination once (a counting sort), so every pass reads them
in sequence. The first call compiles the kernels (a few seconds; numba
caches them on disk for later processes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable, NamedTuple
import warnings

import numpy as np
from numba import njit

from .deferred import deferred_attribute
from .kernel_args import writable_c

__all__ = ["Routing", "route_arrays", "expected_latency", "lossy_delivery", "LossyDelivery",
           "ConvergenceWarning", "PASS_FRACTION_TOL"]

_RTOL = 1e-9

@dataclass
class Routing:
    """The result of routing. Edge arrays follow the router's edge order.

    Attributes
    ----------
    router : Router
        The :class:`twin3d.physics.transport.Router` that routed.
    mode : str
        "ecmp" or "spf".
    edge_up : numpy.ndarray
        (n_edges,) bool, the directed edges that were usable.
    load_bps : numpy.ndarray
        (n_edges,) offered load per directed edge, bit/s.
    src, dst : numpy.ndarray
        (n_demands,) node indices of each demand.
    demand_bps : numpy.ndarray
        (n_demands,) offered bit/s.
    routable : numpy.ndarray
        (n_demands,) bool: a path is up and both end nodes are up (a demand
        is routed whole or not at all).
    edge_delay_s : numpy.ndarray or None
        (n_edges,) delay per directed edge used for latency: propagation plus
        the extra (queueing) delay given to the router, seconds.
    latency_s : numpy.ndarray or None
        (n_demands,) expected end-to-end delay over the split, seconds; 0 when
        src == dst, nan when unroutable, inf when a used edge has an infinite
        delay (an overloaded M/M/1 queue).
    delivered_bps : numpy.ndarray or None
        (n_demands,) bit/s reaching the destination when overloaded edges drop
        their excess (computed when the router is given capacities).
    carried_bps : numpy.ndarray or None
        (n_edges,) bit/s each directed edge carries after upstream and its own
        drops (at most its capacity).
    drop_rounds : int
        Rounds the tail-drop fixed point ran (0 when not computed).
    converged : bool
        False when the tail-drop fixed point stopped at its round limit
        (a :class:`ConvergenceWarning` was issued); True otherwise.
    latency_sample : tuple or None
        (values s, weights bit/s, stats): arrays in another order (and with
        the demands that need no path pooled) whose weighted percentiles are
        those of ``latency_s`` weighted by ``demand_bps``, and their
        (count, total weight, min, max) as ``kpi.weighted_stats`` gives
        them, for a router that computes latency in that order
        (:class:`~twin3d.physics.incremental.RoutingCache`; ``latency_s`` is
        then laid out on its first read). None: use those.
    """

    router: Any
    mode: str
    edge_up: np.ndarray
    load_bps: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    demand_bps: np.ndarray
    routable: np.ndarray
    edge_delay_s: np.ndarray | None = None
    latency_s: np.ndarray | None = None
    delivered_bps: np.ndarray | None = None
    carried_bps: np.ndarray | None = None
    drop_rounds: int = 0
    converged: bool = True
    latency_sample: tuple | None = None

    @property
    def routed_bps(self) -> np.ndarray:
        """(n_demands,) bit/s delivered."""
        return np.where(self.routable, self.demand_bps, 0.0)

    @property
    def unroutable_bps(self) -> np.ndarray:
        """(n_demands,) bit/s that found no path."""
        return np.where(self.routable, 0.0, self.demand_bps)

    @property
    def utilization(self) -> np.ndarray:
        """(n_edges,) load / capacity per directed edge (inf: 0 capacity with load)."""
        cap = self.router.capacity_bps
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.load_bps > 0, self.load_bps / cap, 0.0)

    def loads_dict(self) -> dict[tuple, float]:
        """{(u, v, key) or (u, v): bit/s} for every directed edge."""
        return dict(zip(self.router.edge_keys, self.load_bps.tolist()))

    def link_utilization(self) -> dict[Hashable, float]:
        """{link: utilization of its busier direction}."""
        per_link = np.zeros(len(self.router.links))
        np.maximum.at(per_link, self.router.link, self.utilization)
        return dict(zip(self.router.links, per_link.tolist()))


deferred_attribute(Routing, "latency_s")


@dataclass
class _Dags:
    """The usable graph and the demands by destination: what a pass over every
    destination's shortest-path DAG needs (loads, latency, tail drop)."""

    n: int
    out_ptr: np.ndarray    # (n + 1,) usable edges leaving each node, in (u, v, key) order:
    out_head: np.ndarray   # head node,
    out_w: np.ndarray      # weight,
    out_edge: np.ndarray   # index in the router's edge arrays
    in_ptr: np.ndarray     # (n + 1,) usable edges entering each node:
    in_tail: np.ndarray    # tail node,
    in_w: np.ndarray       # weight,
    in_edge: np.ndarray    # index in the router's edge arrays
    dests: np.ndarray      # destinations with a candidate demand
    dem_ptr: np.ndarray    # (n + 1,) demands to each node in dem_idx
    dem_idx: np.ndarray    # candidate demands (src != dst, both ends up) by destination
    dem_src: np.ndarray    # their source node, in the same order
    unweighted: bool
    spf: bool

    def walk(self, kind: int, bps: np.ndarray, edge_val: np.ndarray, edge_out: np.ndarray,
             dem_out: np.ndarray) -> None:
        """One pass of :func:`_walk`; ``bps`` and ``dem_out`` in ``dem_idx`` order
        (grouped by destination, so read and written in sequence)."""
        if self.unweighted and not self.spf and _HOPS_KERNEL:
            _walk_hops(kind, self.n, self.in_ptr, self.in_tail, self.in_edge, self.dests,
                       self.dem_ptr, self.dem_src, bps, edge_val, edge_out, dem_out)
            return
        status = _walk(kind, self.n, self.out_ptr, self.out_head, self.out_w, self.out_edge,
                       self.in_ptr, self.in_tail, self.in_w, self.unweighted, self.spf, self.dests,
                       self.dem_ptr, self.dem_src, bps, edge_val, edge_out, dem_out)
        if status:
            raise RuntimeError("routing did not converge: the shortest-path graph has a cycle")


# What a pass of _walk computes.
_LOAD, _LATENCY, _OFFERED, _SURVIVAL = 0, 1, 2, 3
#: ECMP by hops walks its DAGs with :func:`_walk_hops` (False: the general
#: :func:`_walk`, for tests that compare the two).
_HOPS_KERNEL = True
#: :func:`lossy_delivery` returns at once when no edge's routed load exceeds its
#: capacity (False: always run the rounds, for tests that compare the two).
_NO_DROP_SHORTCUT = True


def route_arrays(n_nodes: int, u: np.ndarray, v: np.ndarray, weight: np.ndarray,
                 up: np.ndarray, src: np.ndarray, dst: np.ndarray, bps: np.ndarray,
                 node_ok: np.ndarray, mode: str = "ecmp", unweighted: bool = False,
                 keep_blocks: bool = False) -> tuple[np.ndarray, np.ndarray, list]:
    """Route demands over directed edges sorted by (u, v, key).

    Parameters
    ----------
    n_nodes : int
    u, v, weight : numpy.ndarray
        (n_edges,) tail, head (node indices) and weight (> 0), sorted by
        (u, v, key rank).
    up : numpy.ndarray
        (n_edges,) bool, usable edges.
    src, dst, bps : numpy.ndarray
        (n_demands,) demand ends (node indices) and bit/s.
    node_ok : numpy.ndarray
        (n_nodes,) bool; demands at a down node are unroutable.
    mode : {"ecmp", "spf"}
    unweighted : bool
        All weights are 1 (breadth-first search is used).
    keep_blocks : bool
        Return what :func:`expected_latency` and :func:`lossy_delivery` need.

    Returns
    -------
    load_bps : numpy.ndarray
        (n_edges,) bit/s per directed edge.
    routable : numpy.ndarray
        (n_demands,) bool.
    blocks : list
        Empty unless ``keep_blocks``.
    """
    n, ne = n_nodes, len(u)
    # writable_c: a read-only (cached) demand would compile _group again (kernel_args)
    src = writable_c(src, np.int64)
    dst = writable_c(dst, np.int64)
    bps = writable_c(bps, float)
    node_ok = writable_c(node_ok, bool)
    if len(node_ok) != n or len(dst) != len(src) or len(bps) != len(src):
        raise ValueError("route_arrays: node_ok must have n_nodes entries, src, dst, bps one per demand")
    bad, routable, dem_ptr, dem_idx, dem_src, dem_bps = _group(src, dst, bps, node_ok, n)
    if bad:
        raise ValueError("demand node index out of range")
    dests = np.flatnonzero(dem_ptr[1:] > dem_ptr[:-1])
    active = np.flatnonzero(up)
    ua, va, wa = u[active], v[active], np.asarray(weight, dtype=float)[active]
    rev = np.argsort(va, kind="stable")
    dags = _Dags(n, _ptr(ua, n), np.ascontiguousarray(va, dtype=np.int64), wa,
                 active.astype(np.int64), _ptr(va, n),
                 np.ascontiguousarray(ua[rev], dtype=np.int64), wa[rev],
                 active[rev].astype(np.int64), dests, dem_ptr, dem_idx, dem_src,
                 bool(unweighted), mode == "spf")
    load = np.zeros(ne)
    reached = np.zeros(len(dem_idx))
    dags.walk(_LOAD, dem_bps, np.zeros(0), load, reached)
    routable[dem_idx] = reached > 0
    return load, routable, [dags] if keep_blocks else []


def expected_latency(blocks: list, edge_delay_s: np.ndarray, n_nodes: int, src: np.ndarray,
                     routable: np.ndarray) -> np.ndarray:
    """Expected end-to-end delay per demand over the routed split, seconds.

    ``T(u) = sum over DAG edges (u, v) of split * (delay(u, v) + T(v))``,
    T = 0 at the destination; nan for unroutable demands. ``blocks`` come
    from :func:`route_arrays` (``keep_blocks=True``), which also keeps the
    demands' sources: ``n_nodes`` and ``src`` are accepted for the callers
    of the earlier block form and not read.
    """
    lat = np.where(routable, 0.0, np.nan)                  # 0 stays for src == dst
    delay = np.ascontiguousarray(edge_delay_s, dtype=float)
    for blk in blocks:
        t = np.full(len(blk.dem_idx), np.nan)             # stays nan where unroutable
        blk.walk(_LATENCY, np.zeros(0), delay, np.zeros(0), t)
        lat[blk.dem_idx] = t
    return lat


class ConvergenceWarning(RuntimeWarning):
    """An iterative solve stopped at its round limit before meeting its tolerance."""


#: Largest change of any pass fraction between two rounds at which the
#: tail-drop fixed point counts as converged (fractions are in (0, 1]).
PASS_FRACTION_TOL = 1e-9


def lossy_delivery(blocks: list, capacity_bps: np.ndarray, n_nodes: int, n_edges: int,
                   src: np.ndarray, demand_bps: np.ndarray, routable: np.ndarray,
                   max_iter: int = 500, tol: float = PASS_FRACTION_TOL,
                   load_bps: np.ndarray | None = None) -> "LossyDelivery":
    """Delivered traffic when overloaded links drop their excess (tail drop).

    A link offered more than its capacity passes the fraction
    ``p = min(1, capacity / offered)`` of every flow through it, so a link
    downstream of a drop sees less. ``offered`` depends on the pass fractions
    of the edges upstream of it, for every destination's DAG at once; two
    destinations can route in opposite directions over two overloaded edges,
    so the dependence between edges can be cyclic and no finite number of
    rounds is exact in general (on one destination's DAG, plain rounds are
    exact after as many rounds as the DAG is deep).

    The pass fractions are solved by fixed-point iteration: plain rounds for
    the first ``n_nodes`` rounds (enough for every single-DAG case), then
    rounds damped by one half (``p <- (p + p_new) / 2``: the map is
    decreasing in ``p``, so plain rounds can oscillate between two values).
    The solve has converged when no fraction changes by more than ``tol``
    in a round. When ``max_iter`` rounds pass without that, a
    :class:`ConvergenceWarning` is issued and ``converged`` is False; the
    result is then the last round's. Each demand's delivered share is
    ``S(src)`` with ``S(u) = sum over DAG edges (u, v) of split * pass * S(v)``
    and ``S(dst) = 1``.

    ``load_bps``, the load :func:`route_arrays` routed on the same blocks, lets
    the common case skip every walk: when no edge's load exceeds its capacity,
    the first round's offered load (all pass fractions 1) is that load, every
    fraction stays 1 and the solve has converged in one round; each routable
    demand is then delivered whole (exactly ``demand_bps``, where the survival
    walk would sum ECMP shares such as 6 x 1/6 to within a few ulps of 1).

    Returns
    -------
    LossyDelivery
        ``delivered_bps`` (n_demands,) bit/s reaching the destination;
        ``offered_bps`` (n_edges,) bit/s arriving at each directed edge after
        upstream drops; ``pass_fraction`` (n_edges,) share each edge passes,
        in (0, 1]; ``rounds`` the number of rounds run; ``converged``.

    Examples
    --------
    >>> import networkx as nx
    >>> from twin3d.physics.transport import Router
    >>> g = nx.Graph(); g.add_edge("A", "B", capacity_bps=1e9); g.add_edge("B", "C", capacity_bps=5e8)
    >>> r = Router(g).route({("A", "C"): 2e9}, capacity_bps=Router(g).capacity_bps)
    >>> float(r.delivered_bps[0]), r.converged
    (500000000.0, True)
    """
    cap = np.asarray(capacity_bps, dtype=float)
    demand_bps = np.asarray(demand_bps, dtype=float)
    if load_bps is not None and _NO_DROP_SHORTCUT and not np.any(load_bps > cap):
        return LossyDelivery(np.where(routable, demand_bps, 0.0), np.array(load_bps, dtype=float),
                             np.ones(n_edges), 1, True)
    grouped = [np.ascontiguousarray(demand_bps[blk.dem_idx]) for blk in blocks]
    pf = np.ones(n_edges)
    offered = np.zeros(n_edges)
    converged, rounds = False, 0
    for rounds in range(1, max_iter + 1):
        offered = np.zeros(n_edges)
        for blk, bps in zip(blocks, grouped):
            blk.walk(_OFFERED, bps, pf, offered, np.zeros(0))
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(offered > cap, cap / offered, 1.0)
        change = float(np.max(np.abs(new - pf), initial=0.0))
        pf = new if rounds <= n_nodes else 0.5 * (pf + new)
        if change <= tol:
            converged = True
            break
    if not converged:
        warnings.warn(f"tail-drop fixed point not converged after {max_iter} rounds "
                      f"(pass fractions still change by up to {change:.2e})",
                      ConvergenceWarning, stacklevel=3)
    surv = np.ones(len(demand_bps))
    for blk in blocks:
        s = np.ones(len(blk.dem_idx))
        blk.walk(_SURVIVAL, np.zeros(0), pf, np.zeros(0), s)
        surv[blk.dem_idx] = s
    delivered = np.where(routable, demand_bps * surv, 0.0)
    return LossyDelivery(delivered, offered, pf, rounds, converged)


class LossyDelivery(NamedTuple):
    """What :func:`lossy_delivery` returns."""

    delivered_bps: np.ndarray
    offered_bps: np.ndarray
    pass_fraction: np.ndarray
    rounds: int
    converged: bool


def _ptr(keys: np.ndarray, n: int) -> np.ndarray:
    """(n + 1,) CSR row pointer of sorted node indices."""
    return np.r_[0, np.cumsum(np.bincount(keys, minlength=n))].astype(np.int64)


@njit(cache=True)
def _group(src, dst, bps, node_ok, n):  # pragma: no cover - compiled
    """Demands sorted by destination (a stable counting sort, reading in sequence).

    Returns status (1: a node index out of range), routable (True for
    src == dst with the node up), ptr (n + 1,) and, per candidate demand
    (src != dst, both ends up) in that order: index, src, bps.
    """
    m = len(src)
    routable = np.zeros(m, np.bool_)
    ptr = np.zeros(n + 1, np.int64)
    for i in range(m):
        s = src[i]
        t = dst[i]
        if s < 0 or s >= n or t < 0 or t >= n:
            return 1, routable, ptr, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        if node_ok[s] and node_ok[t]:
            if s == t:
                routable[i] = True
            else:
                ptr[t + 1] += 1
    for i in range(n):
        ptr[i + 1] += ptr[i]
    fill = ptr[:-1].copy()
    out = np.empty(ptr[n], np.int64)
    out_src = np.empty(ptr[n], np.int64)
    out_bps = np.empty(ptr[n])
    for i in range(m):
        s = src[i]
        t = dst[i]
        if s != t and node_ok[s] and node_ok[t]:
            f = fill[t]
            out[f] = i
            out_src[f] = s
            out_bps[f] = bps[i]
            fill[t] = f + 1
    return 0, routable, ptr, out, out_src, out_bps


@njit(cache=True)
def _distances(t, in_ptr, in_tail, in_w, unweighted, dist, order, heap_d, heap_n):  # pragma: no cover
    """Distances to t into dist (all inf on entry; inf stays for unreached
    nodes); the reached nodes, nearest first, into order. Returns their count.

    Dijkstra pops by (distance, node index): nodes at equal distance come in
    ascending index, so the order is a function of the distances alone, not
    of the heap's history, and any search that finds the same distances
    (:func:`twin3d.physics.batch_dense.record_dense`) finds the same order,
    hence the same sums in every pass. Breadth-first search keeps its FIFO order.
    """
    dist[t] = 0.0
    order[0] = t
    if unweighted:                                   # breadth-first search
        head, tail = 0, 1
        while head < tail:
            x = order[head]
            head += 1
            dx = dist[x] + 1.0
            for j in range(in_ptr[x], in_ptr[x + 1]):
                y = in_tail[j]
                if dist[y] == np.inf:
                    dist[y] = dx
                    order[tail] = y
                    tail += 1
        return tail
    cnt = 0                                          # Dijkstra, binary heap, lazy deletion
    size = 1
    heap_d[0] = 0.0
    heap_n[0] = t
    while size > 0:
        d = heap_d[0]
        x = heap_n[0]
        size -= 1
        if size > 0:                                 # the last entry sifts down from the root
            ld = heap_d[size]
            ln = heap_n[size]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and (heap_d[c + 1] < heap_d[c] or (
                        heap_d[c + 1] == heap_d[c] and heap_n[c + 1] < heap_n[c])):
                    c += 1
                if heap_d[c] < ld or (heap_d[c] == ld and heap_n[c] < ln):
                    heap_d[i] = heap_d[c]
                    heap_n[i] = heap_n[c]
                    i = c
                else:
                    break
            heap_d[i] = ld
            heap_n[i] = ln
        if d > dist[x]:                              # stale entry
            continue
        order[cnt] = x
        cnt += 1
        for j in range(in_ptr[x], in_ptr[x + 1]):
            y = in_tail[j]
            nd = d + in_w[j]
            if nd < dist[y]:
                dist[y] = nd
                i = size                             # push, sift up
                size += 1
                while i > 0:
                    p = (i - 1) >> 1
                    if heap_d[p] > nd or (heap_d[p] == nd and heap_n[p] > y):
                        heap_d[i] = heap_d[p]
                        heap_n[i] = heap_n[p]
                        i = p
                    else:
                        break
                heap_d[i] = nd
                heap_n[i] = y
    return cnt


@njit(cache=True)
def _walk(kind, n, out_ptr, out_head, out_w, out_edge, in_ptr, in_tail, in_w, unweighted, spf,
          dests, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out):  # pragma: no cover
    """One pass over every destination's shortest-path DAG.

    kind _LOAD: edge_out += load per edge, dem_out = 1 for routed demands;
    _OFFERED: the same with each edge passing edge_val (pass fraction) of
    its flow downstream (edge_out is what arrives at the edge);
    _LATENCY: dem_out = T(src), T(u) = sum split (edge_val + T(v));
    _SURVIVAL: dem_out = S(src), S(u) = sum split edge_val S(v), S(dst) = 1.
    Demands whose source the destination does not reach are left alone.
    Returns 1 if a DAG edge does not lead to a node reached earlier (a cycle
    from a weight below the tolerance), else 0.
    """
    dist = np.full(n, np.inf)
    order = np.empty(n, np.int64)
    pos = np.zeros(n, np.int64)
    x = np.zeros(n)
    heap_d = np.empty(len(in_tail) + 1)
    heap_n = np.empty(len(in_tail) + 1, np.int64)
    push = kind == 0 or kind == 2
    for k in range(len(dests)):
        t = dests[k]
        cnt = _distances(t, in_ptr, in_tail, in_w, unweighted, dist, order, heap_d, heap_n)
        for r in range(cnt):
            pos[order[r]] = r
        if push:
            for j in range(dem_ptr[t], dem_ptr[t + 1]):
                s = dem_src[j]
                if dist[s] < np.inf:
                    x[s] += bps[j]
                    if kind == 0:
                        dem_out[j] = 1.0
        else:
            x[t] = 0.0 if kind == 1 else 1.0
        for q in range(1, cnt):
            r = cnt - q if push else q                   # farthest first to push, else nearest
            a = order[r]
            if push and x[a] == 0.0:
                continue
            da = dist[a]
            c = 0
            for e in range(out_ptr[a], out_ptr[a + 1]):
                if abs(da - out_w[e] - dist[out_head[e]]) <= _RTOL * da:
                    c += 1
                    if spf:
                        break
            if c == 0:
                return 1
            split = 1.0 / c
            f = x[a] * split
            acc = 0.0
            for e in range(out_ptr[a], out_ptr[a + 1]):
                b = out_head[e]
                if abs(da - out_w[e] - dist[b]) <= _RTOL * da:
                    if pos[b] >= r:
                        return 1
                    ge = out_edge[e]
                    if kind == 0:
                        edge_out[ge] += f
                        x[b] += f
                    elif kind == 2:
                        edge_out[ge] += f
                        x[b] += f * edge_val[ge]
                    elif kind == 1:
                        acc += split * (edge_val[ge] + x[b])
                    else:
                        acc += split * edge_val[ge] * x[b]
                    if spf:
                        break
            if not push:
                x[a] = acc
        if not push:
            for j in range(dem_ptr[t], dem_ptr[t + 1]):
                s = dem_src[j]
                if dist[s] < np.inf:
                    dem_out[j] = x[s]
        for r in range(cnt):
            dist[order[r]] = np.inf
            x[order[r]] = 0.0
    return 0


@njit(cache=True)
def _walk_hops(kind, n, in_ptr, in_tail, in_edge, dests, dem_ptr, dem_src, bps, edge_val,
               edge_out, dem_out):  # pragma: no cover - compiled
    """:func:`_walk` for ECMP by hops, in one breadth-first search per destination.

    The search records every DAG edge y -> a as it scans the edges into a
    (``d(y) = d(a) + 1``), grouped by head, nearest head first, and counts
    each node's DAG out-degree; the flow then runs over that list backwards
    (every edge into y comes before the edges out of y) and latency or
    survival forwards.
    """
    dist = np.full(n, -1, np.int64)
    order = np.empty(n, np.int64)
    deg = np.zeros(n, np.int64)
    x = np.zeros(n)
    m = len(in_tail)
    dag_t = np.empty(m, np.int64)
    dag_h = np.empty(m, np.int64)
    dag_e = np.empty(m, np.int64)
    push = kind == 0 or kind == 2
    for k in range(len(dests)):
        t = dests[k]
        dist[t] = 0
        order[0] = t
        head, tail, nd = 0, 1, 0
        while head < tail:
            a = order[head]
            head += 1
            da1 = dist[a] + 1
            for j in range(in_ptr[a], in_ptr[a + 1]):
                y = in_tail[j]
                if dist[y] < 0:
                    dist[y] = da1
                    order[tail] = y
                    tail += 1
                # branch-free: whether y -> a is a DAG edge is a coin toss to the
                # branch predictor; the entry is written anyway and kept or not
                hit = dist[y] == da1
                dag_t[nd] = y
                dag_h[nd] = a
                dag_e[nd] = in_edge[j]
                nd += hit
                deg[y] += hit
        if push:
            for j in range(dem_ptr[t], dem_ptr[t + 1]):
                s = dem_src[j]
                if dist[s] >= 0:
                    x[s] += bps[j]
                    if kind == 0:
                        dem_out[j] = 1.0
            for q in range(nd - 1, -1, -1):
                y = dag_t[q]
                if x[y] == 0.0:
                    continue
                f = x[y] * (1.0 / deg[y])
                ge = dag_e[q]
                edge_out[ge] += f
                if kind == 0:
                    x[dag_h[q]] += f
                else:
                    x[dag_h[q]] += f * edge_val[ge]
        else:
            x[t] = 0.0 if kind == 1 else 1.0
            for q in range(nd):
                y = dag_t[q]
                ge = dag_e[q]
                if kind == 1:
                    x[y] += (1.0 / deg[y]) * (edge_val[ge] + x[dag_h[q]])
                else:
                    x[y] += (1.0 / deg[y]) * edge_val[ge] * x[dag_h[q]]
            for j in range(dem_ptr[t], dem_ptr[t + 1]):
                s = dem_src[j]
                if dist[s] >= 0:
                    dem_out[j] = x[s]
        for r in range(tail):
            dist[order[r]] = -1
            x[order[r]] = 0.0
            deg[order[r]] = 0
    return 0
