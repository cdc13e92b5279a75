"""Typed element ids (SANDBOX.md section 1): ``link:<id>``, ``site:<id>``,
``cell:<site id>/<k>`` (k 1-based), ``area:<name>``.

Site and link ids are unique only within their kind, so results, labels,
sweep rows and RCA candidates name elements with a kind prefix. Routing
nodes (a guard's ``src``, ``dst``, ``at``) stay bare site ids.

Examples
--------
>>> link_id("F-07"), site_id("S1"), cell_id("S1", 2), area_id("stadium")
('link:F-07', 'site:S1', 'cell:S1/2', 'area:stadium')
>>> parse_id("cell:S1/2")
('cell', 'S1/2')
>>> parse_cell("S1/2")
('S1', 2)
>>> parse_id("link:a:b")           # only the first colon separates the kind
('link', 'a:b')
>>> parse_id("router:R1")
Traceback (most recent call last):
...
twin3d.errors.InputError: <id>: element id 'router:R1': unknown kind 'router' (one of link, site, cell, area)
"""

from __future__ import annotations

from .errors import InputError

__all__ = ["KINDS", "link_id", "site_id", "cell_id", "area_id", "make_id", "parse_id",
           "parse_cell"]

#: Element kinds that carry a typed id.
KINDS = ("link", "site", "cell", "area")


def _bad(text: str, problem: str, where: str) -> InputError:
    return InputError(where, problem, f"element id {text!r}")


def make_id(kind: str, name: str) -> str:
    """``<kind>:<name>`` after checking both.

    Examples
    --------
    >>> make_id("site", "HEL-1")
    'site:HEL-1'
    >>> make_id("site", "")
    Traceback (most recent call last):
    ...
    twin3d.errors.InputError: <id>: element id 'site:': the name after 'site:' is empty
    """
    text = f"{kind}:{name}"
    if kind not in KINDS:
        raise _bad(text, f"unknown kind {kind!r} (one of {', '.join(KINDS)})", "<id>")
    if not isinstance(name, str) or not name:
        raise _bad(text, f"the name after '{kind}:' is empty", "<id>")
    if kind == "cell":
        parse_cell(name)
    return text


def link_id(link: str) -> str:
    """``link:<link id>``."""
    return make_id("link", link)


def site_id(site: str) -> str:
    """``site:<site id>``."""
    return make_id("site", site)


def cell_id(site: str, k: int) -> str:
    """``cell:<site id>/<k>``, k 1-based.

    Examples
    --------
    >>> cell_id("S1", 0)
    Traceback (most recent call last):
    ...
    twin3d.errors.InputError: <id>: element id 'S1/0': the sector k must be an integer >= 1, got '0'
    """
    return make_id("cell", f"{site}/{k}")


def area_id(name: str) -> str:
    """``area:<name>``."""
    return make_id("area", name)


def parse_cell(text: str, where: str = "<id>") -> tuple[str, int]:
    """``"<site id>/<k>"`` -> (site id, k); k is 1-based.

    The site id may itself hold slashes; the last one separates k.

    Examples
    --------
    >>> parse_cell("a/b/3")
    ('a/b', 3)
    >>> parse_cell("S1")
    Traceback (most recent call last):
    ...
    twin3d.errors.InputError: <id>: element id 'S1': a cell is '<site id>/<k>' with k 1-based
    """
    if not isinstance(text, str) or "/" not in text:
        raise _bad(text, "a cell is '<site id>/<k>' with k 1-based", where)
    site, _, k = text.rpartition("/")
    if not site:
        raise _bad(text, "the site id before '/' is empty", where)
    if not k.isdigit() or int(k) < 1:
        raise _bad(text, f"the sector k must be an integer >= 1, got {k!r}", where)
    return site, int(k)


def parse_id(text: str, where: str = "<id>") -> tuple[str, str]:
    """A typed id -> (kind, name); InputError when malformed.

    Examples
    --------
    >>> parse_id("area:stadium")
    ('area', 'stadium')
    >>> parse_id("S1")
    Traceback (most recent call last):
    ...
    twin3d.errors.InputError: <id>: element id 'S1': needs a kind prefix (link:, site:, cell: or area:)
    """
    if not isinstance(text, str) or ":" not in text:
        raise _bad(text, "needs a kind prefix (link:, site:, cell: or area:)", where)
    kind, _, name = text.partition(":")
    if kind not in KINDS:
        raise _bad(text, f"unknown kind {kind!r} (one of {', '.join(KINDS)})", where)
    if not name:
        raise _bad(text, f"the name after '{kind}:' is empty", where)
    if kind == "cell":
        parse_cell(name, where)
    return kind, name
