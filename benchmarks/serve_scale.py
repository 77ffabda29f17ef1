"""Serving that scales out: ``encore serve --api --workers N`` for N = 1, 2, 4 side by side.

For each N, one run starts the real server (N worker processes on one port over the shared
history store), waits until it is ready, and then ``--clients`` threads play conversations
of two turns (a request, then a follow-up that refines it) for ``--seconds``, each request on
a new connection so that the kernel spreads them over the workers. It reports requests per
second, p50/p99 turn latency, and each worker's memory (from ``/proc/PID/smaps_rollup``:
USS, the pages only that process holds, and PSS, its share of the pages it shares). Then
the memory of loading the bundle copied versus memory-mapped, in ``--procs`` processes at
once (the vectors and the FAISS index are the part mapping shares).

    bash tests/setup/postgres.sh .venv/bin/python benchmarks/serve_scale.py \\
        --bundle /tmp/ml-latest-small-bundle --workers 1,2,4

The store is ENCORE_TEST_POSTGRES_URL when set (the script above starts a throwaway
Postgres), else ``--store-url``. The machine may be shared: the RESULT line carries the
load average.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))
TURNS = [("a dark crime series", "only from the 90s"),
         ("funny films", "shorter than 100 minutes"),
         ("sci-fi movies", "something more recent"),
         ("a thriller", "no horror")]


def memory_of(pid: int) -> dict[str, float]:
    """USS and PSS of one process in MiB (``smaps_rollup``)."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0])
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {"uss": uss / 1024, "pss": fields.get("Pss", 0) / 1024,
            "rss": fields.get("Rss", 0) / 1024}


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True,
                         text=True, check=False).stdout
    # the spawn context's resource tracker is a child too; the workers are the big ones
    pids = [int(line.split()[0]) for line in out.splitlines() if line.strip()]
    return [p for p in pids if memory_of(p)["rss"] > 100]


