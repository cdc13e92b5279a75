"""Shortest-path DAGs kept per destination, for incremental rerouting.

The compiled kernels of :mod:`twin3d.physics.incremental`. Each
destination's DAG is a segment of an arena (flat arrays that grow by
appending; segments of searched-again destinations are left behind as
garbage until a compaction; a search again overwrites its old segment when
the new DAG fits in its room): per DAG edge its directed edge index, tail
and head node; per destination and node (rows of (n_nodes, n_nodes)
arrays), the share of the node's flow each of its DAG edges takes
(``split``: 1/out-degree in the DAG for ECMP, 1 for SPF), the distance to
the destination, the node's own reached demand to it and its throughput
(own demand plus inflow; a DAG edge carries throughput x share of its
tail). A search records the entries in the order the kernels
of :mod:`twin3d.physics.routing` meet them walking nearest first
(:func:`~twin3d.physics.routing._walk_hops` for ECMP by hops,
:func:`~twin3d.physics.routing._walk` otherwise), so a walk over a freshly
searched segment, forwards for latency and backwards for the flow, does
those kernels' floating point operations in their order. :func:`remove` and
:func:`insert` edit a segment in place of a search, keeping it a
topological order of the DAG (every edge out of v before an edge into v),
and recompute the throughput only below the tails whose next hops changed
(:func:`twin3d.physics.dagflow.reflow`): the sums are then the same up to
their order, i.e. to the last bits. Given a (n_edges,) load array, the
kernels also move the loads by the flows they change (a search takes the
destination's old flows off and adds its new ones).

Each segment is followed by a little free room (:func:`slack`; its
capacity is ``seg_cap``): an edge that joins a DAG shifts the segment
within its own room instead of copying it to the arena's end, so a link
restored on a tie with many destinations' shortest paths leaves no garbage.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .dagflow import _is_dag_edge, reflow
from .routing import _RTOL, _distances

__all__ = ["Arena", "build", "remove", "insert", "push", "sum_loads", "latency", "gather", "slack",
           "set_routable"]


@njit(cache=True)
def slack(n_entries):  # pragma: no cover - compiled
    """Free entries left after a segment of ``n_entries`` (room for edges joining it)."""
    return 8 + n_entries // 32


class Arena:
    """Flat per-DAG-edge arrays with room to append.

    Attributes
    ----------
    edge, tail, head : numpy.ndarray
        (capacity,) uint32: directed edge index of each DAG edge, its tail and
        head node (kept beside the edge: the walks read them in sequence).
    end : int
        Entries in use (live and garbage).
    """

    def __init__(self, capacity: int) -> None:
        capacity = max(int(capacity), 16)
        # unsigned: numba indexes with them without a negative-index fix-up (the walks
        # over every kept DAG edge run about a fifth faster)
        self.edge = np.empty(capacity, np.uint32)
        self.tail = np.empty(capacity, np.uint32)
        self.head = np.empty(capacity, np.uint32)
        self.end = 0

    @property
    def capacity(self) -> int:
        return len(self.edge)

    def arrays(self) -> tuple:
        """(edge, tail, head), the order the kernels take them in."""
        return self.edge, self.tail, self.head

    def compacted(self, dests: np.ndarray, seg_start: np.ndarray, seg_len: np.ndarray,
                  seg_cap: np.ndarray, extra: int) -> "Arena":
        """A new arena with the live segments of ``dests`` in order (each with its
        :func:`slack`) and room for ``extra`` more entries; ``seg_start`` and
        ``seg_cap`` are updated in place."""
        lens = seg_len[dests]
        live = int(lens.sum() + (8 + lens // 32).sum())
        new = Arena(live + extra)
        new.end = _copy_live(dests, seg_start, seg_len, seg_cap, self.arrays(), new.arrays())
        return new


@njit(cache=True)
def _copy_live(dests, seg_start, seg_len, seg_cap, old, new):  # pragma: no cover - compiled
    edge, tail, head = old
    new_edge, new_tail, new_head = new
    end = 0
    for k in range(len(dests)):
        t = dests[k]
        s = seg_start[t]
        for i in range(seg_len[t]):
            new_edge[end + i] = edge[s + i]
            new_tail[end + i] = tail[s + i]
            new_head[end + i] = head[s + i]
        seg_start[t] = end
        seg_cap[t] = seg_len[t] + slack(seg_len[t])
        end += seg_cap[t]
    return end


@njit(cache=True)
def build(todo, k0, end, hops, unweighted, spf, n, out_ptr, out_head, out_w, out_edge,
          in_ptr, in_tail, in_w, in_edge, dem_ptr, dem_src, bps, dist, split, own, thru,
          seg_start, seg_len, seg_cap, reached, arena, load, uses):  # pragma: no cover
    """Compute the DAG, distances, splits, flows and reached demands of ``todo[k0:]``.

    Rows t of ``dist``, ``split``, ``own`` and ``thru`` (n_nodes, n_nodes)
    become the distances to t (inf: unreached), each node's split share, its
    own reached demand to t and its throughput to t (bit/s, see
    :func:`_push_one`). The DAG is searched into the arena at ``end``, then
    kept there, or copied over t's old segment when it fits in that
    segment's room (a search again leaves no garbage then). ``hops``: ECMP by hops, recorded as
    :func:`_walk_hops` does; else as :func:`_walk` (``unweighted``:
    distances by breadth-first search). ``arena``: :meth:`Arena.arrays`. Returns (status, k, end): status 0 done; 1 the
    arena is full before ``todo[k]`` (grow it and call again from k); 2 a
    cycle (a weight below the tolerance). ``load``: (n_edges,) bit/s from
    which each searched destination's old flows are taken and to which its
    new ones are added, with ``uses`` (n_edges,) its DAG entries per edge;
    or (0,) both.
    """
    a_edge, a_tail, a_head = arena
    cap = len(a_edge)
    order = np.empty(n, np.int64)
    pos = np.zeros(n, np.int64)
    deg = np.zeros(n, np.int64)
    heap_d = np.empty(len(in_tail) + 1)
    heap_n = np.empty(len(in_tail) + 1, np.int64)
    for k in range(k0, len(todo)):
        t = todo[k]
        if cap - end < len(in_tail) + slack(len(in_tail)):    # room for the largest DAG
            return 1, k, end
        d = dist[t]
        sp = split[t]
        if len(load) and seg_len[t] > 0:          # its old flows leave the loads
            s0 = seg_start[t]
            _add_flows(load, -1.0, s0, s0 + seg_len[t], thru[t], sp, a_edge, a_tail, uses)
        d[:] = np.inf
        start = end
        if hops:                                  # as _walk_hops: BFS, DAG edges by head
            d[t] = 0.0
            order[0] = t
            head, tail = 0, 1
            while head < tail:
                a = order[head]
                head += 1
                da1 = d[a] + 1.0
                for j in range(in_ptr[a], in_ptr[a + 1]):
                    y = in_tail[j]
                    if d[y] == np.inf:
                        d[y] = da1
                        order[tail] = y
                        tail += 1
                    hit = d[y] == da1             # branch-free, as _walk_hops
                    a_edge[end] = in_edge[j]
                    a_tail[end] = y
                    a_head[end] = a
                    end += hit
                    deg[y] += hit
            cnt = tail
            for r in range(1, cnt):
                y = order[r]
                sp[y] = 1.0 / deg[y]
        else:                                     # as _walk: nodes nearest first, out-edges
            cnt = _distances(t, in_ptr, in_tail, in_w, unweighted, d, order, heap_d, heap_n)
            for r in range(cnt):
                pos[order[r]] = r
            for r in range(1, cnt):
                a = order[r]
                da = d[a]
                c = 0
                for e in range(out_ptr[a], out_ptr[a + 1]):
                    if abs(da - out_w[e] - d[out_head[e]]) <= _RTOL * da:
                        c += 1
                        if spf:
                            break
                if c == 0:
                    return 2, k, end
                sp[a] = 1.0 / c
                for e in range(out_ptr[a], out_ptr[a + 1]):
                    b = out_head[e]
                    if abs(da - out_w[e] - d[b]) <= _RTOL * da:
                        if pos[b] >= r:
                            return 2, k, end
                        a_edge[end] = out_edge[e]
                        a_tail[end] = a
                        a_head[end] = b
                        end += 1
                        if spf:
                            break
        size = end - start
        if 0 < size <= seg_cap[t]:                # t's old segment has room: searched in place
            old = seg_start[t]
            for i in range(size):
                a_edge[old + i] = a_edge[start + i]
                a_tail[old + i] = a_tail[start + i]
                a_head[old + i] = a_head[start + i]
            end = start
            start = old
        else:
            seg_start[t] = start
            seg_cap[t] = size + slack(size)
            end = start + seg_cap[t]
        seg_len[t] = size
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            reached[j] = 1.0 if d[dem_src[j]] < np.inf else 0.0
        _push_one(t, start, start + size, dem_ptr, dem_src, bps, d, sp, own[t], thru[t],
                  a_tail, a_head)
        if len(load):
            _add_flows(load, 1.0, start, start + size, thru[t], sp, a_edge, a_tail, uses)
        for r in range(cnt):
            deg[order[r]] = 0
    return 0, len(todo), end


@njit(cache=True)
def _add_flows(load, sign, start, end, x, sp, a_edge, a_tail, uses):  # pragma: no cover
    """Add (sign 1) or take (-1) one destination's flows on its segment to
    ``load``, and its entries that carry flow to ``uses`` (per edge)."""
    for q in range(start, end):
        y = a_tail[q]
        if x[y] != 0.0:
            e = a_edge[q]
            uses[e] += int(sign)
            load[e] += sign * (x[y] * sp[y])


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
def _push_one(t, start, end, dem_ptr, dem_src, bps, d, sp, own, x, a_tail,
              a_head):  # pragma: no cover - compiled
    """Own demand and throughput of destination t's nodes (rows ``own``, ``x``,
    overwritten): the reached demands, then the segment walked farthest first."""
    own[:] = 0.0
    for j in range(dem_ptr[t], dem_ptr[t + 1]):
        s = dem_src[j]
        if d[s] < np.inf:
            own[s] += bps[j]
    x[:] = own
    for q in range(end - 1, start - 1, -1):
        y = a_tail[q]
        if x[y] == 0.0:                           # as the kernels: nothing is added
            continue
        x[a_head[q]] += x[y] * sp[y]


@njit(cache=True)
def push(todo, dem_ptr, dem_src, bps, dist, split, own, thru, seg_start, seg_len,
         arena):  # pragma: no cover - compiled
    """Recompute the flows of ``todo``'s kept DAGs for new demand bit/s."""
    a_edge, a_tail, a_head = arena
    for k in range(len(todo)):
        t = todo[k]
        start = seg_start[t]
        _push_one(t, start, start + seg_len[t], dem_ptr, dem_src, bps, dist[t], split[t],
                  own[t], thru[t], a_tail, a_head)


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


