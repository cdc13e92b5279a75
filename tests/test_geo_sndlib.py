"""SNDlib native-format reader: values in bit/s and one clear error per bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin3d.errors import InputError
from twin3d.geo.sndlib import read_sndlib

FIXTURE = Path(__file__).parent / "data" / "sndlib" / "abilene_small.txt"
TEXT = FIXTURE.read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    """1-based line of the only line holding ``needle`` (an independent count)."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, needle
    return hits[0]


def _variant(tmp_path: Path, old: str, new: str, text: str = TEXT) -> tuple[Path, str]:
    assert text.count(old) == 1, old
    changed = text.replace(old, new)
    path = tmp_path / "net.txt"
    path.write_text(changed, encoding="utf-8")
    return path, changed


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as exc:
        read_sndlib(path)
    assert exc.value.file == str(path)
    assert str(exc.value).startswith(str(path) + ": ")
    return exc.value


# --- values ------------------------------------------------------------------

def test_fixture_sites():
    data = read_sndlib(FIXTURE)
    assert [s.id for s in data.sites] == ["ATLAM5", "CHINng", "DNVRng", "IPLSng", "KSCYng"]
    dnvr = data.sites[2]
    assert (dnvr.lon, dnvr.lat) == (-105.0, 40.75)
    assert all(s.kind == "pop" and s.height_m == 30.0 for s in data.sites)
    assert data.skipped == []


def test_fixture_link_capacities_in_bps():
    data = read_sndlib(FIXTURE)
    links = {l.id: l for l in data.links}
    assert len(links) == 5
    atl = links["ATLAM5_IPLSng"]
    assert (atl.a, atl.b) == ("ATLAM5", "IPLSng")
    assert atl.capacity_bps == pytest.approx(9920.0 * 1e6)        # 9920.00 Mbit/s
    assert atl.attrs["capacity_source"] == "pre_installed"
    assert atl.attrs["modules"] == [(2480e6, 1200.0), (9920e6, 3100.0)]
    assert atl.attrs["routing_cost"] == 1.0
    assert links["DNVRng_KSCYng"].capacity_bps == pytest.approx(2480e6)
    # pre-installed 0.00: the first module (2480 Mbit/s) is what can be lit
    planned = links["CHINng_DNVRng"]
    assert planned.capacity_bps == pytest.approx(2480e6)
    assert planned.attrs["capacity_source"] == "module"
    assert planned.attrs["setup_cost"] == 500.0
    assert all(l.kind == "fiber" and l.route_lonlat is None for l in data.links)


def test_fixture_demands_in_bps():
    data = read_sndlib(FIXTURE)
    got = {(d.src, d.dst): d.demand_bps for d in data.demands}
    assert got == pytest.approx({
        ("ATLAM5", "CHINng"): 412.5e6,
        ("CHINng", "DNVRng"): 95.25e6,
        ("DNVRng", "ATLAM5"): 30e6,
        ("KSCYng", "IPLSng"): 0.75e6,
    })


def test_fixture_meta():
    meta = read_sndlib(FIXTURE).meta
    assert meta["unit"] == "MBITPERSEC" and meta["unit_bps"] == 1e6
    assert "unit_assumed" not in meta
    assert meta["sndlib_granularity"] == "5min"
    assert meta["sndlib_origin"] == "hand-made after http://sndlib.zib.de abilene, twin3d tests"
    assert meta["network"] == "abilene_small"


@pytest.mark.parametrize("unit, factor", [("GBITPERSEC", 1e9), ("KBITPERSEC", 1e3),
                                          ("BITPERSEC", 1.0), ("gbitpersec", 1e9)])
def test_units(tmp_path, unit, factor):
    path, _ = _variant(tmp_path, "unit = MBITPERSEC", f"unit = {unit}")
    data = read_sndlib(path)
    assert data.links[0].capacity_bps == pytest.approx(9920.0 * factor)
    assert data.demands[0].demand_bps == pytest.approx(412.5 * factor)


def test_no_meta_assumes_mbit(tmp_path):
    start, end = TEXT.index("META ("), TEXT.index("# NODE SECTION")
    path = tmp_path / "net.txt"
    path.write_text(TEXT[:start] + TEXT[end:], encoding="utf-8")
    data = read_sndlib(path)
    assert data.meta["unit_assumed"] is True and data.meta["unit_bps"] == 1e6
    assert data.links[0].capacity_bps == pytest.approx(9920e6)


def test_meta_after_links_still_applies(tmp_path):
    start, end = TEXT.index("META ("), TEXT.index("# NODE SECTION")
    meta = TEXT[start:end].replace("MBITPERSEC", "GBITPERSEC")
    path = tmp_path / "net.txt"
    path.write_text(TEXT[:start] + TEXT[end:] + "\n" + meta, encoding="utf-8")
    assert read_sndlib(path).links[0].capacity_bps == pytest.approx(9920e9)


