"""One compiled signature per kernel at the Python boundaries (twin3d.physics.kernel_args).

A read-only or non-contiguous ('A') array compiles a kernel and every kernel
it calls again (tens of seconds cold, the same numbers): the wrappers hand
each kernel its arrays in one form, whatever form the caller's are in.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from numba import types

from twin3d.physics.batch_kernels import _step_batch
from twin3d.physics.batch_step import BatchRouter
from twin3d.physics.geometric.diffraction import _deygout_rows, deygout_loss_db
from twin3d.physics.kernel_args import readonly_c, writable_c
from twin3d.physics.transport import Router
from twin3d.sim import kpi


def _arrays(dispatcher) -> set:
    """(mutable, layout) of every array argument of every signature compiled here."""
    return {(a.mutable, a.layout) for sig in dispatcher.signatures for a in sig
            if isinstance(a, types.Array)}


def _read_only(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


def test_helpers_copy_only_when_needed():
    a = np.arange(6.0)
    assert writable_c(a, float) is a and readonly_c(readonly_c(a, float), float).base is a
    ro = _read_only(a)
    assert readonly_c(ro, float) is ro
    w = writable_c(ro, float)
    assert w.flags.writeable and w is not ro and not ro.flags.writeable   # the cache stays locked
    s = readonly_c(a[::2], np.int64)
    assert s.flags.c_contiguous and not s.flags.writeable and s.tolist() == [0, 2, 4]


def test_batch_step_compiles_writable_c_arrays_only():
    g = nx.MultiGraph([("A", "B", "AB"), ("B", "C", "BC")])
    br = BatchRouter(Router(g), [0], [2])
    cap = np.broadcast_to(np.array([10e9, 2e9]), (1, 2))            # C-contiguous, read-only
    bps = _read_only(np.array([[4e9]]))
    res = br.step(bps, np.ones((1, 2), bool), np.ones((1, 3), bool), cap, None, 2.5,
                  copy_demand=False)
    assert res.delivered_bps[0, 0] == 2e9 and res.link_util[0].tolist() == [0.4, 2.0]
    assert _arrays(_step_batch) == {(True, "C")}
    assert res.demand_bps is bps            # the caller's read-only demand, as it is (no copy)


def test_percentiles_compile_read_only_c_arrays_only():
    rng = np.random.default_rng(0)
    v = rng.random((2, 400))[:, ::2]                                # strided: layout 'A'
    w = _read_only(rng.random(200))
    got = kpi.weighted_percentiles(v[0], [5, 50, 95], w)
    assert got == kpi._argsort_percentiles(np.ascontiguousarray(v[0]), [5, 50, 95], w)
    assert kpi.weighted_percentiles(v[1], [50]) == [float(np.sort(v[1])[99])]
    stats = kpi.weighted_stats(readonly_c(v[0], float), w)
    assert kpi.weighted_percentiles(v[0], [5, 50, 95], w, stats) == got   # _weighted_select_from
    for kernel in (kpi._select, kpi._weighted_select_from):   # (callees load with their caller)
        forms = {(a.mutable, a.layout) for sig in kernel.signatures for a in sig[:2]}
        assert forms == {(False, "C")}, kernel


def test_diffraction_of_broadcast_terminals_compiles_writable_c_arrays_only():
    z = np.array([[-np.inf, 10.0, -np.inf]])
    got = deygout_loss_db([25.0, 50.0, 75.0], z, [0.0], [0.0], [100.0], 0.1)
    assert got.shape == (1,) and got[0] > 0.0
    assert _arrays(_deygout_rows) == {(True, "C")}