@njit(cache=True)
def sum_loads(dests, seg_start, seg_len, a_edge, a_tail, split, thru,
              n_edges):  # pragma: no cover - compiled
    """(n_edges,) load: each destination's flows (throughput x share of each
    DAG edge's tail) added in destination order."""
    load = np.zeros(n_edges)
    flow = np.empty(len(split[0]))               # what each node passes down each DAG edge
    for k in range(len(dests)):
        t = dests[k]
        sp = split[t]
        x = thru[t]
        for y in range(len(flow)):
            flow[y] = x[y] * sp[y]
        start = seg_start[t]
        for q in range(start, start + seg_len[t]):
            f = flow[a_tail[q]]
            if f != 0.0:
                load[a_edge[q]] += f
    return load


@njit(cache=True)
def latency(dests, n, split, seg_start, seg_len, arena, delay, dem_ptr, dem_src,
            reached, out, weights):  # pragma: no cover - compiled
    """``out[j]`` = expected delay of each demand j in grouped order (nan where
    unreached), walking each DAG nearest first (in sequence: the caller
    gathers the demands' order from it, cheaper than scattering here).

    Returns (count, total weight, min, max) of the finite values of all of
    ``out`` (the entries after the grouped demands as the caller set them)
    with ``weights`` > 0, the weights summed in index order: the first pass
    of a weighted percentile selection (``kpi.weighted_stats``), counted as
    the values are made.
    """
    a_edge, a_tail, a_head = arena
    x = np.zeros(n)
    cnt = 0
    total = 0.0
    lo = np.inf
    hi = -np.inf
    for k in range(len(dests)):
        t = dests[k]
        sp = split[t]
        start = seg_start[t]
        end = start + seg_len[t]
        for q in range(start, end):
            y = a_tail[q]
            x[y] += sp[y] * (delay[a_edge[q]] + x[a_head[q]])
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            v = x[dem_src[j]] if reached[j] > 0 else np.nan
            out[j] = v
            wj = weights[j]
            if np.isfinite(v) and wj > 0:
                cnt += 1
                total += wj
                lo = min(lo, v)
                hi = max(hi, v)
        x[:] = 0.0                                # a memset: cheaper than a pass over the tails
    for j in range(dem_ptr[len(dem_ptr) - 1], len(out)):
        v = out[j]
        wj = weights[j]
        if np.isfinite(v) and wj > 0:
            cnt += 1
            total += wj
            lo = min(lo, v)
            hi = max(hi, v)
    return cnt, total, lo, hi


