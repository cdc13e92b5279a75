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

from .dagarena import Arena, _copy_live, slack  # noqa: F401 (re-exported)
from .dagedit import _move_tail, insert, remove  # noqa: F401
from .dagread import (count_uses, gather, latency, latency_chunks, latency_threaded,  # noqa: F401
                       reached_weight, set_routable, sum_loads)
from .dagsearch import _add_flows, _push_one, build, push  # noqa: F401

__all__ = ["Arena", "build", "remove", "insert", "push", "sum_loads", "latency",
           "latency_chunks", "latency_threaded", "reached_weight", "gather", "slack",
           "set_routable"]
