"""Load: concurrent clients holding real conversations against one Encore server.

Each client is a thread that holds multi-turn conversations (its own user and session) for
a bounded time, back to back, with no think time. The figures are turns per second over the
whole run, and each turn's latency (p50, p99, max), with the errors counted and named.

``--via api`` calls ``Assistant.chat`` from the threads (the Python API, one process);
``--via http`` starts the Gradio app on 127.0.0.1 and each client calls its ``/chat``
endpoint through ``gradio_client`` (the page's own path: queue, events, JSON).

The bundle is the one given with ``--bundle`` (the demo bundle, ``.encore/bundle``, by
default); without one, a tiny test bundle is built in a temporary folder first.

Run (2 CPU cores; about 1 minute per mode at --seconds 30):
    .venv/bin/python benchmarks/reliability_load.py
    .venv/bin/python benchmarks/reliability_load.py --clients 8 --seconds 60 --via api,http
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

CONVERSATIONS = [
    ["something like Arrival but lighter, no horror", "shorter", "only series now",
     "not the second one"],
    ["a podcast about space for a 40-minute drive", "more like the first one",
     "something from the 2010s"],
    ["90s sci-fi films under 2 hours", "newer", "what's trending in films"],
    ["a 2-hour playlist of chill electronic music", "upbeat jazz albums"],
    ["funny series with short episodes", "no animation", "in Korean"],
]

Ask = Callable[[str, str, str], object]


def _client(ask: Ask, client: int, users: list[str], deadline: float,
            times: list[float], errors: Counter, lock: threading.Lock) -> None:
    """One client: conversations back to back until ``deadline`` (monotonic)."""
    n = 0
    while time.monotonic() < deadline:
        conv = CONVERSATIONS[(client + n) % len(CONVERSATIONS)]
        session, user = f"load-{client}-{n}", users[(client * 7 + n) % len(users)]
        n += 1
        for message in conv:
            if time.monotonic() >= deadline:
                return
            t = time.perf_counter()
            try:
                ask(session, user, message)
            except Exception as exc:  # counted and named: the load must not hide a failure
                with lock:
                    errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
                continue
            with lock:
                times.append((time.perf_counter() - t) * 1000.0)


def run_load(ask: Ask, users: list[str], clients: int, seconds: float) -> dict:
    """Run ``clients`` threads for ``seconds`` and return the figures."""
    times: list[float] = []
    errors: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=_client, daemon=True,
                                args=(ask, c, users, deadline, times, errors, lock))
               for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120.0)  # bounded: a turn stuck past two minutes is reported
    wall = time.perf_counter() - start
    stuck = sum(t.is_alive() for t in threads)
    arr = np.asarray(times) if times else np.asarray([float("nan")])
    return {"clients": clients, "seconds": round(wall, 1), "turns": len(times),
            "turns_per_s": round(len(times) / wall, 2),
            "p50_ms": round(float(np.percentile(arr, 50)), 1),
            "p99_ms": round(float(np.percentile(arr, 99)), 1),
            "max_ms": round(float(arr.max()), 1), "errors": sum(errors.values()),
            "error_kinds": dict(errors.most_common(5)), "stuck_clients": stuck}


def _bundle(path: str | None, tmp: Path) -> Path:
    if path and Path(path).exists():
        return Path(path)
    from tests.bundles import build_demo_bundle

    print("no bundle given or found: building a tiny test bundle ...", flush=True)
    return build_demo_bundle(tmp)


def _api(bot) -> Ask:
    return lambda session, user, message: bot.chat(session, user, message)


def _http(bot, tmp: Path) -> tuple[Ask, Callable[[], None]]:
    """Start the page on 127.0.0.1 and return a ``/chat`` caller (one client per thread)."""
    import socket

    from gradio_client import Client

    from assistant.ui import launch

    with socket.socket() as sock:  # a free port on the loopback interface
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = launch(bot, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    url = app.local_url
    local = threading.local()

    def ask(session: str, user: str, message: str) -> object:
        if not hasattr(local, "client"):
            local.client = Client(url, verbose=False)
        return local.client.predict(message, user, session, api_name="/chat")

    return ask, app.close


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default=".encore/bundle")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--via", default="api", help="comma list of api,http")
    args = parser.parse_args(argv)
    from assistant.core import Assistant
    from assistant.settings import Settings
    from assistant.store import open_store

    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bundle = _bundle(args.bundle, tmp)
        for via in args.via.split(","):
            store = open_store(f"sqlite:///{tmp / f'{via}.sqlite3'}")
            bot = Assistant.from_bundle(bundle, Settings(), store=store)
            users = bot.users(50)
            stop: Callable[[], object] = lambda: None  # noqa: E731
            if via == "http":
                ask, stop = _http(bot, tmp)
            else:
                ask = _api(bot)
            run_load(ask, users, 2, 5.0)  # warm-up: models loaded, code paths run
            row = {"via": via, "bundle": str(bundle),
                   **run_load(ask, users, args.clients, args.seconds)}
            stop()
            bot.close()
            rows.append(row)
            print(f"{via:5s} clients={row['clients']} turns={row['turns']} "
                  f"turns/s={row['turns_per_s']} p50={row['p50_ms']} ms "
                  f"p99={row['p99_ms']} ms max={row['max_ms']} ms errors={row['errors']} "
                  f"stuck={row['stuck_clients']}", flush=True)
    print("RESULT " + json.dumps(rows))


if __name__ == "__main__":
    main()
