"""Shared fixtures: paths to the bundled data and small scene helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
SCENES = ROOT / "scenes"
HELSINKI_PBF = ASSETS / "helsinki" / "helsinki_center.osm.pbf"
ZOO = ASSETS / "topologyzoo"


@pytest.fixture
def write_scene(tmp_path):
    """Write a scene TOML (and any small files) into tmp_path; returns its path."""

    def _write(text: str, files: dict[str, str] | None = None, name: str = "scene.toml") -> Path:
        for rel, content in (files or {}).items():
            p = tmp_path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content, encoding="utf-8")
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return _write
