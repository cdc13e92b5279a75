"""Transport: route a traffic matrix over the link graph (ECMP or SPF).

:class:`Router` compiles a networkx graph once (node index, directed edge
arrays u, v, weight, capacity, link) and routes whole traffic matrices with
:meth:`Router.route` (algorithm in :mod:`twin3d.physics.routing`).
:func:`ecmp_loads` and :func:`spf_loads` are the one-call forms.
"""

from __future__ import annotations

from typing import Any, Callable

import networkx as nx
import numpy as np

from ..errors import InputError
from .fiber import propagation_delay_s
from .routing import Routing, expected_latency, lossy_delivery, route_arrays

__all__ = ["Router", "Routing", "ecmp_loads", "spf_loads", "METRICS"]

#: Named metrics; any other string names a numeric edge or link attribute.
METRICS = ("hops", "latency")
_MISSING = object()


def _edge_attr(data: dict, name: str) -> Any:
    """An edge attribute, else the attribute of its ``link``, else ``link.attrs``."""
    if name in data:
        return data[name]
    link = data.get("link")
    if link is not None:
        if hasattr(link, name):
            return getattr(link, name)
        attrs = getattr(link, "attrs", None)
        if isinstance(attrs, dict) and name in attrs:
            return attrs[name]
    return _MISSING


def _sort_rank(keys: list) -> np.ndarray:
    """Rank of each key in ascending order (by str() when types do not compare)."""
    try:
        order = sorted(range(len(keys)), key=lambda i: keys[i])
    except TypeError:
        order = sorted(range(len(keys)), key=lambda i: str(keys[i]))
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys))
    return rank


