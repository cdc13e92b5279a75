"""Load a scene: parse the TOML, read every source, build the twin.

:func:`load_scene` is the one entry point (``twin3d.load_scene``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import InputError
from .geo.frame import LocalFrame, bbox_center
from .geo.records import SourceData
from .model import Twin, build_twin
from .provenance import provenance
from .scene import SceneSpec, SourceSpec, parse_scene

__all__ = ["Scene", "load_scene", "read_source", "scene_origin", "default_scene_path",
           "area_sites", "check_event"]


def default_scene_path() -> Path:
    """The bundled Helsinki scene: ./scenes/helsinki.toml, else the checkout's."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        p = base / "scenes" / "helsinki.toml"
        if p.is_file():
            return p
    raise InputError("scenes/helsinki.toml", "the bundled default scene was not found; "
                     "run from the twin3d checkout or name a scene file")

#: Which element an event's ``target`` must name.
_TARGET_KIND = {"fiber_cut": "link", "add_capacity": "link", "site_outage": "site",
                "power_outage": "site", "power_down": "site", "ddos": "site", "add_site": "site",
                "surge": "site", "restore": "site or link"}


@dataclass
class Scene:
    """A loaded scene: the validated spec and the twin built from its sources."""

    spec: SceneSpec
    twin: Twin

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def seed(self) -> int:
        """``[scene] seed``: the default seed of everything random (0 when absent)."""
        return self.spec.seed

    def rng(self, seed: int | None = None) -> np.random.Generator:
        """A numpy Generator from ``seed``, else from the scene's seed.

        Everything random in twin3d takes its Generator from here, so the
        scene file's seed decides every random choice unless a command's
        ``--seed`` overrides it (SANDBOX.md section 4).

        Examples
        --------
        >>> scene = load_scene("scenes/helsinki.toml")            # doctest: +SKIP
        >>> scene.rng().random() == scene.rng(7).random()         # doctest: +SKIP
        True
        """
        return np.random.default_rng(self.seed if seed is None else seed)


def read_source(src: SourceSpec) -> SourceData:
    """Read one ``[[source]]`` with the reader for its kind."""
    # Readers are imported here so that `twin3d --help` stays fast.
    if src.kind == "osm":
        from .geo.osm import read_osm
        return read_osm(src.path, layers=src.layers)
    if src.kind in ("geojson", "gpkg", "shp"):
        from .geo.vector import read_vector
        return read_vector(src.path, role=src.role)
    if src.kind == "csv":
        from .geo.vector import read_csv
        return read_csv(src.path, role=src.role)
    if src.kind == "graphml":
        from .geo.graphml import read_graphml
        kw = {} if src.default_capacity_bps is None else {"default_capacity_bps": src.default_capacity_bps}
        return read_graphml(src.path, **kw)
    if src.kind == "sndlib":
        from .geo.sndlib import read_sndlib
        return read_sndlib(src.path)
    raise InputError(src.path, f"no reader for kind {src.kind!r}")  # parse_scene prevents this


def scene_origin(spec: SceneSpec, data: SourceData) -> LocalFrame:
    """The scene's frame: the given origin, else the centre of the data's bbox."""
    if spec.origin is not None:
        return LocalFrame(spec.origin.lon, spec.origin.lat, spec.origin.h_m)
    pts = [np.array([[s.lon, s.lat] for s in data.sites]).reshape(-1, 2)]
    pts += [s.coords_lonlat for s in data.streets]
    if data.buildings:
        import shapely
        b = shapely.bounds(np.array([r.footprint for r in data.buildings], dtype=object))
        pts += [b[:, :2], b[:, 2:]]
    allp = np.vstack(pts) if pts else np.zeros((0, 2))
    if len(allp) == 0:
        raise InputError(spec.path, "the sources hold no sites, streets or buildings, "
                         "so the scene has no extent; set [scene] origin", "[scene]", "origin")
    lon, lat = bbox_center(allp)
    return LocalFrame(lon, lat, 0.0)


def area_sites(spec: SceneSpec, twin: Twin, name: str) -> list[str]:
    """Ids of the sites inside the ``[[area]]`` called ``name`` (ground distance, ENU)."""
    a = next(a for a in spec.areas if a.name == name)
    x, y, _ = twin.frame.to_enu([a.lon], [a.lat])
    ids = list(twin.sites)
    if not ids:
        return []
    xy = np.array([twin.sites[s].xyz_m[:2] for s in ids])
    inside = np.hypot(xy[:, 0] - x[0], xy[:, 1] - y[0]) <= a.radius_m
    return [s for s, ok in zip(ids, inside) if ok]


