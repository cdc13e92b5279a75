"""The house: the import graph points down the pipeline, the install ships one
top-level package, and the small CLI promises (``--version``, literal
``[[scenario]]``) hold."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys

import networkx as nx
import pytest

from conftest import CASCADE_TOML, ROOT, write_cascade_scene

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PACKAGE = ROOT / "twin3d"


def _module_name(path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@functools.lru_cache(maxsize=None)
def _imports(path) -> tuple[tuple[str, bool], ...]:
    """(imported twin3d module, at module level?) for every import in a file.

    Cached: the package does not change during a session, and parsing every
    module once per parametrized case cost about a second each.
    """
    tree = ast.parse(path.read_text())
    me = _module_name(path)
    pkg = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    top_level = {id(n) for n in tree.body}
    type_only = {id(n) for block in ast.walk(tree)
                 if isinstance(block, ast.If) and getattr(block.test, "id", "") == "TYPE_CHECKING"
                 for stmt in block.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:       # annotations only, never executed
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("twin3d"):
                found.append((name, id(node) in top_level))
    return tuple(found)


@functools.lru_cache(maxsize=None)
def _graph(module_level_only: bool) -> nx.DiGraph:
    """The import graph of the package, built once per session (frozen: callers share it)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    g = nx.DiGraph()
    for mod, path in files.items():
        g.add_node(mod)
        for name, top in _imports(path):
            if module_level_only and not top:
                continue
            target = name if name in files else name.rsplit(".", 1)[0]
            if target in files and target != mod and not mod.startswith(target + "."):
                g.add_edge(mod, target)
    return nx.freeze(g)


@pytest.mark.parametrize("module_level_only", [True, False])
def test_no_import_cycles(module_level_only):
    """No module imports one that imports it back, not even inside a function
    (package ``__init__`` re-exports aside)."""
    g = _graph(module_level_only)
    packages = {_module_name(p.parent) for p in PACKAGE.rglob("__init__.py")}
    cycles = [c for c in nx.simple_cycles(g) if not packages & set(c)]
    assert cycles == []


@pytest.mark.parametrize("lower, upper", [
    ("twin3d.physics", ("twin3d.sim", "twin3d.usd", "twin3d.viz", "twin3d.app", "twin3d.cli",
                        "twin3d.output", "twin3d.loader")),
    ("twin3d.geo", ("twin3d.model", "twin3d.physics", "twin3d.sim", "twin3d.usd", "twin3d.viz",
                    "twin3d.app")),
    ("twin3d.sim", ("twin3d.usd", "twin3d.viz", "twin3d.app", "twin3d.cli")),
    ("twin3d.usd", ("twin3d.viz", "twin3d.app", "twin3d.cli")),
    ("twin3d.viz", ("twin3d.app", "twin3d.cli")),
    # the AI sandbox sits beside usd, on top of sim: it never draws through viz or the app
    ("twin3d.envs", ("twin3d.viz", "twin3d.app", "twin3d.cli")),
    ("twin3d.sim", ("twin3d.envs",)),
    ("twin3d.usd", ("twin3d.envs",)),
    ("twin3d.physics", ("twin3d.envs",)),
    # incidents and RCA: on top of sim, beside envs (SANDBOX modules never import each other)
    ("twin3d.incidents", ("twin3d.viz", "twin3d.app", "twin3d.cli", "twin3d.envs")),
    ("twin3d.envs", ("twin3d.incidents",)),
    ("twin3d.sim", ("twin3d.incidents",)),
    ("twin3d.physics", ("twin3d.incidents",)),
    # the change guard: on top of sim, beside envs and incidents (which may use it as a
    # safety layer); nothing below it imports it
    ("twin3d.guard", ("twin3d.envs", "twin3d.incidents", "twin3d.viz", "twin3d.app",
                      "twin3d.cli")),
    ("twin3d.sim", ("twin3d.guard",)),
    ("twin3d.physics", ("twin3d.guard",)),
    ("twin3d.geo", ("twin3d.guard",)),
    ("twin3d.model", ("twin3d.guard",)),
    ("twin3d.loader", ("twin3d.guard",)),
    ("twin3d.scene", ("twin3d.guard",)),
    ("twin3d.usd", ("twin3d.guard",)),
])
def test_imports_point_down_the_pipeline(lower, upper):
    """DESIGN.md section 1: app -> viz -> usd -> sim -> physics -> model -> geo, at any depth."""
    g = _graph(module_level_only=False)
    bad = [(a, b) for a, b in g.edges if a.startswith(lower) and b.startswith(upper)]
    assert bad == []


def test_cli_modules_do_not_import_each_other_private_helpers():
    for name in ("cli_export.py", "cli_view.py"):
        for mod, _ in _imports(PACKAGE / name):
            assert not mod.startswith("twin3d.cli."), (name, mod)


def test_install_ships_only_the_twin3d_package():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert cfg["tool"]["setuptools"]["packages"]["find"]["include"] == ["twin3d*"]
    assert not (ROOT / "app" / "__init__.py").exists()
    assert (PACKAGE / "app" / "__init__.py").is_file()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "twin3d", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_version_matches_the_package_metadata():
    from importlib.metadata import version
    res = _cli("--version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"twin3d {version('twin3d')}"


def test_scene_without_scenarios_names_the_table_literally(tmp_path):
    scene = write_cascade_scene(tmp_path)
    scene.write_text(CASCADE_TOML[:CASCADE_TOML.index("[[scenario]]")])
    res = _cli("simulate", str(scene))
    assert res.returncode == 0, res.stderr
    assert "the scene defines no [[scenario]]" in res.stdout
