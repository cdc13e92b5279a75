"""Every destination's shortest-path DAG of a small graph at once, without a heap.

:func:`twin3d.physics.batch_dags.record` searches each destination with the
router's Dijkstra (:func:`~twin3d.physics.routing._distances`): a binary heap
whose comparisons the processor cannot predict, so on a network of tens of
nodes most of a batched step's time is spent mispredicting branches.
:func:`record_dense` finds the same distances for every destination at once
on a dense matrix (:func:`~twin3d.physics.batch_apsp.all_pairs_int`:
Floyd-Warshall on int32 rows, a min-plus loop the compiler vectorizes; or,
when a distance reaches 0.5e9, :func:`all_pairs`: Bellman-Ford over float
rows), orders each destination's nodes by (distance, node index) as
Dijkstra pops them (``_distances`` breaks ties by index), and applies
``record``'s DAG test without a branch; when every distance is below 0.5e9
(the test is then an equality) the tests and DAG degrees of all
destinations are computed over whole rows too, and the order by a counting
sort on the distances.
Its arrays equal ``record``'s entry for entry when every weight is an integer
and every path sum is below 2**53 (:func:`exact_integer_weights`): the sums
are then exact, so both searches find the same distances (a path's length
does not depend on the order its weights are added in), hence the same
order and DAG.

Examples
--------
A square A-B-D, A-C-D, weights 1 on A-B, B-D, C-D and 2 on A-C; towards A,
C and D are both 2 away and come in index order, as ``record`` has them:

>>> from twin3d.physics.batch_dags import alloc, record
>>> out_ptr = np.array([0, 2, 4, 6, 8])                 # out-edges grouped by tail
>>> head = np.array([1, 2, 0, 3, 0, 3, 1, 2]); w = np.array([1., 2, 1, 1, 2, 1, 1, 1])
>>> dg = alloc(1, 4, 8)
>>> _ = record_dense(4, out_ptr, head, w, np.arange(8), False, np.array([0]), *dg[:8],
...                  *dense_alloc(4))
>>> dg[1][0, :dg[0][0]].tolist(), dg[6][:3].tolist()    # nearest first; DAG edges
([0, 1, 2, 3], [2, 4, 6])
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .batch_apsp import EXACT_TOP, NO_PATH, all_pairs_int, padded
from .batch_dags import dag_rows

__all__ = ["DENSE_MAX_NODES", "all_pairs", "dense_alloc", "exact_integer_weights", "record_dense"]

#: Routing nodes up to which the batched step searches densely (n**3 work, n**2 memory).
DENSE_MAX_NODES = 64
#: Path sums stay exact below this (float64's 53-bit significand).
_EXACT_SUM = 2.0 ** 53
#: Distances below this many times the node count are ordered by a counting sort.
_BUCKETS = 16
#: "No path" in :func:`_dags_exact`'s int32 distances (above every exact distance, 0.5e9).
_NO_PATH = NO_PATH


@njit(cache=True)
def dense_alloc(n):  # pragma: no cover - compiled
    """Scratch of :func:`record_dense` for ``n`` nodes: (distance matrix, column,
    two row flags, bucket counts, int32 distance matrix, int32 row)."""
    npad = padded(n)
    return (np.empty((n, n)), np.empty(n), np.empty(n, np.bool_), np.empty(n, np.bool_),
            np.empty(_BUCKETS * n + 2, np.int64), np.empty((n, npad), np.int32),
            np.empty(npad, np.int32))


@njit(cache=True)
def exact_integer_weights(w, n):  # pragma: no cover - compiled
    """Whether every weight of ``w`` is a positive integer and a path of up to
    ``n`` edges sums exactly in float64."""
    top = 0.0
    for x in w:
        if not (x > 0 and x == np.floor(x)):
            return False
        if x > top:
            top = x
    return top * n < _EXACT_SUM


@njit(cache=True)
def all_pairs(n, out_ptr, out_head, out_w, dmat, dirty, now):  # pragma: no cover - compiled
    """``dmat[a, t]``: the distance from a to t over the out-edges (inf: no path).

    Bellman-Ford on whole rows: an edge a -> b lowers row a by row b plus
    its weight for every destination at once (a select over the row, which
    the compiler vectorizes), sweeping only edges into rows that changed,
    until no row changes. Each distance is the minimum of its candidate path
    sums, exact for integer weights, hence Dijkstra's.
    """
    dmat[:, :] = np.inf
    for a in range(n):
        dmat[a, a] = 0.0
        dirty[a] = True
    more = True
    while more:
        more = False
        now[:] = False
        for a in range(n):
            da = dmat[a]
            for e in range(out_ptr[a], out_ptr[a + 1]):
                b = out_head[e]
                if dirty[b] or now[b]:
                    db = dmat[b]
                    w = out_w[e]
                    lower = False
                    for j in range(n):
                        x = w + db[j]
                        c = x < da[j]
                        lower |= c
                        da[j] = x if c else da[j]
                    if lower:
                        now[a] = True
                        more = True
        dirty[:] = now


@njit(cache=True)
def _rank(n, col, ok, pk, counts):  # pragma: no cover - compiled
    """The nodes of finite ``col`` in (distance, index) order into ``ok``, their
    ranks into ``pk`` (-1: unreached); returns their count. A stable counting
    sort when the distances (integers) are small, else ranks by comparison."""
    top = 0.0
    for a in range(n):
        da = col[a]
        if da < np.inf and da > top:
            top = da
    nb = len(counts) - 1
    if top < nb - 1:
        counts[:int(top) + 2] = 0
        c_k = 0
        for a in range(n):
            if col[a] < np.inf:
                counts[int(col[a]) + 1] += 1
                c_k += 1
        for d in range(int(top) + 1):
            counts[d + 1] += counts[d]
        for a in range(n):
            da = col[a]
            if da < np.inf:
                r = counts[int(da)]
                counts[int(da)] = r + 1
                ok[r] = a
                pk[a] = r
            else:
                pk[a] = -1
        return c_k
    c_k = 0
    for a in range(n):
        da = col[a]
        if da < np.inf:
            r = 0
            for b in range(n):
                db = col[b]
                r += (db < da) | ((db == da) & (b < a))
            ok[r] = a
            pk[a] = r
            c_k += 1
        else:
            pk[a] = -1
    return c_k


@njit(cache=True)
def record_dense(n, out_ptr, out_head, out_w, out_edge, spf, dests, cnt, order, pos, ptr, split,
                 bad, dag_e, dag_h, dmat, col, dirty, now, counts, di, rowk,
                 dag_t=None):  # pragma: no cover - compiled
    """``record`` (weighted, not breadth-first) of every destination in ``dests``
    from the all-pairs distances; the same arrays when :func:`exact_integer_weights` holds.

    ``out_*``: the usable edges as ``route_arrays`` lays them out; ``dmat`` to
    ``rowk``: :func:`dense_alloc`; ``dag_t``: if given, each DAG edge's tail
    (as :func:`~twin3d.physics.batch_dags.tails` writes it). Returns the number of DAG edges.

    The distances come from :func:`~twin3d.physics.batch_apsp.all_pairs_int`
    when all are below ``EXACT_TOP`` (then ``record``'s 1e-9 test is an
    equality: :func:`_dags_exact`), else from :func:`all_pairs`; both are exact
    on integer weights, hence Dijkstra's.
    """
    tl = np.empty(len(dag_e), np.int64) if dag_t is None else dag_t
    m = out_ptr[n]
    top_int = all_pairs_int(n, out_ptr, out_head, out_w, di, rowk)
    if top_int < EXACT_TOP:
        if not spf:
            return _dags_exact(n, out_ptr, out_head, out_w, out_edge, dests, cnt, order, pos, ptr,
                               split, bad, dag_e, dag_h, tl, di, top_int, m)
        for a in range(n):          # SPF keeps the first edge that passes: record's test below
            for t in range(n):
                x = di[a, t]
                dmat[a, t] = np.float64(x) if x < NO_PATH else np.inf
    else:
        all_pairs(n, out_ptr, out_head, out_w, dmat, dirty, now)
    nxt = 0
    for k in range(len(dests)):
        t = dests[k]
        ok = order[k]
        pk = pos[k]
        for a in range(n):
            col[a] = dmat[a, t]
        c_k = _rank(n, col, ok, pk, counts)
        cnt[k] = c_k
        nxt = dag_rows(c_k, ok, pk, col, out_ptr, out_head, out_w, out_edge, spf, bad[k],
                       split[k], ptr[k], dag_e, dag_h, tl, nxt)   # record's DAG test
    return nxt


@njit(cache=True)
def _ranks_by_compare(n, di):  # pragma: no cover - compiled
    """``rank[a, t]``: a's place towards t in (distance, index) order, over whole
    rows (n * n * padded(n) compares; for distances too large to count)."""
    npad = di.shape[1]
    rank = np.zeros((n, npad), np.int32)
    for a in range(n):
        ra = rank[a]
        da = di[a]
        for b in range(a):               # ties: the lower index first
            db = di[b]
            for t in range(npad):
                ra[t] += np.int32(db[t] <= da[t])
        for b in range(a + 1, n):
            db = di[b]
            for t in range(npad):
                ra[t] += np.int32(db[t] < da[t])
    return rank


@njit(cache=True)
def _ranks_by_count(n, di, top):  # pragma: no cover - compiled
    """``rank[a, t]``: a's place towards t in (distance, index) order, for every
    destination t < n at once: a stable counting sort per column with the
    columns side by side (``hist[x, t]``: the nodes at distance x from t), so
    that consecutive updates go to different columns; a count per column in
    turn would wait on its own last store whenever two nodes are equally far.
    ``top``: the largest distance below :data:`_NO_PATH`."""
    hist = np.zeros((top + 2, n), np.int32)     # row top + 1: unreached
    for a in range(n):
        da = di[a]
        for t in range(n):
            x = da[t]
            hist[x if x < _NO_PATH else top + 1, t] += 1
    run = np.zeros(n, np.int32)                  # exclusive prefix sums down each column
    for x in range(top + 2):
        row = hist[x]
        for t in range(n):
            c = row[t]
            row[t] = run[t]
            run[t] += c
    rank = np.empty((n, di.shape[1]), np.int32)
    for a in range(n):                           # in node order: ties by index
        da = di[a]
        ra = rank[a]
        for t in range(n):
            x = da[t]
            x = x if x < _NO_PATH else top + 1
            r = hist[x, t]
            hist[x, t] = r + 1
            ra[t] = r
    return rank


@njit(cache=True)
def _dags_exact(n, out_ptr, out_head, out_w, out_edge, dests, cnt, order, pos, ptr, split, bad,
                dag_e, dag_h, dag_t, di, top, m):  # pragma: no cover - compiled
    """:func:`record_dense`'s ECMP DAGs from the int32 distances ``di[a, t]``
    (:func:`~twin3d.physics.batch_apsp.all_pairs_int`, ``top`` the largest, below
    0.5e9): ``record``'s test ``|d(a) - w - d(b)| <= 1e-9 d(a)`` is then
    ``d(a) - w == d(b)`` on integers, so a DAG edge leads to a strictly nearer
    node (no flag).

    The rows are padded (:func:`~twin3d.physics.batch_apsp.padded`; no path:
    :data:`_NO_PATH`), so that the work over all destinations at once runs
    in whole vectors without a scalar remainder: each edge's test, its place
    among its tail's DAG edges and each tail's DAG degree. Each node's rank
    towards each destination in (distance, index) order comes from a stable
    counting sort of all the columns side by side (:func:`_ranks_by_count`;
    by compares over whole rows when ``top`` passes ``_BUCKETS`` n); per
    destination the nodes are then put in that order and walked by rank
    (order, pointers, shares); then each
    edge's slot in every destination's list is computed over whole rows and
    the edge's place in ``out_*`` scattered there, each to its own slot
    (tail order, out-edge order within a tail, as ``record`` lists them; an
    edge off the DAG writes to a spare slot), and the slots filled in order.
    """
    npad = di.shape[1]
    by_count = top <= _BUCKETS * n      # (the histogram has top + 2 rows)
    rank = _ranks_by_count(n, di, top) if by_count else _ranks_by_compare(n, di)
    deg = np.zeros((n, npad), np.int32)   # deg[a, t]: a's DAG edges towards t
    on = np.empty((m, npad), np.bool_)    # on[e, t]: edge e is a DAG edge towards t
    before = np.empty((m, npad), np.int32)  # before[e, t]: DAG edges of e's tail before e
    tail = np.empty(m, np.int64)
    most = 0
    for a in range(n):
        da = di[a]
        dga = deg[a]
        most = max(most, out_ptr[a + 1] - out_ptr[a])
        for e in range(out_ptr[a], out_ptr[a + 1]):
            tail[e] = a
            db = di[out_head[e]]
            # a weight past every distance is on no DAG; clamped, the difference cannot wrap
            w = np.int32(min(out_w[e], 2147483647.0))
            oe = on[e]
            be = before[e]
            for t in range(npad):        # unreached tails have none; padding: 0 - w != 0
                x = (da[t] < _NO_PATH) & (da[t] - w == db[t])
                oe[t] = x
                be[t] = dga[t]
                dga[t] += np.int32(x)
    inv = np.empty(most + 1)             # 1 / c, as record divides (c: up to the out-degree)
    inv[0] = 0.0
    for c in range(1, most + 1):
        inv[c] = 1.0 / c
    first = np.empty((n, npad), np.int64)  # first[a, t]: slot of a's first DAG edge towards t
    nxt = 0
    for k in range(len(dests)):
        t = dests[k]
        ok = order[k]
        pk = pos[k]
        c_k = 0
        for a in range(n):
            if di[a, t] < _NO_PATH:
                r = rank[a, t]
                ok[r] = a
                pk[a] = r
                c_k += 1
            else:
                pk[a] = -1
        cnt[k] = c_k
        bk = bad[k]
        sk = split[k]
        pt = ptr[k]
        pt[0] = nxt
        pt[1] = nxt                      # rank 0 is the destination: no DAG edges
        for r in range(1, c_k):
            a = ok[r]
            c = deg[a, t]
            first[a, t] = nxt
            bk[r] = c == 0
            sk[r] = inv[c]
            nxt += c
            pt[r + 1] = nxt
    sink = len(dag_e) - 1                # non-DAG edges write here (dag_e has a spare slot)
    every = len(dests) == n
    slot = np.empty(npad, np.uint64)     # unsigned: indexing skips the negative-index wrap
    loc = np.empty(len(dag_e), np.int32)  # loc[s]: the edge (its place in out_*) of slot s
    for e in range(m):
        fa = first[tail[e]]
        oe = on[e]
        be = before[e]
        for t in range(npad):            # (first is unset where no edge is on the DAG)
            slot[t] = np.uint64(fa[t] + be[t] if oe[t] else sink)
        le = np.int32(e)
        if every:                        # dests is 0 .. n - 1
            for t in range(n):
                loc[slot[t]] = le
        else:
            for k in range(len(dests)):
                loc[slot[dests[k]]] = le
    for i in range(nxt):                 # one store per edge and destination above, then in order
        e = loc[i]
        dag_e[i] = out_edge[e]
        dag_h[i] = out_head[e]
        dag_t[i] = tail[e]
    return nxt
