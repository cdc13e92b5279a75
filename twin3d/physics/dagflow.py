"""Node flows of a kept shortest-path DAG, recomputed only where a change reaches.

When a destination t's DAG loses edges that went down (every tail keeping
another next hop) or gains edges that came up on a tie, its distances stay
and only the flows below the changed tails move: a tail u passes its flow
by new split shares, so the heads of its old and new DAG edges see another
inflow, and so on down the DAG. :func:`reflow` recomputes the throughput of
exactly those nodes, farthest first (a max-heap on the distance, so every
upstream neighbour is final when a node is met)::

    thru(y) = own(y) + sum over DAG edges p -> y of thru(p) * split(p)

and stops where a node's throughput comes out unchanged. ``own(y)`` is y's
own reached demand to t. Each node costs a scan of its in-edges and, when
its throughput changed, of its out-edges: the work is the size of the cone
below the changed tails, not of the whole DAG (the flow-delta update of a
dynamic shortest-path graph, with the distances fixed).

The sum is taken in the in-edge order of the graph, where a full push adds
the inflows in its walk's order: the two agree to the last bits only (every
term is >= 0, so to a relative 1e-15 or so, with no drift: each node is
recomputed from its neighbours, never patched by differences).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .routing import _RTOL

__all__ = ["reflow"]


@njit(cache=True, inline="always")
def _is_dag_edge(da, w, db):  # pragma: no cover - compiled
    """Whether a usable edge a -> b of weight w is on the DAG (d(a) = w + d(b))."""
    return da < np.inf and abs(da - w - db) <= _RTOL * da


@njit(cache=True)
def _heap_push(heap_d, heap_n, size, key, node):  # pragma: no cover - compiled
    """Push into a max-heap of (distance, node); returns the new size."""
    i = size
    while i > 0:
        p = (i - 1) // 2
        if heap_d[p] >= key:
            break
        heap_d[i] = heap_d[p]
        heap_n[i] = heap_n[p]
        i = p
    heap_d[i] = key
    heap_n[i] = node
    return size + 1


@njit(cache=True)
def _heap_pop(heap_d, heap_n, size):  # pragma: no cover - compiled
    """Pop the farthest node of a max-heap; returns (node, new size)."""
    top = heap_n[0]
    size -= 1
    if size > 0:
        ld = heap_d[size]
        ln = heap_n[size]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= size:
                break
            if c + 1 < size and heap_d[c + 1] > heap_d[c]:
                c += 1
            if heap_d[c] > ld:
                heap_d[i] = heap_d[c]
                heap_n[i] = heap_n[c]
                i = c
            else:
                break
        heap_d[i] = ld
        heap_n[i] = ln
    return top, size


@njit(cache=True)
def reflow(tails, heads, d, sp, own, thru, graph, usable, w, queued, heap_d, heap_n,
           load, uses):  # pragma: no cover - compiled
    """Recompute ``thru`` below changed tails of one destination's DAG.

    Parameters
    ----------
    tails : numpy.ndarray
        (k,) int, nodes whose DAG edges or split share changed (their own
        throughput did not): every current next hop of each is recomputed.
    heads : numpy.ndarray
        (m,) int, heads of DAG edges that left the DAG (their inflow fell).
    d, sp, own, thru : numpy.ndarray
        (n_nodes,) the destination's distances, split shares (current), own
        reached demand bit/s, and node throughput bit/s (updated in place).
    graph : tuple
        (out_ptr, out_head, out_edge, in_ptr, in_tail, in_edge): every
        directed edge, by tail and by head (edge indices into ``usable``, ``w``).
    usable : numpy.ndarray
        (n_edges,) bool, the edges the DAG is made of (up).
    w : numpy.ndarray
        (n_edges,) weight per directed edge (1 by hops).
    queued, heap_d, heap_n : numpy.ndarray
        Scratch: (n_nodes,) bool all False (left so), (n_nodes,) float and int.
    load : numpy.ndarray
        (n_edges,) bit/s per edge summed over destinations, moved by the
        change of each recomputed node's flow on its DAG edges; or (0,) to
        leave loads alone.
    uses : numpy.ndarray
        (n_edges,) int, DAG entries carrying flow per edge (with ``load``):
        those of a node whose flow becomes or stops being 0 follow.

    Returns
    -------
    int
        Nodes recomputed.

    Examples
    --------
    A -> B -> C and A -> C: A's flow of 2 split 1/2-1/2; cut A -> C, A then
    sends everything to B (C is the destination, A's own demand is 2):

    >>> import numpy as np
    >>> g = (np.array([0, 2, 3, 3]), np.array([1, 2, 2]), np.array([0, 1, 2]),
    ...      np.array([0, 0, 1, 3]), np.array([0, 0, 1]), np.array([0, 1, 2]))
    >>> d = np.array([2.0, 1.0, 0.0])          # A->C weighs 2: a tie with A->B->C
    >>> w = np.array([1.0, 2.0, 1.0])
    >>> sp = np.array([1.0, 1.0, 0.0])         # A's share after the cut: 1 edge left
    >>> own = np.array([2.0, 0.0, 0.0]); thru = np.array([2.0, 1.0, 2.0])
    >>> up = np.array([True, False, True])
    >>> q = np.zeros(3, np.bool_)
    >>> reflow(np.array([0]), np.array([2]), d, sp, own, thru, g, up, w, q,
    ...        np.empty(3), np.empty(3, np.int64), np.zeros(0), np.zeros(0, np.int64))
    2
    >>> thru.tolist()
    [2.0, 2.0, 2.0]
    """
    out_ptr, out_head, out_edge, in_ptr, in_tail, in_edge = graph
    size = 0
    for i in range(len(tails)):
        u = tails[i]
        for k in range(out_ptr[u], out_ptr[u + 1]):
            e = out_edge[k]
            b = out_head[k]
            if usable[e] and not queued[b] and _is_dag_edge(d[u], w[e], d[b]):
                queued[b] = True
                size = _heap_push(heap_d, heap_n, size, d[b], b)
    for i in range(len(heads)):
        b = heads[i]
        if not queued[b]:
            queued[b] = True
            size = _heap_push(heap_d, heap_n, size, d[b], b)
    done = 0
    while size > 0:
        y, size = _heap_pop(heap_d, heap_n, size)
        queued[y] = False
        done += 1
        dy = d[y]
        x = own[y]
        for k in range(in_ptr[y], in_ptr[y + 1]):
            e = in_edge[k]
            p = in_tail[k]
            if usable[e] and _is_dag_edge(d[p], w[e], dy):
                x += thru[p] * sp[p]
        if x == thru[y]:
            continue
        moved = x * sp[y] - thru[y] * sp[y]       # on each of y's DAG edges
        carries = (x != 0.0) - (thru[y] != 0.0)   # +1, -1: y's edges start, stop carrying
        thru[y] = x
        for k in range(out_ptr[y], out_ptr[y + 1]):
            e = out_edge[k]
            b = out_head[k]
            if usable[e] and _is_dag_edge(dy, w[e], d[b]):
                if len(load):
                    load[e] += moved
                    uses[e] += carries
                if not queued[b]:
                    queued[b] = True
                    size = _heap_push(heap_d, heap_n, size, d[b], b)
    return done
