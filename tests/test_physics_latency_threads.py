"""The latency walk on numba's threads (``dagread.latency_threaded``) gives the
serial walk's bits (``dagread.latency``): every demand's delay, nan where
unreached, and the first-pass stats of the weighted percentiles (count,
total weight summed in the serial order, min, max), over steps that change
what is reached and steps with infinite delays."""

from __future__ import annotations

import networkx as nx
import numba
import numpy as np
import pytest

from twin3d.physics import dagread, dagstore
from twin3d.physics.incremental import RoutingCache
from twin3d.physics.transport import Router


def _graph(seed: int, n: int):
    rng = np.random.default_rng(seed)
    g = nx.MultiGraph(nx.random_geometric_graph(n, 0.3, seed=seed))
    g.add_nodes_from(range(n))
    for a, b, k in list(g.edges(keys=True)):
        g.edges[a, b, k]["w"] = float(rng.choice([1.0, 2.0, 3.0, 0.5]))
        g.edges[a, b, k]["length_m"] = float(rng.integers(100, 5000))
    return g, rng


def _delay(inf_from):
    """Queueing delay growing with the load; infinite on every 7th edge from
    ``inf_from`` (-1: none)."""
    def f(load, cap):
        d = load * 1e-15
        if inf_from >= 0:
            d = d.copy()
            d[inf_from::7] = np.inf
        return d
    return f


def _steps(seed: int, n: int = 36, steps: int = 30):
    """Route calls of a cache under random cuts, restores, node failures and bit/s
    changes: per call the kwargs and bit/s."""
    g, rng = _graph(seed, n)
    r = Router(g)
    nl = len(r.links)
    src, dst = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    bps = rng.uniform(0, 1e6, len(src))
    bps[rng.random(len(bps)) < 0.1] = 0.0        # zero weights are left out of the stats
    link_up = np.ones(nl, bool)
    node_up = np.ones(n, bool)
    calls = []
    for step in range(steps):
        kind = rng.choice(["cut", "restore", "node", "scale", "isolate", "rejoin"],
                          p=[0.35, 0.2, 0.1, 0.1, 0.15, 0.1])
        if kind == "isolate":                     # a search finds a node no longer reached
            x = int(rng.integers(n))
            link_up[r.link[(r.u == x) | (r.v == x)]] = False
        elif kind == "rejoin":                    # ... and reached again
            link_up[:] = True
        elif kind == "cut":
            link_up[rng.integers(nl)] = False
        elif kind == "restore" and not link_up.all():
            link_up[rng.choice(np.flatnonzero(~link_up))] = True
        elif kind == "node":
            node_up[rng.integers(n)] ^= True
        elif kind == "scale":
            bps = bps * float(rng.uniform(0.5, 2.0))
        inf_edge = int(rng.integers(7)) if step % 6 == 5 else -1
        calls.append((bps, dict(link_up=link_up.copy(), node_up=node_up.copy(),
                                capacity_bps=np.full(r.n_edges, 1e12),
                                edge_delay_s=_delay(inf_edge))))
    return r, src, dst, calls


def _samples(r, src, dst, calls, min_demands: int, monkeypatch):
    """(grouped latencies, stats) of each call with the walk threaded from
    ``min_demands`` (whatever the machine's load)."""
    monkeypatch.setattr(dagread, "LATENCY_THREAD_MIN_DEMANDS", min_demands)
    # at least 2 runs: on 1 thread they run one after the other
    monkeypatch.setattr(dagread, "usable_threads", lambda: max(2, numba.get_num_threads()))
    monkeypatch.setattr(dagread.LATENCY_CHOICE, "choose", lambda: True)   # whatever the time
    cache = RoutingCache(r, src, dst)
    out = []
    for bps, kw in calls:
        grouped, _, stats = cache.route(bps, **kw).latency_sample
        out.append((grouped.copy(), stats))
        if min_demands == 0:                      # the kept total is renewed when it must be
            assert cache._lat_kept == dagstore.reached_weight(cache._dests, cache._dem_ptr,
                                                              cache._reached, cache._lat_w)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threads", sorted({1, min(2, numba.config.NUMBA_NUM_THREADS),
                                            numba.config.NUMBA_NUM_THREADS}))
def test_threaded_route_equals_serial_bit_for_bit(seed, threads, monkeypatch):
    r, src, dst, calls = _steps(seed)
    serial = _samples(r, src, dst, calls, 10 ** 18, monkeypatch)
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        threaded = _samples(r, src, dst, calls, 0, monkeypatch)
    finally:
        numba.set_num_threads(before)
    routable_changed = nonfinite = 0
    for (g0, s0), (g1, s1) in zip(serial, threaded):
        assert np.array_equal(g0, g1, equal_nan=True)
        assert np.array_equal(np.isnan(g0), np.isnan(g1))
        assert s0 == s1                           # count, total, min, max: the same floats
        nonfinite += np.isinf(g0).any()
    for (g0, _), (g1, _) in zip(serial, serial[1:]):
        routable_changed += not np.array_equal(np.isnan(g0), np.isnan(g1))
    # the cases exercised: reachability changed (the kept total renewed) and infinite
    # delays (the serial stats pass)
    assert routable_changed >= 2 and nonfinite >= 1


