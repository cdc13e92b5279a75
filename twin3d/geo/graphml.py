"""Internet Topology Zoo GraphML -> WGS84 sites (PoPs) and links.

The Topology Zoo (http://www.topology-zoo.org) describes each network as a
GraphML graph: nodes carry ``label``, ``Latitude``, ``Longitude``,
``Country`` and ``Internal``; edges carry ``LinkLabel``, ``LinkType``,
``LinkNote`` and, when known, ``LinkSpeedRaw`` in bit/s. networkx reads a
file with parallel edges as a MultiGraph; every parallel edge is kept as
its own link, because two fibres between the same PoPs are two things that
can fail.

A node without coordinates cannot be placed in the scene, so it is left out
together with its edges, and each of them is listed in
:attr:`SourceData.skipped` rather than dropped silently.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import networkx as nx

from ..errors import InputError
from .fields import check_lonlat, number
from .records import LinkRecord, SiteRecord, Skipped, SourceData

__all__ = ["read_graphml", "DEFAULT_CAPACITY_BPS", "POP_HEIGHT_M"]

DEFAULT_CAPACITY_BPS = 10e9
"""Capacity of a link whose file gives none (bit/s): a 10GE wave."""

POP_HEIGHT_M = 30.0
"""Equipment height of a PoP above the ground (m), for drawing only."""

_NODE_ATTRS = ("label", "Country", "Internal")
_LINK_ATTRS = ("LinkLabel", "LinkType", "LinkNote")


def _load(path: Path) -> nx.Graph:
    """networkx's GraphML reader, with every failure turned into InputError."""
    if not path.exists():
        raise InputError(path, "file not found")
    if not path.is_file():
        raise InputError(path, "is not a file")
    try:
        return nx.read_graphml(path)
    except ParseError as exc:
        raise InputError(path, f"malformed XML ({exc})") from None
    except nx.NetworkXError as exc:
        raise InputError(path, f"not a GraphML file ({exc})") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not a text file ({exc.reason})") from None
    except (ValueError, TypeError, KeyError) as exc:
        # networkx converts <data> by the key's attr.type; a bad value ends here
        raise InputError(path, f"bad GraphML data value ({exc})") from None
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror or exc})") from None


def _number(value: Any, file: str, feature: str, field: str, **bounds: Any) -> float | None:
    """fields.number, except that NaN is an error rather than "absent".

    networkx hands over a GraphML ``NaN`` as a float; in this format an
    absent value is an absent ``<data>``, so NaN can only be a bad value.
    """
    if isinstance(value, float) and math.isnan(value):
        raise InputError(file, "must be finite, got NaN", feature, field)
    return number(value, file, feature, field, **bounds)


def _site_ids(g: nx.Graph) -> dict[Any, str]:
    """Unique site id per node: its label, suffixed where labels repeat.

    A label shared by several nodes gets ``-<graphml node id>`` on every one
    of them (not only the later ones), so an id does not depend on the order
    of nodes in the file. A node without a label is ``n<graphml node id>``.
    """
    labels = {n: (str(d["label"]).strip() if d.get("label") not in (None, "") else None)
              for n, d in g.nodes(data=True)}
    counts = Counter(lab for lab in labels.values() if lab is not None)
    ids: dict[Any, str] = {}
    taken: set[str] = set()
    for n, lab in labels.items():
        if lab is None:
            sid = f"n{n}"
        elif counts[lab] > 1:
            sid = f"{lab}-{n}"
        else:
            sid = lab
        # A label may itself look like a generated id ("Oslo-3", "n4"):
        # keep suffixing with the node id until the id is free.
        while sid in taken:
            sid = f"{sid}-{n}"
        taken.add(sid)
        ids[n] = sid
    return ids


def _node_feature(n: Any, data: dict[str, Any]) -> str:
    label = data.get("label")
    return f"node {n}" + (f" (label '{label}')" if label not in (None, "") else "")


def _edges(g: nx.Graph):
    """(u, v, data) for every edge, parallel edges of a MultiGraph included."""
    if g.is_multigraph():
        for u, v, _key, d in g.edges(keys=True, data=True):
            yield u, v, d
    else:
        yield from g.edges(data=True)


