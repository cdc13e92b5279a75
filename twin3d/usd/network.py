"""Sites and links of the twin as prims: /World/Network/{Sites,Links}.

Each site is an Xform model (kind component) at its ground point, holding a
mast (Cylinder) and one panel (Cube) per cell facing the cell's azimuth, or
a building block (Cube) for central offices, PoPs and routers. Each link is
a linear BasisCurves along its route (no normals: a round tube), lifted
so the tube floats just over the street ribbons (:class:`~.scale.SceneScale`). The twin's values ride along as ``twin:`` attributes: ids and
endpoints as strings, kind and state as tokens (a scenario layer overrides
``twin:state`` with time samples of the same type), numbers as doubles in
the unit their name carries.

Azimuths are clockwise from north, so a panel's outward axis (its local +X)
is (sin az, cos az, 0) before downtilt; tilt turns it down by ``tilt_deg``.

Towers and sector panels are native instances: ``Sites/<id>/Tower`` and
``Sites/<id>/Sector_<n>`` are instanceable Xforms that reference one of the
two prototypes in ``/World/Prototypes`` (a ``class``, so it never renders
itself): a unit cylinder standing on z = 0 and a unit cube, each a child
``Geom``. The instance prim keeps everything that differs per site: its
transform (the tower's scale is radius, radius, height), its ``twin:``
attributes and a constant ``primvars:displayColor``, which the prototype's
``Geom`` inherits (primvar inheritance; the prototype authors no colour of
its own), so a scenario's per-site tower colour still shows. A scenario
layer's overs target the instance prims themselves, never the ``Geom``
inside (an opinion inside an instance proxy is ignored).
"""

from __future__ import annotations

import numpy as np
from pxr import Sdf

from ..model import Link, Site, Twin
from .scale import SceneScale
from .colors import srgb_to_linear
from .sdfutil import bind_material, define, extent_of, prim_names, set_attr, set_xform_ops

__all__ = ["NODE_KINDS", "PROTOTYPES_PATH", "author_prototypes", "author_network",
           "panel_rotation_deg"]

#: Where the shared geometry of towers and panels lives (a ``class`` prim).
PROTOTYPES_PATH = "/World/Prototypes"

#: Site kinds drawn as a building block instead of a mast.
NODE_KINDS = frozenset({"central_office", "co", "pop", "router", "core", "datacenter",
                        "data_center", "dc", "exchange"})

_SITE_COLOR = (0.70, 0.72, 0.75)
_SECTOR_COLOR = (0.95, 0.95, 0.95)
_NODE_COLOR = (0.55, 0.60, 0.70)
#: Link colour by kind; anything else is drawn as fibre.
_LINK_COLOR = {"fiber": (1.0, 0.6, 0.1), "microwave": (0.2, 0.7, 1.0),
               "copper": (0.8, 0.5, 0.3)}


def panel_rotation_deg(azimuth_deg: float) -> float:
    """Rotation about +Z (degrees, counter-clockwise) that turns +X to an azimuth.

    Rotating +X by theta gives (cos theta, sin theta); the azimuth's
    direction is (sin az, cos az), so theta = 90 - az.

    Examples
    --------
    >>> panel_rotation_deg(0.0), panel_rotation_deg(90.0)
    (90.0, 0.0)
    """
    return 90.0 - float(azimuth_deg)


def _color(prim: Sdf.PrimSpec, rgb) -> None:
    set_attr(prim, "primvars:displayColor", "color3f[]", srgb_to_linear([rgb]),
             interpolation="constant")


def author_prototypes(world: Sdf.PrimSpec, looks: dict[str, str]) -> Sdf.PrimSpec:
    """Author ``/World/Prototypes`` (class): ``Tower`` (unit cylinder, base at z = 0,
    radius 1, height 1) and ``Panel`` (unit cube), each with a bound ``Geom`` child.

    Call inside a ChangeBlock, before :func:`author_network` references them.
    """
    protos = Sdf.PrimSpec(world, "Prototypes", Sdf.SpecifierClass, "Scope")
    tower = define(protos, "Tower", "Xform")
    geom = define(tower, "Geom", "Cylinder")
    set_attr(geom, "axis", "token", "Z", uniform=True)
    set_attr(geom, "height", "double", 1.0)
    set_attr(geom, "radius", "double", 1.0)
    set_attr(geom, "extent", "float3[]", np.array([[-1.0, -1.0, -0.5], [1.0, 1.0, 0.5]], np.float32))
    set_xform_ops(geom, translate=(0.0, 0.0, 0.5))
    bind_material(geom, looks["Tower"])
    panel = define(protos, "Panel", "Xform")
    geom = define(panel, "Geom", "Cube")
    set_attr(geom, "size", "double", 1.0)
    set_attr(geom, "extent", "float3[]", np.array([[-0.5] * 3, [0.5] * 3], np.float32))
    bind_material(geom, looks["Sector"])
    return protos


def _instance(parent: Sdf.PrimSpec, name: str, prototype: str, material: str) -> Sdf.PrimSpec:
    """An instanceable Xform referencing ``/World/Prototypes/<prototype>``.

    The material is bound on the instance as well as in the prototype, so
    a binding computed on the instance prim names the same material.
    """
    prim = define(parent, name, "Xform")
    prim.instanceable = True
    prim.referenceList.prependedItems = [Sdf.Reference("", Sdf.Path(f"{PROTOTYPES_PATH}/{prototype}"))]
    bind_material(prim, material)
    return prim


