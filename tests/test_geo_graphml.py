"""Topology Zoo GraphML reader: counts checked against an independent XML parse."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from twin3d.errors import InputError
from twin3d.geo.graphml import read_graphml

NS = "{http://graphml.graphdrawing.org/xmlns}"
#: The bundled Topology Zoo files (assets/LICENSES.md: CC BY 4.0), always in the repository.
ZOO = Path(__file__).resolve().parents[1] / "assets" / "topologyzoo"
ZOO_FILES = sorted(ZOO.glob("*.graphml"))


def _zoo(name: str) -> Path:
    assert (ZOO / name).is_file(), f"{name} is not bundled in assets/topologyzoo"
    return ZOO / name


class _Ref:
    """What ElementTree alone says about a GraphML file (no networkx)."""

    def __init__(self, path: Path) -> None:
        root = ET.parse(path).getroot()
        keys = {(k.get("for"), k.get("attr.name")): k.get("id") for k in root.iter(f"{NS}key")}
        self.lat_key = keys[("node", "Latitude")]
        self.lon_key = keys[("node", "Longitude")]
        self.label_key = keys.get(("node", "label"))
        self.speed_key = keys.get(("edge", "LinkSpeedRaw"))
        self.nodes = list(root.iter(f"{NS}node"))
        self.edges = list(root.iter(f"{NS}edge"))

    @staticmethod
    def data(elem: ET.Element, key: str | None) -> str | None:
        for d in elem.findall(f"{NS}data"):
            if d.get("key") == key:
                return d.text
        return None

    def placed(self) -> set[str]:
        return {n.get("id") for n in self.nodes
                if self.data(n, self.lat_key) is not None and self.data(n, self.lon_key) is not None}

    def label(self, node_id: str) -> str | None:
        node = next(n for n in self.nodes if n.get("id") == node_id)
        return self.data(node, self.label_key)


def _skipped(data, noun: str):
    return [s for s in data.skipped if s.feature.startswith(noun + " ")]


@pytest.mark.parametrize("path", ZOO_FILES, ids=lambda p: p.stem)
def test_every_node_and_edge_accounted_for(path):
    ref = _Ref(path)
    data = read_graphml(path)
    placed = ref.placed()
    assert len(data.sites) == len(placed)
    assert len(data.sites) + len(_skipped(data, "node")) == len(ref.nodes)
    assert len(data.links) + len(_skipped(data, "edge")) == len(ref.edges)
    # The edges left out are exactly those touching an unplaced node (or looping).
    lost = [e for e in ref.edges if e.get("source") not in placed or e.get("target") not in placed
            or e.get("source") == e.get("target")]
    assert len(_skipped(data, "edge")) == len(lost)
    # Site ids unique, every link between two known sites, link ids unique.
    ids = [s.id for s in data.sites]
    assert len(set(ids)) == len(ids)
    assert all(l.a in set(ids) and l.b in set(ids) for l in data.links)
    assert len({l.id for l in data.links}) == len(data.links)
    assert all(s.kind == "pop" and s.height_m == 30.0 and s.sectors == [] for s in data.sites)
    assert {s.attrs["graphml_id"] for s in data.sites} == placed


@pytest.mark.parametrize("path", ZOO_FILES, ids=lambda p: p.stem)
def test_coordinates_match_file(path):
    ref = _Ref(path)
    data = read_graphml(path)
    by_gid = {s.attrs["graphml_id"]: s for s in data.sites}
    for n in ref.nodes:
        if n.get("id") in by_gid:
            site = by_gid[n.get("id")]
            assert site.lat == pytest.approx(float(ref.data(n, ref.lat_key)))
            assert site.lon == pytest.approx(float(ref.data(n, ref.lon_key)))


@pytest.mark.parametrize("name", ["Funet.graphml", "Garr201201.graphml"])
def test_parallel_edges_are_separate_links(name):
    path = _zoo(name)
    ref = _Ref(path)
    placed = ref.placed()
    pairs = Counter(frozenset((e.get("source"), e.get("target"))) for e in ref.edges
                    if e.get("source") in placed and e.get("target") in placed)
    parallel = {p: c for p, c in pairs.items() if c > 1}
    assert parallel, "fixture expectation: this file has parallel edges"
    data = read_graphml(path)
    assert data.meta["graph_type"] == "MultiGraph"
    gid = {s.id: s.attrs["graphml_id"] for s in data.sites}
    got = Counter(frozenset((gid[l.a], gid[l.b])) for l in data.links)
    for pair, count in parallel.items():
        assert got[pair] == count
    # "#2", "#3" suffixes: one per extra parallel link
    assert sum(1 for l in data.links if "#" in l.id) == sum(c - 1 for c in parallel.values())


def test_funet_parallel_helsinki_espoo():
    data = read_graphml(_zoo("Funet.graphml"))
    ids = sorted(l.id for l in data.links if {l.a, l.b} == {"Helsinki", "Espoo"})
    assert len(ids) == 2 and ids[1] == ids[0] + "#2"


def test_nordu2010_lists_all_nodes_without_coordinates():
    path = _zoo("Nordu2010.graphml")
    ref = _Ref(path)
    unplaced = [n.get("id") for n in ref.nodes if n.get("id") not in ref.placed()]
    assert len(unplaced) == 11
    data = read_graphml(path)
    nodes = _skipped(data, "node")
    assert len(nodes) == 11
    assert sorted(s.feature for s in nodes) == sorted(
        f"node {i} (label '{ref.label(i)}')" for i in unplaced)
    assert all(s.reason.startswith("no Latitude/Longitude; left out with its ") for s in nodes)
    assert len(data.sites) == 18 - 11
    # Duplicate labels (London, INTERNET) became unique ids with the node id.
    london = [s.id for s in data.sites if s.attrs["label"] == "London"]
    assert all(i.startswith("London-") for i in london)


def test_geant2012_capacity_from_linkspeedraw():
    path = _zoo("Geant2012.graphml")
    ref = _Ref(path)
    data = read_graphml(path)
    gid = {s.id: s.attrs["graphml_id"] for s in data.sites}
    by_pair = {frozenset((gid[l.a], gid[l.b])): l for l in data.links}
    checked = defaulted = 0
    for e in ref.edges:
        link = by_pair.get(frozenset((e.get("source"), e.get("target"))))
        if link is None:
            continue
        raw = ref.data(e, ref.speed_key)
        if raw is not None and float(raw) > 0:
            assert link.capacity_bps == float(raw)
            assert link.attrs["capacity_source"] == "LinkSpeedRaw"
            checked += 1
        else:
            assert link.capacity_bps == 10e9
            assert link.attrs["capacity_source"] == "default"
            defaulted += 1
    assert checked > 30 and checked + defaulted == len(data.links)
    # One edge read by hand from the file: BG-MK, LinkSpeed "155" "M",
    # LinkSpeedRaw 155000000.0 (an STM-1).
    bg_mk = [l for l in data.links if {l.a, l.b} == {"BG", "MK"}]
    assert len(bg_mk) == 1 and bg_mk[0].capacity_bps == 155e6


def test_default_capacity_parameter():
    data = read_graphml(_zoo("Abilene.graphml"), default_capacity_bps=2.5e9)
    assert len(data.links) == 14
    assert all(l.capacity_bps == 2.5e9 and l.attrs["capacity_source"] == "default"
               for l in data.links)
    assert data.meta == {"network": "Abilene", "graph_type": "Graph"}


TINY = """<?xml version="1.0" encoding="utf-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key attr.name="label" attr.type="string" for="node" id="d0"/>
  <key attr.name="Latitude" attr.type="double" for="node" id="d1"/>
  <key attr.name="Longitude" attr.type="double" for="node" id="d2"/>
  <key attr.name="Country" attr.type="string" for="node" id="d3"/>
  <key attr.name="LinkSpeedRaw" attr.type="double" for="edge" id="d4"/>
  <key attr.name="LinkLabel" attr.type="string" for="edge" id="d5"/>
  <key attr.name="Network" attr.type="string" for="graph" id="d6"/>
  <graph edgedefault="undirected">
    <data key="d6">Tiny</data>
    <node id="0"><data key="d0">Oslo</data><data key="d1">59.91</data><data key="d2">10.75</data><data key="d3">Norway</data></node>
    <node id="1"><data key="d0">Bergen</data><data key="d1">60.39</data><data key="d2">5.32</data></node>
    <node id="2"><data key="d0">Ocean</data></node>
    <node id="3"><data key="d1">63.43</data><data key="d2">10.39</data></node>
    <node id="4"><data key="d0">IX</data><data key="d1">59.0</data><data key="d2">10.0</data></node>
    <node id="5"><data key="d0">IX</data><data key="d1">60.0</data><data key="d2">11.0</data></node>
    <edge source="0" target="1"><data key="d4">100000000000.0</data><data key="d5">100GE</data></edge>
    <edge source="1" target="0"><data key="d4">0</data></edge>
    <edge source="1" target="2"/>
    <edge source="0" target="3"/>
    <edge source="4" target="5"/>
    <edge source="0" target="0"/>
  </graph>
