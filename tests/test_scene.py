"""Scene TOML parsing: values, defaults, and one clear error per mistake."""

from __future__ import annotations

import pytest

from twin3d.errors import InputError
from twin3d.scene import parse_scene

SITES = '{"type": "FeatureCollection", "features": []}'

GOOD = """
[scene]
name = "t"
seed = 3
origin = { lon = 24.94, lat = 60.17, h_m = 12 }

[[source]]
path = "sites.geojson"
role = "sites"

[radio]
model = "UMi"
f_hz = 28e9
grid_m = 10

[traffic]
routing = "spf"
busy_hour_bps = 1e9

[[scenario]]
name = "cut"
steps = 4
events = [{ t = 2, kind = "fiber_cut", target = "F-1" }]
"""


def test_good_scene_values(write_scene):
    spec = parse_scene(write_scene(GOOD, {"sites.geojson": SITES}))
    assert spec.name == "t" and spec.seed == 3
    assert (spec.origin.lon, spec.origin.lat, spec.origin.h_m) == (24.94, 60.17, 12.0)
    src = spec.sources[0]
    assert src.kind == "geojson" and src.role == "sites" and src.path.name == "sites.geojson"
    assert spec.radio.model == "UMi" and spec.radio.f_hz == 28e9 and spec.radio.grid_m == 10.0
    assert spec.radio.bandwidth_hz == 100e6          # default
    assert spec.traffic.routing == "spf" and spec.traffic.busy_hour_bps == 1e9
    sc = spec.scenarios[0]
    assert (sc.name, sc.steps, sc.step_s) == ("cut", 4, 3600.0)
    assert sc.events[0].t == 2 and sc.events[0].target == "F-1"


def test_kind_inferred_from_suffix(write_scene):
    text = '[scene]\nname="t"\n[[source]]\npath="a.osm.pbf"\n[[source]]\npath="z.graphml"\n'
    spec = parse_scene(write_scene(text, {"a.osm.pbf": "x", "z.graphml": "x"}))
    assert [s.kind for s in spec.sources] == ["osm", "graphml"]
    assert spec.sources[0].layers == ("buildings", "streets", "masts")


@pytest.mark.parametrize("change, where, field, words", [
    (("[radio]", "[radio]\nfrequency = 3"), "[radio]", "frequency", "unknown key"),
    (("f_hz = 28e9", 'f_hz = "28 GHz"'), "[radio]", "f_hz", "must be float"),
    (("grid_m = 10", "grid_m = -1"), "[radio]", "grid_m", "must be >= 0.5"),
    (('model = "UMi"', 'model = "Hata"'), "[radio]", "model", "must be one of"),
    (("lat = 60.17", "lat = 95"), "[scene] origin", "lat", "must be <= 90"),
    (('path = "sites.geojson"', 'path = "nope.geojson"'), "[[source]] 1", "path", "file not found"),
    (('role = "sites"', 'role = "towers"'), "[[source]] 1", "role", "must be one of"),
    (('role = "sites"\n', ''), "[[source]] 1", "role", "is missing"),
    (("t = 2", "t = 4"), "[[scenario]] 1 ('cut') event 1", "t", "[0, 3]"),
    (('kind = "fiber_cut"', 'kind = "meteor"'), "[[scenario]] 1 ('cut') event 1", "kind", "must be one of"),
    (("seed = 3", "seed = 3.5"), "[scene]", "seed", "must be int"),
    (('name = "t"\n', ''), "[scene]", "name", "is missing"),
    (("[traffic]", "[trafic]"), "top level", "trafic", "unknown key"),
])
def test_bad_values_name_file_table_and_key(write_scene, change, where, field, words):
    path = write_scene(GOOD.replace(*change, 1), {"sites.geojson": SITES})
    with pytest.raises(InputError) as exc:
        parse_scene(path)
    e = exc.value
    assert e.file.endswith("scene.toml")
    assert e.feature == where and e.field == field
    assert words in e.problem
    assert str(e).startswith(str(path))


def test_malformed_toml_says_where(write_scene):
    path = write_scene('[scene]\nname = "t\n', {})
    with pytest.raises(InputError, match=r"not valid TOML.*line 2"):
        parse_scene(path)


def test_missing_scene_file(tmp_path):
    with pytest.raises(InputError, match="scene file not found"):
        parse_scene(tmp_path / "none.toml")


def test_unknown_suffix_needs_kind(write_scene):
    path = write_scene('[scene]\nname="t"\n[[source]]\npath="data.xyz"\n', {"data.xyz": ""})
    with pytest.raises(InputError) as exc:
        parse_scene(path)
    assert exc.value.field == "kind" and "cannot infer" in exc.value.problem


def test_duplicate_scenario_names(write_scene):
    text = GOOD + '\n[[scenario]]\nname = "cut"\n'
    with pytest.raises(InputError, match="duplicate scenario name 'cut'"):
        parse_scene(write_scene(text, {"sites.geojson": SITES}))


def test_no_sources(write_scene):
    with pytest.raises(InputError, match=r"at least one \[\[source\]\]"):
        parse_scene(write_scene('[scene]\nname = "t"\n'))


