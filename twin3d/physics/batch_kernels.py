"""Compiled kernels of the batched backhaul step (:mod:`twin3d.physics.batch_step`).

:func:`_step_batch` loops over the copies and :func:`_step_one` is
:func:`twin3d.sim.transport_step.route_step` for one copy, written against
the router's kernels: the usable edges laid out as ``route_arrays`` lays
them out (:func:`_usable`), the demands grouped by ``_group``, each pass by
``_walk`` / ``_walk_hops`` or their replay on recorded DAGs
(:mod:`twin3d.physics.batch_dags`), and around them the operations of
``route_with_cascade``, ``link_delay_s`` and ``lossy_delivery`` in the same
order. Inputs are checked by :func:`_check`; the Python side raises.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import batch_dags
from .batch_dags import replay_flat, replay_hops, replay_pull2
from .batch_dense import dense_alloc, exact_integer_weights, record_dense
from .routing import _group, _walk, _walk_hops


@njit(cache=True)
def _pass(kind, reuse, use_hops, n, unweighted, spf, g, dg, dests, dem_ptr, dem_src, bps, edge_val,
          edge_out, dem_out):  # pragma: no cover - compiled
    """One pass of ``_Dags.walk`` with the kernel the router picks for this graph
    (``g``: the usable edges), or its replay on the DAGs recorded in ``dg``."""
    out_ptr, out_head, out_w, out_edge, in_ptr, in_tail, in_w, in_edge = g
    cnt, order, pos, ptr, split, bad, dag_e, dag_h, dag_t, deg = dg
    if reuse and use_hops:
        return replay_hops(kind, n, dests, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out,
                           cnt, order, pos, ptr, dag_e, dag_h, dag_t, deg)
    if reuse:                       # replay's results, walked as flat edge lists
        return replay_flat(kind, n, dests, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out,
                           cnt, order, pos, ptr, split, bad, dag_e, dag_h, dag_t)
    if use_hops:
        return _walk_hops(kind, n, in_ptr, in_tail, in_edge, dests, dem_ptr, dem_src, bps,
                          edge_val, edge_out, dem_out)
    return _walk(kind, n, out_ptr, out_head, out_w, out_edge, in_ptr, in_tail, in_w, unweighted,
                 spf, dests, dem_ptr, dem_src, bps, edge_val, edge_out, dem_out)


@njit(cache=True)
def _usable(n, u, v, link, w, link_up, node_up, out_ptr, out_head, out_w, out_edge, in_ptr,
            in_tail, in_w, in_edge, fill):  # pragma: no cover - compiled
    """The usable edges as ``route_arrays`` lays them out; returns their count.

    Out-edges in edge order (sorted by tail); in-edges by head, stable (a
    counting sort equals ``argsort(kind="stable")``).
    """
    m = 0
    out_ptr[:] = 0
    in_ptr[:] = 0
    for e in range(len(u)):
        if link_up[link[e]] and node_up[u[e]] and node_up[v[e]]:
            out_head[m] = v[e]
            out_w[m] = w[e]
            out_edge[m] = e
            out_ptr[u[e] + 1] += 1
            in_ptr[v[e] + 1] += 1
            m += 1
    for i in range(n):
        out_ptr[i + 1] += out_ptr[i]
        in_ptr[i + 1] += in_ptr[i]
        fill[i] = in_ptr[i]
    for k in range(m):
        e = out_edge[k]
        f = fill[v[e]]
        in_tail[f] = u[e]
        in_w[f] = out_w[k]
        in_edge[f] = e
        fill[v[e]] = f + 1
    return m


@njit(cache=True)
def _workspace(n, ne, nd, dense_max):  # pragma: no cover - compiled
    """Scratch arrays of :func:`_step_one` for a network of ``n`` nodes, ``ne``
    directed edges and ``nd`` demands (every copy of a serial batch reuses them):
    (ints, floats, per-demand floats, recorded DAGs, dense search scratch)."""
    ints = (np.zeros(n + 1, np.int64), np.zeros(n + 1, np.int64), np.empty(n, np.int64),
            np.empty(ne, np.int64), np.empty(ne, np.int64), np.empty(ne, np.int64),
            np.empty(ne, np.int64))
    floats = (np.empty(ne), np.empty(ne), np.empty(ne), np.empty(ne), np.empty(ne), np.empty(ne),
              np.empty(ne), np.empty(ne), np.empty(ne))
    per_demand = (np.empty(nd), np.empty(nd), np.empty(nd), np.empty(nd))
    return (ints, floats, per_demand, batch_dags.alloc(n, n, ne),
            dense_alloc(n if n <= dense_max else 0))


@njit(cache=True)
def _grouping(src, dst, n):  # pragma: no cover - compiled
    """``_group`` of the demands with every node up: (routable, ptr, index, src, dests)."""
    _, routable, dem_ptr, dem_idx, dem_src, _ = _group(src, dst, np.zeros(len(src)),
                                                       np.ones(n, np.bool_), n)
    return routable, dem_ptr, dem_idx, dem_src, _dests(dem_ptr, n)


@njit(cache=True)
def _dests(dem_ptr, n):  # pragma: no cover - compiled
    """The destinations with a demand, ascending."""
    k = 0
    for t in range(n):
        if dem_ptr[t + 1] > dem_ptr[t]:
            k += 1
    dests = np.empty(k, np.int64)
    k = 0
    for t in range(n):
        if dem_ptr[t + 1] > dem_ptr[t]:
            dests[k] = t
            k += 1
    return dests


# error_model="numpy": a load on a link of capacity 0 divides by zero to inf,
# as numpy does in the router, instead of raising.
@njit(cache=True, error_model="numpy")
def _step_one(n, u, v, link, prop, src, dst, bps, link_up, node_up, cap, lw, hops, spf,
              hops_kernel, reuse, trip, max_delay, packet_bits, max_iter, tol, up, util, link_load,
              delivered, routable_out, lat, tripped, trip_util, grouping, ws, dense_max,
              no_drop_shortcut):  # pragma: no cover - compiled
    """``route_step`` of one copy into the output rows; returns (status, converged,
    waves, rounds), status 1 when a shortest-path graph has a cycle.

    ``grouping``: :func:`_grouping` of the demands (used when every node is
    up: the same arrays ``_group`` makes then); ``ws``: :func:`_workspace`;
    ``dense_max``: up to this many nodes, integer weights are searched by
    :func:`~twin3d.physics.batch_dense.record_dense` (the same DAGs);
    ``no_drop_shortcut``: ``lossy_delivery``'s return when nothing is dropped
    (``routing._NO_DROP_SHORTCUT``).
    """
    ne, nl = len(u), len(link_up)
    (out_ptr, in_ptr, fill, out_head, out_edge, in_tail, in_edge) = ws[0]
    (w, out_w, in_w, edge_cap, load, delay, pf, new, offered) = ws[1]
    (reached_ws, t_ws, s_ws, bps_ws) = ws[2]
    dg = ws[3]
    dn = ws[4]
    all_one = True                  # as Router.route: per-edge weights; hops if all 1
    for e in range(ne):
        w[e] = lw[link[e]]
        if w[e] != 1.0:
            all_one = False
    unweighted = hops and all_one
    use_hops = unweighted and not spf and hops_kernel
    dense = (reuse and not unweighted and n <= dense_max and exact_integer_weights(w, n))
    all_up = True
    for i in range(n):
        if not node_up[i]:
            all_up = False
            break
    if all_up:                      # _group with every node up, gathered from the grouping
        routable, dem_ptr, dem_idx, dem_src, dests = grouping    # (read only)
        nc = len(dem_idx)
        dem_bps = bps_ws[:nc]
        for j in range(nc):
            dem_bps[j] = bps[dem_idx[j]]
    else:
        _, routable, dem_ptr, dem_idx, dem_src, dem_bps = _group(src, dst, bps, node_up, n)
        nc = len(dem_idx)
        dests = _dests(dem_ptr, n)
    for e in range(ne):
        edge_cap[e] = cap[link[e]]
    reached = reached_ws[:nc]
    none = np.zeros(0)
    for i in range(nl):
        up[i] = link_up[i]
    waves = 0
    while True:    # the cascade (route_with_cascade)
        m = _usable(n, u, v, link, w, up, node_up, out_ptr, out_head, out_w, out_edge, in_ptr,
                    in_tail, in_w, in_edge, fill)
        g = (out_ptr, out_head[:m], out_w[:m], out_edge[:m], in_ptr, in_tail[:m], in_w[:m],
             in_edge[:m])
        if reuse and use_hops:      # record the DAGs the later passes replay
            batch_dags.record_hops(n, in_ptr, g[5], g[7], dests, dg[0], dg[1], dg[2], dg[3],
                                   dg[6], dg[7], dg[8], dg[9])
        elif dense:                 # the same DAGs, found without a heap
            record_dense(n, out_ptr, g[1], g[2], g[3], spf, dests, dg[0], dg[1], dg[2], dg[3],
                         dg[4], dg[5], dg[6], dg[7], dn[0], dn[1], dn[2], dn[3], dn[4],
                         dn[5], dn[6], dg[8])
        elif reuse:                 # (both write each DAG edge's tail, for the flat replays)
            batch_dags.record(n, out_ptr, g[1], g[2], g[3], in_ptr, g[5], g[6], unweighted, spf,
                              dests, dg[0], dg[1], dg[2], dg[3], dg[4], dg[5], dg[6], dg[7], dg[8])
        load[:] = 0.0
        reached[:] = 0.0
        if _pass(0, reuse, use_hops, n, unweighted, spf, g, dg, dests, dem_ptr, dem_src, dem_bps,
                 none, load, reached):
            return 1, False, waves, 0
        util[:] = 0.0               # link_utilization: np.maximum.at in edge order
        for e in range(ne):
            x = load[e] / edge_cap[e] if load[e] > 0 else 0.0
            cur = util[link[e]]
            if x > cur or (x != x and cur == cur):
                util[link[e]] = x
        hit = False
        for i in range(nl):
            if up[i] and util[i] > trip:
                up[i] = False
                tripped[i] = waves + 1      # the wave it tripped in, and its utilization then
                trip_util[i] = util[i]
                hit = True
        if not hit:
            break
        waves += 1
    # the final route has the last wave's inputs, hence its loads and routable set
    link_load[:] = 0.0
    for e in range(ne):
        if load[e] > link_load[link[e]]:
            link_load[link[e]] = load[e]
    for e in range(ne):             # prop + min(link_delay_s(load, cap), max_delay)
        spare = edge_cap[e] - load[e]
        q = packet_bits / spare if spare > 0 else np.inf
        delay[e] = prop[e] + (q if q < max_delay else max_delay)
    t = t_ws[:nc]
    t[:] = np.nan
    whole = False                   # lossy_delivery's return when no load exceeds a capacity:
    if no_drop_shortcut:            # one converged round, each routable demand whole
        whole = True
        for e in range(ne):
            if load[e] > edge_cap[e]:
                whole = False
                break
    # on recorded weighted DAGs the latency pass waits for the survival pass: one walk for both
    merged = reuse and not use_hops and not whole
    if not merged:
        if _pass(1, reuse, use_hops, n, unweighted, spf, g, dg, dests, dem_ptr, dem_src, none,
                 delay, none, t):
            return 1, False, waves, 0
    if whole:
        _demand_rows(routable, dem_idx, reached, t, none, bps, lat, delivered, routable_out)
        return 0, True, waves, 1
    pf[:] = 1.0                     # lossy_delivery's rounds
    offered[:] = 0.0
    converged = False
    rounds = 0
    while rounds < max_iter:
        rounds += 1
        if rounds == 1 and reuse:
            # every pass fraction is 1: each x[b] += f * 1.0 adds f exactly, so
            # the first round's offered load is the load routed above, bit for bit
            offered[:] = load
        else:
            offered[:] = 0.0
            _pass(2, reuse, use_hops, n, unweighted, spf, g, dg, dests, dem_ptr, dem_src, dem_bps,
                  pf, offered, none)
        change = 0.0                # np.max(|new - pf|, initial=0): nan propagates
        for e in range(ne):
            new[e] = edge_cap[e] / offered[e] if offered[e] > edge_cap[e] else 1.0
            d = abs(new[e] - pf[e])
            if d > change or d != d:
                change = d
        if rounds <= n:
            pf[:] = new
        else:
            for e in range(ne):
                pf[e] = 0.5 * (pf[e] + new[e])
        if change <= tol:
            converged = True
            break
    s = s_ws[:nc]
    s[:] = 1.0
    if merged:
        if replay_pull2(n, dests, dem_ptr, dem_src, delay, pf, t, s, dg[0], dg[1], dg[2], dg[3],
                        dg[4], dg[5], dg[6], dg[7], dg[8]):
            return 1, False, waves, 0
    else:
        _pass(3, reuse, use_hops, n, unweighted, spf, g, dg, dests, dem_ptr, dem_src, none, pf,
              none, s)
    _demand_rows(routable, dem_idx, reached, t, s, bps, lat, delivered, routable_out)
    return 0, converged, waves, rounds


@njit(cache=True)
def _demand_rows(routable, dem_idx, reached, t, s, bps, lat, delivered,
                 routable_out):  # pragma: no cover - compiled
    """Each demand's routable flag, expected latency and delivered bit/s, as
    ``route_step`` has them: a grouped demand j (demand ``dem_idx[j]``) from
    its walk (reached, latency ``t[j]``, surviving share ``s[j]``; ``s``
    empty: whole), any other from ``routable`` (src == dst: whole at latency
    0; an end node down: nothing, latency NaN). One pass over the grouped
    demands, and one over all only when some are not grouped."""
    nd, nc = len(bps), len(dem_idx)
    if nc < nd:
        for i in range(nd):
            r = routable[i]
            routable_out[i] = r
            lat[i] = 0.0 if r else np.nan
            delivered[i] = bps[i] if r else 0.0
    whole = len(s) == 0
    for j in range(nc):
        i = dem_idx[j]
        r = reached[j] > 0
        routable_out[i] = r
        lat[i] = t[j]
        x = bps[i] if whole else bps[i] * s[j]
        delivered[i] = x if r else 0.0


@njit(cache=True)
def _check(bps, cap, lw):  # pragma: no cover - compiled
    """0, or the code of the first invalid input (see ``_INVALID``)."""
    if _n_outside(bps, 0) > 0:
        return 2
    if _n_outside(cap, 1) > 0:
        return 3
    if _n_outside(lw, 2) > 0:
        return 4
    return 0


@njit(cache=True)
def _n_outside(a, kind):  # pragma: no cover - compiled
    """Values of the 2-d ``a`` outside [0, inf) (kind 0), [0, inf] (1) or (0, inf) (2),
    NaN included: counted over whole rows without a branch per value, so that the
    compiler vectorizes the loop (a test and exit per value ran 4x slower)."""
    n = 0
    for i in range(a.shape[0]):
        r = a[i]
        if kind == 0:
            for j in range(r.size):
                x = r[j]
                n += np.int64(not ((x >= 0.0) & (x < np.inf)))
        elif kind == 1:
            for j in range(r.size):
                n += np.int64(not r[j] >= 0.0)
        else:
            for j in range(r.size):
                x = r[j]
                n += np.int64(not ((x > 0.0) & (x < np.inf)))
    return n


@njit(cache=True)
def _step_batch(n, u, v, link, prop, src, dst, bps, link_up, node_up, cap, lw, hops, spf,
                hops_kernel, reuse, trip, max_delay, packet_bits, max_iter, tol, up, util,
                link_load, delivered, routable, lat, converged, waves, tripped,
                rounds, trip_util, grouping, dense_max,
                no_drop_shortcut, check):  # pragma: no cover - compiled
    """:func:`_step_one` for every copy b (row b of each array); returns (B,) status
    (1: a cycle; 2 to 4: an invalid input, nothing computed; ``check`` False: the
    caller vouches for the values, which are not checked)."""
    nb = link_up.shape[0]
    shared = bps.shape[0] == 1       # one demand row for every copy
    status = np.full(nb, _check(bps, cap, lw) if check else 0, np.int64)
    if nb == 0 or status[0]:
        return status
    ws = _workspace(n, len(u), len(src), dense_max)     # one set of scratch arrays for every copy
    for b in range(nb):
        row = bps[0] if shared else bps[b]       # (numba: no branch inside the long call)
        st, cv, wv, rd = _step_one(n, u, v, link, prop, src, dst, row, link_up[b], node_up[b],
                                   cap[b], lw[b], hops, spf, hops_kernel, reuse, trip, max_delay,
                                   packet_bits, max_iter, tol, up[b], util[b], link_load[b],
                                   delivered[b], routable[b], lat[b], tripped[b], trip_util[b],
                                   grouping, ws, dense_max, no_drop_shortcut)
        status[b] = st
        converged[b] = cv
        waves[b] = wv
        rounds[b] = rd
    return status


@njit(cache=True, parallel=True)
def _step_batch_parallel(n, u, v, link, prop, src, dst, bps, link_up, node_up, cap, lw, hops,
                         spf, hops_kernel, reuse, trip, max_delay, packet_bits, max_iter, tol,
                         up, util, link_load, delivered, routable, lat, converged, waves,
                         tripped, rounds, trip_util, grouping, dense_max,
                         no_drop_shortcut, check, n_chunks):  # pragma: no cover - compiled
    """:func:`_step_batch` with the copies spread over threads (each writes its own rows).

    The copies go in ``n_chunks`` contiguous chunks (a few per thread, so that
    uneven copies even out), each with one :func:`_workspace` (as the serial
    loop reuses one for every copy), not one per copy.
    """
    nb = link_up.shape[0]
    shared = bps.shape[0] == 1       # one demand row for every copy
    status = np.full(nb, _check(bps, cap, lw) if check else 0, np.int64)
    if nb == 0 or status[0]:
        return status
    n_chunks = max(1, min(nb, n_chunks))
    for c in prange(n_chunks):
        ws = _workspace(n, len(u), len(src), dense_max)
        for b in range(c * nb // n_chunks, (c + 1) * nb // n_chunks):
            row = bps[0] if shared else bps[b]
            st, cv, wv, rd = _step_one(n, u, v, link, prop, src, dst, row, link_up[b],
                                       node_up[b], cap[b], lw[b], hops, spf, hops_kernel, reuse,
                                       trip, max_delay, packet_bits, max_iter, tol, up[b], util[b],
                                       link_load[b], delivered[b], routable[b], lat[b],
                                       tripped[b], trip_util[b], grouping, ws, dense_max,
                                       no_drop_shortcut)
            status[b] = st
            converged[b] = cv
            waves[b] = wv
            rounds[b] = rd
    return status