</graphml>
"""


def _write(tmp_path: Path, text: str, name: str = "net.graphml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_tiny_graph_node_without_coordinates(tmp_path):
    data = read_graphml(_write(tmp_path, TINY))
    assert data.meta == {"network": "Tiny", "graph_type": "MultiGraph"}
    assert [s.id for s in data.sites] == ["Oslo", "Bergen", "n3", "IX-4", "IX-5"]
    oslo = data.sites[0]
    assert (oslo.lon, oslo.lat) == (10.75, 59.91)
    assert oslo.attrs == {"label": "Oslo", "Country": "Norway", "graphml_id": "0"}

    links = {l.id: l for l in data.links}
    assert sorted(links) == ["IX-4--IX-5", "Oslo--Bergen", "Oslo--Bergen#2", "Oslo--n3"]
    assert links["Oslo--Bergen"].capacity_bps == 100e9
    assert links["Oslo--Bergen"].attrs == {"LinkLabel": "100GE", "capacity_source": "LinkSpeedRaw"}
    assert links["Oslo--Bergen#2"].capacity_bps == 10e9                   # LinkSpeedRaw 0
    assert links["Oslo--Bergen#2"].attrs["capacity_source"] == "default"
    assert all(l.kind == "fiber" and l.route_lonlat is None for l in data.links)

    skipped = {s.feature: s.reason for s in data.skipped}
    assert skipped == {
        "node 2 (label 'Ocean')":
            "no Latitude/Longitude; left out with its 1 edge(s): Bergen–Ocean",
        "edge Bergen–Ocean": "node 2 (label 'Ocean') has no Latitude/Longitude",
        "edge Oslo–Oslo": "self-loop (both ends on one node)",
    }
    assert all(s.file == str(tmp_path / "net.graphml") for s in data.skipped)


@pytest.mark.parametrize("old, new, field, problem", [
    ('<data key="d1">60.39</data>', '<data key="d1">95.0</data>', "geometry",
     "latitude must be in [-90, 90], got 95"),
    ('<data key="d2">5.32</data>', '<data key="d2">NaN</data>', "Longitude",
     "must be finite, got NaN"),
    ('<data key="d4">0</data>', '<data key="d4">-5</data>', "LinkSpeedRaw", "must be >= 0, got -5"),
    ('<data key="d4">0</data>', '<data key="d4">NaN</data>', "LinkSpeedRaw", "must be finite"),
])
def test_bad_values(tmp_path, old, new, field, problem):
    path = _write(tmp_path, TINY.replace(old, new))
    with pytest.raises(InputError) as exc:
        read_graphml(path)
    msg = str(exc.value)
    assert msg.startswith(str(path))
    assert f"field '{field}'" in msg and problem in msg
    where = "edge Oslo--Bergen#2" if field == "LinkSpeedRaw" else "node 1 (label 'Bergen')"
    assert where in msg


def test_non_number_latitude(tmp_path):
    path = _write(tmp_path, TINY.replace('<data key="d1">60.39</data>', '<data key="d1">north</data>'))
    with pytest.raises(InputError, match=r"bad GraphML data value .*'north'") as exc:
        read_graphml(path)
    assert exc.value.file == str(path)


def test_malformed_xml(tmp_path):
    path = _write(tmp_path, TINY.replace("</graph>", ""))
    with pytest.raises(InputError) as exc:
        read_graphml(path)
    assert exc.value.file == str(path)
    assert exc.value.problem.startswith("malformed XML (")
    assert "line" in exc.value.problem


def test_not_graphml(tmp_path):
    path = _write(tmp_path, '<?xml version="1.0"?><html><body/></html>', "page.graphml")
    with pytest.raises(InputError, match=r"page\.graphml: not a GraphML file"):
        read_graphml(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.graphml: file not found"):
        read_graphml(tmp_path / "nope.graphml")


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(InputError, match="is not a file"):
        read_graphml(tmp_path)


def test_label_colliding_with_generated_id(tmp_path):
    # Node 1 has no label (-> "n1"); node 0 is literally labelled "n1".
    text = TINY.replace('<data key="d0">Oslo</data>', '<data key="d0">n1</data>') \
               .replace('<node id="1"><data key="d0">Bergen</data>', '<node id="1">')
    data = read_graphml(_write(tmp_path, text))
    ids = [s.id for s in data.sites]
    assert len(set(ids)) == len(ids)
    assert ids[:2] == ["n1", "n1-1"]
