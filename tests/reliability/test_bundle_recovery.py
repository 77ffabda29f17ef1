"""Issue 14, defect 6: a bundle survives a build killed at any step of the swap, twice.

The driver (``bundle_kills.py`` beside this file) runs in a subprocess: it builds tiny
bundles in forked children that SIGKILL themselves at a named step
(``ENCORE_TEST_CRASH_AT``), loads the bundle after each kill in another child (checking
that loading moved nothing), and builds cleanly at the end, checking that no leftover
remains. Before the pointer-based swap, a kill between the two renames followed by
another during the clean-up loaded a half-deleted folder, loading renamed folders, and
killed builds left temporary folders behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.bundle_store import CRASH_STEPS, MIGRATION_STEPS

DRIVER = Path(__file__).with_name("bundle_kills.py")
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 600


def run_driver(tmp_path: Path, *flags: str) -> dict:
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("ENCORE_TEST_CRASH_AT", None)
    done = subprocess.run([sys.executable, str(DRIVER), str(report), *flags], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(report.read_text())


def assert_survived(report: dict, must_fire: list[str]) -> None:
    bad = [c for c in report["cases"] if c["problems"]]
    assert bad == [], json.dumps(bad[:5], indent=1)
    fired = {c["first"] for c in report["cases"] if c["second"] is None and c["fired"][0]}
    assert set(must_fire) <= fired, f"steps never reached: {sorted(set(must_fire) - fired)}"


def test_a_build_killed_at_every_step_twice_in_a_row_leaves_a_loadable_bundle(
        tmp_path) -> None:
    report = run_driver(tmp_path)
    assert report["steps"] == list(CRASH_STEPS)
    # Per step: the first kill alone, then a second kill at the same step and a clean build.
    assert len(report["cases"]) == 2 * len(CRASH_STEPS)
    assert_survived(report, list(CRASH_STEPS))


def test_a_flat_bundle_survives_kills_at_every_step_of_its_migration(tmp_path) -> None:
    report = run_driver(tmp_path, "--legacy")
    # A flat bundle has nothing to prune or clean inside it on the first build.
    reachable = [s for s in report["steps"]
                 if s not in ("clean-partial", "prune-renamed", "prune-partial")]
    assert set(MIGRATION_STEPS[:5]) <= set(reachable)
    assert_survived(report, reachable)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["generations", "legacy"])
def test_every_pair_of_kill_steps(tmp_path, layout: str) -> None:
    """Kill build 1 at step i and build 2 at step j, for every i and j (a minute or two)."""
    flags = ["--all-pairs"] + (["--legacy"] if layout == "legacy" else [])
    report = run_driver(tmp_path, *flags)
    assert len(report["cases"]) == len(report["steps"]) * (1 + len(report["steps"]))
    assert_survived(report, [s for s in report["steps"] if layout == "generations"
                             or s not in ("clean-partial", "prune-renamed", "prune-partial")])


def test_atomic_dir_never_leaves_a_half_deleted_folder_under_a_recoverable_name(
        tmp_path) -> None:
    """``retrieval.io.atomic_dir`` (the ranker's, index's and statistics' own folders):
    stale ``.old-`` folders beside a complete target are removed, and a replaced folder is
    renamed ``.del-`` before it is deleted, so recovery can only restore a complete one."""
    from retrieval.io import atomic_dir, recover_interrupted_swap

    target = tmp_path / "index"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
    stale = tmp_path / ".index.old-111"  # a crash after the swap, before the delete
    stale.mkdir()
    (stale / "a.txt").write_text("0")
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]
    # A crash between the two renames; a delete cut short beside it, touched later.
    os.replace(target, tmp_path / ".index.old-222")
    (tmp_path / ".index.del-333").mkdir()
    assert recover_interrupted_swap(target) and (target / "a.txt").read_text() == "2"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]
