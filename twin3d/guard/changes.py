"""Change files: a proposed network change as TOML data, checked against a scene.

A change file is data, never code: it is parsed with :mod:`tomllib`, and
every key, element and value is checked. Each ``[[change]]`` table has a
``kind`` and the fields of that kind:

============  ============================================================
kind          fields
============  ============================================================
link_weight   link, weight > 0 (the ``[traffic] metric``'s unit, both ways)
static_route  at, dst, next_hop (a neighbour of ``at``, or "drop")
link_state    link, state "up" | "down"
capacity      link, capacity_bps > 0
site_state    site, state "up" | "sleep" | "down"
sector        site, sector (1-based), any of tilt_deg, p_tx_dbm, azimuth_deg
acl           at, src, dst (node ids or "*"), action "deny"
============  ============================================================

Every change is a scenario event (SANDBOX.md section 2), applied at step 0
of the checked scenario: link_weight -> ``set_weight``, link_state down ->
``fiber_cut`` (up -> ``restore``), capacity -> ``set_capacity``, site_state
down -> ``site_outage`` (sleep -> ``power_down``, up -> ``restore``); sector,
static_route and acl keep their names. A problem is an
:class:`~twin3d.errors.InputError` naming the file, ``[[change]] N (kind)``
and the field.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..errors import InputError, read_user_text
from ..loader import Scene
from ..scene import EventSpec, _Table

__all__ = ["Change", "CHANGE_KINDS", "parse_changes", "changes_from_text"]

#: Change kind -> (required fields, optional fields), besides ``kind``.
CHANGE_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "link_weight": (("link", "weight"), ()),
    "static_route": (("at", "dst", "next_hop"), ()),
    "link_state": (("link", "state"), ()),
    "capacity": (("link", "capacity_bps"), ()),
    "site_state": (("site", "state"), ()),
    "sector": (("site", "sector"), ("tilt_deg", "p_tx_dbm", "azimuth_deg")),
    "acl": (("at", "src", "dst", "action"), ()),
}
_SECTOR_PARAMS = ("tilt_deg", "p_tx_dbm", "azimuth_deg")


@dataclass(frozen=True)
class Change:
    """One ``[[change]]``: its 1-based number, kind, fields and scenario event.

    Examples
    --------
    >>> c = Change(1, "link_weight", {"link": "AB", "weight": 3.0},
    ...            EventSpec(0, "set_weight", link="AB", weight=3.0))
    >>> c.label
    '[[change]] 1 (link_weight)'
    """

    number: int
    kind: str
    fields: dict[str, Any]
    event: EventSpec

    @property
    def label(self) -> str:
        return f"[[change]] {self.number} ({self.kind})"

    @property
    def downs_site(self) -> str | None:
        """The site this change takes down (its pairs are expected to go), else None."""
        return self.fields["site"] if self.kind == "site_state" and self.fields["state"] == "down" \
            else None


def _node(t: _Table, scene: Scene, key: str, star: bool = False) -> str:
    v = t.get(key, str, required=True)
    if star and v == "*":
        return v
    if v not in scene.twin.sites:
        raise t.err(key, f"names unknown site '{v}'" + (' (or "*")' if star else ""))
    return v


def _link(t: _Table, scene: Scene) -> str:
    v = t.get("link", str, required=True)
    if v not in scene.twin.links:
        raise t.err("link", f"names unknown link '{v}'")
    return v


def _state(t: _Table, choices: tuple[str, ...]) -> str:
    v = t.get("state", str, required=True)
    if v not in choices:
        raise t.err("state", f"must be one of {', '.join(choices)}, got {v!r}")
    return v


def _one(file: Path, scene: Scene, i: int, data: Any) -> Change:
    """Parse and check the i-th (0-based) ``[[change]]`` table."""
    if not isinstance(data, dict):
        raise InputError(file, f"must be a table, got {type(data).__name__}", f"[[change]] {i + 1}")
    kind = data.get("kind")
    if kind is None:
        raise InputError(file, f"is missing: every change has a kind (one of {', '.join(CHANGE_KINDS)})",
                         f"[[change]] {i + 1}", "kind")
    if kind not in CHANGE_KINDS:
        raise InputError(file, f"must be one of {', '.join(CHANGE_KINDS)}, got {kind!r}",
                         f"[[change]] {i + 1}", "kind")
    need, opt = CHANGE_KINDS[kind]
    t = _Table(file, f"[[change]] {i + 1} ({kind})", data, ("kind", *need, *opt))
    for key in need:
        if key not in data:
            raise t.err(key, f"is missing: a {kind} change needs {', '.join(need)}")
    f: dict[str, Any] = {}
    twin = scene.twin
    if kind == "link_weight":
        f = {"link": _link(t, scene), "weight": t.num("weight", None, 0, strict=True)}
        ev = EventSpec(0, "set_weight", link=f["link"], weight=f["weight"])
    elif kind == "capacity":
        f = {"link": _link(t, scene), "capacity_bps": t.num("capacity_bps", None, 0, strict=True)}
        ev = EventSpec(0, "set_capacity", link=f["link"], capacity_bps=f["capacity_bps"])
    elif kind == "link_state":
        f = {"link": _link(t, scene), "state": _state(t, ("up", "down"))}
        ev = EventSpec(0, "fiber_cut" if f["state"] == "down" else "restore", target=f["link"])
    elif kind == "site_state":
        f = {"site": _node(t, scene, "site"), "state": _state(t, ("up", "sleep", "down"))}
        if f["state"] == "sleep" and not twin.sites[f["site"]].cells:
            raise t.err("state", f"site '{f['site']}' has no radio cells to sleep (a sleeping "
                        "site keeps routing; only its cells stop)")
        ev = EventSpec(0, {"up": "restore", "sleep": "power_down", "down": "site_outage"}[f["state"]],
                       target=f["site"])
    elif kind == "sector":
        f = {"site": _node(t, scene, "site"), "sector": t.get("sector", int, required=True)}
        n = len(twin.sites[f["site"]].cells)
        if n == 0:
            raise t.err("site", f"site '{f['site']}' has no radio cells (a sector change needs one)")
        if not 1 <= f["sector"] <= n:
            raise t.err("sector", f"must be a sector of site '{f['site']}' in [1, {n}] "
                        f"(1-based), got {f['sector']}")
        bounds = {"tilt_deg": (-90, 90), "p_tx_dbm": (-30, 80), "azimuth_deg": (-360, 360)}
        f.update({k: t.num(k, None, *bounds[k]) for k in _SECTOR_PARAMS if k in data})
        if not any(k in data for k in _SECTOR_PARAMS):
            raise t.err("tilt_deg", f"is missing: a sector change sets any of {', '.join(_SECTOR_PARAMS)}")
        ev = EventSpec(0, "sector", **f)
    elif kind == "static_route":
        f = {"at": _node(t, scene, "at"), "dst": _node(t, scene, "dst"),
             "next_hop": t.get("next_hop", str, required=True)}
        nh = f["next_hop"]
        if nh != "drop":
            if nh not in twin.sites:
                raise t.err("next_hop", f"names unknown site '{nh}' (a neighbour of '{f['at']}' "
                            'or "drop")')
            if not twin.graph.has_edge(f["at"], nh):
                raise t.err("next_hop", f"'{nh}' is not a neighbour of '{f['at']}' (no link "
                            'joins them; give a neighbour or "drop")')
        ev = EventSpec(0, "static_route", **f)
    else:  # acl
        f = {"at": _node(t, scene, "at"), "src": _node(t, scene, "src", star=True),
             "dst": _node(t, scene, "dst", star=True), "action": t.get("action", str, required=True)}
        if f["action"] != "deny":
            raise t.err("action", f"must be \"deny\", got {f['action']!r}")
        ev = EventSpec(0, "acl", **f)
    return Change(i + 1, kind, f, ev)


def changes_from_text(text: str, scene: Scene, file: str | Path = "<changes>") -> list[Change]:
    """Parse change-file text against a loaded scene (see :func:`parse_changes`).

    Examples
    --------
    >>> cs = changes_from_text('[[change]]\\nkind = "link_weight"\\nlink = "AB"\\nweight = 3',
    ...                        scene)                                    # doctest: +SKIP
    >>> cs[0].event.kind                                                 # doctest: +SKIP
    'set_weight'
    """
    file = Path(file)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, f"not valid TOML: {exc}") from None
    top = _Table(file, "top level", doc, ("change",))
    items = top.get("change", list, [])
    if not items:
        raise top.err("change", "a change file needs at least one [[change]] table")
    return [_one(file, scene, i, d) for i, d in enumerate(items)]


def parse_changes(path: str | Path, scene: Scene) -> list[Change]:
    """Read a change file and check every change against ``scene``.

    Parameters
    ----------
    path : str or Path
        The change file (TOML with ``[[change]]`` tables).
    scene : Scene
        The loaded scene whose links and sites the changes name.

    Returns
    -------
    list of Change
        In file order; ``Change.event`` is the scenario event at step 0.

    Raises
    ------
    InputError
        A missing file, bad TOML, an unknown key, kind or element, a bad value.

    Examples
    --------
    >>> changes = parse_changes("change.toml", scene)        # doctest: +SKIP
    >>> [c.label for c in changes]                           # doctest: +SKIP
    ['[[change]] 1 (static_route)']
    """
    file, text = read_user_text(path, "change file")
    return changes_from_text(text, scene, file)
