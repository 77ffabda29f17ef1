"""Kill history writers at random moments, and run writers side by side, on one SQLite file.

Shared by ``test_store_kills.py`` (small, bounded) and ``benchmarks/reliability_kills.py``
(larger). Writers are real processes running ``history_writer.py``; what they acknowledge
(printed after the commit) is compared with what the store holds afterwards.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

WRITER = Path(__file__).with_name("history_writer.py")
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0


@dataclass
class Tally:
    """What a run of writers did and what the store kept."""

    kills: int = 0
    acknowledged: int = 0
    lost: int = 0
    errors: int = 0
    stored: int = 0
    integrity: str = ""
    opens: bool = False
    details: list[str] = field(default_factory=list)


def _spawn(url: str, writer: str, n: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(WRITER), url, writer, str(n)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)


def _read_lines(proc: subprocess.Popen[str], acked: set[str], errors: list[str],
                until_acks: int | None = None, timeout_s: float = START_TIMEOUT_S) -> None:
    """Read the writer's lines until it ends, or until it acknowledged ``until_acks``."""
    assert proc.stdout is not None
    timer = threading.Timer(timeout_s, proc.kill)  # a hung writer never hangs the test
    timer.start()
    try:
        for line in proc.stdout:
            kind, _, rest = line.strip().partition(" ")
            if kind == "ACK":
                acked.add(rest)
                if until_acks is not None and len(acked) >= until_acks:
                    return
            elif kind == "ERR":
                errors.append(rest)
    finally:
        timer.cancel()


def check(path: Path, acked: dict[str, set[str]], tally: Tally) -> Tally:
    """Open the store, check its integrity and count acknowledged events that are gone."""
    sys.path.insert(0, str(ROOT))
    from assistant.store import open_store

    with open_store(f"sqlite:///{path}") as store:
        tally.opens = True
        for writer, items in acked.items():
            kept = {e.item_id for e in store.events(f"user-{writer}")}
            tally.stored += len(kept)
            gone = items - kept
            tally.lost += len(gone)
            tally.details += [f"writer {writer}: lost {sorted(gone)[:5]}"] if gone else []
    conn = sqlite3.connect(path)
    try:
        tally.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    tally.acknowledged = sum(len(v) for v in acked.values())
    return tally


def kill_writers(path: Path, rounds: int, *, seed: int = 0, max_acks: int = 300) -> Tally:
    """Start a writer, SIGKILL it after a random number of acknowledged events plus a
    random few milliseconds (so that kills land inside transactions too), ``rounds``
    times over the same file; then check the file."""
    rng = random.Random(seed)
    url = f"sqlite:///{path}"
    acked: dict[str, set[str]] = {}
    errors: list[str] = []
    tally = Tally()
    for r in range(rounds):
        writer = f"k{r}"
        acked[writer] = set()
        proc = _spawn(url, writer, 1_000_000)
        try:
            _read_lines(proc, acked[writer], errors, until_acks=rng.randint(1, max_acks))
            time.sleep(rng.uniform(0, 0.02))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            tally.kills += proc.returncode == -signal.SIGKILL
            _read_lines(proc, acked[writer], errors)  # lines printed before the kill
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
    tally.errors = len(errors)
    return check(path, acked, tally)


def concurrent_writers(path: Path, writers: int, events: int) -> Tally:
    """``writers`` processes add ``events`` events each to one file at the same time."""
    url = f"sqlite:///{path}"
    acked: dict[str, set[str]] = {f"c{w}": set() for w in range(writers)}
    errors: list[str] = []
    procs = {w: _spawn(url, w, events) for w in acked}
    readers = [threading.Thread(target=_read_lines, args=(p, acked[w], errors),
                                kwargs={"timeout_s": 600.0}) for w, p in procs.items()]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    tally = Tally()
    for p in procs.values():
        p.wait(timeout=60)
        for stream in (p.stdout, p.stderr):
            if stream is not None:
                stream.close()
        if p.returncode != 0:
            tally.details.append(f"a writer exited with {p.returncode}")
    tally.errors = len(errors)
    tally.details += errors[:5]
    check(path, acked, tally)
    tally.lost += writers * events - tally.acknowledged - tally.errors  # never answered
    return tally
