"""Shortest-path DAGs recorded once and walked many times (for the batched step).

The router's kernels (:func:`twin3d.physics.routing._walk` and
:func:`~twin3d.physics.routing._walk_hops`) recompute every destination's
distances and DAG on each pass: the load pass, the latency pass, every
tail-drop round and the survival pass all walk the same graph. The batched
step (:mod:`twin3d.physics.batch_step`) records the DAGs once per graph
(:func:`record`, :func:`record_hops`) and replays them (:func:`replay`,
:func:`replay_hops`). A replay performs the same floating-point operations
in the same order as the kernel it stands for, so its results are the
kernel's bit for bit:

* ``record`` runs the router's own search (:func:`~twin3d.physics.routing._distances`)
  and applies ``_walk``'s DAG test (relative tolerance 1e-9, SPF keeping
  the first edge) per reached node, nearest first; ``replay`` then pushes
  flow farthest first or pulls latency / survival nearest first, as
  ``_walk`` does. A node whose DAG test fails (no DAG edge, or one to a
  node not nearer: a cycle from a weight below the tolerance) is flagged,
  and a replay that visits it returns 1, where ``_walk`` would: the push
  passes skip nodes without flow, so a flagged node without flow is no
  error there either;
* ``record_hops`` is ``_walk_hops``'s breadth-first search with its list
  of DAG edges (grouped by head, nearest head first); ``replay_hops``
  runs over that list backwards to push and forwards to pull.

The batched step walks weighted DAGs flat (:func:`replay_flat`): with each
edge's tail recorded (``record``'s ``dag_t``, or :func:`tails` after it), a
destination's edges, listed by their tail's rank, are one list run
backwards to push and forwards to pull, without a loop per node (whose
varying length the processor cannot predict); when traffic drops, the
latency and survival passes share one walk (:func:`replay_pull2`). Both
give :func:`replay`'s results bit for bit.

Arrays are laid out per destination k (row k): ``order[k, :cnt[k]]`` the
reached nodes nearest first, ``pos[k, node]`` the rank in that order (-1
unreached); the DAG edges of the node of rank r are ``ptr[k, r]`` to
``ptr[k, r + 1]`` of the flat ``dag_e`` (edge index) and ``dag_h`` (head),
``split[k, r]`` its share per edge and ``bad[k, r]`` the failed test.
For hops, ``ptr[k, 0]`` to ``ptr[k, 1]`` is destination k's edge list,
``dag_t`` the tails and ``deg[k, node]`` the DAG out-degree.

Examples
--------
The load pass of a square A-B-D, A-C-D (weights 1, 2 Gbit/s from A to D),
recorded then replayed, as the router's own pass gives it:

>>> import networkx as nx
>>> from twin3d.physics.routing import route_arrays
>>> from twin3d.physics.transport import Router
>>> r = Router(nx.Graph([("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")]), metric="hops")
>>> w = np.full(r.n_edges, 2.0)                       # weighted: Dijkstra and _walk
>>> load, _, (d,) = route_arrays(4, r.u, r.v, w, np.ones(8, bool), np.array([0]),
...                              np.array([3]), np.array([2e9]), np.ones(4, bool),
...                              keep_blocks=True)
>>> dg = alloc(len(d.dests), 4, 8)
>>> _ = record(4, d.out_ptr, d.out_head, d.out_w, d.out_edge, d.in_ptr, d.in_tail, d.in_w,
...            False, False, d.dests, *dg[:8])
>>> again = np.zeros(8)
>>> replay(0, 4, d.dests, d.dem_ptr, d.dem_src, np.array([2e9]), np.zeros(0), again,
...        np.zeros(1), *dg[:8])
0
>>> bool(np.array_equal(again, load)), sorted(set(again.tolist()))
(True, [0.0, 1000000000.0])
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .routing import _RTOL, _distances

__all__ = ["alloc", "record", "record_hops", "replay", "replay_flat", "replay_hops", "replay_pull2",
           "tails"]


@njit(cache=True)
def alloc(n_dests, n, m):  # pragma: no cover - compiled
    """(cnt, order, pos, ptr, split, bad, dag_e, dag_h, dag_t, deg) for ``n_dests``
    destinations on ``n`` nodes and ``m`` usable edges."""
    # the records write every entry the replays read: no need to clear them
    return (np.zeros(n_dests, np.int64), np.empty((n_dests, n), np.int64),
            np.full((n_dests, n), -1, np.int64), np.zeros((n_dests, n + 1), np.int64),
            np.empty((n_dests, n)), np.empty((n_dests, n), np.bool_),
            np.empty(n_dests * m + 1, np.int64), np.empty(n_dests * m + 1, np.int64),
            np.empty(n_dests * m + 1, np.int64), np.zeros((n_dests, n), np.int64))


@njit(cache=True)
def dag_rows(c_k, ok, pk, dist, out_ptr, out_head, out_w, out_edge, spf, bk, sk, pt, dag_e, dag_h,
             dag_t, nxt):  # pragma: no cover - compiled
    """One destination's DAG from its distances, written from ``nxt`` on; returns the new end.

    ``ok``/``pk``: the nodes in rank order and each node's rank (rank 0 the
    destination); ``bk``/``sk``/``pt``: that destination's rows of ``bad``,
    ``split`` and ``ptr``; ``dag_t`` gets each DAG edge's tail (as :func:`tails`).
    An edge is on the DAG when its head is closer by
    its weight (to ``_RTOL``); ``bad`` marks a node whose DAG edge reaches a
    node ranked at or after it, or that has none.
    """
    pt[0] = nxt
    pt[1] = nxt                          # rank 0 is the destination: no DAG edges
    for r in range(1, c_k):
        a = ok[r]
        da = dist[a]
        tol = _RTOL * da
        first = nxt
        flag = False
        if spf:
            for e in range(out_ptr[a], out_ptr[a + 1]):
                b = out_head[e]
                if abs(da - out_w[e] - dist[b]) <= tol:
                    flag = pk[b] >= r
                    dag_e[nxt] = out_edge[e]
                    dag_h[nxt] = b
                    dag_t[nxt] = a
                    nxt += 1
                    break
        else:       # the test decides without a branch (it is unpredictable): write
            for e in range(out_ptr[a], out_ptr[a + 1]):   # always, keep what passes
                b = out_head[e]
                on = abs(da - out_w[e] - dist[b]) <= tol
                flag |= on & (pk[b] >= r)
                dag_e[nxt] = out_edge[e]
                dag_h[nxt] = b
                dag_t[nxt] = a
                nxt += on
        c = nxt - first
        bk[r] = flag or c == 0
        sk[r] = 1.0 / c if c > 0 else 0.0
        pt[r + 1] = nxt
    return nxt


@njit(cache=True)
def record(n, out_ptr, out_head, out_w, out_edge, in_ptr, in_tail, in_w, unweighted, spf, dests,
           cnt, order, pos, ptr, split, bad, dag_e, dag_h,
           dag_t=None):  # pragma: no cover - compiled
    """Every destination's distances and DAG, as ``_walk`` finds them, into the arrays
    (with ``dag_t``, each DAG edge's tail too, as :func:`tails` writes it)."""
    tl = np.empty(len(dag_e), np.int64) if dag_t is None else dag_t
    dist = np.full(n, np.inf)
    heap_d = np.empty(len(in_tail) + 1)
    heap_n = np.empty(len(in_tail) + 1, np.int64)
    nxt = 0
    for k in range(len(dests)):
        t = dests[k]
        ok = order[k]
        pk = pos[k]
        pk[:] = -1
        c_k = _distances(t, in_ptr, in_tail, in_w, unweighted, dist, ok, heap_d, heap_n)
        cnt[k] = c_k
        for r in range(c_k):
            pk[ok[r]] = r
        nxt = dag_rows(c_k, ok, pk, dist, out_ptr, out_head, out_w, out_edge, spf, bad[k],
                       split[k], ptr[k], dag_e, dag_h, tl, nxt)
        for r in range(c_k):
            dist[ok[r]] = np.inf
    return nxt


@njit(cache=True)
def replay(kind, n, dests, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out, cnt, order, pos,
           ptr, split, bad, dag_e, dag_h):  # pragma: no cover - compiled
    """One pass of ``_walk`` (same ``kind`` codes and arguments) over recorded DAGs.

    Returns 1 where ``_walk`` would report a cycle, else 0.
    """
    x = np.zeros(n)
    for k in range(len(dests)):
        if _replay_dest(kind, k, dests[k], dem_ptr, dem_src, bps, edge_val, edge_out, dem_out,
                        cnt[k], order[k], pos[k], ptr, split, bad, dag_e, dag_h, x):
            return 1
    return 0


@njit(cache=True)
def tails(n_dests, cnt, order, ptr, dag_t):  # pragma: no cover - compiled
    """``dag_t[i]``: the tail of recorded DAG edge i (``record``'s layout) of the
    first ``n_dests`` destinations (the rows recorded last: later rows may hold
    an older record), for :func:`replay_flat` and :func:`replay_pull2`."""
    for k in range(n_dests):
        ok = order[k]
        pt = ptr[k]
        for r in range(1, cnt[k]):
            a = ok[r]
            for i in range(pt[r], pt[r + 1]):
                dag_t[i] = a


@njit(cache=True)
def _shares(k, c_k, ok, split, bad, sh):  # pragma: no cover - compiled
    """``sh[node]``: the share per DAG edge of each reached node of destination k
    (by node, not rank); returns whether a node of k is flagged."""
    flagged = False
    for r in range(1, c_k):
        sh[ok[r]] = split[k, r]
        flagged |= bad[k, r]
    return flagged


@njit(cache=True)
def replay_flat(kind, n, dests, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out, cnt, order,
                pos, ptr, split, bad, dag_e, dag_h, dag_t):  # pragma: no cover - compiled
    """:func:`replay` walking each destination's DAG edges as one flat list
    (``dag_t``: :func:`tails`), without a loop per node; the same results bit for bit.

    The edges are listed by their tail's rank, so backwards every node has
    received all its flow before it pushes (pushing a node without flow adds
    0.0, which changes nothing: loads and flows are >= 0), and forwards
    every node's value is final before a farther node reads it; a node's
    sum starts at 0.0 and adds its edges' terms in :func:`replay`'s order
    (the load pass walks the list backwards whole: parallel edges from one
    tail to one head add the same share, so their order cannot change a
    sum; the offered pass adds shares times different pass fractions, so it
    walks each tail's edges forwards).
    A destination with a flagged node is walked node by node, as :func:`replay`.
    """
    x = np.zeros(n)
    sh = np.zeros(n)
    push = kind == 0 or kind == 2
    for k in range(len(dests)):
        t = dests[k]
        c_k = cnt[k]
        ok = order[k]
        pk = pos[k]
        if _shares(k, c_k, ok, split, bad, sh):
            if _replay_dest(kind, k, t, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out, c_k,
                            ok, pk, ptr, split, bad, dag_e, dag_h, x):
                return 1
            continue
        lo, hi = ptr[k, 1], ptr[k, c_k]
        if push:
            for j in range(dem_ptr[t], dem_ptr[t + 1]):
                s = dem_src[j]
                if pk[s] >= 0:
                    x[s] += bps[j]
                    if kind == 0:
                        dem_out[j] = 1.0
            if kind == 0:
                for i in range(hi - 1, lo - 1, -1):
                    f = x[dag_t[i]] * sh[dag_t[i]]
                    edge_out[dag_e[i]] += f
                    x[dag_h[i]] += f
            else:
                # tails farthest first but each tail's edges in list order: parallel
                # edges into one head add different terms f * edge_val, and a sum's
                # bits depend on the order of its terms
                pt = ptr[k]
                for r in range(c_k - 1, 0, -1):
                    for i in range(pt[r], pt[r + 1]):
                        f = x[dag_t[i]] * sh[dag_t[i]]
                        ge = dag_e[i]
                        edge_out[ge] += f
                        x[dag_h[i]] += f * edge_val[ge]
        else:
            x[t] = 0.0 if kind == 1 else 1.0
            if kind == 1:
                for i in range(lo, hi):
                    a = dag_t[i]
                    x[a] += sh[a] * (edge_val[dag_e[i]] + x[dag_h[i]])
            else:
                for i in range(lo, hi):
                    a = dag_t[i]
                    x[a] += sh[a] * edge_val[dag_e[i]] * x[dag_h[i]]
            for j in range(dem_ptr[t], dem_ptr[t + 1]):
                s = dem_src[j]
                if pk[s] >= 0:
                    dem_out[j] = x[s]
        for r in range(c_k):
            x[ok[r]] = 0.0
    return 0


@njit(cache=True)
def _replay_dest(kind, k, t, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out, c_k, ok, pk,
                 ptr, split, bad, dag_e, dag_h, x):  # pragma: no cover - compiled
    """Destination k of :func:`replay`, node by node (``x`` left zero); 1 on a flagged node."""
    push = kind == 0 or kind == 2
    if push:
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            s = dem_src[j]
            if pk[s] >= 0:
                x[s] += bps[j]
                if kind == 0:
                    dem_out[j] = 1.0
    else:
        x[t] = 0.0 if kind == 1 else 1.0
    for q in range(1, c_k):
        r = c_k - q if push else q
        a = ok[r]
        if push and x[a] == 0.0:
            continue
        if bad[k, r]:
            for i in range(c_k):
                x[ok[i]] = 0.0
            return 1
        sp = split[k, r]
        f = x[a] * sp
        acc = 0.0
        for i in range(ptr[k, r], ptr[k, r + 1]):
            ge = dag_e[i]
            b = dag_h[i]
            if kind == 0:
                edge_out[ge] += f
                x[b] += f
            elif kind == 2:
                edge_out[ge] += f
                x[b] += f * edge_val[ge]
            elif kind == 1:
                acc += sp * (edge_val[ge] + x[b])
            else:
                acc += sp * edge_val[ge] * x[b]
        if not push:
            x[a] = acc
    if not push:
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            s = dem_src[j]
            if pk[s] >= 0:
                dem_out[j] = x[s]
    for r in range(c_k):
        x[ok[r]] = 0.0
    return 0


@njit(cache=True)
def replay_pull2(n, dests, dem_ptr, dem_src, delay, pf, lat_out, surv_out, cnt, order, pos, ptr,
                 split, bad, dag_e, dag_h, dag_t):  # pragma: no cover - compiled
    """The latency pass (``kind`` 1 on ``delay``) and the survival pass (``kind`` 3
    on ``pf``) of :func:`replay` in one walk of the recorded DAGs (flat, as
    :func:`replay_flat`; ``dag_t``: :func:`tails`).

    Both pull nearest first over the same edges; each keeps its own values
    and sums in :func:`replay`'s order, so ``lat_out`` and ``surv_out`` are
    those two passes' results bit for bit. Returns 1 where either would.
    """
    x = np.zeros(n)
    y = np.zeros(n)
    sh = np.zeros(n)
    for k in range(len(dests)):
        t = dests[k]
        c_k = cnt[k]
        ok = order[k]
        pk = pos[k]
        if _shares(k, c_k, ok, split, bad, sh):
            return 1                # a pull pass visits every reached node: it meets the flag
        x[t] = 0.0
        y[t] = 1.0
        for i in range(ptr[k, 1], ptr[k, c_k]):
            a = dag_t[i]
            ge = dag_e[i]
            b = dag_h[i]
            x[a] += sh[a] * (delay[ge] + x[b])
            y[a] += sh[a] * pf[ge] * y[b]
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            s = dem_src[j]
            if pk[s] >= 0:
                lat_out[j] = x[s]
                surv_out[j] = y[s]
        for r in range(c_k):
            x[ok[r]] = 0.0
            y[ok[r]] = 0.0
    return 0


@njit(cache=True)
def record_hops(n, in_ptr, in_tail, in_edge, dests, cnt, order, pos, ptr, dag_e, dag_h, dag_t,
                deg):  # pragma: no cover - compiled
    """``_walk_hops``'s search and DAG edge list of every destination, into the arrays."""
    dist = np.full(n, -1, np.int64)
    nxt = 0
    for k in range(len(dests)):
        t = dests[k]
        ok = order[k]
        pk = pos[k]
        dk = deg[k]
        pk[:] = -1
        dk[:] = 0
        dist[t] = 0
        ok[0] = t
        head, tail = 0, 1
        ptr[k, 0] = nxt
        while head < tail:
            a = ok[head]
            head += 1
            da1 = dist[a] + 1
            for j in range(in_ptr[a], in_ptr[a + 1]):
                y = in_tail[j]
                if dist[y] < 0:
                    dist[y] = da1
                    ok[tail] = y
                    tail += 1
                if dist[y] == da1:
                    dag_t[nxt] = y
                    dag_h[nxt] = a
                    dag_e[nxt] = in_edge[j]
                    nxt += 1
                    dk[y] += 1
        ptr[k, 1] = nxt
        cnt[k] = tail
        for r in range(tail):
            pk[ok[r]] = r
            dist[ok[r]] = -1
    return nxt


@njit(cache=True)
def replay_hops(kind, n, dests, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out, cnt, order,
                pos, ptr, dag_e, dag_h, dag_t, deg):  # pragma: no cover - compiled
    """One pass of ``_walk_hops`` (same ``kind`` codes and arguments) over recorded DAGs."""
    x = np.zeros(n)
    push = kind == 0 or kind == 2
    for k in range(len(dests)):
        t = dests[k]
        pk = pos[k]
        dk = deg[k]
        lo, hi = ptr[k, 0], ptr[k, 1]
        if push:
            for j in range(dem_ptr[t], dem_ptr[t + 1]):
                s = dem_src[j]
                if pk[s] >= 0:
                    x[s] += bps[j]
                    if kind == 0:
                        dem_out[j] = 1.0
            for q in range(hi - 1, lo - 1, -1):
                y = dag_t[q]
                if x[y] == 0.0:
                    continue
                f = x[y] * (1.0 / dk[y])
                ge = dag_e[q]
                edge_out[ge] += f
                if kind == 0:
                    x[dag_h[q]] += f
                else:
                    x[dag_h[q]] += f * edge_val[ge]
        else:
            x[t] = 0.0 if kind == 1 else 1.0
            for q in range(lo, hi):
                y = dag_t[q]
                ge = dag_e[q]
                if kind == 1:
                    x[y] += (1.0 / dk[y]) * (edge_val[ge] + x[dag_h[q]])
                else:
                    x[y] += (1.0 / dk[y]) * edge_val[ge] * x[dag_h[q]]
            for j in range(dem_ptr[t], dem_ptr[t + 1]):
                s = dem_src[j]
                if pk[s] >= 0:
                    dem_out[j] = x[s]
        ok = order[k]
        for r in range(cnt[k]):
            x[ok[r]] = 0.0
    return 0
