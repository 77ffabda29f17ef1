"""``encore serve --api --workers 2`` for real: two worker processes on one port over a shared
store (a SQLite file, and Postgres when ENCORE_TEST_POSTGRES_URL is set), turns of one
session answered by different workers, and every process gone after SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(port: int, path: str, body: dict | None = None) -> dict:
    """One request on a new connection (a kept-alive one would stay on one worker); the
    answer, with the pid of the worker that answered under ``"_worker"``."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 headers={"Content-Type": "application/json",
                                          "Connection": "close"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        out = json.loads(resp.read())
        worker = int(resp.headers["X-Encore-Worker"])
    return {"_worker": worker, **out} if isinstance(out, dict) else {"_worker": worker}


def wait_ready(port: int, proc: subprocess.Popen | None, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}: "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        try:
            if call(port, "/healthz")["ready"]:
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"not ready on port {port} after {timeout_s} s")


def follow_ups_across(port: int, sessions: int) -> list[tuple[int, int]]:
    """Turn 1 and its follow-up for each of ``sessions`` sessions; the pids that answered.
    Each follow-up must refine its own turn 1, whichever worker answered it."""
    pids = []
    for k in range(sessions):
        who = {"user_id": f"u{k}", "session_id": f"s{k}"}
        one = call(port, "/chat", {"message": "a dark crime series", **who})
        two = call(port, "/chat", {"message": "only from the 90s", **who})
        assert (one["turn"], two["turn"]) == (1, 2)
        assert two["request"]["media_types"] == ["series"]
        assert (two["request"]["year_min"], two["request"]["year_max"]) == (1990, 1999)
        pids.append((one["_worker"], two["_worker"]))
    return pids


def test_two_workers_share_sessions_and_stop_on_sigterm(demo_bundle_path: Path,
                                                        one_shared_store_url: str) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
           "ENCORE_STORE__URL": one_shared_store_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--bundle", str(demo_bundle_path),
         "--api", "--workers", "2", "--port", str(port), "--startup-timeout", "200"],
        cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(port, proc, 240)
        pairs = follow_ups_across(port, 12)
        workers = {pid for pair in pairs for pid in pair}
        assert len(workers) == 2, pairs  # both workers answered
        assert any(a != b for a, b in pairs), pairs  # a follow-up on the other worker
        children = _children(proc.pid)
        assert workers <= set(children)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0
    assert not [w for w in workers if _running(w)], "workers left running"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited (its parent reaps it)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True, check=False).stdout
    return [int(x) for x in out.split()]
