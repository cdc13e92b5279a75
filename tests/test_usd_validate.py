"""Stages written by twin3d pass OpenUSD's and NVIDIA's validators with no errors."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pxr import Sdf, Usd, UsdGeom

from twin3d.errors import InputError
from twin3d.geo.frame import LocalFrame
from twin3d.geo.records import (BuildingRecord, LinkRecord, SectorRecord, SiteRecord,
                                SourceData, StreetRecord)
from twin3d.model import build_twin
from twin3d.usd import validate_stage, write_stage

HELSINKI = LocalFrame(24.9440, 60.1700, 0.0)


def _lonlat(frame, xy):
    xy = np.asarray(xy, float).reshape(-1, 2)
    lon, lat, _ = frame.to_wgs84(xy[:, 0], xy[:, 1], 0.0)
    return np.column_stack([lon, lat])


def helsinki_like(seed: int = 3, n_buildings: int = 400) -> SourceData:
    """A seeded city centre like Helsinki's: blocks with courtyards, L-shapes,
    MultiPolygons, footprints with collinear and repeated vertices, three-sector
    macro sites, central offices, a fibre ring with drawn routes, streets."""
    rng = np.random.default_rng(seed)
    f = HELSINKI
    buildings = []
    for k in range(n_buildings):
        cx, cy = (k % 20 - 10) * 70.0, (k // 20 - 10) * 70.0
        w, h = rng.uniform(15, 50, 2)
        shell = [(cx, cy), (cx + w / 2, cy), (cx + w, cy), (cx + w, cy + h), (cx + w, cy + h),
                 (cx, cy + h)]                       # a collinear and a repeated vertex
        kind = k % 5
        if kind == 0:      # courtyard block
            hole = [(cx + w / 4, cy + h / 4), (cx + 3 * w / 4, cy + h / 4),
                    (cx + 3 * w / 4, cy + 3 * h / 4), (cx + w / 4, cy + 3 * h / 4)]
            geom = shapely.Polygon(_lonlat(f, shell), [_lonlat(f, hole)])
        elif kind == 1:    # L-shape
            geom = shapely.Polygon(_lonlat(f, [(cx, cy), (cx + w, cy), (cx + w, cy + h / 2),
                                               (cx + w / 2, cy + h / 2), (cx + w / 2, cy + h),
                                               (cx, cy + h)]))
        elif kind == 2:    # two parts
            geom = shapely.MultiPolygon([
                shapely.Polygon(_lonlat(f, [(cx, cy), (cx + w / 3, cy), (cx + w / 3, cy + h),
                                            (cx, cy + h)])),
                shapely.Polygon(_lonlat(f, [(cx + w / 2, cy), (cx + w, cy), (cx + w, cy + h),
                                            (cx + w / 2, cy + h)]))])
        else:              # a turned block
            poly = shapely.Polygon(shell)
            geom = shapely.Polygon(_lonlat(f, np.asarray(
                shapely.affinity.rotate(poly, rng.uniform(0, 90)).exterior.coords)))
        buildings.append(BuildingRecord(f"way/{1000 + k}", geom, float(rng.uniform(6, 45))))
    sites = [SiteRecord(f"HEL-{k:02d}", *map(float, _lonlat(f, rng.uniform(-700, 700, 2))[0]),
                        height_m=float(rng.uniform(18, 40)),
                        sectors=[SectorRecord(a) for a in (0.0, 120.0, 240.0)])
             for k in range(20)]
    sites += [SiteRecord("CO Kamppi", *map(float, _lonlat(f, [-300, 0])[0]), kind="central_office",
                         height_m=12.0),
              SiteRecord("CO Kallio", *map(float, _lonlat(f, [300, 500])[0]), kind="central_office",
                         height_m=12.0)]
    links = [LinkRecord(f"F-{k:02d}", s.id, "CO Kamppi" if k % 2 else "CO Kallio",
                        float(rng.choice([10e9, 25e9, 100e9])),
                        route_lonlat=np.vstack([[s.lon, s.lat],
                                                _lonlat(f, rng.uniform(-600, 600, (3, 2)))]))
             for k, s in enumerate(sites[:20])]
    links.append(LinkRecord("RING", "CO Kamppi", "CO Kallio", 400e9))
    streets = [StreetRecord(f"way/s{k}", _lonlat(f, np.cumsum(rng.uniform(-200, 200, (5, 2)), axis=0)),
                            highway=("primary", "residential", "service", "unknown")[k % 4])
               for k in range(30)]
    return SourceData(sites=sites, links=links, buildings=buildings, streets=streets)


def _assert_clean(report):
    assert report.errors == [], "\n".join(map(str, report.errors))
    assert any(r.startswith("usd:") for r in report.rules)
    assert any(r.startswith("nvidia:") for r in report.rules)


@pytest.fixture(scope="module")
def helsinki_report(tmp_path_factory):
    twin = build_twin(helsinki_like(), HELSINKI, name="helsinki-like")
    return validate_stage(write_stage(twin, tmp_path_factory.mktemp("hel")))


def test_helsinki_like_stage_has_no_errors(helsinki_report):
    _assert_clean(helsinki_report)


def test_helsinki_like_stage_has_no_warnings(helsinki_report):
    assert helsinki_report.warnings == [], "\n".join(map(str, helsinki_report.warnings))


def test_rules_run_cover_both_suites(helsinki_report):
    rules = set(helsinki_report.rules)
    for rule in ("usd:usdGeomValidators:StageMetadataChecker",
                 "usd:usdShadeValidators:MaterialBindingApiAppliedValidator",
                 "nvidia:ExtentsChecker", "nvidia:SubdivisionSchemeChecker",
                 "nvidia:UsdAsciiPerformanceChecker", "nvidia:NormalsValidChecker",
                 "nvidia:KindChecker", "nvidia:DefaultPrimChecker"):
        assert rule in rules, rule
    assert len(rules) >= 70


def test_small_and_empty_and_continental_stages_are_clean(tmp_path):
    small = SourceData(sites=[SiteRecord("S1", 24.94, 60.17, sectors=[SectorRecord(45.0)]),
                              SiteRecord("S2", 24.95, 60.17)],
                       links=[LinkRecord("F-07", "S1", "S2", 10e9)],
                       buildings=[BuildingRecord("b", shapely.box(24.9445, 60.1701, 24.9447, 60.1702),
                                                 12.0)])
    backbone = SourceData(sites=[SiteRecord("HEL", 24.94, 60.17, kind="pop"),
                                 SiteRecord("MAD", -3.70, 40.42, kind="pop"),
                                 SiteRecord("BER", 13.40, 52.52)],
                          links=[LinkRecord("L1", "HEL", "MAD", 400e9),
                                 LinkRecord("L2", "BER", "MAD", 100e9)])
    for name, data, frame in (("small", small, HELSINKI), ("empty", SourceData(), HELSINKI),
                              ("backbone", backbone, LocalFrame(10.0, 50.0))):
        root = write_stage(build_twin(data, frame, name=name), tmp_path / name)
        _assert_clean(validate_stage(root))


def _broken_stage(path):
    """A stage with no upAxis and a mesh without extent or subdivision scheme."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    mesh = UsdGeom.Mesh.Define(stage, "/World")
    mesh.CreatePointsAttr([(0, 0, 0), (1, 0, 0), (0, 1, 0)])
    mesh.CreateFaceVertexCountsAttr([3])
    mesh.CreateFaceVertexIndicesAttr([0, 1, 2])
    stage.SetDefaultPrim(mesh.GetPrim())
    stage.Save()
    return path


