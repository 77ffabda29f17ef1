"""Reliability under kill -9: bundle builds and history writes killed at random moments,
and concurrent history writers on one SQLite file.

1. **Builds**: ``encore build`` (a real CLI process: a 40-item catalog, the tests' tiny
   random-weight BERT as the encoder, ``--no-finetune --no-ranker``) is SIGKILLed at a
   random moment after its encoder is loaded (it announces "encoding N items"; the moment
   is uniform over the time the previous clean build took from there until it printed the
   bundle's path: the encoding, the index, the manifest, the fsyncs, the swap and the
   pruning; a build that ends before its kill is retried with another moment, at most 4
   times). Then the bundle is loaded
   (``Bundle.load``: it must be the previous bundle, or the new one when the kill came
   after the pointer swap, and loading must move nothing), a clean build runs, and what is
   left beside the live generation and the one before it is counted (``leftovers``).
2. **Writes**: a history writer (``tests/reliability/history_writer.py``) adding events to a
   real SQLite store is SIGKILLed after a random number of acknowledged events plus a random
   few milliseconds; every acknowledged event must be there afterwards and the file must
   open and pass ``PRAGMA integrity_check``.
3. **Concurrent writers**: N processes add M events each to one file at the same time;
   events lost and write errors are counted.

Run (a few minutes on 2 cores; seeded):
    .venv/bin/python benchmarks/reliability_kills.py
    .venv/bin/python benchmarks/reliability_kills.py --builds 3 --writes 3 --writers 4 --events 200

Prints a table and one line ``RESULT {...}`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BUILD_TIMEOUT_S = 300.0


def _catalog(path: Path, n: int) -> None:
    genres = ["drama", "comedy", "science fiction", "horror", "documentary"]
    rows = [{"id": f"i{k}", "title": f"Title number {k}", "media_type": "movie",
             "year": 1980 + k % 40, "genres": [genres[k % 5]]} for k in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _build_cmd(catalog: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "assistant.cli", "build", "--data", str(catalog),
            "--out", str(out), "--no-finetune", "--no-ranker", "--no-progress"]


_ENCODER: list[str] = []  # the tiny model's folder, once built


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENCORE_")}
    return {**env, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
            "ENCORE_RETRIEVAL__ENCODER_MODEL": _ENCODER[0]}


ANCHOR = "- encoding "


def _clean_build(catalog: Path, out: Path) -> float:
    """Run a build to the end; the seconds from its "encoding" step to the moment it prints
    the bundle's path (its work done; the interpreter's exit is not counted)."""
    proc = subprocess.Popen(_build_cmd(catalog, out), env=_env(), cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    writing = done = None
    for line in proc.stdout:
        if writing is None and line.startswith(ANCHOR):
            writing = time.monotonic()
        elif line.strip() == str(out):
            done = time.monotonic()
    if proc.wait(timeout=BUILD_TIMEOUT_S) != 0 or writing is None or done is None:
        raise RuntimeError(f"a clean build of {out} failed")
    return done - writing


def _killed_build(catalog: Path, out: Path, delay: float) -> bool:
    """Start a build, SIGKILL it ``delay`` s after its "encoding" step; True when killed."""
    proc = subprocess.Popen(_build_cmd(catalog, out), env=_env(), cwd=ROOT, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith(ANCHOR):
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc.wait(timeout=BUILD_TIMEOUT_S) == -signal.SIGKILL


def _tree(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p): (p.lstat().st_ino, p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


@dataclass
class BuildKills:
    """One row per killed build, and the totals."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kills(self) -> int:
        return sum(bool(r["killed"]) for r in self.rows)

    @property
    def survived(self) -> int:
        return sum(bool(r["survived"]) for r in self.rows)

    @property
    def leftovers(self) -> int:
        return sum(int(r["leftovers"]) for r in self.rows)


