"""Edit kept DAGs in place of a search: drop edges that went down
(:func:`remove`), add edges that joined (:func:`insert`), moving the loads
by the flows they change. Part of :mod:`twin3d.physics.dagstore`, which
re-exports them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .dagarena import slack
from .dagflow import _is_dag_edge, reflow
from .routing import _RTOL


@njit(cache=True)
def _move_tail(u, was, now, d, graph, usable, other, w, load,
               uses):  # pragma: no cover - compiled
    """Tail u of one destination's DAG passed ``was`` bit/s on each DAG edge and
    now passes ``now``: its usable DAG edges move by the difference, except the
    ``other`` ones (per edge): gone ones (not usable) lose ``was``, new ones
    (usable) gain ``now`` (and ``uses``, the entries carrying flow, follow)."""
    out_ptr, out_head, out_edge = graph[0], graph[1], graph[2]
    du = d[u]
    for k in range(out_ptr[u], out_ptr[u + 1]):
        e = out_edge[k]
        if not _is_dag_edge(du, w[e], d[out_head[k]]):
            continue
        if usable[e]:
            if other[e]:
                load[e] += now
                uses[e] += now != 0.0
            else:
                load[e] += now - was
        elif other[e]:
            load[e] -= was
            uses[e] -= was != 0.0



@njit(cache=True)
def remove(cands, gone, usable, w, graph, dist, split, own, thru, seg_start, seg_len, arena,
           load, uses):  # pragma: no cover - compiled
    """Drop the DAG edges that went down (``gone``, per edge) from ``cands``' DAGs.

    A destination whose DAG loses edges while every tail keeps another DAG
    edge keeps its distances: its DAG is the same minus those edges, each
    such tail's split share becomes 1 / (its remaining DAG edges), and the
    throughput below those tails is recomputed (:func:`dagflow.reflow` on
    the ``usable`` edges, with ``w`` and ``graph`` as it takes them).
    ``load``: (n_edges,) bit/s moved by the changed flows, or (0,) (see
    :func:`dagflow.reflow`); ``uses``: (n_edges,) kept DAG entries per edge
    (with ``load``).
    Returns ((len(cands),) bool, int): True where a tail would lose its last
    DAG edge (the destination must be searched again, and is left as it
    was); the nodes whose throughput was recomputed.
    """
    a_edge, a_tail, a_head = arena
    n = len(dist[0])
    need = np.zeros(len(cands), np.bool_)
    lost = np.zeros(n, np.int64)
    queued = np.zeros(n, np.bool_)
    heap_d = np.empty(n)
    heap_n = np.empty(n, np.int64)
    n_gone = 0
    for e in range(len(gone)):
        n_gone += gone[e]
    done = 0
    at = np.empty(max(n_gone, 1), np.int64)       # positions of the lost entries
    tails = np.empty(max(n_gone, 1), np.int64)
    heads = np.empty(max(n_gone, 1), np.int64)
    for k in range(len(cands)):
        t = cands[k]
        sp = split[t]
        start = seg_start[t]
        end = start + seg_len[t]
        ng = 0
        for q in range(start, end):
            if gone[a_edge[q]]:
                at[ng] = q
                heads[ng] = a_head[q]
                ng += 1
        nt = 0
        for i in range(ng):
            y = a_tail[at[i]]
            if lost[y] == 0:
                tails[nt] = y
                nt += 1
            lost[y] += 1
        for i in range(nt):
            y = tails[i]
            if lost[y] >= round(1.0 / sp[y]):
                need[k] = True
        for i in range(nt):                       # renew the shares (or just clear the counts)
            y = tails[i]
            if not need[k]:
                old = sp[y]
                sp[y] = 1.0 / (round(1.0 / old) - lost[y])
                if len(load):
                    _move_tail(y, thru[t][y] * old, thru[t][y] * sp[y], dist[t], graph, usable,
                               gone, w, load, uses)
            lost[y] = 0
        if need[k] or ng == 0:
            continue
        wpos = at[0]
        for q in range(at[0], end):
            e = a_edge[q]
            if not gone[e]:
                a_edge[wpos] = e
                a_tail[wpos] = a_tail[q]
                a_head[wpos] = a_head[q]
                wpos += 1
        seg_len[t] = wpos - start
        done += reflow(tails[:nt], heads[:ng], dist[t], sp, own[t], thru[t], graph, usable, w,
                       queued, heap_d, heap_n, load, uses)
    return need, done



@njit(cache=True)
def insert(cands, k0, end, added, eu, ev, ew, graph, usable, dist, split, own, thru, seg_start,
           seg_len, seg_cap, arena, load, uses):  # pragma: no cover - compiled
    """Add the edges that came up and tie a shortest path (``added``) to ``cands``' DAGs.

    An edge u -> v with ``d(u) = w + d(v)`` (within the DAG tolerance; u
    already on the DAG) leaves the distances as they were: it joins the DAG
    after u's last DAG edge (after every edge out of v, before every edge
    into u), u's split share becomes 1 / (its DAG edges), and the
    throughput below u is recomputed (:func:`dagflow.reflow` on the
    ``usable`` edges, weights ``ew``; ``load`` as :func:`remove` takes it).
    A segment with room enough
    (``seg_cap``) is shifted in place; another is copied to the arena end
    with the new entries. Returns (status, k, end, reflowed): status 0 done,
    1 the arena is full before ``cands[k]``; then the nodes whose throughput was
    recomputed.
    """
    a_edge, a_tail, a_head = arena
    cap = len(a_edge)
    n = len(dist[0])
    last = np.full(n, -1, np.int64)
    more = np.zeros(n, np.int64)
    queued = np.zeros(n, np.bool_)
    heap_d = np.empty(n)
    heap_n = np.empty(n, np.int64)
    tails = np.empty(max(len(added), 1), np.int64)
    no_heads = np.empty(0, np.int64)
    done = 0
    is_new = np.zeros(len(ew), np.bool_)          # the edges that came up
    for i in range(len(added)):
        is_new[added[i]] = True
    for k in range(k0, len(cands)):
        t = cands[k]
        d = dist[t]
        sp = split[t]
        start = seg_start[t]
        stop = start + seg_len[t]
        n_new = 0
        nt = 0
        for i in range(len(added)):
            e = added[i]
            u = eu[e]
            # u is on the DAG when it is reached (and not t, which no tie leaves)
            if d[u] < np.inf and abs(d[u] - ew[e] - d[ev[e]]) <= _RTOL * d[u]:
                if more[u] == 0:
                    tails[nt] = u
                    nt += 1
                more[u] += 1
                n_new += 1
        size = seg_len[t] + n_new
        in_place = size <= seg_cap[t]
        if not in_place and cap - end < size + slack(size):
            for i in range(nt):
                more[tails[i]] = 0
            return 1, k, end, done
        for i in range(nt):
            y = tails[i]
            old = sp[y]
            sp[y] = 1.0 / (round(1.0 / old) + more[y])
            if len(load):
                _move_tail(y, thru[t][y] * old, thru[t][y] * sp[y], d, graph, usable, is_new, ew,
                           load, uses)
        if in_place:        # backwards: each entry moves up by the new entries after it
            new = start
            wpos = start + size - 1
            q = stop - 1
            while wpos > q:                       # below q nothing moves once all are placed
                y = a_tail[q]
                e_q, h_q = a_edge[q], a_head[q]
                if more[y] > 0:                   # y's last DAG edge: its new ones follow it
                    for i in range(len(added) - 1, -1, -1):
                        e = added[i]
                        if eu[e] == y and abs(d[y] - ew[e] - d[ev[e]]) <= _RTOL * d[y]:
                            a_edge[wpos] = e
                            a_tail[wpos] = y
                            a_head[wpos] = ev[e]
                            wpos -= 1
                    more[y] = 0
                a_edge[wpos] = e_q
                a_tail[wpos] = y
                a_head[wpos] = h_q
                wpos -= 1
                q -= 1
        else:
            for q in range(start, stop):
                last[a_tail[q]] = q
            new = end
            for q in range(start, stop):
                a_edge[end] = a_edge[q]
                a_tail[end] = a_tail[q]
                a_head[end] = a_head[q]
                end += 1
                y = a_tail[q]
                if last[y] == q and more[y] > 0:
                    for i in range(len(added)):
                        e = added[i]
                        if eu[e] == y and abs(d[y] - ew[e] - d[ev[e]]) <= _RTOL * d[y]:
                            a_edge[end] = e
                            a_tail[end] = y
                            a_head[end] = ev[e]
                            end += 1
            for q in range(start, stop):
                last[a_tail[q]] = -1
            seg_cap[t] = size + slack(size)
            end = new + seg_cap[t]
        for i in range(nt):
            more[tails[i]] = 0
        seg_start[t] = new
        seg_len[t] = size
        done += reflow(tails[:nt], no_heads, d, sp, own[t], thru[t], graph, usable, ew, queued,
                       heap_d, heap_n, load, uses)
    return 0, len(cands), end, done