def check_event(spec: SceneSpec, twin: Twin, ev, where: str) -> None:
    """Raise :class:`InputError` when an event names no element or cannot apply.

    An event never becomes a silent no-op: a ``surge`` in a scene with radio
    cells needs a target site that has cells; in a transport-only scene its
    area must hold a site; ``power_down`` needs a site with cells (a
    sleeping site keeps routing, only its cells sleep); ``add_site`` needs a
    planned site (``state = "down"`` in the data).
    """
    if ev.kind not in _TARGET_KIND:
        _check_new_event(spec, twin, ev, where)
        return
    want = _TARGET_KIND[ev.kind]
    if ev.target is not None:      # parse_scene checked which kinds need one
        ok = (("site" in want and ev.target in twin.sites)
              or ("link" in want and ev.target in twin.links))
        if not ok:
            raise InputError(spec.path, f"names unknown {want} '{ev.target}'", where, "target")
    radio = bool(twin.cells)
    site = twin.sites.get(ev.target) if ev.target is not None else None
    if ev.kind == "surge" and radio and site is not None and not site.cells:
        raise InputError(spec.path, f"surge on site '{ev.target}', which has no radio cells: "
                         "in a scene with cells a surge targets a site with cells or an area",
                         where, "target")
    if ev.kind == "surge" and not radio and ev.area is not None and not area_sites(spec, twin, ev.area):
        raise InputError(spec.path, f"surge on area '{ev.area}', which holds no site: in a "
                         "transport-only scene a surge scales the sites inside its area",
                         where, "area")
    if ev.kind == "power_down" and not site.cells:
        raise InputError(spec.path, f"power_down of site '{ev.target}', which has no radio cells "
                         "(a sleeping site keeps routing; only its cells sleep)", where, "target")
    if ev.kind == "add_site" and site.state != "down":
        raise InputError(spec.path, f"add_site of site '{ev.target}', whose state is already "
                         f"'{site.state}' (add_site brings up a planned site, state \"down\")",
                         where, "target")


def _check_new_event(spec: SceneSpec, twin: Twin, ev, where: str) -> None:
    """The elements named by the SANDBOX event kinds (set_weight ... acl) exist and fit."""
    def bad(field: str, problem: str) -> InputError:
        return InputError(spec.path, f"{ev.kind} event: {problem}", where, field)

    if ev.link is not None and ev.link not in twin.links:
        raise bad("link", f"names unknown link '{ev.link}'")
    if ev.kind == "activate_spare" and not twin.links[ev.link].spare_capacity_bps > 0:
        raise bad("link", f"link '{ev.link}' has no spare_capacity_bps to activate")
    if ev.kind == "cell_sleep":
        site, _, k = ev.cell.rpartition("/")
        if site not in twin.sites:
            raise bad("cell", f"names unknown site '{site}' (cell '{ev.cell}')")
        n = len(twin.sites[site].cells)
        if int(k) > n:
            raise bad("cell", f"names cell '{ev.cell}', but site '{site}' has {n} cell(s)")
    if ev.kind == "sector":
        if ev.site not in twin.sites:
            raise bad("site", f"names unknown site '{ev.site}'")
        n = len(twin.sites[ev.site].cells)
        if ev.sector > n:
            raise bad("sector", f"names sector {ev.sector}, but site '{ev.site}' has {n} cell(s)")
    for field in ("at", "src", "dst"):
        v = getattr(ev, field)
        if v is not None and not (v == "*" and ev.kind == "acl") and v not in twin.sites:
            raise bad(field, f"names unknown site '{v}'")
    if ev.kind == "shed" and ev.src == ev.dst:
        raise bad("dst", f"sheds the demand of '{ev.src}' to itself (src and dst must differ)")
    if ev.kind == "pair_route":
        for a, b in zip(ev.path, ev.path[1:]):
            for x in (a, b):
                if x not in twin.sites:
                    raise bad("path", f"names unknown site '{x}'")
            if not twin.graph.has_edge(a, b):
                raise bad("path", f"'{a}' and '{b}' are consecutive in the path but no link "
                          "joins them")
    if ev.kind == "static_route" and ev.next_hop != "drop":
        if ev.next_hop not in twin.sites:
            raise bad("next_hop", f"names unknown site '{ev.next_hop}' (a neighbour of "
                      f"'{ev.at}' or \"drop\")")
        if not twin.graph.has_edge(ev.at, ev.next_hop):
            raise bad("next_hop", f"'{ev.next_hop}' is not a neighbour of '{ev.at}' "
                      "(no link joins them)")


def _check_events(spec: SceneSpec, twin: Twin) -> None:
    for i, sc in enumerate(spec.scenarios):
        for j, ev in enumerate(sc.events):
            check_event(spec, twin, ev, f"[[scenario]] {i + 1} ('{sc.name}') event {j + 1}")


def load_scene(path: str | Path, progress: Callable[[str], None] | None = None) -> Scene:
    """Load a scene file into a :class:`Scene` holding its spec and twin.

    Parameters
    ----------
    path : str or Path
        A scene TOML file.
    progress : callable, optional
        Called with a short text before each source is read.

    Returns
    -------
    Scene

    Raises
    ------
    InputError
        Anything wrong in the scene file or its sources.

    Examples
    --------
    >>> scene = load_scene("scenes/helsinki.toml")        # doctest: +SKIP
    >>> len(scene.twin.sites), len(scene.twin.buildings)   # doctest: +SKIP
    (13, 446)
    """
    spec = parse_scene(path)
    data = SourceData()
    for src in spec.sources:
        if progress:
            progress(f"reading {src.path.name}")
        data.extend(read_source(src))
    frame = scene_origin(spec, data)
    if progress:
        progress("building the twin")
    twin = build_twin(data, frame, name=spec.name, f_hz=spec.radio.f_hz,
                      bandwidth_hz=spec.radio.bandwidth_hz)
    twin.meta["provenance"] = provenance(spec.path, spec.seed)
    _check_events(spec, twin)
    if spec.traffic.core is not None and spec.traffic.core not in twin.sites:
        raise InputError(spec.path, f"names unknown site '{spec.traffic.core}'", "[traffic]", "core")
    return Scene(spec=spec, twin=twin)
