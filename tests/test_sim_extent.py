"""A radio area too large to simulate: the far sites are named, a lon/lat swap is spotted."""

from __future__ import annotations

from twin3d.geo.frame import LocalFrame
from twin3d.geo.records import SectorRecord, SiteRecord, SourceData
from twin3d.model import build_twin
from twin3d.sim.extent import far_sites, radio_extent_error


def _twin(points):
    sites = [SiteRecord(f"S{i + 1}", lon, lat, sectors=[SectorRecord(0.0)])
             for i, (lon, lat) in enumerate(points)]
    return build_twin(SourceData(sites=sites), LocalFrame(24.94, 60.17))


CITY = [(24.94, 60.17), (24.95, 60.17), (24.95, 60.18), (24.94, 60.18)]


def test_swapped_sites_are_named_and_the_order_explained():
    twin = _twin(CITY + [(60.175, 24.945), (60.171, 24.941)])
    far = far_sites(twin, list(twin.sites))
    assert [f[0] for f in far] == ["S5", "S6"] or [f[0] for f in far] == ["S6", "S5"]
    assert all(d > 3_000e3 and s < 2e3 for _, d, s in far)
    msg = str(radio_extent_error("scene.toml", twin, list(twin.sites), 10**12, 8 * 10**6))
    assert msg.startswith("scene.toml: [radio]: field 'grid_m'")
    assert "'S5'" in msg and "'S6'" in msg and "'S1'" not in msg
    assert "GeoJSON order is lon, lat" in msg


def test_a_far_site_that_is_not_swapped_is_named_without_the_swap_hint():
    twin = _twin(CITY + [(26.5, 61.0)])          # a real place 100 km away, swapped nowhere near
    msg = str(radio_extent_error("scene.toml", twin, list(twin.sites), 10**9, 8 * 10**6))
    assert "'S5'" in msg and "'S1'" not in msg
    assert "lon, lat" not in msg and "raise grid_m" in msg
