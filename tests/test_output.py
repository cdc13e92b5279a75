"""Atomic output folders: all or nothing."""

from __future__ import annotations

import pytest

from twin3d.output import atomic_dir


def test_success_replaces_old_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with atomic_dir(out) as tmp:
        (tmp / "new.txt").write_text("new")
        assert not (out / "new.txt").exists()      # nothing visible until done
    assert (out / "new.txt").read_text() == "new"
    assert not (out / "old.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]   # no temporary left


def test_failure_leaves_old_folder_and_no_temporary(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "half.usdc").write_text("half")
            raise RuntimeError("writer failed")
    assert sorted(p.name for p in out.iterdir()) == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failure_without_old_folder_creates_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "fresh"):
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
