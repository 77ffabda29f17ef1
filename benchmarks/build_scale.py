"""Benchmark `encore build` as the catalog grows: each step's time and peak memory, so the
next bottleneck is visible.

For each size (items; events = ``--events-per-item`` x items) it generates a SYNTHETIC data
set with ``encore data generate`` (timed), runs the single-process ``encore build
--no-finetune --json`` on it in a child process (the step events stream on its stderr), and
prints one table row per step: seconds, the step's peak resident memory, what it counted and
its rate, and the load average when it ended. A watchdog stops a build past ``--timeout``
seconds or ``--max-rss-gb`` (the machine is shared) and says which step it reached, how far,
at what rate, and the time that step still needed at that rate. With ``--score-users N`` a
finished bundle's top-10 lists are scored against the planted structure
(:mod:`eval.planted`). ``--encoder tiny`` swaps MiniLM for the tests' tiny random BERT, to
time every other step at sizes where encoding with MiniLM would take hours.

Examples:
    .venv/bin/python benchmarks/build_scale.py --sizes 10000,100000
    .venv/bin/python benchmarks/build_scale.py --sizes 1000000 --timeout 1500 --max-rss-gb 8
    .venv/bin/python benchmarks/build_scale.py --sizes 100000,1000000 --encoder tiny
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # degrade gracefully on a shared CPU
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class Run:
    """One child process: its exit, peak memory, wall time and the JSON events it wrote."""

    rc: int | None = None
    stopped: str = ""
    seconds: float = 0.0
    peak_mb: float = 0.0
    stdout: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    loads: dict[str, float] = field(default_factory=dict)  # step -> 1-min load at its end
    current: str = ""  # the step in progress
    step_peak: dict[str, float] = field(default_factory=dict)  # step -> peak of all processes


def _mem_mb(p: int, pss: bool) -> float:
    """With ``pss`` a process's proportional set size (shared pages such as Ray's object
    store split between the processes that map them, so a sum over processes counts them
    once; the kernel walks the process's pages for it: seconds of CPU a minute for a build
    of several GiB), else or where the kernel gives none its resident size; MiB."""
    sources = ((f"/proc/{p}/smaps_rollup", "Pss:"),) if pss else ()
    for name, key in (*sources, (f"/proc/{p}/status", "VmRSS:")):
        try:
            text = Path(name).read_text()
            return next(int(x.split()[1]) for x in text.splitlines()
                        if x.startswith(key)) / 1024.0
        except (OSError, StopIteration, ValueError):
            continue
    return 0.0


def _tree_rss_mb(pid: int, extra: set[int] | None = None) -> float:
    """Memory of a process, its children and the ``extra`` processes (a Ray cluster's and
    theirs), MiB, from /proc (PSS: see :func:`_mem_mb`)."""
    total = 0.0
    pids, seen = [pid, *(extra or ())], set()
    while pids:
        p = pids.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _mem_mb(p, pss=extra is not None)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
            pids.extend(int(k) for k in kids)
        except (OSError, ValueError):
            continue
    return total


def _read_events(stream: Any, run: Run, started: float) -> None:
    for line in stream:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        event["_at"] = time.monotonic() - started  # when it came, from the child's start
        run.events.append(event)
        if event.get("event") == "step_start":
            run.current = event["step"]
        if event.get("event") == "step_end":
            run.loads[event["step"]] = os.getloadavg()[0]


def watch(cmd: list[str], *, timeout: float, max_rss_mb: float,
          env: dict[str, str] | None = None, extra: Any = None) -> Run:
    """Run ``cmd``, reading JSON events from its stderr; stop it past ``timeout`` seconds or
    ``max_rss_mb`` resident (its whole process tree, and the processes ``extra()`` names:
    the Ray cluster it builds on)."""
    run = Run()
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, cwd=ROOT,
                            start_new_session=True)
    reader = threading.Thread(target=_read_events, args=(proc.stderr, run, started),
                              daemon=True)
    reader.start()
    out: list[str] = []
    out_reader = threading.Thread(target=lambda: out.extend(proc.stdout or []), daemon=True)
    out_reader.start()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            run.rc = os.waitstatus_to_exitcode(status)
            run.peak_mb = max(run.peak_mb, usage.ru_maxrss / 1024.0)
            proc.returncode = run.rc
            break
        rss = _tree_rss_mb(proc.pid, extra() if extra is not None else None)
        run.peak_mb = max(run.peak_mb, rss)
        if run.current:
            run.step_peak[run.current] = max(run.step_peak.get(run.current, 0.0), rss)
        elapsed = time.monotonic() - started
        if elapsed > timeout or rss > max_rss_mb:
            run.stopped = (f"timeout after {elapsed:.0f} s" if elapsed > timeout
                           else f"memory {rss:,.0f} MiB over the {max_rss_mb:,.0f} MiB cap")
            os.killpg(proc.pid, 9)
        time.sleep(2.0)
    run.seconds = time.monotonic() - started
    reader.join(5)
    out_reader.join(5)
    run.stdout = "".join(out)
    return run


def _python() -> str:
    return sys.executable


def generate(size: int, events: int, folder: Path, seed: int, *, timeout: float,
             max_rss_mb: float) -> Run:
    cmd = [_python(), "-m", "assistant.cli", "data", "generate", "--items", str(size),
           "--events", str(events), "--seed", str(seed), "--out", str(folder), "--json"]
    return watch(cmd, timeout=timeout, max_rss_mb=max_rss_mb,
                 env={"PYTHONPATH": str(ROOT)})


def build(data: Path, out: Path, *, encoder: str | None, ranker: bool, timeout: float,
          max_rss_mb: float, max_seq_length: int = 128, address: str | None = None,
          extra: Any = None, backend: str | None = None) -> Run:
    """``encore build`` of ``data`` in a child process: on one process, or with ``address``
    on that Ray cluster (``--engine ray``)."""
    cmd = [_python(), "-m", "assistant.cli", "build", "--data", str(data), "--out", str(out),
           "--no-finetune", "--json", "--ranker" if ranker else "--no-ranker",
           "--max-seq-length", str(max_seq_length)]
    if address:
        cmd += ["--engine", "ray", "--address", address]
    env = {"PYTHONPATH": str(ROOT)}
    if encoder:
        env["ENCORE_RETRIEVAL__ENCODER_MODEL"] = encoder
    if backend:
        env["ENCORE_RETRIEVAL__ENCODER_BACKEND"] = backend
    return watch(cmd, timeout=timeout, max_rss_mb=max_rss_mb, env=env, extra=extra)


_SCORE = """
import json, sys
from eval.planted import bundle_top_lists, planted_score
from retrieval.synthetic_large import load_truth
lists = bundle_top_lists(sys.argv[1], users=int(sys.argv[3]))
s = planted_score(lists, load_truth(sys.argv[2]))
print(json.dumps(s.__dict__))
"""


def score(bundle: Path, data: Path, users: int, *, timeout: float, max_rss_mb: float
          ) -> dict[str, Any] | None:
    run = watch([_python(), "-c", _SCORE, str(bundle), str(data), str(users)],
                timeout=timeout, max_rss_mb=max_rss_mb, env={"PYTHONPATH": str(ROOT)})
    if run.rc != 0 or not run.stdout.strip():
        return None
    out: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    out["seconds"] = round(run.seconds, 1)
    return out


# ---------------------------------------------------------------- the report


def step_rows(run: Run) -> list[dict[str, Any]]:
    """One row per finished step (from the step_end events), plus where a stopped build was:
    its step in progress, how far, its rate and the time it still needed at that rate."""
    rows: list[dict[str, Any]] = []
    for ev in run.events:
        if ev.get("event") == "step_end":
            rows.append({"step": ev["step"], "seconds": ev.get("seconds"),
                         "peak_mb": ev.get("peak_rss_mb"),
                         "all_mb": run.step_peak.get(ev["step"]),
                         "done": ev.get("done") or None,
                         "total": ev.get("total") or None, "load": run.loads.get(ev["step"])})
    started = [ev["step"] for ev in run.events if ev.get("event") == "step_start"]
    ended = {r["step"] for r in rows}
    open_steps = [s for s in started if s not in ended]
    if run.rc != 0 and open_steps:
        step = open_steps[-1]
        last: dict[str, Any] = next((ev for ev in reversed(run.events)
                     if ev.get("event") == "progress" and ev.get("step") == step), {})
        start = next(ev for ev in run.events
                     if ev.get("event") == "step_start" and ev["step"] == step)
        rows.append({"step": step + " (stopped)",
                     "seconds": round(run.seconds - start["_at"], 1),
                     "peak_mb": run.peak_mb,  # the watchdog's: the whole build so far
                     "all_mb": run.step_peak.get(step),
                     "done": last.get("done"), "total": last.get("total"),
                     "per_s": last.get("per_s"), "left_s": last.get("left_s"),
                     "load": os.getloadavg()[0]})
    return rows


def _fmt(v: Any, spec: str = ",.0f") -> str:
    return "-" if v is None else format(v, spec)


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"\n{'items':>9} {'events':>11} {'step':<18} {'seconds':>9} {'peak MiB':>9} "
          f"{'all MiB':>9} {'done/total':>21} {'per s':>8} {'load':>5}")
    for res in results:
        for row in res["rows"]:
            per_s = row.get("per_s")
            if per_s is None and (row.get("total") or 0) > 1 and row.get("seconds"):
                per_s = row["done"] / row["seconds"]
            count = (f"{row['done']:,}/{row['total']:,}" if row.get("done") is not None
                     and row.get("total") else "")
            print(f"{res['items']:>9,} {res['events']:>11,} {row['step']:<18} "
                  f"{_fmt(row.get('seconds'), ',.1f'):>9} {_fmt(row.get('peak_mb')):>9} "
                  f"{_fmt(row.get('all_mb')):>9} {count:>21} {_fmt(per_s, ',.1f'):>8} "
                  f"{_fmt(row.get('load'), '.1f'):>5}")
            if row.get("left_s"):
                print(f"{'':>22} ... that step needed about {row['left_s'] / 60:,.0f} more "
                      f"min at that rate")
        if res.get("stopped"):
            print(f"{'':>22} build stopped: {res['stopped']}")
        if res.get("planted"):
            print(f"{'':>22} planted structure: {res['planted']}")


def run_size(size: int, args: argparse.Namespace, work: Path, encoder: str | None,
             cluster: Any = None) -> dict[str, Any]:
    events = size * args.events_per_item
    data, out = work / f"data-{size}", work / f"bundle-{size}"
    cap = args.max_rss_gb * 1024
    res: dict[str, Any] = {"items": size, "events": events, "rows": []}
    if args.data:  # a data set generated before (encore data generate)
        data = Path(args.data)
    else:
        gen = generate(size, events, data, args.seed, timeout=args.timeout, max_rss_mb=cap)
        res["rows"].append({"step": "generate", "seconds": round(gen.seconds, 1),
                            "peak_mb": gen.peak_mb, "load": os.getloadavg()[0]})
        if gen.rc != 0:
            res["stopped"] = gen.stopped or f"generate failed (exit {gen.rc})"
            return res
    extra = None
    if cluster is not None:
        from retrieval.distributed.local_cluster import _pids_naming

        root = str(cluster.root)
        extra = lambda: _pids_naming(root)  # noqa: E731 (the cluster's processes)
    run = build(data, out, encoder=encoder, ranker=args.ranker, timeout=args.timeout,
                max_rss_mb=cap, max_seq_length=args.max_seq_length,
                address=cluster.address if cluster is not None else None, extra=extra,
                backend=args.encoder_backend)
    res["rows"] += step_rows(run)
    res["build_seconds"] = round(run.seconds, 1)
    res["build_peak_mb"] = round(run.peak_mb)
    if run.rc != 0:
        res["stopped"] = run.stopped or f"build failed (exit {run.rc})"
    elif args.score_users:
        res["planted"] = score(out, data, args.score_users, timeout=args.timeout,
                               max_rss_mb=cap)
    if not args.keep:
        if not args.data:
            shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    return res


def _encoder(name: str, work: Path) -> str | None:
    """The encoder folder to build with (``None``: the default model)."""
    if name == "minilm":
        return None
    if name not in ("tiny", "static-tiny"):
        return name
    from tests.bundles import build_tiny_model

    tiny = build_tiny_model(work / "tiny-model")
    if name == "tiny":
        return str(tiny)
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, StaticEmbedding
    from tokenizers import Tokenizer

    folder = work / "static-tiny"
    if not (folder / "modules.json").is_file():
        import torch

        torch.manual_seed(0)
        emb = StaticEmbedding(Tokenizer.from_file(str(tiny / "tokenizer.json")),
                              embedding_dim=32)
        SentenceTransformer(modules=[emb, Normalize()]).save(str(folder))
    return str(folder)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,100000", help="catalog sizes, comma-separated")
    p.add_argument("--events-per-item", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=1500, help="seconds per build")
    p.add_argument("--max-rss-gb", type=float, default=8.0, help="memory cap per child")
    p.add_argument("--encoder", default="minilm",
                   help="minilm (the default model), tiny (the tests' random BERT), "
                        "static-tiny (a random static embedding over the tiny BERT's "
                        "tokenizer: the fastest encoder, for timing the other steps) or a "
                        "folder")
    p.add_argument("--encoder-backend", default=None,
                   choices=["torch", "onnx", "onnx-int8", "static"],
                   help="retrieval.encoder_backend of the build (static: the encoder "
                        "distilled into token vectors, the fast one for a million items)")
    p.add_argument("--max-seq-length", type=int, default=128,
                   help="the encoder's token limit (encore build --max-seq-length)")
    p.add_argument("--data", default=None,
                   help="build this data folder (made before by encore data generate) "
                        "instead of generating one; with one size only")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="ray: a cluster of --nodes local nodes of one CPU each, started "
                        "before the build's timer (encore build --engine ray --address); "
                        "its processes' memory counts in the 'all MiB' column")
    p.add_argument("--nodes", type=int, default=2, help="Ray nodes (with --engine ray)")
    p.add_argument("--object-store-mb", type=int, default=1024,
                   help="object store per Ray node, MB")
    p.add_argument("--ranker", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--score-users", type=int, default=0,
                   help="score this many users' top-10 against the planted structure")
    p.add_argument("--workdir", default=None, help="where data and bundles go (default: tmp)")
    p.add_argument("--keep", action="store_true", help="keep the data sets and bundles")
    args = p.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="encore-build-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    encoder = _encoder(args.encoder, work)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.data and len(sizes) != 1:
        p.error("--data builds one data set: give one size (its item count)")
    load0 = os.getloadavg()
    results = []
    cluster = None
    if args.engine == "ray":
        from retrieval.distributed.local_cluster import LocalCluster

        t = time.monotonic()
        cluster = LocalCluster(nodes=args.nodes, cpus=1, object_store_mb=args.object_store_mb)
        cluster.start()
        print(f"- Ray: {args.nodes} local nodes started in {time.monotonic() - t:.1f} s "
              f"({cluster.address})", file=sys.stderr, flush=True)
    try:
        for size in sizes:
            print(f"- {size:,} items ...", file=sys.stderr, flush=True)
            results.append(run_size(size, args, work, encoder, cluster))
            print_table(results[-1:])
    finally:
        if cluster is not None:
            cluster.stop()
    print_table(results)
    load1 = os.getloadavg()
    summary = {r["items"]: {"build_s": r.get("build_seconds"), "peak_mb": r.get("build_peak_mb"),
                            "stopped": r.get("stopped") or None,
                            **({"planted": r["planted"]} if r.get("planted") else {})}
               for r in results}
    print(f"RESULT build_scale engine={args.engine} encoder={args.encoder} "
          f"backend={args.encoder_backend or 'default'} "
          f"max_seq_length={args.max_seq_length} ranker={args.ranker} "
          f"events_per_item={args.events_per_item} {json.dumps(summary)} "
          f"load_avg_start={load0[0]:.2f} load_avg_end={load1[0]:.2f} cores={os.cpu_count()}")


if __name__ == "__main__":
    main()