def test_no_capacity_at_all_gets_default(tmp_path):
    path, _ = _variant(tmp_path, "2480.00 0.00 2.00 0.00 ( 2480.00 1200.00 )",
                       "0.00 0.00 2.00 0.00 ( )")
    link = {l.id: l for l in read_sndlib(path).links}["DNVRng_KSCYng"]
    assert link.capacity_bps == 10e9 and link.attrs["capacity_source"] == "default"


def test_glued_parentheses_and_comments(tmp_path):
    text = ("# compact writing\nNODES(A(10 50)B(11 51))\n"
            "LINKS(L1(A B)100 0 0 0(40 1))# comment)\nDEMANDS(D1(A B)1 5 UNLIMITED)\n")
    path = tmp_path / "compact.txt"
    path.write_text(text, encoding="utf-8")
    data = read_sndlib(path)
    assert [s.id for s in data.sites] == ["A", "B"]
    assert data.links[0].capacity_bps == 100e6 and data.demands[0].demand_bps == 5e6


def test_node_without_coordinates_is_listed(tmp_path):
    path, _ = _variant(tmp_path, "KSCYng ( -96.596704 38.961694 )", "KSCYng")
    data = read_sndlib(path)
    assert "KSCYng" not in {s.id for s in data.sites}
    skipped = [s.feature for s in data.skipped]
    assert skipped[0].startswith("node 'KSCYng'")
    assert sum(f.startswith("link ") for f in skipped) == 2       # IPLSng_KSCYng, DNVRng_KSCYng
    assert sum(f.startswith("demand ") for f in skipped) == 1     # KSCYng_IPLSng
    assert len(data.links) == 3 and len(data.demands) == 3


# --- errors ------------------------------------------------------------------

def test_missing_file(tmp_path):
    err = _error(tmp_path / "none.txt")
    assert err.problem == "file not found"


def test_unknown_node_in_link(tmp_path):
    old = "DNVRng_KSCYng ( DNVRng KSCYng )"
    path, text = _variant(tmp_path, old, "DNVRng_KSCYng ( DNVRng KSCYmo )")
    err = _error(path)
    line = _line_of(text, "DNVRng_KSCYng (")
    assert err.feature == f"section LINKS, line {line} (id 'DNVRng_KSCYng')"
    assert err.field == "target" and err.problem == "unknown node 'KSCYmo'"


def test_unknown_node_in_demand(tmp_path):
    path, text = _variant(tmp_path, "DNVRng_ATLAM5 ( DNVRng ATLAM5 )",
                          "DNVRng_ATLAM5 ( DNVR ATLAM5 )")
    err = _error(path)
    line = _line_of(text, "DNVRng_ATLAM5 (")
    assert err.feature == f"section DEMANDS, line {line} (id 'DNVRng_ATLAM5')"
    assert err.field == "source" and "unknown node 'DNVR'" in err.problem


def test_missing_paren_closing_a_section(tmp_path):
    old = "  KSCYng ( -96.596704 38.961694 )\n)"
    path, text = _variant(tmp_path, old, "  KSCYng ( -96.596704 38.961694 )\n")
    err = _error(path)
    assert f"line {_line_of(text, 'LINKS (')}" in err.feature
    assert f"missing ')' closing the NODES section opened on line {_line_of(text, 'NODES (')}" \
        in err.problem


def test_missing_paren_in_a_record(tmp_path):
    path, text = _variant(tmp_path, "CHINng ( -87.6167 41.8333 )", "CHINng ( -87.6167 41.8333")
    err = _error(path)
    assert err.feature == f"section NODES, line {_line_of(text, 'CHINng ( -87')}"
    assert "missing ')' after the coordinates of node 'CHINng'" in err.problem
    assert f"found 'DNVRng' on line {_line_of(text, 'DNVRng ( -105')}" in err.problem


def test_missing_paren_in_module_list(tmp_path):
    path, text = _variant(tmp_path, "( 9920.00 3100.00 )\n  IPLSng_KSCYng",
                          "( 9920.00 3100.00\n  IPLSng_KSCYng")
    err = _error(path)
    assert err.feature == f"section LINKS, line {_line_of(text, 'CHINng_IPLSng (')}"
    assert "missing ')' closing the module list of link 'CHINng_IPLSng'" in err.problem


def test_missing_paren_at_end_of_file(tmp_path):
    path, text = _variant(tmp_path, "ATLAM5_IPLSng CHINng_IPLSng ) )\n)",
                          "ATLAM5_IPLSng CHINng_IPLSng ) )\n")
    err = _error(path)
    assert "ADMISSIBLE_PATHS" in err.problem and "missing ')'" in err.problem


