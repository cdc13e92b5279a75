"""One numba cache folder per version of the sources (twin3d/numba_cache.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from twin3d import numba_cache
from twin3d.numba_cache import configure, source_digest

MODULE = Path(numba_cache.__file__)

CALLEE = "from numba import njit\n\n@njit(cache=True)\ndef f():\n    return {}\n"
CALLER = ("from numba import njit\nfrom .callee import f\n\n"
          "@njit(cache=True)\ndef g():\n    return f() + 10\n")
RUN = textwrap.dedent("""
    import importlib.util, os, sys
    from pathlib import Path
    tmp, mode = Path(sys.argv[1]), sys.argv[2]
    spec = importlib.util.spec_from_file_location("nc", sys.argv[3])
    nc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nc)
    if mode == "digest":
        nc.configure(root=tmp / "pkg", base=tmp / "cache")
    else:
        os.environ["NUMBA_CACHE_DIR"] = str(tmp / "plain")
    sys.path.insert(0, str(tmp))
    from pkg.caller import g
    print(g())
""")


def _package(tmp: Path, value: int) -> None:
    pkg = tmp / "pkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "caller.py").write_text(CALLER)
    callee = pkg / "callee.py"
    callee.write_text(CALLEE.format(value))
    later = time.time() + 10 * value         # a stamp numba cannot take for the old file's
    os.utime(callee, (later, later))


def _g(tmp: Path, mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    out = subprocess.run([sys.executable, "-c", RUN, str(tmp), mode, str(MODULE)], env=env,
                         capture_output=True, text=True, check=True, timeout=120)
    return int(out.stdout.split()[-1])


def test_a_changed_callee_is_never_served_from_its_callers_old_cache(tmp_path):
    """The hazard and its cure: numba's cache checks the caller's own file only, so
    after the callee's file changes a plain cache folder serves the old callee
    inside the cached caller; a folder per source digest compiles afresh."""
    _package(tmp_path, 1)
    assert _g(tmp_path, "plain") == 11 and _g(tmp_path, "digest") == 11
    _package(tmp_path, 2)
    assert _g(tmp_path, "plain") == 11          # stale: numba's own limitation
    assert _g(tmp_path, "digest") == 12
    assert len(list((tmp_path / "cache").iterdir())) == 2       # a folder per version


def test_the_digest_follows_every_byte_and_name(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    first = source_digest(tmp_path)
    assert source_digest(tmp_path) == first and len(first) == 16
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    second = source_digest(tmp_path)
    (tmp_path / "sub" / "b.py").rename(tmp_path / "sub" / "c.py")
    assert len({first, second, source_digest(tmp_path)}) == 3
    (tmp_path / "notes.txt").write_text("not a source")
    assert source_digest(tmp_path) == source_digest(tmp_path)


def test_an_explicit_folder_is_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert configure(base=tmp_path / "base") == str(tmp_path / "mine")
    assert not (tmp_path / "base").exists()


def test_the_folder_is_made_and_old_versions_are_removed(monkeypatch, tmp_path):
    import numba
    monkeypatch.setenv("NUMBA_CACHE_DIR", "")                # unset; restored after
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    base = tmp_path / "base"
    old, recent = base / "oldversion", base / "recentversion"
    for d in (old, recent):
        (d / "sub").mkdir(parents=True)
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    got = configure(base=base)
    assert got == str(base / source_digest()) and Path(got).is_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == got and numba.config.CACHE_DIR == got
    assert recent.exists() and not old.exists()


def test_no_folder_where_none_can_be_made(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", "")
    blocker = tmp_path / "file"
    blocker.write_text("")                   # a file where the folder's parent should be
    assert configure(base=blocker / "numba") is None
    assert os.environ["NUMBA_CACHE_DIR"] == ""


def test_docstring_example():
    import doctest
    res = doctest.testmod(numba_cache)
    assert res.failed == 0 and res.attempted > 0


def _racing_saves(cache_file_class, tmp_path):
    """Two processes' saves of two signatures of one function, interleaved as numba's
    counter-named files let them clobber each other: both read the empty index, A names
    its entry, B names its entry, B writes its code, A writes its code last."""
    from unittest import mock

    tmp_path.mkdir()
    a = cache_file_class(str(tmp_path), "kernel-1.py311", ("stamp", 1))
    b = cache_file_class(str(tmp_path), "kernel-1.py311", ("stamp", 1))
    key_a, key_b = (("float64",), "magic", "code"), (("int64",), "magic", "code")
    postponed = []
    real_save_data = a._save_data
    with mock.patch.object(a, "_load_index", side_effect=dict), \
            mock.patch.object(b, "_load_index", side_effect=dict), \
            mock.patch.object(a, "_save_data", side_effect=lambda n, d: postponed.append((n, d))):
        a.save(key_a, "code of A")
        b.save(key_b, "code of B")
    for name, data in postponed:
        real_save_data(name, data)
    fresh = cache_file_class(str(tmp_path), "kernel-1.py311", ("stamp", 1))
    return {k: fresh.load(k) for k in (key_a, key_b)}


def test_processes_saving_at_once_never_name_each_others_code(tmp_path):
    """A lost race costs a compilation (no entry), never another signature's code."""
    from numba.core.caching import IndexDataCacheFile

    assert numba_cache.harden_numba_cache()
    got = _racing_saves(IndexDataCacheFile, tmp_path / "hardened")
    assert got[(("int64",), "magic", "code")] == "code of B"
    assert got[(("float64",), "magic", "code")] in (None, "code of A")


def test_numbas_own_save_loses_that_race(tmp_path):
    """The same interleaving with numba's counter-named files: B's entry names A's code
    (what the hardened save prevents)."""
    from numba.core.caching import IndexDataCacheFile

    assert numba_cache.harden_numba_cache() and numba_cache.numba_save is not None

    class Plain(IndexDataCacheFile):
        save = numba_cache.numba_save

    got = _racing_saves(Plain, tmp_path / "plain")
    assert got[(("int64",), "magic", "code")] == "code of A"
