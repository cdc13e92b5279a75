"""The fresh output arrays of :mod:`twin3d.physics.fresh` and the latency arrays
that :class:`~twin3d.physics.incremental.RoutingCache` results keep."""

from __future__ import annotations

import doctest

import networkx as nx
import numpy as np

from twin3d.physics import fresh
from twin3d.physics.fresh import empty_f64
from twin3d.physics.incremental import RoutingCache
from twin3d.physics.transport import Router


def test_empty_f64_is_a_new_writable_float64_array_each_call():
    a, b = empty_f64(1000), empty_f64(1000)
    assert a.shape == (1000,) and a.dtype == np.float64
    assert a.flags.c_contiguous and a.flags.writeable
    assert not np.shares_memory(a, b)
    a[:] = 1.0
    b[:] = 2.0
    assert a.sum() == 1000.0 and empty_f64(0).shape == (0,)


def test_each_routing_keeps_its_own_latency():
    # a cache that reused one latency buffer would change an earlier result's latency
    g = nx.MultiGraph([(0, 1, "a"), (1, 2, "b"), (0, 2, "c"), (2, 3, "d")])
    r = Router(g)
    src, dst = np.array([0, 0, 1, 3]), np.array([2, 3, 3, 0])
    cache = RoutingCache(r, src, dst)
    bps = np.full(4, 1e9)
    first = cache.route(bps, edge_delay_s=np.full(r.n_edges, 1e-3))
    want = np.array(first.latency_sample[0], copy=True)
    up = np.ones(len(r.links), bool)
    up[r.links.index("c")] = False                 # 0 -> 2 now over 1: longer
    second = cache.route(bps, link_up=up, edge_delay_s=np.full(r.n_edges, 2e-3))
    assert not np.shares_memory(first.latency_sample[0], second.latency_sample[0])
    np.testing.assert_array_equal(first.latency_sample[0], want)
    assert np.all(np.asarray(second.latency_s) > np.asarray(first.latency_s))


def test_doctests():
    assert doctest.testmod(fresh).failed == 0
