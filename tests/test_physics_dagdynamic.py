"""Distances that change, updated without a search (dagdynamic.update).

Destinations whose distances grow after cuts or shrink after restores are
updated where they change. After every call the cache must give what a
fresh :meth:`Router.route` gives (1e-12 relative), its distances must be a
fresh cache's bit for bit and its DAGs the same edge sets, on random
multigraphs with parallel links, bridges and pendant chains, by hops and
by (non-integer) weights, with several links cut and restored per call.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from twin3d.physics.incremental import RoutingCache
from twin3d.physics.transport import Router

from test_physics_reflow import _all_pairs, _check, _graph


def _same_state(cache: RoutingCache, r: Router, src, dst, bps, link_up, weight=None):
    """The cache's distances equal a fresh cache's exactly, its DAGs the same edge sets,
    its split shares and throughputs to 1e-12."""
    fresh = RoutingCache(r, src, dst)
    fresh.route(bps, link_up=link_up, weight=weight, latency=False)
    np.testing.assert_array_equal(cache._dist, fresh._dist)
    for t in cache._dests:
        def dag(c):
            s = c._seg_start[t]
            return sorted(c._arena.edge[s:s + c._seg_len[t]].tolist())
        assert dag(cache) == dag(fresh), t
        reached = cache._dist[t] < np.inf
        np.testing.assert_allclose(cache._split[t][reached], fresh._split[t][reached], rtol=1e-15)
        np.testing.assert_allclose(cache._thru[t], fresh._thru[t], rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(cache._reached, fresh._reached)


def _segments_sorted_by_tail_distance(cache: RoutingCache) -> bool:
    for t in cache._dests:
        s = cache._seg_start[t]
        d = cache._dist[t][cache._arena.tail[s:s + cache._seg_len[t]]]
        if np.any(np.diff(d) < 0):
            return False
    return True


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("metric", ["hops", "w", "float"])
def test_several_cuts_and_restores_per_call_equal_a_fresh_routing(seed, metric):
    g, rng = _graph(seed + 10)
    r = Router(g, metric="hops" if metric == "hops" else "w")
    src, dst, bps = _all_pairs(r, rng)
    nl = len(r.links)
    # non-integer weights: distances along different paths round differently
    weight = rng.uniform(0.3, 3.0, nl) if metric == "float" else None
    cache = RoutingCache(r, src, dst)
    link_up = np.ones(nl, bool)
    updated = 0
    for step in range(30):
        link_up = link_up.copy()
        down = np.flatnonzero(~link_up)
        if len(down):                              # some back up
            link_up[rng.choice(down, min(len(down), int(rng.integers(1, 4))), replace=False)] = True
        link_up[rng.choice(np.flatnonzero(link_up), int(rng.integers(1, 4)), replace=False)] = False
        if step % 6 == 5:
            link_up[:] = True                      # everything back at once: distances shrink
        if step % 4 == 3:
            bps = bps * float(rng.uniform(0.8, 1.2))
        args = dict(link_up=link_up, weight=weight, capacity_bps=np.full(r.n_edges, 1e15),
                    edge_delay_s=lambda load, cap: load * 1e-15)
        got = cache.route(bps, **args)
        want = r.route((src, dst, bps), **args)
        np.testing.assert_allclose(got.load_bps, want.load_bps, rtol=1e-12, atol=0)
        assert np.array_equal(got.routable, want.routable)
        np.testing.assert_allclose(got.latency_s, want.latency_s, rtol=1e-12, atol=0)
        assert cache.searched == (len(cache._dests) if step == 0 else 0)
        updated += cache.updated
        _same_state(cache, r, src, dst, bps, link_up, weight)
        assert _segments_sorted_by_tail_distance(cache)
    assert updated > 30


def test_a_bridge_cut_loses_the_far_side_and_its_restore_reaches_it_again():
    """A - B - C in a line, plus a triangle D, E, F beyond C - D. Cutting C - D leaves
    D, E, F unreachable to A (distances grow to inf), its restore brings them back."""
    g = nx.MultiGraph([("A", "B", "AB"), ("B", "C", "BC"), ("C", "D", "CD"), ("D", "E", "DE"),
                       ("E", "F", "EF"), ("F", "D", "FD"), ("A", "C", "AC")])
    r = Router(g)
    i = r.node_index
    n = r.n_nodes
    src, dst = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    keep = src != dst
    src, dst = src[keep], dst[keep]
    bps = np.arange(1, len(src) + 1) * 1e6
    cache = RoutingCache(r, src, dst)
    link_up = np.ones(len(r.links), bool)
    _check(cache, r, src, dst, bps, link_up)
    link_up[r.links.index("CD")] = False
    got = _check(cache, r, src, dst, bps, link_up)
    assert cache.searched == 0 and cache.updated > 0
    assert cache._dist[i["A"], i["E"]] == np.inf and not got.routable[
        (src == i["E"]) & (dst == i["A"])].any()
    _same_state(cache, r, src, dst, bps, link_up)
    link_up[r.links.index("CD")] = True
    got = _check(cache, r, src, dst, bps, link_up)
    assert cache.searched == 0 and cache.updated > 0 and got.routable.all()
    assert cache._dist[i["A"], i["E"]] == 3.0      # E - D - C - A
    _same_state(cache, r, src, dst, bps, link_up)


def test_updates_past_a_full_arena_compact_it():
    g, rng = _graph(5)
    r = Router(g)
    src, dst, bps = _all_pairs(r, rng)
    cache = RoutingCache(r, src, dst)
    link_up = np.ones(len(r.links), bool)
    _check(cache, r, src, dst, bps, link_up)
    full = 0
    for step in range(20):
        # no room after the live segments: an update that outgrows its segment's room
        # finds the arena full (it compacts it and goes on)
        c = cache._arena
        cache._arena = c.compacted(cache._dests, cache._seg_start, cache._seg_len,
                                   cache._seg_cap, 0)
        before = cache.compactions
        link_up = np.ones(len(r.links), bool) if step % 2 else rng.random(len(r.links)) > 0.3
        _check(cache, r, src, dst, bps, link_up)
        full += cache.compactions - before
    assert full > 0 and cache.searched == 0
