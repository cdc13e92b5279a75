"""Compiled per-destination forwarding pass (see :mod:`twin3d.physics.forwarding`).

For one destination d, :func:`dest_pass` builds the forwarding graph (the
IGP shortest-path DAG toward d, with each static route's node keeping only
its static next hop), splits it into strongly connected components
(Tarjan, iterative) and walks the components:

* backward (sinks first): ``out[x, r]``, the share of traffic starting at x
  that ends with reason r, and the loop / black-hole witnesses of x;
* forward (sources first, optional): the load each edge carries.

A component of one node splits its flow over its out-edges. Inside a
component with a cycle, traffic that revisits a node is dropped (per-flow
hashing sends a flow the same way every time it passes a router, so a
flow that comes back once circles until its TTL ends). Which node a walk
revisits depends on its path inside the component, so there the simple
paths are enumerated from each entry node (a walk can never re-enter a
component it left, so nothing outside it matters). Such components come
only from static routes and are small; the enumeration stops with status 1
past ``max_steps`` edges.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .routing import _RTOL, _distances

#: Reasons a share of traffic ends with (columns of the outcome arrays).
DELIVERED, NO_ROUTE, ACL, LOOP, STATIC_DROP = 0, 1, 2, 3, 4
N_REASONS = 5
#: ``st_nh`` codes: no static route, static route to "drop" (else the next hop's index).
NO_STATIC, DROP = -2, -1


class Work:
    """Scratch arrays for :func:`dest_pass`, allocated once per call of the caller."""

    def __init__(self, n: int, n_out: int) -> None:
        i64 = np.int64
        self.dist = np.full(n, np.inf)
        self.order = np.empty(n, i64)
        self.heap_d = np.empty(n_out + 1)
        self.heap_n = np.empty(n_out + 1, i64)
        self.fptr = np.zeros(n + 1, i64)
        self.fidx = np.empty(max(n_out, 1), i64)
        self.fsplit = np.empty(max(n_out, 1))
        self.term = np.empty(n, i64)
        self.comp = np.empty(n, i64)
        self.cstart = np.empty(n + 1, i64)
        self.cnodes = np.empty(n, i64)
        self.scratch = np.empty((6, n + 1), i64)
        self.vis = np.zeros(n, np.bool_)
        self.stp = np.empty(n + 1)
        self.std = np.empty(n + 1)
        self.flow = np.zeros(n)

    def args(self) -> tuple:
        return (self.dist, self.order, self.heap_d, self.heap_n, self.fptr, self.fidx, self.fsplit,
                self.term, self.comp, self.cstart, self.cnodes, self.scratch, self.vis, self.stp,
                self.std, self.flow)


@njit(cache=True)
def _graph(d, n, out_ptr, out_head, out_w, dist, spf, st_nh, acl_sink, fptr, fidx, fsplit,
           term):  # pragma: no cover - compiled
    """Forwarding out-edges of every node toward d (CSR over the out arrays)."""
    k = 0
    for x in range(n):
        fptr[x] = k
        term[x] = -1
        if acl_sink[x]:                       # an ACL filters before anything else
            term[x] = ACL
            continue
        if x == d:
            term[x] = DELIVERED
            continue
        h = st_nh[x]
        if h == DROP:
            term[x] = STATIC_DROP
            continue
        c = 0
        if h >= 0:                            # the static next hop over every up link to it
            for e in range(out_ptr[x], out_ptr[x + 1]):
                if out_head[e] == h:
                    fidx[k + c] = e
                    c += 1
                    if spf:
                        break
        elif dist[x] < np.inf:                # the IGP DAG, as routing._walk tests it
            dx = dist[x]
            for e in range(out_ptr[x], out_ptr[x + 1]):
                if abs(dx - out_w[e] - dist[out_head[e]]) <= _RTOL * dx:
                    fidx[k + c] = e
                    c += 1
                    if spf:
                        break
        if c == 0:
            term[x] = NO_ROUTE
            continue
        for j in range(c):
            fsplit[k + j] = 1.0 / c
        k += c
    fptr[n] = k


@njit(cache=True)
def _tarjan(n, fptr, fidx, out_head, comp, cstart, cnodes, scratch):  # pragma: no cover
    """Strongly connected components, numbered sinks first (reverse topological)."""
    index, low, stack, cs_node, cs_pos, onst = (scratch[0], scratch[1], scratch[2], scratch[3],
                                                scratch[4], scratch[5])
    for x in range(n):
        index[x] = -1
        onst[x] = 0
    idx = 0
    sp = 0
    ncomp = 0
    cn = 0
    for r in range(n):
        if index[r] != -1:
            continue
        index[r] = idx
        low[r] = idx
        idx += 1
        stack[sp] = r
        sp += 1
        onst[r] = 1
        cs_node[0] = r
        cs_pos[0] = fptr[r]
        depth = 1
        while depth > 0:
            x = cs_node[depth - 1]
            p = cs_pos[depth - 1]
            if p < fptr[x + 1]:
                cs_pos[depth - 1] = p + 1
                y = out_head[fidx[p]]
                if index[y] == -1:
                    index[y] = idx
                    low[y] = idx
                    idx += 1
                    stack[sp] = y
                    sp += 1
                    onst[y] = 1
                    cs_node[depth] = y
                    cs_pos[depth] = fptr[y]
                    depth += 1
                elif onst[y] == 1 and index[y] < low[x]:
                    low[x] = index[y]
            else:
                if low[x] == index[x]:
                    cstart[ncomp] = cn
                    while True:
                        w = stack[sp - 1]
                        sp -= 1
                        onst[w] = 0
                        comp[w] = ncomp
                        cnodes[cn] = w
                        cn += 1
                        if w == x:
                            break
                    ncomp += 1
                depth -= 1
                if depth > 0:
                    par = cs_node[depth - 1]
                    if low[x] < low[par]:
                        low[par] = low[x]
    cstart[ncomp] = cn
    return ncomp


@njit(cache=True)
def _enumerate(x, c, comp, fptr, fidx, fsplit, out_head, out_edge, epass, edelay, vis, stn, stq,
               stp, std, forward, f0, load, flow, out, dl, max_steps):  # pragma: no cover
    """Every simple path from entry x inside component c.

    forward: add f0 x path share to the load of each edge taken and to the
    flow of the node an exit edge reaches. Else: out[x] and dl[x] from the
    exits' out and dl, and the share that revisits a node to out[x, LOOP].
    Returns the number of edges taken, or -1 past max_steps.
    """
    steps = 0
    vis[x] = True
    stn[0] = x
    stq[0] = fptr[x]
    stp[0] = 1.0
    std[0] = 0.0
    depth = 1
    while depth > 0:
        a = stn[depth - 1]
        q = stq[depth - 1]
        if q == fptr[a + 1]:
            vis[a] = False
            depth -= 1
            continue
        stq[depth - 1] = q + 1
        steps += 1
        if steps > max_steps:
            for k in range(depth):
                vis[stn[k]] = False
            return -1
        e = fidx[q]
        b = out_head[e]
        ge = out_edge[e]
        pr = stp[depth - 1] * fsplit[q]
        if forward:
            load[ge] += f0 * pr
        pr2 = pr * epass[ge]
        t = std[depth - 1] + edelay[ge]
        if comp[b] != c:                      # leaves the component: never comes back
            if forward:
                flow[b] += f0 * pr2
            else:
                for r in range(N_REASONS):
                    out[x, r] += pr2 * out[b, r]
                dl[x] += pr2 * (t * out[b, DELIVERED] + dl[b])
        elif vis[b]:                          # revisits a node: a loop
            if not forward:
                out[x, LOOP] += pr2
        else:
            vis[b] = True
            stn[depth] = b
            stq[depth] = fptr[b]
            stp[depth] = pr2
            std[depth] = t
            depth += 1
    return steps


@njit(cache=True)
def dest_pass(d, n, out_ptr, out_head, out_w, out_edge, in_ptr, in_tail, in_w, unweighted, spf,
              st_nh, acl_sink, inj, epass, edelay, forward, load, out, dl, loop_at, bh_at,
              cyc_next, max_steps, dist, order, heap_d, heap_n, fptr, fidx, fsplit, term, comp, cstart,
              cnodes, scratch, vis, stp, std, flow):  # pragma: no cover - compiled
    """Forwarding toward d: outcomes per start node, and edge loads when forward.

    Writes, for every node x: ``out[x, r]`` share ending with reason r
    (traffic passing an edge keeps ``epass`` of itself: tail drop, the rest
    is in no column), ``dl[x]`` the delay-weighted delivered share
    (``dl / out[:, DELIVERED]`` is the mean delay of the delivered traffic,
    ``edelay`` per edge), ``loop_at[x]`` a node on a cycle that some branch
    from x reaches (-1: none), ``bh_at[x]`` a node where some branch from x
    ends before d other than by an ACL (-1: none), ``cyc_next[x]`` for x
    on a cycle a successor on a cycle (following it from ``loop_at`` closes
    a cycle; -1 elsewhere). With ``forward``, adds the
    flow ``inj`` (per start node, bit/s) to ``load``. Returns 0, or 1 when a
    component's enumeration passed ``max_steps``.
    """
    cnt = _distances(d, in_ptr, in_tail, in_w, unweighted, dist, order, heap_d, heap_n)
    _graph(d, n, out_ptr, out_head, out_w, dist, spf, st_nh, acl_sink, fptr, fidx, fsplit, term)
    for r in range(cnt):
        dist[order[r]] = np.inf               # reset for the next destination
    ncomp = _tarjan(n, fptr, fidx, out_head, comp, cstart, cnodes, scratch)
    stn = scratch[0]                          # Tarjan is done with its scratch
    stq = scratch[1]
    for c in range(ncomp):                    # backward: sinks first
        lo = cstart[c]
        hi = cstart[c + 1]
        x = cnodes[lo]
        cyclic = hi - lo > 1
        if not cyclic:
            for q in range(fptr[x], fptr[x + 1]):
                if out_head[fidx[q]] == x:
                    cyclic = True
        if not cyclic:
            for r in range(N_REASONS):
                out[x, r] = 0.0
            dl[x] = 0.0
            loop_at[x] = -1
            bh_at[x] = -1
            cyc_next[x] = -1
            if term[x] >= 0:
                out[x, term[x]] = 1.0
                if term[x] == NO_ROUTE or term[x] == STATIC_DROP:
                    bh_at[x] = x
                continue
            for q in range(fptr[x], fptr[x + 1]):
                e = fidx[q]
                b = out_head[e]
                p = fsplit[q] * epass[out_edge[e]]
                for r in range(N_REASONS):
                    out[x, r] += p * out[b, r]
                dl[x] += p * (edelay[out_edge[e]] * out[b, DELIVERED] + dl[b])
                if loop_at[x] < 0:
                    loop_at[x] = loop_at[b]
                if bh_at[x] < 0:
                    bh_at[x] = bh_at[b]
            continue
        # a component with a cycle: every member reaches the same exits and the cycle
        bh = -1
        for k in range(lo, hi):
            a = cnodes[k]
            for q in range(fptr[a], fptr[a + 1]):
                b = out_head[fidx[q]]
                if comp[b] != c and bh < 0:
                    bh = bh_at[b]
        for k in range(lo, hi):
            a = cnodes[k]
            for r in range(N_REASONS):
                out[a, r] = 0.0
            dl[a] = 0.0
            loop_at[a] = x
            bh_at[a] = bh
            for q in range(fptr[a], fptr[a + 1]):
                b = out_head[fidx[q]]
                if comp[b] == c:
                    cyc_next[a] = b
                    break
            if _enumerate(a, c, comp, fptr, fidx, fsplit, out_head, out_edge, epass, edelay, vis,
                          stn, stq, stp, std, False, 0.0, load, flow, out, dl, max_steps) < 0:
                return 1
    if not forward:
        return 0
    for x in range(n):
        flow[x] = inj[x]
    for c in range(ncomp - 1, -1, -1):        # forward: sources first
        lo = cstart[c]
        hi = cstart[c + 1]
        x = cnodes[lo]
        if hi - lo == 1 and loop_at[x] != x:   # one node, no cycle
            f = flow[x]
            if f == 0.0 or term[x] >= 0:
                continue
            for q in range(fptr[x], fptr[x + 1]):
                e = fidx[q]
                g = f * fsplit[q]
                load[out_edge[e]] += g
                flow[out_head[e]] += g * epass[out_edge[e]]
            continue
        for k in range(lo, hi):
            a = cnodes[k]
            if flow[a] > 0.0:
                if _enumerate(a, c, comp, fptr, fidx, fsplit, out_head, out_edge, epass, edelay,
                              vis, stn, stq, stp, std, True, flow[a], load, flow, out, dl,
                              max_steps) < 0:
                    return 1
    for x in range(n):
        flow[x] = 0.0
    return 0