@njit(cache=True)
def count_uses(dests, seg_start, seg_len, a_edge, a_tail, thru,
               n_edges):  # pragma: no cover - compiled
    """(n_edges,) kept DAG entries that carry flow, per edge, over ``dests``' segments."""
    uses = np.zeros(n_edges, np.int64)
    for k in range(len(dests)):
        t = dests[k]
        x = thru[t]
        for q in range(seg_start[t], seg_start[t] + seg_len[t]):
            if x[a_tail[q]] != 0.0:
                uses[a_edge[q]] += 1
    return uses


@njit(cache=True)
def set_routable(todo, dem_ptr, dem_idx, reached, routable):  # pragma: no cover - compiled
    """``routable[dem_idx[j]] = reached[j] > 0`` for the demands of ``todo``; whether
    any entry changed."""
    changed = False
    for k in range(len(todo)):
        t = todo[k]
        for j in range(dem_ptr[t], dem_ptr[t + 1]):
            r = reached[j] > 0
            i = dem_idx[j]
            if routable[i] != r:
                routable[i] = r
                changed = True
    return changed


@njit(cache=True)
def gather(values, at):  # pragma: no cover - compiled
    """``values[at]`` (numpy's fancy indexing, in a compiled loop: ~2x faster for 10^6)."""
    out = np.empty(len(at))
    for j in range(len(at)):
        out[j] = values[at[j]]
    return out
