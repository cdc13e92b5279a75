"""The per-point passes of a recombination (:func:`twin3d.physics.cellmaps.combine_rows`)
over a span of grid points: best server, co-channel SINR, spectral efficiency.

Every number of a point is made from that point's inputs alone, so the
points can be cut into spans, each on a thread of its own (:func:`run_spans`:
Python threads; the compiled passes here release the GIL and so do numpy's
loops), with the bits of one span over every point. The logarithms and
powers run in numpy (its SIMD loops: a compiled ``log10`` or ``pow`` would
give other last bits); the arithmetic between them is compiled.

No I/O.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from .radio import SE_ATTENUATION as _SE_ATT, SE_MAX_BPS_HZ as _SE_MAX, SE_MIN_SINR_DB as _SE_MIN_DB

__all__ = ["BLOCK", "best_server", "best_server_ranked", "cochannel", "sinr_and_se", "spectral_efficiency",
           "run_spans", "tens"]

#: Points per block of the compiled passes (their per-point state stays in cache).
BLOCK = 1024


def spectral_efficiency(sinr_db: np.ndarray, db_from_log10: bool = False,
                        out: np.ndarray | None = None) -> np.ndarray:
    """:func:`~twin3d.physics.radio.spectral_efficiency`, the same operations,
    the exponential and logarithm in numpy and the arithmetic between them
    compiled. With ``db_from_log10``, ``sinr_db`` holds log10(SINR) on entry and
    is scaled to dB (x 10) in place first, in the same pass. ``out``: where to
    write (a new array by default)."""
    t = np.empty_like(sinr_db) if out is None else out
    _se_scale(sinr_db, t, db_from_log10)                   # t = sinr_db / 10
    # numpy's power of a contiguous base array: the bits of the scalar base 10.0 (its
    # SIMD loop serves both), a third faster (tests/test_physics_recombine_fast.py)
    np.power(tens(t.size), t, out=t)
    t += 1.0
    np.log2(t, out=t)
    _se_finish(sinr_db, t)
    return t


def sinr_and_se(ratio: np.ndarray, se: np.ndarray) -> None:
    """In place: ``ratio`` (signal / (interference + noise), linear) to SINR in dB,
    and its spectral efficiency into ``se`` (-inf dB and 0 b/s/Hz where the ratio is 0)."""
    with np.errstate(divide="ignore"):     # per call: a worker thread has numpy's default state
        np.log10(ratio, out=ratio)
        spectral_efficiency(ratio, db_from_log10=True, out=se)


_TENS = np.full(0, 10.0)


def tens(n: int) -> np.ndarray:
    """(n,) float64 of 10.0, read-only (the longest asked for kept, sliced)."""
    global _TENS
    got = _TENS
    if got.size < n:
        got = np.full(n, 10.0)
        got.flags.writeable = False
        _TENS = got
    return got[:n]


@njit(cache=True, nogil=True)
def _se_scale(sinr_db, t, from_log10):  # pragma: no cover - compiled
    for p in range(sinr_db.size):
        if from_log10:
            sinr_db[p] = sinr_db[p] * 10.0
        t[p] = sinr_db[p] / 10.0


@njit(cache=True, nogil=True)
def _se_finish(sinr_db, t):  # pragma: no cover - compiled
    """t = 0 where SINR < -10 dB, else min(0.6 t, 5.5) (NaN kept, as np.minimum)."""
    for p in range(t.size):
        x = _SE_ATT * t[p]
        if x > _SE_MAX:
            x = _SE_MAX
        t[p] = 0.0 if sinr_db[p] < _SE_MIN_DB else x


@njit(cache=True, nogil=True)
def best_server(rx, rows, rs_off, rsrp, k, lo, hi):  # pragma: no cover - compiled
    """Points lo .. hi - 1: running maximum of rx - rs_off over the rows, strictly
    greater (the first on ties): the RSRP and the row's position ``k``."""
    m = rows.size
    cur = np.empty(BLOCK)
    kb = np.empty(BLOCK, np.int64)
    for p0 in range(lo, hi, BLOCK):
        nb = min(BLOCK, hi - p0)
        for q in range(nb):
            cur[q] = -np.inf
            kb[q] = 0
        for j in range(m):
            r_row = rx[rows[j], p0:p0 + nb]
            off = rs_off[j]
            for q in range(nb):
                r = np.float64(r_row[q]) - off
                b = r > cur[q]
                cur[q] = r if b else cur[q]
                kb[q] = j if b else kb[q]
        for q in range(nb):
            rsrp[p0 + q] = cur[q]
            k[p0 + q] = kb[q]


@njit(cache=True, nogil=True)
def best_server_ranked(rx, ranking, ranked_rsrp, pos, rows, rs_off, rsrp, k, lo,
                       hi):  # pragma: no cover - compiled
    """:func:`best_server` from a ranking (:func:`~twin3d.physics.cellmaps.rank_cells`):
    the first active cell ranked at each point; where every ranked cell sleeps and
    the ranking is full, the running maximum over the active cells."""
    depth = ranking.shape[0]
    m = rows.size
    for p in range(lo, hi):
        done = False
        for d in range(depth):
            c = ranking[d, p]
            if c < 0:                               # no other cell reaches the point
                rsrp[p] = -np.inf
                k[p] = 0
                done = True
                break
            j = pos[c]
            if j >= 0:
                rsrp[p] = ranked_rsrp[d, p]
                k[p] = j
                done = True
                break
        if not done:
            cur = -np.inf
            kb = 0
            for j in range(m):
                r = np.float64(rx[rows[j], p]) - rs_off[j]
                if r > cur:
                    cur = r
                    kb = j
            rsrp[p] = cur
            k[p] = kb