class Router:
    """A graph compiled into directed edge arrays, to be routed many times.

    Every undirected edge becomes two directed edges (a directed graph keeps
    its own); edges are sorted by (u index, v index, key rank).

    Parameters
    ----------
    graph : networkx.Graph, MultiGraph, DiGraph or MultiDiGraph
        ``twin.graph`` (MultiGraph, key = link id, ``link`` = the Link) or any
        graph. Edge attributes are read from the edge, else its ``link``,
        else ``link.attrs``: ``capacity_bps`` (default inf), ``length_m``
        (default 0), ``state`` (default "up").
    metric : str
        "hops" (weight 1), "latency" (fibre propagation delay of ``length_m``,
        s) or the name of a numeric attribute (> 0), e.g. "weight".
    source : str
        Named in :class:`InputError` messages (where the graph came from).

    Attributes
    ----------
    nodes : list
        Node ids; node index i is ``nodes[i]``.
    links : list
        Link keys (multigraph: the edge key, i.e. the link id; else (u, v)).
    u, v, link : numpy.ndarray
        (n_edges,) int: tail and head node index, index into ``links``.
    weight, capacity_bps, length_m, prop_delay_s : numpy.ndarray
        (n_edges,) float per directed edge.
    up_default : numpy.ndarray
        (n_edges,) bool: the link's state is "up".
    edge_keys : list
        (u, v, key) for a multigraph, (u, v) otherwise, per directed edge.

    Examples
    --------
    >>> g = nx.Graph([("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")])
    >>> loads = Router(g).route({("A", "D"): 10e9}).loads_dict()
    >>> loads[("A", "B")], loads[("C", "D")], loads[("D", "B")]
    (5000000000.0, 5000000000.0, 0.0)
    """

    def __init__(self, graph: nx.Graph, metric: str = "hops", source: str = "<graph>") -> None:
        self.metric = metric
        self.nodes = list(graph.nodes)
        self.node_index = {n: i for i, n in enumerate(self.nodes)}
        self.multi = graph.is_multigraph()
        # One pass over networkx's edge view, then column arrays: the per-edge
        # Python work is only the attribute look-ups (compiled edge by edge, a
        # 250-node graph took as long as routing all of its 62,250 pairs).
        edges = (list(graph.edges(keys=True, data=True)) if self.multi
                 else [(a, b, (a, b), d) for a, b, d in graph.edges(data=True)])
        tails, heads, self.links, datas = (list(c) for c in zip(*edges)) if edges else ([], [], [], [])
        idx = self.node_index.__getitem__
        ia = np.fromiter(map(idx, tails), dtype=np.int64, count=len(edges))
        ib = np.fromiter(map(idx, heads), dtype=np.int64, count=len(edges))
        w = self._weights(datas, source)
        if any("link" in d for d in datas):      # read through each edge's Link
            cap, length, state = ([_edge_attr(d, k) for d in datas]
                                  for k in ("capacity_bps", "length_m", "state"))
        else:                                    # plain attributes: dict.get, no call per edge
            cap, length, state = ([d.get(k, _MISSING) for d in datas]
                                  for k in ("capacity_bps", "length_m", "state"))
        cap = np.array([np.inf if c is _MISSING else float(c) for c in cap], dtype=float)
        length = np.array([0.0 if x is _MISSING else float(x) for x in length], dtype=float)
        up = np.array([x is _MISSING or x == "up" for x in state], dtype=bool)
        li = np.arange(len(edges), dtype=np.int64)
        if graph.is_directed():
            u, v, link = ia, ib, li
        else:                                        # both directions of every link
            u, v, link = np.r_[ia, ib], np.r_[ib, ia], np.r_[li, li]
        if self.multi and len(link):                 # parallel edges: by key rank
            order = np.lexsort((_sort_rank(self.links)[link], v, u))
        else:                                        # (u, v) is unique (a self-loop's two
            order = np.lexsort((v, u))               # copies are the same edge)
        self.u, self.v, self.link = u[order], v[order], link[order]
        lo = self.link
        self.weight, self.capacity_bps, self.length_m = w[lo], cap[lo], length[lo]
        self.prop_delay_s = propagation_delay_s(self.length_m)
        self.up_default = up[lo]
        nodes = self.nodes.__getitem__
        ends = (map(nodes, self.u.tolist()), map(nodes, self.v.tolist()))
        self.edge_keys = (list(zip(*ends, map(self.links.__getitem__, lo.tolist()))) if self.multi
                          else list(zip(*ends)))

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.u)

    def _weights(self, datas: list, source: str) -> np.ndarray:
        """(n_links,) routing weight of each link (edge data in ``links`` order)."""
        if self.metric == "hops":
            return np.ones(len(datas))
        name = "length_m" if self.metric == "latency" else self.metric
        raw = [_edge_attr(d, name) for d in datas]
        for lk, x in zip(self.links, raw):
            number = isinstance(x, (int, float, np.number)) and not isinstance(x, (bool, np.bool_))
            if x is _MISSING:
                raise InputError(source, f"has no '{name}' for routing metric '{self.metric}'",
                                 f"link '{lk}'", name)
            if not number or not np.isfinite(x) or x <= 0:
                raise InputError(source, f"routing metric must be a number > 0, got {x!r}",
                                 f"link '{lk}'", name)
        w = np.array(raw, dtype=float)
        return propagation_delay_s(w) if self.metric == "latency" else w

    def demand_arrays(self, demands) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(src index, dst index, bit/s) arrays from a dict, a matrix or arrays.

        ``demands`` is ``{(src, dst): bps}``, an (n_nodes, n_nodes) matrix
        (row src, column dst, bit/s) or a tuple (src index, dst index, bps).
        """
        if isinstance(demands, dict):
            idx = self.node_index
            try:
                src = np.fromiter((idx[s] for s, _ in demands), dtype=np.int64, count=len(demands))
                dst = np.fromiter((idx[d] for _, d in demands), dtype=np.int64, count=len(demands))
            except KeyError as err:
                s, d = next((s, d) for s, d in demands if s not in idx or d not in idx)
                raise InputError("<demands>", f"names unknown node '{err.args[0]}'",
                                 f"demand {s}->{d}") from None
            bps = np.fromiter(demands.values(), dtype=float, count=len(demands))
        elif isinstance(demands, tuple):
            src, dst = (np.asarray(a).astype(np.int64) for a in demands[:2])
            bps = np.broadcast_to(np.asarray(demands[2], dtype=float), src.shape).copy()
            if np.any((src < 0) | (src >= self.n_nodes) | (dst < 0) | (dst >= self.n_nodes)):
                raise ValueError("demand node index out of range")
        else:
            m = np.asarray(demands, dtype=float)
            if m.shape != (self.n_nodes, self.n_nodes):
                raise ValueError(f"demand matrix must be {self.n_nodes}x{self.n_nodes}, got {m.shape}")
            src, dst = np.nonzero(m)
            bps = m[src, dst]
        bad = ~np.isfinite(bps) | (bps < 0)
        if np.any(bad):
            j = int(np.flatnonzero(bad)[0])
            raise InputError("<demands>", f"must be a finite number >= 0, got {float(bps[j])!r}",
                             f"demand {self.nodes[src[j]]}->{self.nodes[dst[j]]}", "demand_bps")
        return src, dst, bps

    def edge_mask(self, down_links=(), down_nodes=()) -> np.ndarray:
        """(n_edges,) bool: ``up_default`` without the given links and nodes' edges."""
        lidx = {k: i for i, k in enumerate(self.links)}
        nidx = self.node_index
        for k in down_links:
            if k not in lidx:
                raise KeyError(f"unknown link {k!r}")
        down_l = np.zeros(len(self.links), bool)
        down_l[[lidx[k] for k in down_links]] = True
        down_n = np.zeros(self.n_nodes, bool)
        down_n[[nidx[n] for n in down_nodes]] = True
        return self.up_default & ~down_l[self.link] & ~down_n[self.u] & ~down_n[self.v]

    def route(self, demands, *, mode: str = "ecmp", edge_up=None, link_up=None, node_up=None,
              edge_delay_s: np.ndarray | Callable | None = None, latency: bool = True,
              capacity_bps: np.ndarray | None = None, weight=None) -> Routing:
        """Route every demand on the shortest paths of the usable edges.

        Parameters
        ----------
        demands : dict, ndarray or tuple
            See :meth:`demand_arrays`; bit/s.
        mode : {"ecmp", "spf"}
            Split evenly over every shortest next-hop link, or follow one path.
        edge_up : array_like of bool, optional
            (n_edges,) usable directed edges. With ``link_up`` also None:
            ``up_default`` (links whose state is "up").
        link_up : array_like of bool, optional
            (n_links,) usable links (both directions), in ``links`` order.
        node_up : array_like of bool, optional
            (n_nodes,) False removes the node's edges and its demands.
        edge_delay_s : ndarray or callable, optional
            Extra delay per directed edge added to propagation for latency
            (queueing), seconds: an (n_edges,) array or ``f(load_bps,
            capacity_bps) -> (n_edges,)`` called with the loads just routed,
            e.g. :func:`twin3d.physics.queueing.link_delay_s`.
        latency : bool
            Compute ``latency_s`` (False: loads only, faster).
        capacity_bps : ndarray, optional
            (n_edges,) capacity per directed edge: also compute what overloaded
            edges drop (``delivered_bps``, ``carried_bps``; see
            :func:`twin3d.physics.routing.lossy_delivery`).
        weight : array_like, optional
            (n_links,) routing weight per link (both directions), in ``links``
            order and the unit of ``metric``: replaces the metric weights for
            this call only (e.g. a ``set_weight`` event), each finite and > 0.

        Returns
        -------
        Routing

        Examples
        --------
        >>> g = nx.Graph()
        >>> g.add_edge("A", "B", length_m=1000.0); g.add_edge("B", "C", length_m=2000.0)
        >>> r = Router(g).route({("A", "C"): 1e9})
        >>> round(float(r.latency_s[0]) * 1e6, 2)      # 3 km of fibre, no queueing
        14.69
        """
        if mode not in ("ecmp", "spf"):
            raise ValueError(f"mode must be 'ecmp' or 'spf', got {mode!r}")
        src, dst, bps = self.demand_arrays(demands)
        up = self._up_mask(edge_up, link_up, node_up)
        node_ok = np.ones(self.n_nodes, bool) if node_up is None else np.asarray(node_up, bool)
        w, unweighted = self.weight, self.metric == "hops"
        if weight is not None:
            lw = np.asarray(weight, dtype=float)
            if lw.shape != (len(self.links),):
                raise ValueError(f"weight must have shape ({len(self.links)},), got {lw.shape}")
            if not np.all(np.isfinite(lw) & (lw > 0)):
                raise ValueError("weight must be finite and > 0 for every link")
            w = lw[self.link]
            unweighted = unweighted and bool(np.all(w == 1.0))
        load, routable, blocks = route_arrays(self.n_nodes, self.u, self.v, w, up, src,
                                              dst, bps, node_ok, mode, unweighted,
                                              keep_blocks=latency or capacity_bps is not None)
        res = Routing(self, mode, up, load, src, dst, bps, routable)
        if latency:
            if edge_delay_s is None:
                extra = np.zeros(self.n_edges)
            elif callable(edge_delay_s):
                extra = np.asarray(edge_delay_s(load, self.capacity_bps), dtype=float)
            else:
                extra = np.asarray(edge_delay_s, dtype=float)
            if extra.shape != (self.n_edges,):
                raise ValueError(f"edge_delay_s must have shape ({self.n_edges},), got {extra.shape}")
            res.edge_delay_s = self.prop_delay_s + extra
            res.latency_s = expected_latency(blocks, res.edge_delay_s, self.n_nodes, src, routable)
        if capacity_bps is not None:
            cap = np.asarray(capacity_bps, dtype=float)
            drop = lossy_delivery(blocks, cap, self.n_nodes, self.n_edges, src, bps, routable,
                                  load_bps=load)
            res.delivered_bps, res.carried_bps = drop.delivered_bps, drop.offered_bps * drop.pass_fraction
            res.drop_rounds, res.converged = drop.rounds, drop.converged
        return res

    def _up_mask(self, edge_up, link_up, node_up) -> np.ndarray:
        checks = ((edge_up, self.n_edges, "edge_up"), (link_up, len(self.links), "link_up"),
                  (node_up, self.n_nodes, "node_up"))
        for arr, n, name in checks:
            if arr is not None and np.shape(arr) != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {np.shape(arr)}")
        up = self.up_default.copy() if edge_up is None and link_up is None else np.ones(self.n_edges, bool)
        if edge_up is not None:
            up &= np.asarray(edge_up, bool)
        if link_up is not None:
            up &= np.asarray(link_up, bool)[self.link]
        if node_up is not None:
            nu = np.asarray(node_up, bool)
            up &= nu[self.u] & nu[self.v]
        return up