def _kernel_args(seed: int):
    """The arguments of ``dagstore.latency`` from a cache's last call."""
    r, src, dst, calls = _steps(seed, n=30, steps=8)
    cache = RoutingCache(r, src, dst)
    for bps, kw in calls:
        cache.route(bps, **kw)
    res = cache.route(calls[-1][0], **dict(calls[-1][1], edge_delay_s=_delay(-1)))
    m = len(cache._dem_idx)
    out = np.empty(m + 2)
    out[m:] = 0.0, np.nan
    return (cache._dests, r.n_nodes, cache._split, cache._seg_start, cache._seg_len,
            cache._arena.arrays(), np.ascontiguousarray(res.edge_delay_s), cache._dem_ptr,
            cache._dem_src, cache._reached, out, cache._lat_w)


@pytest.mark.parametrize("n_chunks", [1, 2, 3, 7, 29, 30])
def test_threaded_kernel_any_chunking(n_chunks):
    """More runs than threads, runs of one destination, and the kept total's
    shortcut against the serial stats pass."""
    args = _kernel_args(4)
    want_out = args[10].copy()
    want = dagstore.latency(*args[:10], want_out, args[11])
    kept = dagstore.reached_weight(args[0], args[7], args[9], args[11])
    got_out = np.full_like(want_out, -1.0)
    got_out[len(got_out) - 2:] = want_out[len(got_out) - 2:]
    got = dagstore.latency_threaded(*args[:10], got_out, args[11], kept, n_chunks)
    assert np.array_equal(got_out, want_out, equal_nan=True)
    assert got == want
    assert kept[0] == want[0] - 1                 # every reached demand finite: the shortcut
    # a wrong kept count takes the serial pass: the same stats
    got_out[:] = -1.0
    got_out[len(got_out) - 2:] = want_out[len(got_out) - 2:]
    assert dagstore.latency_threaded(*args[:10], got_out, args[11], (kept[0] + 1, 0.0),
                                     n_chunks) == want


def test_threads_only_for_large_walks(monkeypatch):
    monkeypatch.setattr(dagread, "usable_threads", lambda: 7)
    assert dagstore.latency_chunks(dagread.LATENCY_THREAD_MIN_DEMANDS - 1) == 1
    assert dagstore.latency_chunks(dagread.LATENCY_THREAD_MIN_DEMANDS) == 7


@pytest.mark.skipif(numba.get_num_threads() < 2, reason="one thread: no parallel region")
def test_the_walk_runs_as_its_measured_time_says_whatever_the_load(monkeypatch):
    """A load average that ``spare_threads`` would call busy (it counts this
    process's own threads, a minute late) does not keep the walk serial: each
    mode is tried and timed (:data:`dagread.LATENCY_CHOICE`), and either gives
    the serial walk's stats."""
    from twin3d.physics import threads
    monkeypatch.setattr(threads, "_threads_pid", None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (99.0, 99.0, 99.0))
    monkeypatch.setattr(dagread, "LATENCY_THREAD_MIN_DEMANDS", 0)
    choice = threads.ThreadChoice(explore_every=2)
    monkeypatch.setattr(dagread, "LATENCY_CHOICE", choice)
    modes = []
    record = choice.record
    monkeypatch.setattr(choice, "record", lambda threaded, seconds, items=1: (
        modes.append(threaded), record(threaded, seconds, items)))
    r, src, dst, calls = _steps(4, n=30, steps=8)
    cache = RoutingCache(r, src, dst)
    got = [cache.route(bps, **kw).latency_sample[2] for bps, kw in calls]
    assert modes[:4] == [True, True, False, False] and len(modes) == len(calls)
    assert None not in choice.cost_s                       # both measured
    monkeypatch.setattr(dagread, "LATENCY_THREAD_MIN_DEMANDS", 10**9)   # serial only
    serial = RoutingCache(r, src, dst)
    assert [serial.route(bps, **kw).latency_sample[2] for bps, kw in calls] == got


def test_no_threads_on_a_busy_machine(monkeypatch):
    from twin3d.physics import threads
    n = numba.get_num_threads()
    monkeypatch.setattr(threads, "_threads_pid", None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (n + 0.6, 0.0, 0.0))
    assert threads.spare_threads() == 1
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (n - 0.5, 0.0, 0.0))
    assert threads.spare_threads() == (n if n > 1 else 1)
    # a process forked from one that was given threads: none
    monkeypatch.setattr(threads.os, "getpid", lambda: -1)
    assert threads.spare_threads() == 1


def _forked_walk(seed: int):
    r, src, dst, calls = _steps(seed, n=30, steps=3)
    cache = RoutingCache(r, src, dst)
    return [cache.route(bps, **kw).latency_sample[2] for bps, kw in calls]


@pytest.mark.skipif(numba.get_num_threads() < 2, reason="one thread: no parallel region")
def test_a_forked_worker_walks_serially(monkeypatch):
    """A worker forked after the parent walked on threads gives the same answers
    (numba would end it at a parallel region)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from twin3d.physics import threads
    monkeypatch.setattr(threads, "_threads_pid", None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(dagread, "LATENCY_THREAD_MIN_DEMANDS", 0)
    monkeypatch.setattr(dagread, "LATENCY_CHOICE", threads.ThreadChoice())  # tries threads first
    want = _forked_walk(3)                        # on threads here
    assert threads._threads_pid is not None
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        assert pool.submit(_forked_walk, 3).result(timeout=600) == want
