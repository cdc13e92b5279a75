"""Surges on a transport-only scene: demand to and from a set of sites.

A scene without radio cells has no users on a grid, so a ``surge`` acts on
the demand matrix:

* ``factor``: every demand with an end in the surged sites (the target, or
  the sites inside the area) is multiplied by ``factor`` (once, even when
  both ends are surged sites);
* ``bps``: ``bps`` (times the diurnal factor) is added, half from the surged
  sites to the other nodes and half back, spread over the pairs (i, j), i a
  surged site and j any other node, by gravity weights ``m_i m_j``.

Radio scenes surge the demand on the coverage grid instead
(:mod:`twin3d.sim.engine`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["surge_demands", "surge_arrays"]


def surge_demands(demands: dict[tuple[str, str], float], nodes: list[str], mass: np.ndarray,
                  members: list[str], factor: float | None = None,
                  bps: float | None = None) -> dict[tuple[str, str], float]:
    """The demand matrix with one surge applied, bit/s.

    Parameters
    ----------
    demands : dict
        {(src, dst): bit/s} before the surge.
    nodes : list of str
        Routing nodes, in the order of ``mass``.
    mass : (n_nodes,) float
        Gravity weight of each node (the scene's gravity model uses degree).
    members : list of str
        The surged sites (non-empty).
    factor : float, optional
        Multiplies every demand to or from a member.
    bps : float, optional
        Traffic added to and from the members, bit/s (half each way).

    Returns
    -------
    dict
        A new {(src, dst): bit/s}.

    Raises
    ------
    ValueError
        ``members`` is empty or names no node, or no node pair can carry
        ``bps`` (the members are the only node).

    Examples
    --------
    >>> d = {("a", "b"): 1.0, ("b", "c"): 1.0, ("c", "a"): 1.0}
    >>> surge_demands(d, ["a", "b", "c"], np.ones(3), ["a"], factor=3.0)
    {('a', 'b'): 3.0, ('b', 'c'): 1.0, ('c', 'a'): 3.0}
    >>> out = surge_demands({}, ["a", "b", "c"], np.array([1.0, 1.0, 2.0]), ["a"], bps=6.0)
    >>> {k: round(v, 3) for k, v in sorted(out.items())}
    {('a', 'b'): 1.0, ('a', 'c'): 2.0, ('b', 'a'): 1.0, ('c', 'a'): 2.0}
    """
    index = {n: i for i, n in enumerate(nodes)}
    idx = np.array([index[m] for m in members if m in index], dtype=int)
    if len(idx) == 0:
        raise ValueError(f"no routing node among the surged sites {members!r}")
    out = dict(demands)
    if factor is not None:
        hit = set(nodes[i] for i in idx)
        out = {k: (v * factor if (k[0] in hit or k[1] in hit) else v) for k, v in out.items()}
    if bps is not None and bps > 0:
        m = np.asarray(mass, dtype=float)
        w = np.zeros((len(nodes), len(nodes)))
        w[idx, :] = m[idx, None] * m[None, :]
        w[idx, idx] = 0.0                       # no demand from a node to itself
        total = w.sum()
        if total <= 0:
            raise ValueError(f"no other node to exchange {bps:g} bit/s with {members!r}")
        share = w / total * (bps / 2.0)
        for i, j in zip(*np.nonzero(share)):
            for key in ((nodes[i], nodes[j]), (nodes[j], nodes[i])):
                out[key] = out.get(key, 0.0) + float(share[i, j])
    return out


def surge_arrays(src: np.ndarray, dst: np.ndarray, bps: np.ndarray, mass: np.ndarray,
                 members: np.ndarray, factor: float | None = None,
                 add_bps: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`surge_demands` on (src index, dst index, bit/s) arrays.

    The same surge: demands with an end among ``members`` (node indices) are
    multiplied by ``factor`` once; ``add_bps`` is spread by gravity weights
    over the pairs (member, other node), half each way, appended as new rows
    (a pair may then appear twice; routing adds them up).

    Examples
    --------
    >>> s, d, b = surge_arrays(np.array([0, 1, 2]), np.array([1, 2, 0]), np.ones(3), np.ones(3),
    ...                        np.array([0]), factor=3.0)
    >>> b.tolist()
    [3.0, 1.0, 3.0]
    >>> s, d, b = surge_arrays(s[:0], d[:0], b[:0], np.array([1.0, 1.0, 2.0]), np.array([0]),
    ...                        add_bps=6.0)
    >>> sorted(zip(s.tolist(), d.tolist(), b.round(3).tolist()))
    [(0, 1, 1.0), (0, 2, 2.0), (1, 0, 1.0), (2, 0, 2.0)]
    """
    idx = np.unique(np.asarray(members, dtype=np.int64))
    if idx.size == 0:
        raise ValueError("no routing node among the surged sites")
    if factor is not None:
        hit = np.isin(src, idx) | np.isin(dst, idx)
        bps = np.where(hit, bps * factor, bps)
    if add_bps is not None and add_bps > 0:
        m = np.asarray(mass, dtype=float)
        w = np.zeros((idx.size, m.size))
        w[:, :] = m[idx, None] * m[None, :]
        w[np.arange(idx.size), idx] = 0.0           # no demand from a node to itself
        total = w.sum()
        if total <= 0:
            raise ValueError(f"no other node to exchange {add_bps:g} bit/s with")
        share = w / total * (add_bps / 2.0)
        r, c = np.nonzero(share)
        i, j, v = idx[r], c.astype(np.int64), share[r, c]
        src = np.concatenate([src, i, j])
        dst = np.concatenate([dst, j, i])
        bps = np.concatenate([bps, v, v])
    return src, dst, bps