def build_kills(rounds: int, seed: int) -> BuildKills:
    from retrieval.bundle import Bundle
    from retrieval.bundle_store import leftovers

    rng = random.Random(seed)
    result = BuildKills()
    from tests.bundles import build_tiny_model

    with tempfile.TemporaryDirectory(prefix="encore-build-kills-") as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        _ENCODER[:] = [str(build_tiny_model(Path(tmp) / "tiny-model"))]
        out = site / "bundle"
        _catalog(site / "c0.jsonl", 40)
        span = _clean_build(site / "c0.jsonl", out)
        good = 40
        for r in range(rounds):
            n = 41 + r  # each build's catalog has its own size: the loaded one says which
            _catalog(site / f"c{r + 1}.jsonl", n)
            for _ in range(4):
                delay = rng.uniform(0, span)
                if killed := _killed_build(site / f"c{r + 1}.jsonl", out, delay):
                    break
            before = _tree(site)
            error: str | None = None
            try:
                items = len(Bundle.load(out).catalog)
            except Exception as exc:  # noqa: BLE001 - a failed load is what we count
                items, error = None, repr(exc)
            moved = _tree(site) != before
            ok = items in (good, n) and not moved
            which = {good: "previous", n: "new"}.get(items or -1, "neither")
            good = n
            left_by_kill = len(leftovers(out))
            span = _clean_build(site / f"c{r + 1}.jsonl", out)
            left = leftovers(out)
            result.rows.append({"round": r + 1, "delay_s": round(delay, 2), "killed": killed,
                             "loaded_items": items, "loaded": which,
                             "moved": moved, "survived": ok and killed, "error": error,
                                "left_by_kill": left_by_kill,
                             "leftovers": len(left)})
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--builds", type=int, default=9, help="builds killed (default 9)")
    p.add_argument("--writes", type=int, default=7, help="history writers killed (default 7)")
    p.add_argument("--writers", type=int, default=8, help="concurrent writers (default 8)")
    p.add_argument("--events", type=int, default=2000, help="events per writer (default 2000)")
    p.add_argument("--seed", type=int, default=14)
    args = p.parse_args(argv)

    from tests.reliability.store_kills import concurrent_writers, kill_writers

    started = time.monotonic()
    builds = build_kills(args.builds, args.seed)
    print("round  kill at s  killed  loaded bundle  moved  survived  left by kill"
          "  left after next build")
    for r in builds.rows:
        print(f"{r['round']:>5}  {r['delay_s']:>9}  {r['killed']!s:>6}  {r['loaded']:>13}"
              f"  {r['moved']!s:>5}  {r['survived']!s:>8}  {r['left_by_kill']:>12}"
              f"  {r['leftovers']:>21}")
    with tempfile.TemporaryDirectory(prefix="encore-write-kills-") as tmp:
        t0 = time.monotonic()
        writes = kill_writers(Path(tmp) / "history.sqlite3", args.writes, seed=args.seed)
        writes_s = time.monotonic() - t0
    with tempfile.TemporaryDirectory(prefix="encore-writers-") as tmp:
        t0 = time.monotonic()
        conc = concurrent_writers(Path(tmp) / "history.sqlite3", args.writers, args.events)
        conc_s = time.monotonic() - t0
    print()
    print("history store (SQLite, WAL)          kills  acknowledged  lost  errors  integrity  s")
    print(f"writers killed at random moments  {writes.kills:>8}  {writes.acknowledged:>12}"
          f"  {writes.lost:>4}  {writes.errors:>6}  {writes.integrity:>9}  {writes_s:.1f}")
    print(f"{args.writers} writers x {args.events} events at once  {'-':>8}"
          f"  {conc.acknowledged:>12}  {conc.lost:>4}  {conc.errors:>6}  {conc.integrity:>9}"
          f"  {conc_s:.1f}")
    result = {"build_kills": builds.kills, "build_kills_survived": builds.survived,
              "loaded_previous": sum(r["loaded"] == "previous" for r in builds.rows),
              "loaded_new": sum(r["loaded"] == "new" for r in builds.rows),
              "leftovers_left_by_kills": sum(int(r["left_by_kill"]) for r in builds.rows),
              "leftovers_after_next_build": builds.leftovers,
              "write_kills": writes.kills, "write_events_acknowledged": writes.acknowledged,
              "write_events_lost": writes.lost, "write_errors": writes.errors,
              "store_integrity": writes.integrity,
              "concurrent_writers": args.writers, "concurrent_events": args.writers * args.events,
              "concurrent_acknowledged": conc.acknowledged, "concurrent_lost": conc.lost,
              "concurrent_errors": conc.errors,
              "concurrent_events_per_s": round(conc.acknowledged / conc_s) if conc_s else None,
              "seconds": round(time.monotonic() - started, 1)}
    print("RESULT " + json.dumps(result))
    ok = (builds.survived == builds.kills == args.builds
          and builds.leftovers == 0 and writes.lost == 0
          and conc.lost == 0 and conc.errors == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