def ecmp_loads(graph: nx.Graph, demands, metric: str = "hops") -> dict[tuple, float]:
    """Load per directed link when every demand splits evenly over all shortest next hops.

    Parameters
    ----------
    graph : networkx.Graph or MultiGraph
        E.g. ``twin.graph`` (edge key = link id, ``link`` = the Link).
    demands : dict
        ``{(src, dst): bit/s}`` (or a matrix / arrays, see
        :meth:`Router.demand_arrays`).
    metric : str
        "hops", "latency" or a numeric edge/link attribute name.

    Returns
    -------
    dict
        ``{(u, v, key): bit/s}`` for a multigraph, ``{(u, v): bit/s}``
        otherwise, every directed edge (0 where unused). Links whose state is
        not "up" carry nothing; unroutable demands are dropped (use
        :meth:`Router.route` to see them).

    Examples
    --------
    >>> g = nx.MultiGraph([("A", "B", "L1"), ("A", "B", "L2")])
    >>> ecmp_loads(g, {("A", "B"): 10e9})[("A", "B", "L2")]
    5000000000.0
    """
    return Router(graph, metric).route(demands, mode="ecmp", latency=False).loads_dict()


def spf_loads(graph: nx.Graph, demands, metric: str = "hops") -> dict[tuple, float]:
    """Load per directed link when every demand follows one shortest path.

    Ties break at every hop to the lowest next-hop node index (graph node
    order), then the lowest link key. Same parameters and result as
    :func:`ecmp_loads`.

    Examples
    --------
    >>> g = nx.Graph([("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")])
    >>> spf_loads(g, {("A", "D"): 10e9})[("A", "B")]
    10000000000.0
    """
    return Router(graph, metric).route(demands, mode="spf", latency=False).loads_dict()
