"""Candidate investments of ``twin3d capex``: the candidates file, parsed strictly.

The file is TOML data (never code)::

    currency = "EUR"                 # the unit of every cost (default "EUR")

    [[candidate]]
    name = "new fibre Oulu-Vaasa"    # optional (default "<kind> <N>")
    kind = "new_link"
    a = "Oulu"                       # site ids
    b = "Vaasa"
    capacity_bps = 100e9             # the new link's capacity, bit/s (> 0)
    cost_per_km = 25000.0            # per km of route, currency (>= 0, default 0)
    cost = 50000.0                   # fixed part (>= 0, default 0)

    [[candidate]]
    kind = "capacity_upgrade"
    link = "Oulu--Kokkola"           # link id (or "link:<id>")
    capacity_bps = 40e9              # the link's new capacity, above today's
    cost = 120000.0                  # > 0

    [[candidate]]
    kind = "new_site"
    lon = 25.47                      # degrees
    lat = 65.01
    connect_to = ["Oulu", "Kajaani"] # one site id or a list: a new fibre to each
    capacity_bps = 10e9              # of each new fibre (default: the largest link at
                                     # the first site it connects to)
    cost = 300000.0                  # the site, fixed (>= 0)
    cost_per_km = 25000.0            # per km of its new fibre (>= 0, default 0)
    id = "NEW-1"                     # optional site id (default "NEW-<N>")
    site_kind = "pop"                # optional (default: the nearest site's kind)

Costs: a ``new_link`` costs ``cost + cost_per_km x route length (km)``; a
``capacity_upgrade`` costs ``cost``; a ``new_site`` costs ``cost +
cost_per_km x total length of its new fibre (km)``. The route is the one
:mod:`twin3d.sweep.fibre` lays (streets in a city scene, else a great
circle). Every candidate's total cost must be > 0 (results are per unit
cost). In a radio scene, a new site gets the sectors of the nearest site
with cells (same azimuths, tilts, powers, bands).

A problem is an :class:`~twin3d.errors.InputError` naming the file,
``[[candidate]] N (name)`` and the field: unknown keys, unknown sites or
links, values out of range.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..errors import InputError, read_user_text
from ..scene import _Table

__all__ = ["Candidate", "CANDIDATE_KINDS", "parse_candidates", "candidates_from_text"]

#: Candidate kind -> keys it takes (besides name and kind).
CANDIDATE_KINDS: dict[str, tuple[str, ...]] = {
    "new_link": ("a", "b", "capacity_bps", "cost_per_km", "cost"),
    "capacity_upgrade": ("link", "capacity_bps", "cost"),
    "new_site": ("lon", "lat", "connect_to", "capacity_bps", "cost", "cost_per_km", "id",
                 "site_kind"),
}
_TOP_KEYS = ("currency", "candidate")


@dataclass(frozen=True)
class Candidate:
    """One ``[[candidate]]`` (1-based ``number``); hashable, so a worker keys its simulator by it.

    ``cost_fixed`` and ``cost_per_km`` in the file's currency; the total
    follows from the route (:func:`twin3d.sweep.capex.apply_candidate`).
    """

    number: int
    name: str
    kind: str
    cost_fixed: float
    cost_per_km: float = 0.0
    a: str = ""
    b: str = ""
    link: str = ""
    capacity_bps: float = math.nan
    lon: float = math.nan
    lat: float = math.nan
    connect_to: tuple[str, ...] = field(default_factory=tuple)
    site_id: str = ""
    site_kind: str = ""

    @property
    def label(self) -> str:
        return f"[[candidate]] {self.number} ({self.name})"


def _or_nan(v: float | None) -> float:
    return math.nan if v is None else v


def _site(t: _Table, key: str, twin) -> str:
    v = t.get(key, str, required=True)
    v = v[5:] if v.startswith("site:") else v
    if v not in twin.sites:
        raise t.err(key, f"names unknown site '{v}'")
    return v


def _one(file: Path, i: int, data: Any, twin) -> Candidate:
    number = i + 1
    if not isinstance(data, dict):
        raise InputError(file, f"must be a table, got {type(data).__name__}", f"[[candidate]] {number}")
    raw_name = data.get("name")
    kind = data.get("kind")
    shown = raw_name if isinstance(raw_name, str) and raw_name else (kind if isinstance(kind, str)
                                                                      else "?")
    where = f"[[candidate]] {number} ({shown})"
    if kind is None:
        raise InputError(file, f"is missing (one of {', '.join(CANDIDATE_KINDS)})", where, "kind")
    if kind not in CANDIDATE_KINDS:
        raise InputError(file, f"must be one of {', '.join(CANDIDATE_KINDS)}, got {kind!r}", where,
                         "kind")
    t = _Table(file, where, data, ("name", "kind") + CANDIDATE_KINDS[kind])
    name = t.get("name", str, f"{kind} {number}")
    if not name.strip():
        raise t.err("name", "must not be empty")
    if kind == "new_link":
        a, b = _site(t, "a", twin), _site(t, "b", twin)
        if a == b:
            raise t.err("b", f"joins site '{a}' to itself")
        c = Candidate(number, name, kind, t.num("cost", 0.0, 0.0), t.num("cost_per_km", 0.0, 0.0),
                      a=a, b=b, capacity_bps=t.num("capacity_bps", None, 0.0, strict=True,
                                                   required=True))
    elif kind == "capacity_upgrade":
        link = t.get("link", str, required=True)
        link = link[5:] if link.startswith("link:") else link
        if link not in twin.links:
            raise t.err("link", f"names unknown link '{link}'")
        cap = t.num("capacity_bps", None, 0.0, strict=True, required=True)
        now = float(twin.links[link].capacity_bps)
        if cap <= now:
            raise t.err("capacity_bps", f"must be above link '{link}''s capacity today, "
                        f"{now:g} bit/s, got {cap:g}")
        c = Candidate(number, name, kind, t.num("cost", None, 0.0, required=True), link=link,
                      capacity_bps=cap)
    else:
        conn = t.get("connect_to", (str, list), required=True)
        conn = [conn] if isinstance(conn, str) else conn
        if not conn:
            raise t.err("connect_to", "must name at least one site")
        sites = []
        for v in conn:
            if not isinstance(v, str):
                raise t.err("connect_to", f"must hold site ids (strings), got {type(v).__name__} {v!r}")
            v = v[5:] if v.startswith("site:") else v
            if v not in twin.sites:
                raise t.err("connect_to", f"names unknown site '{v}'")
            if v in sites:
                raise t.err("connect_to", f"names site '{v}' twice")
            sites.append(v)
        sid = t.get("id", str, f"NEW-{number}")
        if not sid.strip() or sid in twin.sites:
            raise t.err("id", f"site id '{sid}' is empty or already in the scene")
        c = Candidate(number, name, kind, t.num("cost", None, 0.0, required=True),
                      t.num("cost_per_km", 0.0, 0.0), lon=t.num("lon", None, -180, 180, required=True),
                      lat=t.num("lat", None, -90, 90, required=True), connect_to=tuple(sites),
                      capacity_bps=_or_nan(t.num("capacity_bps", None, 0.0, strict=True)), site_id=sid,
                      site_kind=t.get("site_kind", str, ""))
    if c.cost_fixed == 0 and c.cost_per_km == 0:
        raise t.err("cost", "the candidate costs nothing: give cost > 0 (or cost_per_km > 0)")
    return c


def candidates_from_text(text: str, twin,
                         file: str | Path = "<candidates>") -> tuple[str, list[Candidate]]:
    """(currency, candidates) from a candidates file's text; InputError when malformed.

    Examples
    --------
    >>> from twin3d.geo.frame import LocalFrame
    >>> from twin3d.geo.records import LinkRecord, SiteRecord, SourceData
    >>> from twin3d.model import build_twin
    >>> data = SourceData(sites=[SiteRecord("A", 24.94, 60.17), SiteRecord("B", 24.95, 60.17)],
    ...                   links=[LinkRecord("L1", "A", "B", 10e9)])
    >>> twin = build_twin(data, LocalFrame(24.945, 60.17))
    >>> cur, cands = candidates_from_text('[[candidate]]\\nkind = "capacity_upgrade"\\n'
    ...                                   'link = "L1"\\ncapacity_bps = 20e9\\ncost = 5.0', twin)
    >>> cur, cands[0].label, cands[0].cost_fixed
    ('EUR', '[[candidate]] 1 (capacity_upgrade 1)', 5.0)
    >>> candidates_from_text('[[candidate]]\\nkind = "capacity_upgrade"\\nlink = "L9"', twin, "c")
    Traceback (most recent call last):
    ...
    twin3d.errors.InputError: c: [[candidate]] 1 (capacity_upgrade): field 'link': names unknown link 'L9'
    """
    file = Path(file)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, f"not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - set(_TOP_KEYS))
    if unknown:
        raise InputError(file, f"unknown key (allowed: {', '.join(_TOP_KEYS)})", None, unknown[0])
    currency = doc.get("currency", "EUR")
    if not isinstance(currency, str) or not currency.strip():
        raise InputError(file, f"must be a non-empty string, got {currency!r}", None, "currency")
    items = doc.get("candidate")
    if not isinstance(items, list) or not items:
        raise InputError(file, "holds no [[candidate]]", None, "candidate")
    cands = [_one(file, i, d, twin) for i, d in enumerate(items)]
    seen: dict[str, int] = {}
    for c in cands:
        if c.name in seen:
            raise InputError(file, f"repeats the name of [[candidate]] {seen[c.name]}", c.label, "name")
        seen[c.name] = c.number
    sids = [c.site_id for c in cands if c.site_id]
    dup = next((c for c in cands if c.site_id and sids.count(c.site_id) > 1), None)
    if dup is not None:
        raise InputError(file, f"site id '{dup.site_id}' is given to two candidates", dup.label, "id")
    return currency.strip(), cands


def parse_candidates(path: str | Path, twin) -> tuple[str, list[Candidate]]:
    """(currency, candidates) of a candidates file; InputError when missing or malformed."""
    file, text = read_user_text(path, "candidates file")
    return candidates_from_text(text, twin, file)
