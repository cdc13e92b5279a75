"""Kept shortest-path DAGs updated where distances change, without a search.

When links go down, a destination t whose DAG loses the last next hop of
some node has distances that grow; when links come up as shortcuts, they
shrink. :func:`update` finds the nodes whose distance to t changes and
their new distances by a dynamic shortest-path update restricted to them
(Ramalingam and Reps, 1996), instead of a search of the whole graph:

1. *Growth* (the edges down, those that came up not yet usable): the nodes
   whose every DAG next hop went down or leads to such a node, met nearest
   first from the tails of the lost DAG edges up the DAG; their distances
   are then found by Dijkstra seeded from their usable edges to the nodes
   that kept theirs.
2. *Shrinkage* (every usable edge): Dijkstra from the tails of edges that
   came up and give a shorter path, up the in-edges while distances fall.

Distances are exact: a node's distance is the minimum over its usable
out-edges of weight + the head's distance, a fixed point a full search
reaches with the same floating point sums. The nodes whose DAG edges can
differ (the changed ones, their in-neighbours, the tails of the edges that
went down or came up) get their next hops and split shares anew; the
segment keeps the other entries in place and merges the new ones by the
tail's distance (segments are kept in nondecreasing distance of the tail,
as the searches, :func:`~twin3d.physics.dagstore.remove` and
:func:`~twin3d.physics.dagstore.insert` leave them: a topological order).
The flows are then recomputed below the changed nodes
(:func:`~twin3d.physics.dagflow.reflow`) and the loads moved by them.

A destination that this cannot do (a check that would make the segment
not a topological order: a weight under the DAG tolerance) is left as it
was and reported, for a search.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .dagflow import _heap_pop, _heap_push, _is_dag_edge, reflow
from .dagstore import slack

__all__ = ["update"]


@njit(cache=True)
def _mark(u, in_a, list_a, old_d, d, na):  # pragma: no cover - compiled
    """Add node u to the changed list (with its distance before) unless it is there;
    returns the list's new length."""
    if not in_a[u]:
        in_a[u] = True
        list_a[na] = u
        old_d[na] = d[u]
        na += 1
    return na