@pytest.mark.parametrize("old, new, field, problem", [
    ("( ATLAM5 IPLSng ) 9920.00", "( ATLAM5 IPLSng ) ten_gig", "pre_installed_capacity",
     "must be a number, got 'ten_gig'"),
    ("( ATLAM5 IPLSng ) 9920.00", "( ATLAM5 IPLSng ) NaN", "pre_installed_capacity",
     "must be finite"),
    ("( ATLAM5 IPLSng ) 9920.00", "( ATLAM5 IPLSng ) -9920.00", "pre_installed_capacity",
     "must be >= 0, got -9920"),
    ("( 2480.00 1200.00 9920.00 3100.00 )\n  CHINng_IPLSng", "( -2480.00 1200.00 )\n  CHINng_IPLSng",
     "module_capacity", "must be >= 0, got -2480"),
    ("( 2480.00 1200.00 9920.00 3100.00 )\n  CHINng_IPLSng", "( 2480.00 )\n  CHINng_IPLSng",
     "modules", "module list must hold (capacity, cost) pairs"),
])
def test_bad_link_values(tmp_path, old, new, field, problem):
    path, text = _variant(tmp_path, old, new)
    err = _error(path)
    assert err.feature == f"section LINKS, line {_line_of(text, 'ATLAM5_IPLSng (')} (id 'ATLAM5_IPLSng')"
    assert err.field == field and problem in err.problem


@pytest.mark.parametrize("new, problem", [("nan", "must be finite"), ("-1.0", "must be >= 0"),
                                          ("lots", "must be a number")])
def test_bad_demand_value(tmp_path, new, problem):
    path, text = _variant(tmp_path, "( CHINng DNVRng ) 1 95.25", f"( CHINng DNVRng ) 1 {new}")
    err = _error(path)
    assert err.feature == f"section DEMANDS, line {_line_of(text, 'CHINng_DNVRng ( CHINng DNVRng ) 1')} " \
                          "(id 'CHINng_DNVRng')"
    assert err.field == "demand_value" and problem in err.problem


@pytest.mark.parametrize("old, new, section, noun, first", [
    ("  IPLSng ( -86.159535 39.780622 )", "  CHINng ( -86.159535 39.780622 )", "NODES", "node",
     "CHINng ( -87"),
    ("  IPLSng_KSCYng ( IPLSng KSCYng )", "  CHINng_IPLSng ( IPLSng KSCYng )", "LINKS", "link",
     "CHINng_IPLSng ( CHINng"),
    ("  DNVRng_ATLAM5 ( DNVRng", "  ATLAM5_CHINng ( DNVRng", "DEMANDS", "demand",
     "ATLAM5_CHINng ( ATLAM5"),
])
def test_duplicate_ids(tmp_path, old, new, section, noun, first):
    path, text = _variant(tmp_path, old, new)
    err = _error(path)
    second = new.strip()
    assert err.feature == f"section {section}, line {_line_of(text, second)}"
    dup = second.split()[0]
    assert err.problem == f"duplicate {noun} id '{dup}' (first on line {_line_of(text, first)})"


def test_bad_coordinates(tmp_path):
    path, text = _variant(tmp_path, "DNVRng ( -105.00 40.75 )", "DNVRng ( -105.00 95.0 )")
    err = _error(path)
    assert err.feature == f"section NODES, line {_line_of(text, 'DNVRng ( -105')} (id 'DNVRng')"
    assert "latitude must be in [-90, 90]" in err.problem


def test_missing_latitude(tmp_path):
    path, text = _variant(tmp_path, "ATLAM5 ( -84.3833 33.75 )", "ATLAM5 ( -84.3833 )")
    err = _error(path)
    assert err.feature == f"section NODES, line {_line_of(text, 'ATLAM5 ( -84')}"
    assert err.problem == "expected the latitude of node 'ATLAM5', found ')'"


def test_unknown_unit(tmp_path):
    path, text = _variant(tmp_path, "unit = MBITPERSEC", "unit = PACKETS")
    err = _error(path)
    assert err.field == "unit" and "unknown unit 'PACKETS'" in err.problem
    assert err.feature == f"section META, line {_line_of(text, 'META (')}"


def test_unknown_section(tmp_path):
    path, text = _variant(tmp_path, "DEMANDS (", "DEMAND (")
    err = _error(path)
    assert err.feature == f"line {_line_of(text, 'DEMAND (')}"
    assert "expected a section" in err.problem and "'DEMAND'" in err.problem


def test_not_sndlib(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("# nothing here\n", encoding="utf-8")
    assert "no NODES section" in _error(path).problem
