"""Fault sets and demand draws of a sweep, all reproducible from one seed.

A sweep is a list of :class:`Case`: case 0 is the baseline (no fault), then
the cases of ``--faults`` in a fixed order, then the ``--storms`` cases.
Every random choice comes from the seed (``[scene] seed`` unless ``--seed``),
through one independent stream per purpose (:func:`streams`), so adding
storms or a demand growth never changes the double or random fault sets.

Fault modes (``--faults``):

* ``single``: every link in service and every site up (or asleep), one per
  case, links first in the router's order, then sites in the scene's order;
* ``double``: every unordered pair of those elements, in lexicographic
  order, or, with ``--samples N`` below the number of pairs, N pairs drawn
  without replacement (then listed in lexicographic order);
* ``random``: ``--samples N`` draws (default :data:`DEFAULT_RANDOM_SAMPLES`)
  of independent failures. Failures of an element arrive as a Poisson
  process and last until repaired; its steady-state unavailability is
  ``1 - A`` for the availability A of its kind, so an element is down in a
  draw with probability ``1 - A`` (:data:`DEFAULT_AVAILABILITY`: links
  0.999, about 9 h a year, the order of a buried fibre route's cuts and
  repairs; sites 0.9995). A draw with no failure is kept (it is a sample
  like any other).

Storms (``--storms N``): a centre uniform over the bounding box of the
sites in the scene's ENU plane and a radius ``u x D``, u uniform in
[:data:`STORM_RADIUS_FRACTION`], D the diagonal of that box; the storm takes
out every site within the radius and every link whose route (its polyline,
segment by segment) passes within it.

Demand growth (``--demand-growth``): a distribution of the factor applied
to every case's demand but the baseline's (1): ``lognormal:MU,SIGMA``
(factor ``exp(N(MU, SIGMA))``), ``uniform:LO,HI``, ``fixed:X`` or a plain
number X.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..ids import link_id, site_id

__all__ = ["Case", "Storm", "DEFAULT_AVAILABILITY", "DEFAULT_RANDOM_SAMPLES", "STORM_RADIUS_FRACTION",
           "FAULT_MODES", "streams", "sweep_elements", "single_sets", "double_sets", "random_sets",
           "storm_sets", "elements_in_circle", "parse_growth", "parse_availability", "plan_cases"]

#: Availability per element kind for ``--faults random`` (steady state, 0 < A <= 1).
DEFAULT_AVAILABILITY = {"link": 0.999, "site": 0.9995}
#: Draws of ``--faults random`` when ``--samples`` is not given.
DEFAULT_RANDOM_SAMPLES = 1000
#: A storm's radius is u x (diagonal of the sites' bounding box), u uniform in this range.
STORM_RADIUS_FRACTION = (0.02, 0.15)
FAULT_MODES = ("single", "double", "random")
#: The order of the seed's streams (spawned from one SeedSequence).
_STREAMS = ("double", "random", "storms", "growth")


@dataclass(frozen=True)
class Storm:
    """A storm's circle in the scene's ENU plane, metres."""

    x_m: float
    y_m: float
    radius_m: float


@dataclass(frozen=True)
class Case:
    """One what-if: typed ids failed at the start, a demand factor, and what drew them.

    ``kind`` is ``baseline``, ``single``, ``double``, ``random`` or ``storm``.
    """

    case_id: int
    kind: str
    faults: tuple[str, ...]
    demand_factor: float = 1.0
    storm: Storm | None = None


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent Generator per purpose, spawned from ``seed``.

    Examples
    --------
    >>> a, b = streams(7), streams(7)
    >>> a["double"].random() == b["double"].random(), a["double"].random() != a["storms"].random()
    (True, True)
    """
    children = np.random.SeedSequence(int(seed)).spawn(len(_STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(_STREAMS, children)}


def sweep_elements(twin, link_ids: list[str]) -> list[str]:
    """Typed ids of the elements a sweep fails: links in service (router order), then live sites.

    A link already down in the scene, or a site down or off, cannot fail again.
    """
    out = [link_id(l) for l in link_ids if twin.links[l].state == "up"]
    return out + [site_id(s) for s, site in twin.sites.items() if site.state in ("up", "sleep")]


def single_sets(elements: list[str]) -> list[tuple[str, ...]]:
    """Every element alone."""
    return [(e,) for e in elements]


def _pair_of_index(k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Lexicographic pair (i < j) of pair index ``k`` among n elements."""
    i_all = np.arange(n, dtype=np.int64)
    first = i_all * (2 * n - i_all - 1) // 2        # index of pair (i, i + 1)
    i = np.searchsorted(first, k, side="right") - 1
    return i, k - first[i] + i + 1


def double_sets(elements: list[str], samples: int | None,
                rng: np.random.Generator) -> list[tuple[str, ...]]:
    """Every unordered pair, or ``samples`` of them drawn without replacement.

    Examples
    --------
    >>> double_sets(["a", "b", "c"], None, np.random.default_rng(0))
    [('a', 'b'), ('a', 'c'), ('b', 'c')]
    >>> len(double_sets(list("abcdef"), 4, np.random.default_rng(0)))
    4
    """
    n = len(elements)
    total = n * (n - 1) // 2
    if samples is None or samples >= total:
        k = np.arange(total, dtype=np.int64)
    else:
        k = np.sort(rng.choice(total, size=samples, replace=False)).astype(np.int64)
    i, j = _pair_of_index(k, n)
    return [(elements[a], elements[b]) for a, b in zip(i.tolist(), j.tolist())]


def random_sets(elements: list[str], samples: int, availability: dict[str, float],
                rng: np.random.Generator) -> list[tuple[str, ...]]:
    """``samples`` draws, each element down with probability ``1 - availability[kind]``."""
    down_p = np.array([1.0 - availability[e.partition(":")[0]] for e in elements])
    hit = rng.random((samples, len(elements))) < down_p        # one row per draw
    return [tuple(elements[i] for i in np.flatnonzero(row)) for row in hit]


def _segment_distance_m(px: float, py: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from (px, py) to each segment a[k] -> b[k] ((m, 2) arrays), metres."""
    d = b - a
    p = np.array([px, py]) - a
    den = np.einsum("ij,ij->i", d, d)
    t = np.clip(np.einsum("ij,ij->i", p, d) / np.where(den > 0, den, 1.0), 0.0, 1.0)
    return np.hypot(*(p - t[:, None] * d).T)


def elements_in_circle(twin, elements: list[str], storm: Storm) -> tuple[str, ...]:
    """The ``elements`` a storm takes out: sites within its radius, links whose route passes
    within it (ENU plane, metres)."""
    hit = []
    for e in elements:
        kind, _, name = e.partition(":")
        if kind == "site":
            x, y = twin.sites[name].xyz_m[:2]
            if math.hypot(x - storm.x_m, y - storm.y_m) <= storm.radius_m:
                hit.append(e)
        else:
            r = np.asarray(twin.links[name].route_xyz_m, float)[:, :2]
            a, b = (r[:-1], r[1:]) if len(r) > 1 else (r, r)
            if _segment_distance_m(storm.x_m, storm.y_m, a, b).min() <= storm.radius_m:
                hit.append(e)
    return tuple(hit)


def storm_sets(twin, elements: list[str], n: int,
               rng: np.random.Generator) -> list[tuple[Storm, tuple[str, ...]]]:
    """``n`` storms (:class:`Storm` and the elements inside), drawn as the module says."""
    xy = np.array([s.xyz_m[:2] for s in twin.sites.values()], float)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    diag = float(np.hypot(*(hi - lo)))
    out = []
    for _ in range(n):
        x, y = rng.uniform(lo, hi)
        storm = Storm(float(x), float(y), float(diag * rng.uniform(*STORM_RADIUS_FRACTION)))
        out.append((storm, elements_in_circle(twin, elements, storm)))
    return out


def _numbers(text: str, k: int, where: str, shown: str) -> list[float]:
    """``k`` comma-separated finite numbers from ``text`` (``shown`` in errors)."""
    parts = text.split(",")
    if len(parts) != k:
        raise InputError(where, f"'{shown}' needs {k} comma-separated number(s)")
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise InputError(where, f"'{shown}' holds something that is not a number") from None
    if not all(math.isfinite(v) for v in vals):
        raise InputError(where, f"'{shown}' holds a value that is not finite")
    return vals


def parse_growth(text: str, where: str = "--demand-growth"):
    """A demand-growth distribution -> ``draw(rng, n) -> (n,) factors``; InputError when malformed.

    Examples
    --------
    >>> draw = parse_growth("lognormal:0,0.1")
    >>> f = draw(np.random.default_rng(1), 1000)
    >>> bool(0.98 < np.median(f) < 1.02), bool((f > 0).all())
    (True, True)
    >>> parse_growth("fixed:1.5")(np.random.default_rng(0), 2).tolist()
    [1.5, 1.5]
    >>> parse_growth("lognormal:0")
    Traceback (most recent call last):
    ...
    twin3d.errors.InputError: --demand-growth: 'lognormal:0' needs 2 comma-separated number(s)
    """
    kind, sep, args = text.strip().partition(":")
    if not sep:
        try:
            x = float(kind)
        except ValueError:
            raise InputError(where, f"unknown distribution '{text}' (lognormal:MU,SIGMA, "
                                    "uniform:LO,HI, fixed:X or a number)") from None
        kind, args = "fixed", kind
    if kind == "lognormal":
        mu, sigma = _numbers(args, 2, where, text)
        if sigma < 0:
            raise InputError(where, f"lognormal sigma must be >= 0, got {sigma:g}")
        return lambda rng, n: np.exp(rng.normal(mu, sigma, n))
    if kind == "uniform":
        lo, hi = _numbers(args, 2, where, text)
        if not 0 < lo <= hi:
            raise InputError(where, f"uniform needs 0 < LO <= HI, got {lo:g}, {hi:g}")
        return lambda rng, n: rng.uniform(lo, hi, n)
    if kind == "fixed":
        (x,) = _numbers(args, 1, where, text)
        if x <= 0:
            raise InputError(where, f"a demand factor must be > 0, got {x:g}")
        return lambda rng, n: np.full(n, x)
    raise InputError(where, f"unknown distribution '{kind}' (lognormal, uniform or fixed)")


def parse_availability(text: str | None, where: str = "--availability") -> dict[str, float]:
    """``"link=0.999,site=0.9995"`` over :data:`DEFAULT_AVAILABILITY`; InputError when malformed.

    Examples
    --------
    >>> parse_availability("site=0.99")
    {'link': 0.999, 'site': 0.99}
    """
    out = dict(DEFAULT_AVAILABILITY)
    if text is None:
        return out
    for part in text.split(","):
        kind, eq, val = part.partition("=")
        kind = kind.strip()
        if not eq or kind not in out:
            raise InputError(where, f"'{part.strip()}' is not link=A or site=A")
        try:
            a = float(val)
        except ValueError:
            raise InputError(where, f"the availability of {kind} is not a number: '{val.strip()}'") \
                from None
        if not 0.0 < a <= 1.0:
            raise InputError(where, f"the availability of {kind} must be in (0, 1], got {a:g}")
        out[kind] = a
    return out


def plan_cases(twin, link_ids: list[str], faults: str | None, seed: int, samples: int | None = None,
               storms: int = 0, growth=None, availability: dict[str, float] | None = None) -> list[Case]:
    """Every case of a sweep, baseline first, ids 0, 1, 2, ...

    Parameters
    ----------
    twin : twin3d.model.Twin
    link_ids : list of str
        The links in the router's order (``Simulator.link_ids``).
    faults : {"single", "double", "random"} or None
        None: storms only.
    seed : int
    samples : int, optional
        double: pairs drawn (all when None); random: draws (default
        :data:`DEFAULT_RANDOM_SAMPLES`).
    storms : int
    growth : callable, optional
        :func:`parse_growth`'s result; None keeps every demand factor at 1.
    availability : dict, optional
        Per kind, for ``random``.

    Examples
    --------
    >>> cases = plan_cases(twin, sim.link_ids, "single", seed=7)     # doctest: +SKIP
    >>> cases[0].faults, cases[1].faults                              # doctest: +SKIP
    ((), ('link:L1',))
    """
    rngs = streams(seed)
    elements = sweep_elements(twin, link_ids)
    sets: list[tuple[str, tuple[str, ...], Storm | None]] = []
    if faults == "single":
        sets += [("single", s, None) for s in single_sets(elements)]
    elif faults == "double":
        sets += [("double", s, None) for s in double_sets(elements, samples, rngs["double"])]
    elif faults == "random":
        n = DEFAULT_RANDOM_SAMPLES if samples is None else samples
        sets += [("random", s, None) for s in random_sets(elements, n, availability
                                                            or DEFAULT_AVAILABILITY, rngs["random"])]
    elif faults is not None:
        raise InputError("--faults", f"unknown mode '{faults}' (one of {', '.join(FAULT_MODES)})")
    sets += [("storm", s, st) for st, s in storm_sets(twin, elements, storms, rngs["storms"])]
    factors = (growth(rngs["growth"], len(sets)) if growth is not None and sets
               else np.ones(len(sets)))
    cases = [Case(0, "baseline", ())]
    cases += [Case(i + 1, kind, s, float(f), st)
              for i, ((kind, s, st), f) in enumerate(zip(sets, factors))]
    return cases