def post(port: int, path: str, body: dict) -> dict:
    """One call on a new connection; the answer, with the worker's pid under ``_worker``."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(),
                                 {"Content-Type": "application/json", "Connection": "close"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return {**json.loads(resp.read()), "_worker": int(resp.headers["X-Encore-Worker"])}


def warm(port: int, workers: int, each: int = 4, timeout_s: float = 300.0) -> None:
    """Conversations until every worker has answered ``each`` turns (its first turns load
    lazily built parts: the model's first run, masks, caches)."""
    served: dict[int, int] = {}
    deadline = time.monotonic() + timeout_s
    k = 0
    while time.monotonic() < deadline:
        if len(served) >= workers and min(served.values()) >= each:
            return
        first, follow = TURNS[k % len(TURNS)]
        for message in (first, follow):
            pid = post(port, "/chat", {"message": message, "user_id": "warm",
                                       "session_id": f"warm-{k}"})["_worker"]
            served[pid] = served.get(pid, 0) + 1
        k += 1
    raise NotReady(f"workers not all warm after {timeout_s} s: {served}")


class NotReady(RuntimeError):
    """The server did not get ready (or exited) in time."""


def wait_ready(port: int, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise NotReady(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                if json.loads(r.read())["ready"]:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise NotReady(f"not ready after {timeout_s} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load(port: int, clients: int, seconds: float, tag: str) -> tuple[list[float], int]:
    """``clients`` threads of two-turn conversations for ``seconds``: turn latencies (s) and
    how many follow-ups lost their first turn's constraints (must be 0)."""
    latencies: list[float] = []
    lost = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(c: int) -> None:
        k = 0
        while time.monotonic() < stop:
            first, follow = TURNS[(c + k) % len(TURNS)]
            who = {"user_id": f"{tag}-u{c}", "session_id": f"{tag}-c{c}-{k}"}
            t0 = time.perf_counter()
            one = post(port, "/chat", {"message": first, **who})
            t1 = time.perf_counter()
            two = post(port, "/chat", {"message": follow, **who})
            t2 = time.perf_counter()
            kept = two["turn"] == 2 and two["request"]["media_types"] == \
                one["request"]["media_types"]
            with lock:
                latencies.extend([t1 - t0, t2 - t1])
                lost[0] += 0 if kept else 1
            k += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, lost[0]


def run_workers(args: argparse.Namespace, n: int, store_url: str) -> dict:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
           "ENCORE_STORE__URL": store_url}
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--bundle",
                             str(args.bundle), "--api", "--workers", str(n), "--port", str(port),
                             "--startup-timeout", "900"],
                            cwd=REPO, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, proc, args.ready_timeout)
        ready_s = time.monotonic() - t0
        warm(port, n)
        t1 = time.monotonic()
        latencies, lost = load(port, args.clients, args.seconds, f"run{n}")
        wall = time.monotonic() - t1
        mem = [memory_of(p) for p in children(proc.pid)]
    finally:
        t2 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        stop_s = time.monotonic() - t2
    q = statistics.quantiles(latencies, n=100)
    return {"workers": n, "requests": len(latencies), "rps": len(latencies) / wall,
            "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * q[98],
            "lost": lost, "ready_s": ready_s, "stop_s": stop_s,
            "uss_mib": statistics.mean(m["uss"] for m in mem),
            "pss_mib": statistics.mean(m["pss"] for m in mem),
            "total_pss_mib": sum(m["pss"] for m in mem)}


_LOADER = """
import sys, time
from assistant.core import Assistant
from assistant.settings import Settings
bot = Assistant.from_bundle(sys.argv[1], Settings(store={"url": "sqlite://:memory:"}),
                            mmap=sys.argv[2] == "1", verify=False)
bot.recommend("u1", "a dark crime series")
print("ready", flush=True)
time.sleep(600)
"""


def mapped_vs_copied(args: argparse.Namespace) -> list[dict]:
    """``--procs`` processes each loading the bundle (and answering one call), copied and
    then memory-mapped: per-process USS and PSS."""
    return _measure(args, [sys.executable, "-c", _LOADER, str(args.bundle)])


_INDEX_LOADER = """
import sys, time
import numpy as np
from retrieval.index import FaissIndex
index = FaissIndex.load(sys.argv[1], mmap=sys.argv[2] == "1", verify=False)
index.search(np.ones((4, index.dim), dtype="float32"), 10)
print("ready", flush=True)
time.sleep(600)
"""


def mapped_index(args: argparse.Namespace, folder: Path) -> list[dict]:
    """A seeded ``--index-items`` x 384 Flat index loaded by ``--procs`` processes, copied
    and then memory-mapped: what mapping saves per worker on a large catalog."""
    import numpy as np

    from retrieval.index import FaissIndex

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.index_items, 384)).astype("float32")
    index = FaissIndex(384, "Flat")
    index.add([f"i{k}" for k in range(len(x))], x)
    index.save(folder / "index")
    del index, x
    return _measure(args, [sys.executable, "-c", _INDEX_LOADER, str(folder / "index")])


