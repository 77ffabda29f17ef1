"""How soon a new user can chat: time from `encore demo` (no bundle yet) to the first
answered chat turn, and to the tuned model being live.

Starts the real `encore demo` in a child process on a fresh bundle folder and a free port,
asks ``/chat`` (gradio_client) until it answers, then waits for the terminal's "The tuned
model is live" line. The machine may be shared: the RESULT line carries the load average.

Usage:
    PYTHONPATH=$PWD python benchmarks/demo_ready.py [--tuned-timeout 3600] [--no-tuned]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_answer(url: str, started: float, timeout: float) -> tuple[float, float]:
    """(seconds until the page served, seconds until /chat answered)."""
    import httpx
    from gradio_client import Client

    served = None
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                served = time.monotonic() - started
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    if served is None:
        raise TimeoutError(f"{url} did not serve within {timeout:.0f} s")
    client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
    while time.monotonic() - started < timeout:
        try:
            reply = client.predict("a dark crime series", "", "", api_name="/chat")
            if reply.get("recommendations"):
                return served, time.monotonic() - started
        except Exception:  # the page says it is getting ready: ask again
            pass
        time.sleep(1.0)
    raise TimeoutError(f"no answer within {timeout:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answer-timeout", type=float, default=600.0)
    ap.add_argument("--tuned-timeout", type=float, default=3600.0)
    ap.add_argument("--no-tuned", action="store_true", help="stop after the first answer")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="encore-demo-ready-"))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "ENCORE_BUNDLE_DIR": str(work / "bundle"),
           "ENCORE_STORE__URL": f"sqlite:///{work / 'history.sqlite3'}",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    load_before = os.getloadavg()
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "demo", "--port", str(port)],
                            cwd=work, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    lines: list[tuple[float, str]] = []
    tuned = threading.Event()

    def follow() -> None:
        assert proc.stderr is not None  # noqa: S101
        for line in proc.stderr:
            lines.append((time.monotonic() - started, line.rstrip()))
            print(f"[{lines[-1][0]:7.1f} s] {line.rstrip()}", flush=True)
            if "The tuned model is live" in line:
                tuned.set()

    threading.Thread(target=follow, daemon=True).start()
    try:
        served, answered = _first_answer(f"http://127.0.0.1:{port}/", started,
                                         args.answer_timeout)
        ready_line = next((t for t, s in lines if s.startswith("Demo ready at")), None)
        load_answer = os.getloadavg()
        print(f"RESULT demo_first_answer: {answered:.1f} s (page served {served:.1f} s); load "
              f"average {load_answer[0]:.2f} on {os.cpu_count()} cores", flush=True)
        tuned_s = None
        if not args.no_tuned and tuned.wait(args.tuned_timeout):
            tuned_s = time.monotonic() - started
        load_end = os.getloadavg()
    finally:
        proc.terminate()
        proc.wait(10)
    tuned_text = f"{tuned_s:.0f} s" if tuned_s is not None else "not measured"
    print(f"RESULT demo_ready: page served {served:.1f} s, first chat answered {answered:.1f} s "
          f"('Demo ready' printed at {ready_line if ready_line is None else round(ready_line, 1)}"
          f" s), tuned model live {tuned_text}; cores {os.cpu_count()}, load average "
          f"(1/5/15 min) before {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, "
          f"at the answer {load_answer[0]:.2f}, at the end {load_end[0]:.2f}")


if __name__ == "__main__":
    main()
