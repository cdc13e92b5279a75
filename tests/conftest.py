"""Shared fixtures: paths to the bundled data and small scene helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import json

# pytest-xdist (addopts: -n 2): each worker compiles into a numba cache of its
# own, named before anything imports numba. numba's file cache names a
# kernel's overloads by their order in its index, so two processes compiling
# one kernel at once can give two signatures one file, and a later run loads
# the wrong code. The CLIs a worker starts inherit its folder.
# The folder is named by the sources' digest (twin3d/numba_cache.py, loaded
# alone: importing the package would set its own folder), so a changed
# kernel never meets another version's cached callers.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _XDIST_WORKER and not os.environ.get("NUMBA_CACHE_DIR"):
    import importlib.util

    _spec = importlib.util.spec_from_file_location(
        "_twin3d_numba_cache", Path(__file__).resolve().parents[1] / "twin3d" / "numba_cache.py")
    _numba_cache = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_numba_cache)
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(
        tempfile.gettempdir(), f"twin3d-numba-{_numba_cache.source_digest()}", _XDIST_WORKER)

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests draw their examples from the test's own hash, not a new
# random seed per run: CI and a user's run test the same cases (a failing
# case found once stays failing). HYPOTHESIS_PROFILE=explore draws anew.
hypothesis_settings.register_profile("twin3d", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "twin3d"))

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
SCENES = ROOT / "scenes"
HELSINKI_PBF = ASSETS / "helsinki" / "helsinki_center.osm.pbf"
ZOO = ASSETS / "topologyzoo"


_RADIO_CACHE_ENV = "TWIN3D_RADIO_CACHE"      # twin3d.radio_cache.ENV_VAR (read before import)
_own_radio_cache: list[str] = []


def pytest_configure(config):
    """One on-disk radio-map cache for the session (and the CLIs it starts).

    The geometric model costs seconds per Helsinki cell; every test file that
    simulates Helsinki would pay it again. Maps are keyed by everything they
    depend on (twin3d.radio_cache), so sharing them changes no value. A folder
    already named by the variable is used as it is (kept across sessions).
    """
    if not os.environ.get(_RADIO_CACHE_ENV):
        folder = tempfile.mkdtemp(prefix="twin3d-test-radio-")
        _own_radio_cache.append(folder)
        os.environ[_RADIO_CACHE_ENV] = folder
    # tests render with PyVista directly too: triton (with the [rl] extra) before Mesa's
    # LLVM, or a later torch optimizer in the same worker dies (twin3d.offscreen)
    from twin3d.offscreen import load_before_software_gl
    load_before_software_gl()


def pytest_unconfigure(config):
    for folder in _own_radio_cache:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(_RADIO_CACHE_ENV, None)


def helsinki_with_model(folder: Path, model: str) -> Path:
    """A copy of scenes/helsinki.toml in ``folder`` with ``[radio] model`` set (assets in place).

    For tests whose thresholds hold under TR 38.901 ("UMa"), the model the
    scene was tuned with before the geometric model became its default.
    """
    text = (SCENES / "helsinki.toml").read_text(encoding="utf-8")
    assert 'model = "geometric"' in text
    text = text.replace('"../assets', f'"{ASSETS}').replace('model = "geometric"', f'model = "{model}"')
    path = Path(folder) / f"helsinki_{model.lower()}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def helsinki_uma(tmp_path_factory) -> Path:
    """scenes/helsinki.toml with ``model = "UMa"`` (see :func:`helsinki_with_model`)."""
    return helsinki_with_model(tmp_path_factory.mktemp("helsinki-uma"), "UMa")


@pytest.fixture
def cli_in_process(capfd, monkeypatch):
    """Run ``twin3d ARGS`` in this process; returns a ``subprocess.CompletedProcess``.

    The same entry as ``python -m twin3d`` (:func:`twin3d.cli.main`), without the
    second or so a new interpreter and its imports cost each call. Output is
    captured at the file-descriptor level (capfd), so a C library's warning on
    stderr counts as a line, as it would from a subprocess. An exception that
    escapes ``main`` (a traceback from the command line) fails the test.
    Tests of bad input use it; each command keeps at least one real
    ``python -m twin3d`` run elsewhere.
    """
    from twin3d.cli import main

    def _run(*args, cwd: Path = ROOT) -> subprocess.CompletedProcess:
        monkeypatch.chdir(cwd)
        capfd.readouterr()                  # drop what the test printed before
        argv = [str(a) for a in args]
        try:
            main(argv)
            code = 0
        except SystemExit as exc:           # sys.exit's rules for the exit status
            code = exc.code
        got = capfd.readouterr()
        err_text = got.err
        if code is None:
            code = 0
        elif not isinstance(code, int):
            err_text += f"{code}\n"
            code = 1
        return subprocess.CompletedProcess(["twin3d", *argv], code, got.out, err_text)

    return _run


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


#   A ---------- B        direct link, 10 Gbit/s
#   A -- C -- B           6 Gbit/s per span
#   A -- D -- B           3 Gbit/s per span
CASCADE_SITES = {"A": (24.90, 60.20), "B": (25.00, 60.20), "C": (24.95, 60.25), "D": (24.95, 60.15)}
CASCADE_LINKS = [("AB", "A", "B", 10e9), ("AC", "A", "C", 6e9), ("CB", "C", "B", 6e9),
                 ("AD", "A", "D", 3e9), ("DB", "D", "B", 3e9)]
CASCADE_TOML = """
[scene]
name = "cascade"
[[source]]
path = "sites.geojson"
role = "sites"
[[source]]
path = "links.geojson"
role = "links"
[[source]]
path = "demands.csv"
role = "demands"
[traffic]
demand = "file"
routing = "ecmp"
metric = "hops"
trip_utilization = 1.2
[[scenario]]
name = "cut"
steps = 4
profile = "flat"
events = [{ t = 1, kind = "fiber_cut", target = "AB" }, { t = 3, kind = "restore", target = "AB" }]
"""


def feature_collection(features) -> str:
    """A GeoJSON FeatureCollection as text."""
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def write_link_scene(folder: Path, sites: dict, links: list, demands_csv: str, toml: str,
                     name: str) -> Path:
    """A transport scene from sites {id: (lon, lat)}, links [(id, a, b, bps)], demand rows, TOML."""
    (folder / "sites.geojson").write_text(feature_collection(
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(xy)},
         "properties": {"id": k, "kind": "pop"}} for k, xy in sites.items()))
    (folder / "links.geojson").write_text(feature_collection(
        {"type": "Feature", "geometry": None, "properties": {"id": i, "a": a, "b": b, "capacity_bps": c}}
        for i, a, b, c in links))
    (folder / "demands.csv").write_text(demands_csv)
    (folder / name).write_text(toml)
    return folder / name


def write_cascade_scene(folder: Path) -> Path:
    """The hand-worked cascade scene (9 Gbit/s A->B, see CASCADE_LINKS) in ``folder``."""
    return write_link_scene(folder, CASCADE_SITES, CASCADE_LINKS, "src,dst,demand_bps\nA,B,9e9\n",
                            CASCADE_TOML, "cascade.toml")