@njit(cache=True, nogil=True)
def cochannel(mw, rows, group, one_group, k, rsrp, idx, n_mw, bw, best, ratio, bw_pt, lo,
              hi):  # pragma: no cover - compiled
    """Points lo .. hi - 1: the server (``idx[k]``, -1 where rsrp is -inf), its
    bandwidth, and signal / (max(interference, 0) + noise) in linear units.

    The total on the server's carrier adds the active cells' mW in row order
    from 0.0 (adding 0.0 for a cell on another carrier leaves a sum of
    non-negative terms unchanged); interference = total - signal.
    """
    acc = np.empty(BLOCK)
    gk = np.empty(BLOCK, np.int64)
    for p0 in range(lo, hi, BLOCK):
        _cochannel_block(p0, min(BLOCK, hi - p0), acc, gk, mw, rows, group, one_group, k, rsrp,
                         idx, n_mw, bw, best, ratio, bw_pt)


@njit(cache=True, nogil=True)
def _cochannel_block(p0, nb, acc, gk, mw, rows, group, one_group, k, rsrp, idx, n_mw, bw, best,
                     ratio, bw_pt):  # pragma: no cover - compiled
    """:func:`cochannel` on the points p0 .. p0 + nb - 1 (scratch ``acc``, ``gk``)."""
    m = rows.size
    for q in range(nb):
        acc[q] = 0.0
    if one_group:              # four rows a pass: the same additions, in the same order
        j = 0
        while j + 3 < m:
            r0 = mw[rows[j], p0:p0 + nb]
            r1 = mw[rows[j + 1], p0:p0 + nb]
            r2 = mw[rows[j + 2], p0:p0 + nb]
            r3 = mw[rows[j + 3], p0:p0 + nb]
            for q in range(nb):
                acc[q] = (((acc[q] + r0[q]) + r1[q]) + r2[q]) + r3[q]
            j += 4
        while j < m:
            m_row = mw[rows[j], p0:p0 + nb]
            for q in range(nb):
                acc[q] += m_row[q]
            j += 1
    else:
        for q in range(nb):
            gk[q] = group[k[p0 + q]]
        for j in range(m):
            g = group[j]
            m_row = mw[rows[j], p0:p0 + nb]
            for q in range(nb):
                acc[q] += m_row[q] if gk[q] == g else 0.0
    for q in range(nb):
        p = p0 + q
        j = k[p]
        s = mw[rows[j], p]
        i = acc[q] - s
        if i < 0.0:
            i = 0.0
        ratio[p] = s / (i + n_mw[j])
        if bw_pt.size:
            bw_pt[p] = bw[j]
        best[p] = idx[j] if np.isfinite(rsrp[p]) else -1


#: Spans per thread of :func:`run_spans` (threads take the next span as they go; each
#: span costs some 50 us of calls, so a few).
SPANS_PER_THREAD = 2

#: (pid, pool) of the span workers (a forked child makes its own).
_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _pool(workers: int) -> ThreadPoolExecutor:
    global _POOL
    pid = os.getpid()
    if _POOL is None or _POOL[0] != pid or _POOL[1]._max_workers < workers:
        _POOL = (pid, ThreadPoolExecutor(workers, thread_name_prefix="twin3d-recombine"))
    return _POOL[1]


def run_spans(fn, n_pts: int, threads: int) -> None:
    """``fn(lo, hi)`` over the points 0 .. n_pts - 1 in contiguous spans of whole
    blocks, on this thread and ``threads - 1`` workers (this thread alone when
    ``threads`` < 2).

    Each thread takes the next span not yet taken until none is left, so this
    thread does every span a worker does not start: a worker the scheduler
    keeps waiting costs no more than the spans it took (none, if it never ran).
    Returns when every span is done; a span's exception is raised here.
    """
    n_blocks = -(-n_pts // BLOCK)
    threads = max(1, min(int(threads), n_blocks))
    if threads == 1:
        fn(0, n_pts)
        return
    n_spans = min(n_blocks, SPANS_PER_THREAD * threads)
    cuts = [min(n_pts, (c * n_blocks // n_spans) * BLOCK) for c in range(n_spans + 1)]
    ticket = itertools.count()          # next() on it is atomic under the GIL
    done = threading.Condition()
    state = {"finished": 0, "error": None}

    def work() -> None:
        while True:
            c = next(ticket)
            if c >= n_spans:
                return
            try:
                fn(cuts[c], cuts[c + 1])
            except BaseException as exc:        # noqa: BLE001 - raised on the calling thread
                state["error"] = state["error"] or exc
            with done:
                state["finished"] += 1
                done.notify_all()

    pool = _pool(threads - 1)
    for _ in range(threads - 1):
        pool.submit(work)
    work()
    with done:                          # only spans a worker took are waited for
        done.wait_for(lambda: state["finished"] == n_spans)
    if state["error"] is not None:
        raise state["error"]
