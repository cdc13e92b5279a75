"""Demand pairs pinned to an explicit path: policy routes (an MPLS-TE tunnel, an SR policy).

A ``pair_route`` event pins the traffic of one demand pair (src, dst) to a
path of sites. The semantics, those of a headend with an explicit-path
tunnel:

* the pair's demand leaves IGP routing (ECMP or SPF) and is carried hop by
  hop along the path; a hop over parallel links splits evenly over those
  in service (SPF: the first, as a static route does), whatever their
  weights; static routes along the path do not act on it (it is
  label-switched), an ACL denying the pair at a node of the path drops it
  there (the links before that node carry it);
* when any hop has no link in service, or any site of the path is down,
  the tunnel is down and the pair falls back to IGP routing for that pass
  (a link a cascade trips counts from the wave after it trips);
* loads, tail drop on overloaded links and latency follow the path: each
  hop passes its links' pass fraction, and the latency is the mean delay of
  the traffic delivered, the sum over hops of the hop's delay (the mean
  over its links, weighted by what they deliver).

:class:`PairPaths` holds the routes of a step (node and edge indices, built
once), :meth:`PairPaths.active` the tunnels that are up in a pass, and
:meth:`ActivePaths.flow` their loads, deliveries and latencies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PairPaths", "ActivePaths"]


@dataclass
class ActivePaths:
    """The tunnels up in one pass.

    ``rows`` are the demand rows they carry, ``hops[k]`` the directed edges
    of row k's hops (a list of arrays; the hops after an ACL that drops the
    pair are cut off) and ``acl[k]`` whether such an ACL ends the path.
    """

    rows: np.ndarray
    hops: list[list[np.ndarray]]
    acl: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def flow(self, bps: np.ndarray, n_edges: int, edge_pass=None, edge_delay_s=None):
        """Loads, delivered bit/s and latency of the pinned rows.

        Parameters
        ----------
        bps : (n_demands,) float
            Every demand's bit/s (only ``rows`` are read).
        n_edges : int
        edge_pass : (n_edges,) float, optional
            Share of its arriving traffic each directed edge passes (tail drop).
        edge_delay_s : (n_edges,) float, optional
            Delay per directed edge, s.

        Returns
        -------
        load_bps : (n_edges,) float
            What the pinned rows offer each edge (before its own pass fraction).
        delivered_bps : (len(rows),) float
        latency_s : (len(rows),) float
            Mean delay of the delivered traffic; NaN where none arrives (or
            no ``edge_delay_s``).
        """
        load = np.zeros(n_edges)
        delivered = np.zeros(len(self.rows))
        latency = np.full(len(self.rows), np.nan)
        for k, (row, hops) in enumerate(zip(self.rows, self.hops)):
            share, delay = 1.0, 0.0          # of the pair's traffic, per unit injected
            for edges in hops:
                each = share / len(edges)
                np.add.at(load, edges, bps[row] * each)
                p = np.ones(len(edges)) if edge_pass is None else edge_pass[edges]
                passed = each * p
                share = float(passed.sum())
                if edge_delay_s is not None and share > 0:
                    delay += float((passed * edge_delay_s[edges]).sum()) / share
            if self.acl[k]:
                share = 0.0
            delivered[k] = bps[row] * share
            if edge_delay_s is not None and share > 0:
                latency[k] = delay
        return load, delivered, latency


class PairPaths:
    """The pair routes in force in a step, over a router's edge arrays.

    Parameters
    ----------
    router : Router
    routes : dict
        (src id, dst id) -> tuple of site ids from src to dst
        (``StepState.pair_route``).
    src, dst : (n_demands,) int
        The step's demand rows (node indices); every row of a pinned pair
        follows its path.

    Examples
    --------
    The ring A-B-C-D: A's traffic to B pinned the long way round.

    >>> import networkx as nx
    >>> from twin3d.physics.transport import Router
    >>> r = Router(nx.MultiGraph([("A", "B", "AB"), ("B", "C", "BC"), ("C", "D", "CD"),
    ...                           ("D", "A", "DA")]))
    >>> pp = PairPaths(r, {("A", "B"): ("A", "D", "C", "B")}, np.array([0]), np.array([1]))
    >>> act = pp.active(np.ones(4, bool), np.ones(4, bool), "ecmp")
    >>> load, delivered, _ = act.flow(np.array([2e9]), r.n_edges)
    >>> sorted(r.links[r.link[e]] for e in np.flatnonzero(load)), delivered.tolist()
    (['BC', 'CD', 'DA'], [2000000000.0])
    >>> len(pp.active(np.array([1, 1, 0, 1], bool), np.ones(4, bool), "ecmp"))   # CD cut
    0
    """

    def __init__(self, router, routes: dict, src: np.ndarray, dst: np.ndarray) -> None:
        self.router = router
        idx = router.node_index
        self.pairs: list[tuple[np.ndarray, np.ndarray, list[np.ndarray]]] = []
        for (s, d), path in routes.items():
            rows = np.flatnonzero((src == idx[s]) & (dst == idx[d]))
            if len(rows) == 0 or len(path) < 2:
                continue
            nodes = np.array([idx[x] for x in path], dtype=np.int64)
            # each hop's directed edges, in edge order (parallel links by key rank)
            hops = [np.flatnonzero((router.u == a) & (router.v == b)) for a, b in zip(nodes, nodes[1:])]
            self.pairs.append((rows, nodes, hops))

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def active(self, link_up, node_up, mode: str, sinks=None) -> ActivePaths:
        """The tunnels up with these links and nodes in service.

        Parameters
        ----------
        link_up, node_up : (n_links,), (n_nodes,) bool
        mode : {"ecmp", "spf"}
            SPF takes the first link in service of a hop with parallel links.
        sinks : callable, optional
            ``sinks(d, s)`` -> (n_nodes,) bool: nodes whose ACL drops s's
            traffic to d (:meth:`twin3d.physics.forwarding.Overrides.sinks`).
        """
        r = self.router
        up = r._up_mask(None, link_up, node_up)
        node_ok = np.ones(r.n_nodes, bool) if node_up is None else np.asarray(node_up, bool)
        rows, hops_of, acl = [], [], []
        for prow, nodes, hops in self.pairs:
            if not node_ok[nodes].all():
                continue
            live = [h[up[h]] for h in hops]
            if any(len(h) == 0 for h in live):
                continue                     # the tunnel is down: the pair falls back to the IGP
            if mode == "spf":
                live = [h[:1] for h in live]
            dropped_at = None
            if sinks is not None:
                hit = np.flatnonzero(sinks(int(nodes[-1]), int(nodes[0]))[nodes])
                if len(hit):                 # dropped at that node: only the hops before it
                    dropped_at = int(hit[0])
            for row in prow:
                rows.append(row)
                hops_of.append(live if dropped_at is None else live[:dropped_at])
                acl.append(dropped_at is not None)
        return ActivePaths(np.array(rows, dtype=np.int64), hops_of, np.array(acl, dtype=bool))
