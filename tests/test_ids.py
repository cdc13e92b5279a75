"""Typed element ids (SANDBOX.md section 1)."""

from __future__ import annotations

import doctest

import pytest

import twin3d.ids
from twin3d.errors import InputError
from twin3d.ids import area_id, cell_id, link_id, parse_cell, parse_id, site_id


def test_doctests():
    assert doctest.testmod(twin3d.ids).failed == 0


def test_round_trip():
    for made, kind, name in ((link_id("F-07"), "link", "F-07"), (site_id("HEL-1"), "site", "HEL-1"),
                             (cell_id("HEL-1", 3), "cell", "HEL-1/3"), (area_id("stadium"), "area", "stadium")):
        assert made == f"{kind}:{name}" and parse_id(made) == (kind, name)
    assert parse_cell(parse_id(cell_id("a/b", 2))[1]) == ("a/b", 2)


@pytest.mark.parametrize("text", ["", "S1", "link:", "node:S1", "cell:S1", "cell:S1/0", "cell:S1/x",
                                  "cell:/1"])
def test_malformed(text):
    with pytest.raises(InputError):
        parse_id(text)
