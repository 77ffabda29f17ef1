from __future__ import annotations

import os

import pytest

from retrieval.io import atomic_dir, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path) -> None:
    path = tmp_path / "a" / "f.txt"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["f.txt"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "f.txt"
    atomic_write_text(path, "good")

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "half")
    monkeypatch.undo()
    assert path.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_dir_swaps_whole_or_not_at_all(tmp_path) -> None:
    target = tmp_path / "bundle"
    with atomic_dir(target) as tmp:
        (tmp / "manifest.json").write_text("{}")
    assert (target / "manifest.json").exists()
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "manifest.json").write_text('{"half": true}')
        raise RuntimeError("build failed")
    assert (target / "manifest.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_crash_between_the_two_renames_is_recovered(tmp_path) -> None:
    from retrieval.io import recover_interrupted_swap

    target = tmp_path / "bundle"
    with atomic_dir(target) as tmp:
        (tmp / "manifest.json").write_text("{}")
    # the state a crash leaves after the first rename of the swap
    os.replace(target, tmp_path / ".bundle.old-123")
    assert recover_interrupted_swap(target) and (target / "manifest.json").read_text() == "{}"
    assert not recover_interrupted_swap(target)