def test_validators_report_real_problems(tmp_path):
    report = validate_stage(_broken_stage(tmp_path / "broken.usda"))
    by_rule = {(e.source, e.rule) for e in report.errors}
    assert ("usd", "usdGeomValidators:StageMetadataChecker") in by_rule
    assert ("nvidia", "ExtentsChecker") in by_rule
    assert ("nvidia", "SubdivisionSchemeChecker") in by_rule
    extent = next(e for e in report.errors if e.rule == "ExtentsChecker")
    assert extent.path == "/World"
    assert not report.ok and "errors" in str(report)


def test_one_suite_only(tmp_path):
    path = _broken_stage(tmp_path / "broken.usda")
    only_usd = validate_stage(path, nvidia=False)
    assert {e.source for e in only_usd.issues} == {"usd"}
    assert all(r.startswith("usd:") for r in only_usd.rules)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such USD file") as e:
        validate_stage(tmp_path / "nope.usda")
    assert e.value.file.endswith("nope.usda")


def test_malformed_file_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.usda"
    bad.write_text('#usda 1.0\ndef Xform "A" { nonsense here }\n')
    with pytest.raises(InputError, match="USD cannot open it as a stage") as e:
        validate_stage(bad)
    assert "bad.usda:2" in str(e.value)      # the parser's line is passed on
