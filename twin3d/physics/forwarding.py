"""Forwarding with static routes and ACLs: loads, drops, loops and black holes.

The forwarding semantics (issue 11):

* at node n, traffic for d follows n's static route for d where one exists;
  the next hop must be an up neighbour over an up link (several up parallel
  links to it share the traffic evenly, SPF takes the first), otherwise the
  traffic ends there (a black hole, reason ``no_route``); ``"drop"`` drops
  it (``static_drop``, also a black hole);
* without a static route, traffic splits evenly (ECMP) over the IGP shortest
  next hops toward d (SPF: the first, as :class:`~twin3d.physics.transport.Router`);
  a node with none (d unreachable) is a black hole (``no_route``);
* an ACL deny at n drops the traffic matching (src, dst) (``"*"`` matches
  any node) arriving at n or starting at n, the destination included
  (``acl``; not a black hole);
* traffic that revisits a node is dropped (``loop``): ECMP hashes a flow the
  same way at every pass through a router, so a flow that comes back circles
  until its TTL expires. Its load counts once round the loop.

The forwarding graph toward each destination d is the IGP DAG with the
static routes' nodes rewired; :mod:`twin3d.physics.forwarding_kernel` walks
it per destination, O(E) per destination (O(N·E) for all pairs) plus the
simple paths inside any cycle a static route closes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import forwarding_kernel as K
from .routing import _ptr, route_arrays

__all__ = ["Forwarding", "ForwardingAnalysis", "Overrides", "compile_overrides",
           "forwarding_routes", "forwarding_analysis", "REASONS"]

#: Reason codes, the columns of :attr:`Forwarding.outcome_bps`.
REASONS = ("delivered", "no_route", "acl", "loop", "static_drop")
#: Edges a cycle's path enumeration may take before giving up (RuntimeError).
MAX_CYCLE_STEPS = 10_000_000


@dataclass
class Overrides:
    """Static routes and ACLs as node indices (see :func:`compile_overrides`).

    ``static`` maps destination d to an (n_nodes,) int array: the static next
    hop of each node for d, ``K.NO_STATIC`` (-2) or ``K.DROP`` (-1).
    ``acl_any[d]`` lists the nodes whose ACL denies every source to d (d =
    -1: every destination); ``acl_src[(s, d)]`` the nodes denying s to d.
    """

    n_nodes: int
    static: dict[int, np.ndarray] = field(default_factory=dict)
    acl_any: dict[int, list[int]] = field(default_factory=dict)
    acl_src: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.static or self.acl_any or self.acl_src)

    def touches(self, d: int) -> bool:
        """Whether any override can change the forwarding toward d."""
        return (d in self.static or d in self.acl_any or -1 in self.acl_any
                or any(t in (d, -1) for _, t in self.acl_src))

    def sinks(self, d: int, s: int | None = None) -> np.ndarray:
        """(n_nodes,) bool: nodes whose ACL drops traffic to d (from s, or from any source)."""
        m = np.zeros(self.n_nodes, bool)
        m[self.acl_any.get(d, [])] = True
        m[self.acl_any.get(-1, [])] = True
        if s is not None:
            m[self.acl_src.get((s, d), [])] = True
            m[self.acl_src.get((s, -1), [])] = True
        return m

    def special_sources(self, d: int) -> set[int]:
        """Sources with an ACL of their own toward d (routed one by one)."""
        return {s for s, t in self.acl_src if t in (d, -1)}


def compile_overrides(router, static_routes=(), acls=()) -> Overrides:
    """Node-index form of static routes and ACLs given by node id.

    Parameters
    ----------
    router : Router
    static_routes : iterable of (at, dst, next_hop)
        Node ids; ``next_hop`` is a node id or "drop". A later route for the
        same (at, dst) replaces an earlier one. A next hop that is not a
        neighbour of ``at`` is allowed here (a black hole).
    acls : iterable of (at, src, dst)
        Deny rules; ``src`` and ``dst`` are node ids or "*".

    Examples
    --------
    >>> import networkx as nx
    >>> from twin3d.physics.transport import Router
    >>> ov = compile_overrides(Router(nx.path_graph(3)), [(0, 2, "drop")], [(1, "*", 2)])
    >>> ov.static[2].tolist(), ov.acl_any
    ([-1, -2, -2], {2: [1]})
    """
    idx, n = router.node_index, router.n_nodes
    ov = Overrides(n)
    for at, dst, nh in static_routes:
        row = ov.static.setdefault(idx[dst], np.full(n, K.NO_STATIC, np.int64))
        row[idx[at]] = K.DROP if nh == "drop" else idx[nh]
    for at, src, dst in acls:
        d = -1 if dst == "*" else idx[dst]
        if src == "*":
            ov.acl_any.setdefault(d, []).append(idx[at])
        else:
            ov.acl_src.setdefault((idx[src], d), []).append(idx[at])
    return ov


@dataclass
class Forwarding:
    """What :func:`forwarding_routes` returns; edge arrays in the router's edge order.

    ``outcome_bps`` (n_demands, 5) splits each demand by :data:`REASONS`
    (bit/s); with tail drop (``edge_pass``) the row sums to less than the
    demand by what overloaded links dropped. ``reason`` is 0 (delivered)
    when forwarding dropped nothing, else the reason of its largest drop.
    ``latency_s`` is the mean delay of the delivered traffic (nan: none).
    """

    load_bps: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    demand_bps: np.ndarray
    outcome_bps: np.ndarray
    latency_s: np.ndarray | None = None

    @property
    def delivered_bps(self) -> np.ndarray:
        return self.outcome_bps[:, K.DELIVERED]

    @property
    def dropped_bps(self) -> np.ndarray:
        return self.demand_bps - self.delivered_bps

    @property
    def reason(self) -> np.ndarray:
        drops = self.outcome_bps[:, 1:]
        return np.where(drops.max(axis=1, initial=0.0) > 0, 1 + np.argmax(drops, axis=1), 0)


class _Net:
    """The usable graph as the kernel reads it (CSR out and in edges)."""

    def __init__(self, router, link_up, node_up, weight, mode: str) -> None:
        if mode not in ("ecmp", "spf"):
            raise ValueError(f"mode must be 'ecmp' or 'spf', got {mode!r}")
        self.router, self.n, self.mode = router, router.n_nodes, mode
        self.node_up = (np.ones(self.n, bool) if node_up is None else np.asarray(node_up, bool))
        self.up = router._up_mask(None, link_up, node_up)
        w, unweighted = router.weight, router.metric == "hops"
        if weight is not None:
            lw = np.asarray(weight, dtype=float)
            if lw.shape != (len(router.links),) or not np.all(np.isfinite(lw) & (lw > 0)):
                raise ValueError("weight must be (n_links,), finite and > 0")
            w = lw[router.link]
            unweighted = unweighted and bool(np.all(w == 1.0))
        self.weight, self.unweighted = w, unweighted
        active = np.flatnonzero(self.up)
        ua, va, wa = router.u[active], router.v[active], np.asarray(w, float)[active]
        rev = np.argsort(va, kind="stable")
        i64 = np.int64
        self.csr = (_ptr(ua, self.n), va.astype(i64), wa, active.astype(i64), _ptr(va, self.n),
                    ua[rev].astype(i64), wa[rev], self.unweighted, mode == "spf")
        self.work = K.Work(self.n, len(active))
        n = self.n
        self.out = np.zeros((n, K.N_REASONS))
        self.dl = np.zeros(n)
        self.loop_at = np.full(n, -1, np.int64)
        self.bh_at = np.full(n, -1, np.int64)
        self.cyc_next = np.full(n, -1, np.int64)
        self.no_static = np.full(n, K.NO_STATIC, np.int64)
        self.zeros = np.zeros(n)
        self.ones, self.no_delay = np.ones(router.n_edges), np.zeros(router.n_edges)

    def run(self, d: int, ov: Overrides, sinks: np.ndarray, inj=None, load=None,
            epass=None, edelay=None) -> None:
        """One kernel pass toward d (results in self.out, dl, loop_at, bh_at, cyc_next)."""
        epass = self.ones if epass is None else epass
        edelay = self.no_delay if edelay is None else edelay
        fwd = inj is not None
        status = K.dest_pass(d, self.n, *self.csr, ov.static.get(d, self.no_static), sinks,
                             inj if fwd else self.zeros, epass, edelay, fwd,
                             load if fwd else np.zeros(1), self.out, self.dl, self.loop_at,
                             self.bh_at, self.cyc_next, MAX_CYCLE_STEPS, *self.work.args())
        if status:
            raise RuntimeError(f"forwarding toward node {self.router.nodes[d]!r}: a cycle has "
                               f"more than {MAX_CYCLE_STEPS} simple-path steps")

    def cycle(self, start: int) -> list[int]:
        """A cycle of the last pass, following ``cyc_next`` from ``start``,
        rotated to begin at its lowest node index (one cycle, one spelling)."""
        seen, path, x = {}, [], start
        while x not in seen:
            seen[x] = len(path)
            path.append(x)
            x = int(self.cyc_next[x])
        cyc = path[seen[x]:]
        k = cyc.index(min(cyc))
        return cyc[k:] + cyc[:k]


def _as_overrides(router, static_routes, acls) -> Overrides:
    if isinstance(static_routes, Overrides):
        return static_routes
    return compile_overrides(router, static_routes, acls)


def forwarding_routes(router, demands, static_routes=(), acls=(), *, mode: str = "ecmp",
                      link_up=None, node_up=None, weight=None, edge_pass=None,
                      edge_delay_s=None, plain_fast: bool = True) -> Forwarding:
    """Route demands with static routes and ACLs.

    Parameters
    ----------
    router : Router
    demands : dict, ndarray or tuple
        As :meth:`Router.demand_arrays` takes them, bit/s.
    static_routes, acls : iterables or Overrides
        See :func:`compile_overrides` (or pass its result as ``static_routes``).
    mode : {"ecmp", "spf"}
    link_up, node_up, weight : array_like, optional
        As :meth:`Router.route`: (n_links,) bool, (n_nodes,) bool, (n_links,)
        routing weight in the metric's unit.
    edge_pass : (n_edges,) float, optional
        Share of its arriving traffic each directed edge passes (tail drop).
    edge_delay_s : (n_edges,) float, optional
        Delay per directed edge, s: with it, ``latency_s`` is computed.
    plain_fast : bool
        Route destinations no override touches with
        :func:`~twin3d.physics.routing.route_arrays` (the same loads as
        :meth:`Router.route` bit for bit); False sends every destination
        through the forwarding kernel (equal to 1e-12 relative).

    Returns
    -------
    Forwarding

    Examples
    --------
    Two static routes toward D that point at each other drop A's traffic:

    >>> import networkx as nx
    >>> from twin3d.physics.transport import Router
    >>> r = Router(nx.Graph([("A", "B"), ("B", "C"), ("C", "D")]))
    >>> f = forwarding_routes(r, {("A", "D"): 1e9, ("D", "A"): 1e9},
    ...                       [("B", "D", "A"), ("A", "D", "B")])
    >>> f.delivered_bps.tolist(), [REASONS[k] for k in f.reason]
    ([0.0, 1000000000.0], ['loop', 'delivered'])
    """
    src, dst, bps = router.demand_arrays(demands)
    ov = _as_overrides(router, static_routes, acls)
    net = _Net(router, link_up, node_up, weight, mode)
    n, ne = router.n_nodes, router.n_edges
    load = np.zeros(ne)
    outcome = np.zeros((len(src), K.N_REASONS))
    dl = np.full(len(src), np.nan)
    ok = net.node_up[src] & net.node_up[dst]
    same = ok & (src == dst)
    outcome[same, K.DELIVERED] = bps[same]
    dl[same] = 0.0
    outcome[~ok, K.NO_ROUTE] = bps[~ok]
    cand = np.flatnonzero(ok & (src != dst))
    kernel_all = not plain_fast or edge_pass is not None or edge_delay_s is not None
    touched = np.array([kernel_all or ov.touches(int(d)) for d in range(n)], bool)
    plain = cand[~touched[dst[cand]]]
    if len(plain):                       # no override reaches these: the compiled routing
        pl, routable, _ = route_arrays(n, router.u, router.v, net.weight, net.up, src[plain],
                                       dst[plain], bps[plain], net.node_up, mode, net.unweighted)
        load += pl
        outcome[plain, np.where(routable, K.DELIVERED, K.NO_ROUTE)] = bps[plain]
    edelay = None if edge_delay_s is None else np.asarray(edge_delay_s, float)
    epass = None if edge_pass is None else np.asarray(edge_pass, float)
    rest = cand[touched[dst[cand]]]
    rest = rest[np.argsort(dst[rest], kind="stable")]
    for group in np.split(rest, np.flatnonzero(np.diff(dst[rest])) + 1) if len(rest) else []:
        d = int(dst[group[0]])
        special = ov.special_sources(d)
        runs = [(None, group[~np.isin(src[group], list(special))])]
        runs += [(s, group[src[group] == s]) for s in special if np.any(src[group] == s)]
        for s, js in runs:
            if len(js) == 0:
                continue
            inj = np.bincount(src[js], bps[js], minlength=n)
            net.run(d, ov, ov.sinks(d, s), inj, load, epass, edelay)
            outcome[js] = net.out[src[js]] * bps[js, None]
            if edelay is not None:
                with np.errstate(invalid="ignore", divide="ignore"):
                    dl[js] = np.where(net.out[src[js], 0] > 0, net.dl[src[js]] / net.out[src[js], 0],
                                      np.nan)
    return Forwarding(load, src, dst, bps, outcome, dl if edelay is not None else None)


@dataclass
class ForwardingAnalysis:
    """Every ordered pair's forwarding, arrays indexed [src, dst] by node index.

    ``delivered`` share of src's traffic to dst that arrives (no tail drop);
    ``reachable`` is ``delivered > 0``; ``loop_cycle`` indexes ``cycles``
    (node index lists) for pairs where some branch revisits a node (-1:
    none); ``black_hole_at`` is the node where some branch ends before dst
    other than by an ACL (-1: none). Pairs with a down end and src == dst
    have no loop and no black hole; src == dst is reachable when up.
    """

    nodes: list
    delivered: np.ndarray
    loop_cycle: np.ndarray
    black_hole_at: np.ndarray
    cycles: list[list[int]]

    @property
    def reachable(self) -> np.ndarray:
        return self.delivered > 0

    @property
    def loop(self) -> np.ndarray:
        return self.loop_cycle >= 0

    @property
    def black_hole(self) -> np.ndarray:
        return self.black_hole_at >= 0

    def loop_pairs(self) -> list[tuple]:
        """(src id, dst id, cycle as node ids) for every looping pair."""
        ids = self.nodes
        return [(ids[s], ids[d], [ids[x] for x in self.cycles[self.loop_cycle[s, d]]])
                for s, d in zip(*np.nonzero(self.loop))]

    def black_hole_pairs(self) -> list[tuple]:
        """(src id, dst id, node id where a branch ends) for every black-holed pair."""
        ids = self.nodes
        return [(ids[s], ids[d], ids[self.black_hole_at[s, d]])
                for s, d in zip(*np.nonzero(self.black_hole))]


def forwarding_analysis(router, static_routes=(), acls=(), *, mode: str = "ecmp",
                        link_up=None, node_up=None, weight=None) -> ForwardingAnalysis:
    """Loops, black holes and reachability of every ordered pair of nodes.

    One kernel pass per destination (plus one per source with an ACL of its
    own toward it): O(N·E) in all. Same parameters as
    :func:`forwarding_routes`, without demands.

    Examples
    --------
    >>> import networkx as nx
    >>> from twin3d.physics.transport import Router
    >>> r = Router(nx.Graph([("A", "B"), ("B", "C"), ("C", "D")]))
    >>> a = forwarding_analysis(r, [("B", "D", "A"), ("A", "D", "B"), ("C", "A", "drop")])
    >>> a.loop_pairs()
    [('A', 'D', ['A', 'B']), ('B', 'D', ['A', 'B'])]
    >>> a.black_hole_pairs(), bool(a.reachable[2, 3])
    ([('C', 'A', 'C'), ('D', 'A', 'C')], True)
    """
    ov = _as_overrides(router, static_routes, acls)
    net = _Net(router, link_up, node_up, weight, mode)
    n = router.n_nodes
    delivered = np.zeros((n, n))
    loop_cycle = np.full((n, n), -1, np.int64)
    bh_at = np.full((n, n), -1, np.int64)
    cycles: list[list[int]] = []
    for d in range(n):
        if not net.node_up[d]:
            continue
        special = ov.special_sources(d)
        for s in [None, *sorted(special)]:
            net.run(d, ov, ov.sinks(d, s))
            rows = np.arange(n) if s is None else np.array([s])
            if s is None and special:
                rows = rows[~np.isin(rows, list(special))]
            delivered[rows, d] = net.out[rows, K.DELIVERED]
            bh_at[rows, d] = net.bh_at[rows]
            at = net.loop_at[rows]
            for x in np.unique(at[at >= 0]):       # one cycle per component reached
                cycles.append(net.cycle(int(x)))
                loop_cycle[rows[at == x], d] = len(cycles) - 1
    down = ~net.node_up
    for a in (delivered, loop_cycle, bh_at):
        fill = 0.0 if a is delivered else -1
        a[down, :] = fill
        a[:, down] = fill
        np.fill_diagonal(a, fill)
    delivered[np.diag_indices(n)] = net.node_up
    return ForwardingAnalysis(list(router.nodes), delivered, loop_cycle, bh_at, cycles)
