"""Every example in twin3d's docstrings runs and prints what it says.

The modules are found by walking the package, so a new module's examples
are checked without a line here. Only a module whose import needs an
optional extra that is not installed (stable-baselines3 for ``[rl]``) is
left out, by the name of the missing package.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import twin3d

#: Packages of the optional extras; a module that cannot import one of them is skipped.
OPTIONAL = {"stable_baselines3", "torch", "sionna", "mitsuba", "drjit"}

MODULES = sorted(m.name for m in pkgutil.walk_packages(twin3d.__path__, "twin3d."))


def test_the_walk_finds_the_package():
    assert len(MODULES) > 150
    assert {"twin3d.calibrate_io", "twin3d.physics.geometric.model", "twin3d.envs.vector"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs the optional {exc.name}")
        raise
    result = doctest.testmod(module, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed"
