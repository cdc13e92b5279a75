"""An independent forwarding walk (networkx) and random changes, for the guard's property
test and the fuzz of benchmarks/bench_guard.py."""

from __future__ import annotations

import networkx as nx

__all__ = ["walk", "random_changes", "expected_pairs"]


def walk(nodes, links, weight, link_up, node_up, static, acls):
    """(loop pairs, black-hole pairs) by following every branch with networkx.

    A branch at n: an ACL at n matching (s, d) ends it (not a black hole);
    n == d delivers; a static route for d sends it to its next hop when that
    is an up neighbour over an up link (else, or "drop": a black hole at n);
    otherwise every IGP shortest next hop (none: a black hole). A branch
    that comes back to a node on its own path is a loop.
    """
    g = nx.Graph()
    g.add_nodes_from(n for n in nodes if node_up[n])
    for lid, a, b in links:
        if link_up[lid] and node_up[a] and node_up[b]:     # parallel links: the cheapest counts
            w = min(weight[lid], g[a][b]["w"]) if g.has_edge(a, b) else weight[lid]
            g.add_edge(a, b, w=w)

    def denied(n, s, d):
        return any(at == n and src in ("*", s) and dst in ("*", d) for at, src, dst in acls)

    loops, holes = set(), set()
    for d in g:
        dist = nx.single_source_dijkstra_path_length(g, d, weight="w")
        for s in g:
            if s == d:
                continue
            stack = [(s, (s,))]
            while stack:
                n, path = stack.pop()
                if denied(n, s, d):
                    continue
                if n == d:
                    continue
                nh = static.get((n, d))
                if nh is not None:
                    nxt = [nh] if nh != "drop" and g.has_edge(n, nh) else []
                else:
                    nxt = [m for m in g[n] if m in dist and n in dist
                           and dist[m] + g[n][m]["w"] == dist[n]]
                if not nxt:
                    holes.add((s, d))
                for m in nxt:
                    if m in path:
                        loops.add((s, d))
                    else:
                        stack.append((m, path + (m,)))
    return loops, holes


def random_changes(rng, nodes, links):
    lines = []
    for _ in range(int(rng.integers(1, 5))):
        kind = rng.choice(["static_route", "static_route", "link_weight", "link_state", "site_state",
                           "acl"])
        if kind == "static_route":
            lid, a, b = links[rng.integers(len(links))]
            at, nh = (a, b) if rng.random() < 0.5 else (b, a)
            nh = "drop" if rng.random() < 0.15 else nh
            lines.append(f'kind = "static_route"\nat = "{at}"\ndst = "{rng.choice(nodes)}"\n'
                         f'next_hop = "{nh}"')
        elif kind == "link_weight":
            lines.append(f'kind = "link_weight"\nlink = "{links[rng.integers(len(links))][0]}"\n'
                         f'weight = {int(rng.integers(1, 4))}')
        elif kind == "link_state":
            lines.append(f'kind = "link_state"\nlink = "{links[rng.integers(len(links))][0]}"\n'
                         'state = "down"')
        elif kind == "site_state":
            lines.append(f'kind = "site_state"\nsite = "{rng.choice(nodes)}"\nstate = "down"')
        else:
            src = rng.choice(nodes + ["*"])
            lines.append(f'kind = "acl"\nat = "{rng.choice(nodes)}"\nsrc = "{src}"\n'
                         f'dst = "{rng.choice(nodes + ["*"])}"\naction = "deny"')
    return "".join(f"[[change]]\n{x}\n" for x in lines)


def expected_pairs(changes, nodes, links, base_weight=None):
    """(loop pairs, black-hole pairs) the walk gives after ``changes`` (parsed Change objects)."""
    weight = dict(base_weight or {lid: 1.0 for lid, _, _ in links})
    link_up = {lid: True for lid, _, _ in links}
    node_up = {n: True for n in nodes}
    static, acls = {}, []
    for c in changes:
        f = c.fields
        if c.kind == "link_weight":
            weight[f["link"]] = f["weight"]
        elif c.kind == "link_state":
            link_up[f["link"]] = f["state"] == "up"
        elif c.kind == "site_state":
            node_up[f["site"]] = f["state"] != "down"
        elif c.kind == "static_route":
            static[(f["at"], f["dst"])] = f["next_hop"]
        elif c.kind == "acl":
            acls.append((f["at"], f["src"], f["dst"]))
    return walk(nodes, links, weight, link_up, node_up, static, acls)