@njit(cache=True)
def update(cands, k0, end, gone, added, before, usable, w, eu, ev, graph, spf, dist, split, own,
           thru, seg_start, seg_len, seg_cap, arena, dem_ptr, dem_src, bps, reached, load, uses,
           need):  # pragma: no cover - compiled
    """Update ``cands``' DAGs, distances and flows for edges gone down and come up.

    Parameters
    ----------
    cands : numpy.ndarray
        (k,) int, destinations to update, from ``k0`` on.
    end : int
        The arena's entries in use.
    gone : numpy.ndarray
        (n_edges,) bool, the directed edges that went down.
    added : numpy.ndarray
        (m,) int, the directed edges that came up.
    before, usable : numpy.ndarray
        (n_edges,) bool, the usable edges without ``added`` and with them.
    w : numpy.ndarray
        (n_edges,) weight per directed edge (1 by hops), > 0.
    eu, ev : numpy.ndarray
        (n_edges,) int, tail and head of each directed edge.
    graph : tuple
        (out_ptr, out_head, out_edge, in_ptr, in_tail, in_edge) of every
        directed edge, as :func:`~twin3d.physics.dagflow.reflow` takes it.
    spf : bool
        One next hop per node (the first DAG edge in out-edge order).
    dist, split, own, thru, seg_start, seg_len, seg_cap, arena, dem_ptr, dem_src, bps, reached
        As :func:`~twin3d.physics.dagstore.build` keeps them (updated in place).
    load, uses : numpy.ndarray
        (n_edges,) bit/s and DAG entries carrying flow per edge, moved by
        the changed flows; or (0,) both.
    need : numpy.ndarray
        (k,) bool, set True for a destination left as it was (search it).

    Returns
    -------
    (status, k, end, reflowed)
        status 0 done; 1 the arena is full before ``cands[k]`` (grow it and
        call again from k, that destination left as it was); the arena's
        entries in use; the nodes whose throughput was recomputed.
    """
    out_ptr, out_head, out_edge, in_ptr, in_tail, in_edge = graph
    a_edge, a_tail, a_head = arena
    cap = len(a_edge)
    n = len(dist[0])
    n_edges = len(w)
    in_a = np.zeros(n, np.bool_)              # distance changed
    seen = np.zeros(n, np.bool_)              # met as a candidate of growth
    in_t = np.zeros(n, np.bool_)              # next hops to find again
    queued = np.zeros(n, np.bool_)
    heap_d = np.empty(n_edges + n + 1)
    heap_n = np.empty(n_edges + n + 1, np.int64)
    list_a = np.empty(n, np.int64)
    old_d = np.empty(n)
    prev_d = np.empty(n)                      # old distance of a changed node, by node
    list_s = np.empty(n, np.int64)            # every node seen (flags to clear)
    list_t = np.empty(n, np.int64)
    heads = np.empty(n_edges + n, np.int64)
    new_e = np.empty(n_edges, np.int64)
    new_t = np.empty(n_edges, np.int64)
    new_h = np.empty(n_edges, np.int64)
    gone_tail = np.empty(n_edges, np.int64)
    old_pos = np.empty(n_edges, np.int64)
    m_e = np.empty(n_edges, np.int64)
    m_t = np.empty(n_edges, np.int64)
    m_h = np.empty(n_edges, np.int64)
    done = 0
    for k in range(k0, len(cands)):
        t = cands[k]
        d = dist[t]
        sp = split[t]
        s0 = seg_start[t]
        s1 = s0 + seg_len[t]
        na = 0
        ns = 0
        nt = 0
        # 1. growth: nodes whose every next hop is lost, nearest first (a min-heap: -d)
        size = 0
        ng = 0
        for q in range(s0, s1):
            if gone[a_edge[q]]:
                y = a_tail[q]
                gone_tail[ng] = y
                ng += 1
                if not seen[y]:
                    seen[y] = True
                    list_s[ns] = y
                    ns += 1
                    size = _heap_push(heap_d, heap_n, size, -d[y], y)
        while size > 0:
            y, size = _heap_pop(heap_d, heap_n, size)
            dy = d[y]
            kept = False
            for j in range(out_ptr[y], out_ptr[y + 1]):
                e = out_edge[j]
                b = out_head[j]
                if before[e] and not in_a[b] and _is_dag_edge(dy, w[e], d[b]):
                    kept = True
                    break
            if kept:
                continue
            in_a[y] = True
            list_a[na] = y
            old_d[na] = dy
            na += 1
            for j in range(in_ptr[y], in_ptr[y + 1]):
                e = in_edge[j]
                p = in_tail[j]
                if before[e] and not seen[p] and _is_dag_edge(d[p], w[e], dy):
                    seen[p] = True
                    list_s[ns] = p
                    ns += 1
                    size = _heap_push(heap_d, heap_n, size, -d[p], p)
        n_grown = na
        if n_grown:               # their distances: Dijkstra from the edges to the others
            for i in range(n_grown):
                d[list_a[i]] = np.inf
            size = 0
            for i in range(n_grown):
                a = list_a[i]
                best = np.inf
                for j in range(out_ptr[a], out_ptr[a + 1]):
                    e = out_edge[j]
                    b = out_head[j]
                    if before[e] and not in_a[b] and d[b] < np.inf:
                        best = min(best, d[b] + w[e])
                if best < np.inf:
                    d[a] = best
                    size = _heap_push(heap_d, heap_n, size, -best, a)
            while size > 0:
                key = -heap_d[0]
                a, size = _heap_pop(heap_d, heap_n, size)
                if key > d[a]:
                    continue                      # stale
                for j in range(in_ptr[a], in_ptr[a + 1]):
                    e = in_edge[j]
                    p = in_tail[j]
                    if before[e] and in_a[p]:
                        x = d[a] + w[e]
                        if x < d[p]:
                            d[p] = x
                            size = _heap_push(heap_d, heap_n, size, -x, p)
        # 2. shrinkage: Dijkstra from the edges that came up with a shorter path
        size = 0
        for i in range(len(added)):
            e = added[i]
            u = eu[e]
            x = d[ev[e]] + w[e]
            if x < d[u]:
                na = _mark(u, in_a, list_a, old_d, d, na)
                d[u] = x
                size = _heap_push(heap_d, heap_n, size, -x, u)
        while size > 0:
            key = -heap_d[0]
            a, size = _heap_pop(heap_d, heap_n, size)
            if key > d[a]:
                continue
            for j in range(in_ptr[a], in_ptr[a + 1]):
                e = in_edge[j]
                p = in_tail[j]
                if usable[e]:
                    x = d[a] + w[e]
                    if x < d[p]:
                        na = _mark(p, in_a, list_a, old_d, d, na)
                        d[p] = x
                        size = _heap_push(heap_d, heap_n, size, -x, p)
        # 3. the nodes whose next hops can differ: changed ones, their in-neighbours,
        # the tails of the edges that went down or came up
        for i in range(na):
            prev_d[list_a[i]] = old_d[i]
        for i in range(na):
            a = list_a[i]
            if not in_t[a]:
                in_t[a] = True
                list_t[nt] = a
                nt += 1
            da = d[a]
            was = prev_d[a]
            for j in range(in_ptr[a], in_ptr[a + 1]):
                p = in_tail[j]
                if in_t[p]:
                    continue
                e = in_edge[j]
                dp = prev_d[p] if in_a[p] else d[p]
                # an in-neighbour whose edge to a is on the DAG before or after
                if _is_dag_edge(dp, w[e], was) or _is_dag_edge(d[p], w[e], da):
                    in_t[p] = True
                    list_t[nt] = p
                    nt += 1
        for i in range(ng):
            y = gone_tail[i]
            if not in_t[y]:
                in_t[y] = True
                list_t[nt] = y
                nt += 1
        for i in range(len(added)):
            u = eu[added[i]]
            if not in_t[u]:
                in_t[u] = True
                list_t[nt] = u
                nt += 1
        in_t[t] = False                           # the destination has no next hop
        # their new DAG edges, by the tail's distance (unreached tails have none)
        order = np.argsort(d[list_t[:nt]])
        n_new = 0
        ok = True
        for i in range(nt):
            y = list_t[order[i]]
            dy = d[y]
            if y == t or dy == np.inf:
                continue
            c = 0
            for j in range(out_ptr[y], out_ptr[y + 1]):
                e = out_edge[j]
                b = out_head[j]
                if usable[e] and _is_dag_edge(dy, w[e], d[b]):
                    if not d[b] < dy:
                        ok = False                # a weight under the tolerance: search
                    new_e[n_new] = e
                    new_t[n_new] = y
                    new_h[n_new] = b
                    n_new += 1
                    c += 1
                    if spf:
                        break
            if c == 0:
                ok = False
        # merge the kept entries (tails not in T) with the new ones by the tail's distance
        nm = 0
        i_new = 0
        n_old = 0
        last = -np.inf
        if ok:
            for q in range(s0, s1):
                y = a_tail[q]
                if in_t[y]:
                    old_pos[n_old] = q
                    n_old += 1
                    continue
                dy = d[y]
                while i_new < n_new and d[new_t[i_new]] < dy:
                    m_e[nm] = new_e[i_new]
                    m_t[nm] = new_t[i_new]
                    m_h[nm] = new_h[i_new]
                    nm += 1
                    i_new += 1
                if dy < last:
                    ok = False                    # not in the kept order: search
                    break
                last = dy
                m_e[nm] = a_edge[q]
                m_t[nm] = y
                m_h[nm] = a_head[q]
                nm += 1
            while i_new < n_new:
                m_e[nm] = new_e[i_new]
                m_t[nm] = new_t[i_new]
                m_h[nm] = new_h[i_new]
                nm += 1
                i_new += 1
        in_place = nm <= seg_cap[t]
        full = ok and not in_place and cap - end < nm + slack(nm)
        if not ok or full:                        # left as it was
            for i in range(na):
                d[list_a[i]] = old_d[i]
            for i in range(na):
                in_a[list_a[i]] = False
            for i in range(ns):
                seen[list_s[i]] = False
            for i in range(nt):
                in_t[list_t[i]] = False
            if full:
                return 1, k, end, done
            need[k] = True
            continue
        # 4. commit: the old next hops' flows leave the loads, the new ones' come
        nh = 0
        for i in range(n_old):
            q = old_pos[i]
            y = a_tail[q]
            h = a_head[q]
            if not queued[h]:
                queued[h] = True
                heads[nh] = h
                nh += 1
            if len(load) and thru[t][y] != 0.0:
                e = a_edge[q]
                load[e] -= thru[t][y] * sp[y]
                uses[e] -= 1
        for i in range(nt):
            y = list_t[i]
            if d[y] < np.inf:
                sp[y] = 0.0                       # counted below
        for i in range(n_new):
            sp[new_t[i]] += 1.0
        for i in range(nt):
            y = list_t[i]
            if d[y] < np.inf and y != t:
                sp[y] = 1.0 / sp[y]
        if len(load):
            for i in range(n_new):
                y = new_t[i]
                if thru[t][y] != 0.0:
                    e = new_e[i]
                    load[e] += thru[t][y] * sp[y]
                    uses[e] += 1
        if in_place:
            start = s0
        else:
            start = end
            seg_cap[t] = nm + slack(nm)
            end += seg_cap[t]
        for i in range(nm):
            a_edge[start + i] = m_e[i]
            a_tail[start + i] = m_t[i]
            a_head[start + i] = m_h[i]
        seg_start[t] = start
        seg_len[t] = nm
        # reachability: a node reached or lost changes the reached demands and own demand
        moved = False
        for i in range(na):
            if (old_d[i] == np.inf) != (d[list_a[i]] == np.inf):
                moved = True
        if moved:
            ow = own[t]
            ow[:] = 0.0
            for j in range(dem_ptr[t], dem_ptr[t + 1]):
                s = dem_src[j]
                if d[s] < np.inf:
                    reached[j] = 1.0
                    ow[s] += bps[j]
                else:
                    reached[j] = 0.0
        for i in range(na):                       # their own demand or inflow may differ
            a = list_a[i]
            if not queued[a]:
                queued[a] = True
                heads[nh] = a
                nh += 1
        for i in range(nh):
            queued[heads[i]] = False
        for i in range(na):
            in_a[list_a[i]] = False
        for i in range(ns):
            seen[list_s[i]] = False
        for i in range(nt):
            in_t[list_t[i]] = False
        done += reflow(list_t[:nt], heads[:nh], d, sp, own[t], thru[t], graph, usable, w,
                       queued, heap_d, heap_n, load, uses)
    return 0, len(cands), end, done