def test_layers_only_for_osm(write_scene):
    text = GOOD.replace('role = "sites"', 'role = "sites"\nlayers = ["buildings"]')
    with pytest.raises(InputError) as exc:
        parse_scene(write_scene(text, {"sites.geojson": SITES}))
    assert exc.value.field == "layers"


@pytest.mark.parametrize("event, field, words", [
    ('{ t = 1, kind = "ddos", target = "CO" }', "bps", "needs target and bps"),
    ('{ t = 1, kind = "surge", area = "park" }', "factor", "either factor"),
    ('{ t = 1, kind = "surge", factor = 2.0 }', "area", "either area"),
    ('{ t = 1, kind = "surge", area = "zoo", factor = 2.0 }', "area", "unknown area 'zoo'"),
    ('{ t = 1, kind = "fiber_cut" }', "target", "needs target"),
    ('{ t = 1, kind = "power_down", target = "S", duration = 0 }', "duration", ">= 1"),
    ('{ t = 1, kind = "surge", area = "park", factor = -2.0 }', "factor", "must be > 0"),
])
def test_bad_events(write_scene, event, field, words):
    text = GOOD.replace('events = [{ t = 2, kind = "fiber_cut", target = "F-1" }]', f"events = [{event}]")
    text += '\n[[area]]\nname = "park"\ncenter = { lon = 24.94, lat = 60.17 }\nradius_m = 100\n'
    with pytest.raises(InputError) as exc:
        parse_scene(write_scene(text, {"sites.geojson": SITES}))
    assert exc.value.field == field and words in exc.value.problem
    assert "event 1" in exc.value.feature


def test_areas_parsed(write_scene):
    text = GOOD + '\n[[area]]\nname = "park"\ncenter = { lon = 24.94, lat = 60.17 }\nradius_m = 100\n'
    spec = parse_scene(write_scene(text, {"sites.geojson": SITES}))
    assert [(a.name, a.lon, a.lat, a.radius_m) for a in spec.areas] == [("park", 24.94, 60.17, 100.0)]


@pytest.mark.parametrize("first,second", [("cut a", "cut_a"), ("night/1", "night?1"), ("Cut", "cut")])
def test_scenario_names_whose_files_collide(write_scene, first, second):
    # both names become the same scenarios/<stem>.usda: refused at parse time,
    # naming the scene file, [[scenario]] and both names (was a Tf.ErrorException at write)
    text = GOOD + f'\n[[scenario]]\nname = "{first}"\n\n[[scenario]]\nname = "{second}"\n'
    path = write_scene(text, {"sites.geojson": SITES})
    with pytest.raises(InputError) as exc:
        parse_scene(path)
    msg = str(exc.value)
    assert msg.startswith(str(path)) and "[[scenario]]" in msg and exc.value.field == "name"
    assert f"'{first}'" in msg and f"'{second}'" in msg and "file name" in msg


def test_radio_f_hz_is_the_carrier_of_sectors_that_give_none(tmp_path):
    """[radio] f_hz and bandwidth_hz reach every sector without its own (they were parsed
    and then ignored: each sector fell back to 3.5 GHz and 100 MHz); a sector's own value,
    or its site's, still wins, and the model's path loss follows the carrier."""
    import json

    import numpy as np

    import twin3d
    from twin3d.sim.engine import Simulator
    sites = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
         "properties": {"id": "A", "kind": "macro", "azimuths_deg": "0;120;240"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.945, 60.17]},
         "properties": {"id": "B", "kind": "macro", "f_hz": 2.1e9,
                        "sectors": [{"azimuth_deg": 0}, {"azimuth_deg": 180, "f_hz": 0.7e9,
                                                         "bandwidth_hz": 10e6}]}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.9425, 60.168]},
         "properties": {"id": "CO", "kind": "central_office"}}]}
    (tmp_path / "sites.geojson").write_text(json.dumps(sites))
    maps = {}
    for f_hz in (3.5e9, 28e9):
        path = tmp_path / f"s{f_hz:g}.toml"
        path.write_text('[scene]\nname = "carrier"\n[[source]]\npath = "sites.geojson"\n'
                        f'role = "sites"\n[radio]\nmodel = "FSPL"\nf_hz = {f_hz!r}\n'
                        'bandwidth_hz = 400e6\ngrid_m = 50\n[traffic]\nbusy_hour_bps = 0\ncore = "CO"\n')
        scene = twin3d.load_scene(path)
        cells = {c.id: (c.f_hz, c.bandwidth_hz) for c in scene.twin.cells}
        assert cells == {"A/1": (f_hz, 400e6), "A/2": (f_hz, 400e6), "A/3": (f_hz, 400e6),
                         "B/1": (2.1e9, 400e6), "B/2": (0.7e9, 10e6)}
        maps[f_hz] = Simulator(scene).baseline_map.rx_dbm
    # free space: 20 log10(28 / 3.5) = 18.06 dB weaker on A's cells, B's unchanged
    a, b = slice(0, 3), slice(3, 5)
    diff_a = (maps[3.5e9] - maps[28e9])[a]
    assert np.allclose(diff_a[np.isfinite(diff_a)], 20 * np.log10(8.0), atol=1e-3)
    assert np.array_equal(maps[3.5e9][b], maps[28e9][b])