def _measure(args: argparse.Namespace, argv: list[str]) -> list[dict]:
    """USS/PSS of ``--procs`` processes running ``argv + [mmap flag]``, copied then mapped
    (each prints "ready" once loaded and then waits to be killed)."""
    rows = []
    for mmap in (False, True):
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
        procs = [subprocess.Popen([*argv, "1" if mmap else "0"], cwd=REPO, env=env,
                                  text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                 for _ in range(args.procs)]
        try:
            for p in procs:
                assert p.stdout is not None and p.stdout.readline().strip() == "ready"
            mem = [memory_of(p.pid) for p in procs]
        finally:
            for p in procs:
                p.kill()
                p.wait()
        rows.append({"load": "mmap" if mmap else "copy", "procs": args.procs,
                     "uss_mib": statistics.mean(m["uss"] for m in mem),
                     "pss_mib": statistics.mean(m["pss"] for m in mem),
                     "total_pss_mib": sum(m["pss"] for m in mem)})
    return rows


def _table(title: str, rows: list[dict]) -> None:
    print(f"\n| {title} | processes | USS MiB/process | PSS MiB/process | PSS MiB total |")
    print("|---|---|---|---|---|")
    for m in rows:
        print(f"| {m['load']} | {m['procs']} | {m['uss_mib']:.0f} | {m['pss_mib']:.0f} | "
              f"{m['total_pss_mib']:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", type=Path, default=REPO / ".encore" / "bundle")
    parser.add_argument("--workers", default="1,2,4", help="Worker counts, comma-separated.")
    parser.add_argument("--clients", type=int, default=8, help="Concurrent client threads.")
    parser.add_argument("--seconds", type=float, default=30.0, help="Load per worker count.")
    parser.add_argument("--procs", type=int, default=4, help="Processes for the memory run.")
    parser.add_argument("--ready-timeout", type=float, default=900.0,
                        help="Seconds each server has to load and warm up.")
    parser.add_argument("--index-items", type=int, default=100_000,
                        help="Items of the synthetic Flat index of the memory run (0: none).")
    parser.add_argument("--store-url", default=None,
                        help="History store (default: ENCORE_TEST_POSTGRES_URL, else a "
                        "SQLite file in a temporary folder).")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="serve-scale-")
    store = (args.store_url or os.environ.get("ENCORE_TEST_POSTGRES_URL")
             or f"sqlite:///{tmp}/history.sqlite3")
    kind = store.split(":", 1)[0]
    from retrieval.bundle import read_manifest

    items = read_manifest(args.bundle).get("dataset", {}).get("items", "?")
    print(f"bundle {args.bundle} ({items} items), store {kind}, {args.clients} clients, "
          f"{args.seconds:.0f} s per run, {os.cpu_count()} CPUs")
    print("| workers | requests | req/s | p50 ms | p99 ms | lost follow-ups | USS MiB/worker "
          "| PSS MiB/worker | PSS MiB total | ready s | stop s | load avg |", flush=True)
    print("|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    rows = []
    for n in args.workers.split(","):
        try:
            r = run_workers(args, int(n), store)
        except NotReady as exc:  # a row that says so; the other worker counts still run
            print(f"| {n} | {exc} |", flush=True)
            continue
        rows.append(r)
        print(f"| {r['workers']} | {r['requests']} | {r['rps']:.2f} | {r['p50_ms']:.0f} | "
              f"{r['p99_ms']:.0f} | {r['lost']} | {r['uss_mib']:.0f} | {r['pss_mib']:.0f} | "
              f"{r['total_pss_mib']:.0f} | {r['ready_s']:.1f} | {r['stop_s']:.1f} | "
              f"{os.getloadavg()[0]:.1f} |", flush=True)
    mem = mapped_vs_copied(args)
    _table(f"bundle load ({items} items)", mem)
    index_mem = mapped_index(args, Path(tmp)) if args.index_items else []
    if index_mem:
        _table(f"index load ({args.index_items:,} x 384 Flat)", index_mem)
    result = {"store": kind, "items": items,
              "rps": {r["workers"]: round(r["rps"], 2) for r in rows},
              "p50_ms": {r["workers"]: round(r["p50_ms"]) for r in rows},
              "p99_ms": {r["workers"]: round(r["p99_ms"]) for r in rows},
              "lost": sum(r["lost"] for r in rows),
              "uss_mib_copy_vs_mmap": [round(m["uss_mib"]) for m in mem],
              "index_uss_mib_copy_vs_mmap": [round(m["uss_mib"]) for m in index_mem],
              "load_avg": round(os.getloadavg()[0], 2)}
    print("RESULT serve_scale " + json.dumps(result))


if __name__ == "__main__":
    main()
