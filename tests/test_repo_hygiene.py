"""The tests stand on the repository alone: no oracle outside it, no skipped core dependency."""

from __future__ import annotations

import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from conftest import ROOT

TESTS = sorted(p for p in (ROOT / "tests").rglob("*.py") if p.name != "test_repo_hygiene.py")


def _core_modules() -> set[str]:
    """Import names of the [project] dependencies (distribution name, normalised)."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].strip().lower() for d in deps}
    known = {"usd-core": "pxr", "usd-validation-nvidia": "omni", "pyogrio": "pyogrio"}
    return {known.get(n, n.replace("-", "_")) for n in names}


def test_no_test_reads_a_file_outside_the_repository():
    outside = re.compile(r"""["'](/work/|/home/|/tmp/|\.\./shared|\.\./\.\.)""")
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in TESTS
            for i, line in enumerate(p.read_text().splitlines(), 1) if outside.search(line)]
    assert hits == []


def test_core_dependencies_are_imported_not_skipped():
    core = _core_modules()
    assert {"pyvista", "trame_vtk", "trame_pyvista", "pxr", "networkx"} <= core
    skipped = []
    for p in TESTS:
        for i, line in enumerate(p.read_text().splitlines(), 1):
            m = re.search(r"importorskip\(\s*[\"']([\w.]+)", line)
            if m and m.group(1).split(".")[0] in core:
                skipped.append(f"{p.relative_to(ROOT)}:{i} {m.group(1)}")
    assert skipped == []
