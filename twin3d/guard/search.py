"""Search failure sets of up to K attacks for the most damage: exhaustive, or a beam.

Sets are sorted tuples of attack indices, at most one per element (a site
is not both down and surging), scored by a
:class:`~twin3d.guard.attacks.DamageEvaluator` (``damage`` first, ``tie``
second; equal keys go to the earlier set in a seeded order of the
attacks, so the answer is deterministic given the seed).

* :func:`exhaustive`: every set of 1..K attacks, when their number
  ``C(n,1) + ... + C(n,K)`` fits the evaluation budget.
* :func:`beam`: every single failure first (its damage is each element's
  criticality), then level by level the best sets of size k-1 are extended
  by (a) the links that carry the most traffic once the set has failed
  (the traffic a cut must hit: the other side of a 2-cut carries all of
  it) and (b) the elements whose single failure does the most damage,
  within an even share of the budget left per level. The sets of the last
  level are those of the best ones, so a cascade or a partition that needs
  k failures together is found without trying all of them.
* :func:`random_sets`: uniform sets of size <= K, the baseline a search
  must beat.
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np

from .attacks import DamageEvaluator

__all__ = ["n_sets", "exhaustive", "beam", "random_sets", "SearchResult"]


def n_sets(n: int, k: int) -> int:
    """Sets of 1..k of n elements: C(n,1) + ... + C(n,k).

    Examples
    --------
    >>> n_sets(25, 2)
    325
    """
    return sum(comb(n, i) for i in range(1, min(k, n) + 1))


class SearchResult:
    """Every set evaluated and its key; ``best`` is the worst attack found."""

    def __init__(self, rank: np.ndarray) -> None:
        self.rank = rank                     # position of each attack in the seeded order
        self.key: dict[tuple, tuple[float, float]] = {}
        self.load: dict[tuple, np.ndarray] = {}

    def add(self, sets, scores, keep_load: bool = False) -> None:
        for b, s in enumerate(sets):
            self.key[s] = (float(scores.damage[b]), float(scores.tie[b]))
            if keep_load:
                self.load[s] = scores.load_bps[b]

    def order(self, s: tuple) -> tuple:
        """Sort key, best first: damage, tie-break, then fewer elements, then the seeded order."""
        d, t = self.key[s]
        return (-d, -t, len(s), tuple(sorted(self.rank[list(s)])))

    @property
    def best(self) -> tuple:
        return min(self.key, key=self.order)

    @property
    def evaluations(self) -> int:
        return len(self.key)


def _evaluate(ev: DamageEvaluator, res: SearchResult, sets: list[tuple], keep_load=False,
              chunk: int = 1024) -> None:
    for i in range(0, len(sets), chunk):
        part = sets[i:i + chunk]
        res.add(part, ev(part), keep_load)


def exhaustive(ev: DamageEvaluator, k: int, rank: np.ndarray) -> SearchResult:
    """Every set of 1..k attacks (the reference: use when :func:`n_sets` is affordable)."""
    res = SearchResult(rank)
    n = len(ev.attacks)
    for size in range(1, min(k, n) + 1):
        elem = [a.element for a in ev.attacks]
        _evaluate(ev, res, [c for c in combinations(range(n), size) if _distinct(c, elem)])
    return res


def beam(ev: DamageEvaluator, k: int, max_evals: int, rank: np.ndarray) -> SearchResult:
    """Beam search seeded by each element's single-failure damage and the rerouted load.

    Parameters
    ----------
    ev : DamageEvaluator
    k : int
        Largest set size.
    max_evals : int
        Evaluation budget (sets scored), singles included.
    rank : (n_attacks,) int
        Seeded order of the attacks; breaks ties.

    Returns
    -------
    SearchResult
    """
    res = SearchResult(rank)
    n = len(ev.attacks)
    link_of = np.full(len(ev.sim.link_ids), -1)     # attack index of each link's cut
    for i, a in enumerate(ev.attacks):
        if a.event.kind == "fiber_cut":
            link_of[ev.sim.link_index[a.event.target]] = i
    # routing node of each site outage, and the two end nodes of each routed edge
    site_of = np.full(ev.sim.router.n_nodes, -1)
    for i, a in enumerate(ev.attacks):
        if a.event.kind == "site_outage":
            site_of[ev.sim.router.node_index[a.event.target]] = i
    ends = np.stack([ev.sim.router.u, ev.sim.router.v], axis=1)
    elem = [a.element for a in ev.attacks]
    singles = [(i,) for i in range(n)]
    if n > max_evals:        # not even every single failure: the most loaded links first
        base = ev([()]).load_bps[0]
        crit = np.array([base[ev.sim.link_index[a.event.target]] if a.event.kind == "fiber_cut"
                         else 0.0 for a in ev.attacks])
        singles = [(int(i),) for i in np.lexsort((rank, -crit))[:max_evals]]
    _evaluate(ev, res, singles, keep_load=k > 1)
    by_single = sorted(range(n), key=lambda i: res.order((i,)) if (i,) in res.key
                       else (0.0, 0.0, 1, (rank[i],)))
    for size in range(2, min(k, n) + 1):
        left = max_evals - res.evaluations
        if left <= 0:
            break
        budget = left // (k - size + 1)
        width = max(2, int(np.sqrt(budget / 2)))
        per = max(1, budget // (3 * width))
        prev = sorted((s for s in res.key if len(s) == size - 1), key=res.order)[:width]
        new: dict[tuple, None] = {}
        for s in prev:
            cands = []
            load = res.load.get(s)
            if load is not None:       # the links and sites the rerouted traffic leans on most
                hot = [int(link_of[j]) for j in np.argsort(-load, kind="stable") if link_of[j] >= 0
                       and load[j] > 0]
                cands += [i for i in hot if i not in s][:per]
                through = np.zeros(len(site_of))
                np.add.at(through, ends, load[ev.sim.router.link][:, None])
                hot = [int(site_of[j]) for j in np.argsort(-through, kind="stable")
                       if site_of[j] >= 0 and through[j] > 0]
                cands += [i for i in hot if i not in s and i not in cands][:per]
            cands += [i for i in by_single if i not in s][:per]
            for i in cands:
                t = tuple(sorted((*s, i)))
                if not _distinct(t, elem):
                    continue
                if t not in res.key:
                    new[t] = None
            if len(new) >= budget:
                break
        _evaluate(ev, res, list(new)[:budget], keep_load=size < k)
    return res


def _distinct(s: tuple, element: list[str]) -> bool:
    """At most one attack per element (a site is not both down and surging)."""
    return len({element[i] for i in s}) == len(s)


def random_sets(n: int, k: int, count: int, rng: np.random.Generator,
                element: list[str] | None = None) -> list[tuple]:
    """``count`` sets drawn uniformly from all sets of 1..k of n attacks.

    With ``element`` (each attack's element id), sets that attack an element
    twice are drawn again: uniform over the sets a search may return.

    Examples
    --------
    >>> sets = random_sets(25, 2, 5, np.random.default_rng(1))
    >>> len(sets), all(1 <= len(s) <= 2 for s in sets)
    (5, True)
    """
    k = min(k, n)
    sizes = np.arange(1, k + 1)
    p = np.array([comb(n, int(i)) for i in sizes], float)
    drawn = rng.choice(sizes, size=count, p=p / p.sum())
    out = []
    for m in drawn:
        while True:
            s = tuple(sorted(int(x) for x in rng.choice(n, size=int(m), replace=False)))
            if element is None or _distinct(s, element):
                break
        out.append(s)
    return out