def read_graphml(path: str | Path,
                 default_capacity_bps: float = DEFAULT_CAPACITY_BPS) -> SourceData:
    """Read a Topology Zoo GraphML file into PoP sites and fibre links.

    Parameters
    ----------
    path : str or Path
        The ``.graphml`` file.
    default_capacity_bps : float
        Capacity (bit/s) of an edge without a positive ``LinkSpeedRaw``;
        such links carry ``attrs["capacity_source"] == "default"``.

    Returns
    -------
    SourceData
        ``sites`` (kind ``"pop"``, height 30 m, id from the node label),
        ``links`` (id ``"A--B"``, ``"A--B#2"`` for a second parallel link),
        ``skipped`` (nodes without coordinates, their edges, self-loops) and
        ``meta`` (``network``, ``graph_type``).

    Raises
    ------
    InputError
        Missing or unreadable file, malformed XML, not GraphML, a bad
        coordinate or a negative / non-finite ``LinkSpeedRaw``.

    Examples
    --------
    >>> data = read_graphml("assets/topologyzoo/Abilene.graphml")  # doctest: +SKIP
    >>> len(data.sites), len(data.links)                             # doctest: +SKIP
    (11, 14)
    """
    path = Path(path)
    file = str(path)
    g = _load(path)
    ids = _site_ids(g)
    out = SourceData(meta={
        "network": g.graph.get("Network") or g.graph.get("label") or path.stem,
        "graph_type": "MultiGraph" if g.is_multigraph() else "Graph",
    })

    placed: dict[Any, str] = {}          # graphml node id -> site id, for nodes with coordinates
    unplaced: list[Any] = []
    for n, d in g.nodes(data=True):
        feature = _node_feature(n, d)
        if d.get("Latitude") in (None, "") or d.get("Longitude") in (None, ""):
            unplaced.append(n)
            continue
        lon = _number(d["Longitude"], file, feature, "Longitude", required=True)
        lat = _number(d["Latitude"], file, feature, "Latitude", required=True)
        check_lonlat(lon, lat, file, feature)
        attrs = {k: d[k] for k in _NODE_ATTRS if k in d}
        attrs["graphml_id"] = str(n)
        out.sites.append(SiteRecord(id=ids[n], lon=lon, lat=lat, kind="pop", height_m=POP_HEIGHT_M,
                                    sectors=[], attrs=attrs, where=(file, feature)))
        placed[n] = ids[n]

    for n in unplaced:
        touching = [f"{ids[u]}–{ids[v]}" for u, v, _ in _edges(g) if n in (u, v)]
        listed = f": {', '.join(touching)}" if touching else ""
        out.skipped.append(Skipped(file, _node_feature(n, g.nodes[n]),
                                   f"no Latitude/Longitude; left out with its "
                                   f"{len(touching)} edge(s){listed}"))

    used: Counter[str] = Counter()
    for u, v, d in _edges(g):
        a, b = ids[u], ids[v]
        feature = f"edge {a}–{b}"
        if u == v:
            out.skipped.append(Skipped(file, feature, "self-loop (both ends on one node)"))
            continue
        missing = [x for x in (u, v) if x not in placed]
        if missing:
            which = " and ".join(_node_feature(x, g.nodes[x]) for x in missing)
            verb = "have" if len(missing) > 1 else "has"
            out.skipped.append(Skipped(file, feature, f"{which} {verb} no Latitude/Longitude"))
            continue
        # Counting by id, not by node pair, also keeps ids unique when a
        # label contains "--".
        base = f"{a}--{b}"
        used[base] += 1
        link_id = base if used[base] == 1 else f"{base}#{used[base]}"
        raw = _number(d.get("LinkSpeedRaw"), file, f"edge {link_id}", "LinkSpeedRaw", min_value=0)
        attrs = {k: d[k] for k in _LINK_ATTRS if k in d}
        if raw is not None and raw > 0:
            capacity_bps = raw
            attrs["capacity_source"] = "LinkSpeedRaw"
        else:
            capacity_bps = float(default_capacity_bps)
            attrs["capacity_source"] = "default"
        if "LinkSpeed" in d:
            attrs["LinkSpeed"] = d["LinkSpeed"]
            if "LinkSpeedUnits" in d:
                attrs["LinkSpeedUnits"] = d["LinkSpeedUnits"]
        out.links.append(LinkRecord(id=link_id, a=a, b=b, capacity_bps=capacity_bps,
                                    kind="fiber", route_lonlat=None, attrs=attrs,
                                    where=(file, f"edge {link_id}")))
    return out