def _site(parent: Sdf.PrimSpec, name: str, site: Site, scale: SceneScale,
          looks: dict[str, str]) -> None:
    prim = define(parent, name, "Xform", kind="component")
    set_xform_ops(prim, translate=site.xyz_m)
    set_attr(prim, "twin:id", "string", site.id, custom=True)
    set_attr(prim, "twin:kind", "token", site.kind, custom=True)
    set_attr(prim, "twin:state", "token", site.state, custom=True)
    set_attr(prim, "twin:height_m", "double", float(site.height_m), custom=True)
    set_attr(prim, "twin:ground_m", "double", float(site.ground_m), custom=True)
    set_attr(prim, "twin:lon_deg", "double", float(site.lon), custom=True)
    set_attr(prim, "twin:lat_deg", "double", float(site.lat), custom=True)
    height = max(float(site.height_m), 0.1)

    if site.kind.lower() in NODE_KINDS:
        edge = scale.node_size_m
        tall = max(height, edge / 2.0)
        block = define(prim, "Building", "Cube")
        set_attr(block, "size", "double", 1.0)
        set_attr(block, "extent", "float3[]", np.array([[-0.5] * 3, [0.5] * 3], np.float32))
        set_xform_ops(block, translate=(0.0, 0.0, tall / 2.0), scale=(edge, edge, tall))
        _color(block, _NODE_COLOR)
        bind_material(block, looks["Node"])
        radius = edge / 2.0
    else:
        radius = scale.tower_radius_m
        tower = _instance(prim, "Tower", "Tower", looks["Tower"])
        set_xform_ops(tower, scale=(radius, radius, height))
        _color(tower, _SITE_COLOR)

    depth, width, tall = scale.panel_size_m
    for n, cell in enumerate(site.cells, start=1):
        az = np.radians(cell.azimuth_deg)
        off = radius + depth / 2.0
        panel = _instance(prim, f"Sector_{n}", "Panel", looks["Sector"])
        set_xform_ops(panel, translate=(off * np.sin(az), off * np.cos(az), height),
                      rotate_z_deg=panel_rotation_deg(cell.azimuth_deg),
                      rotate_y_deg=float(cell.tilt_deg), scale=(depth, width, tall))
        set_attr(panel, "twin:id", "string", cell.id, custom=True)
        for attr in ("azimuth_deg", "tilt_deg", "p_tx_dbm", "f_hz", "bandwidth_hz",
                     "beamwidth_deg", "gain_dbi"):
            set_attr(panel, f"twin:{attr}", "double", float(getattr(cell, attr)), custom=True)
        _color(panel, _SECTOR_COLOR)


def _link(parent: Sdf.PrimSpec, name: str, link: Link, scale: SceneScale) -> None:
    prim = define(parent, name, "BasisCurves")
    pts = np.asarray(link.route_xyz_m, float) + [0.0, 0.0, scale.link_lift_m]
    half = scale.link_width_m / 2.0
    set_attr(prim, "type", "token", "linear", uniform=True)
    set_attr(prim, "wrap", "token", "nonperiodic", uniform=True)
    set_attr(prim, "curveVertexCounts", "int[]", np.array([len(pts)]))
    set_attr(prim, "points", "point3f[]", pts)
    set_attr(prim, "widths", "float[]", np.array([scale.link_width_m]), interpolation="constant")
    set_attr(prim, "extent", "float3[]", extent_of(pts, half))
    _color(prim, _LINK_COLOR.get(link.kind, _LINK_COLOR["fiber"]))
    set_attr(prim, "twin:id", "string", link.id, custom=True)
    set_attr(prim, "twin:a", "string", link.a, custom=True)
    set_attr(prim, "twin:b", "string", link.b, custom=True)
    set_attr(prim, "twin:kind", "token", link.kind, custom=True)
    set_attr(prim, "twin:state", "token", link.state, custom=True)
    set_attr(prim, "twin:capacity_bps", "double", float(link.capacity_bps), custom=True)
    set_attr(prim, "twin:length_m", "double", float(link.length_m), custom=True)
    set_attr(prim, "twin:attenuation_db_per_km", "double", float(link.attenuation_db_per_km),
             custom=True)
    set_attr(prim, "twin:lift_m", "double", float(scale.link_lift_m), custom=True)


def author_network(world: Sdf.PrimSpec, twin: Twin, scale: SceneScale,
                   looks: dict[str, str]) -> Sdf.PrimSpec:
    """Author /World/Network with its Sites and Links; call inside a ChangeBlock.

    Site and link prim names come from :func:`~.sdfutil.prim_names` (the
    original id is kept in ``twin:id``). Links share one material, bound
    on /World/Network/Links and inherited by every curve.
    """
    if world.nameChildren.get("Prototypes") is None:
        author_prototypes(world, looks)
    net = define(world, "Network", "Xform", kind="group")
    sites = define(net, "Sites", "Xform", kind="group")
    for sid, name in sorted(prim_names(twin.sites).items(), key=lambda kv: kv[1]):
        _site(sites, name, twin.sites[sid], scale, looks)
    links = define(net, "Links", "Xform", kind="group")
    bind_material(links, looks["Fiber"])
    for lid, name in sorted(prim_names(twin.links).items(), key=lambda kv: kv[1]):
        _link(links, name, twin.links[lid], scale)
    return net
