"""Several [[source]] of one role: their features are merged, and an id used twice is an error."""

from __future__ import annotations

import pytest

import twin3d
from twin3d.errors import InputError

from conftest import feature_collection

SCENE = """
[scene]
name = "merge"
[[source]]
path = "a.geojson"
role = "sites"
[[source]]
path = "b.geojson"
role = "sites"
[[source]]
path = "d1.csv"
role = "demands"
[[source]]
path = "d2.csv"
role = "demands"
"""


def _site(sid, lon):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, 60.17]},
            "properties": {"id": sid, "kind": "router"}}


def test_two_files_of_one_role_are_merged_and_demands_add_up(write_scene):
    path = write_scene(SCENE, {"a.geojson": feature_collection([_site("A", 24.94)]),
                               "b.geojson": feature_collection([_site("B", 24.95)]),
                               "d1.csv": "src,dst,demand_bps\nA,B,1e9\n",
                               "d2.csv": "src,dst,demand_bps\nA,B,2e9\n"})
    twin = twin3d.load_scene(path).twin
    assert sorted(twin.sites) == ["A", "B"]
    assert twin.demands == {("A", "B"): 3e9}


def test_an_id_in_two_files_of_one_role_names_both(write_scene):
    path = write_scene(SCENE, {"a.geojson": feature_collection([_site("A", 24.94)]),
                               "b.geojson": feature_collection([_site("A", 24.95)]),
                               "d1.csv": "src,dst,demand_bps\n", "d2.csv": "src,dst,demand_bps\n"})
    with pytest.raises(InputError) as exc:
        twin3d.load_scene(path)
    msg = str(exc.value)
    assert msg.startswith(str(path.parent / "b.geojson")) and "duplicate site id 'A'" in msg
    assert "a.geojson" in msg and exc.value.field == "id"
