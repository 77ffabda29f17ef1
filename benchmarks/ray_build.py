"""Benchmark ``encore build`` side by side: one process (``--engine local``) and Ray on a
cluster of two local nodes (``--engine ray``), on the same catalog, in one run.

Each build gets the same data set, encoder (the base model, not fine-tuned, so both encode
with the same weights) and pipeline settings; the Ray build's cluster (two nodes of
``--cpus`` CPUs on 127.0.0.1, :class:`retrieval.distributed.local_cluster.LocalCluster`) is
started before its timer and its start time is reported beside it. Builds alternate
(local, ray, local, ray...) so that a change in the machine's load hits both; the table
gives each build's wall time and its steps' times, and the RESULT line the medians and the
load average (the machine may be shared).

Examples:
    .venv/bin/python benchmarks/ray_build.py --data demo --repeats 1
    .venv/bin/python benchmarks/ray_build.py --data movielens:../shared/data/ml-latest-small \\
        --no-ranker
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.dataset import load_dataset  # noqa: E402


def _build(dataset, out: Path, args: argparse.Namespace, engine) -> tuple[float, dict]:  # noqa: ANN001
    """One build: its wall seconds and the seconds from each step's start to the next."""
    from retrieval.bundle import build_bundle
    from retrieval.config import BuildConfig

    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    build_bundle(dataset, out, BuildConfig(), finetune=False, progress=False,
                 train_ranker=args.ranker, engine=engine,
                 on_step=lambda msg: marks.append((msg.split(" ")[0], time.perf_counter())))
    ended = time.perf_counter()
    steps: dict[str, float] = {}
    for (name, t), (_, nxt) in zip(marks, [*marks[1:], ("end", ended)], strict=True):
        steps[name] = steps.get(name, 0.0) + nxt - t
    return ended - started, steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="demo", help="data set (encore build --data)")
    ap.add_argument("--repeats", type=int, default=1, help="builds per engine")
    ap.add_argument("--cpus", type=int, default=1, help="CPUs per Ray node")
    ap.add_argument("--ranker", action=argparse.BooleanOptionalAction, default=True,
                    help="train the ranker (its training lists run in blocks on Ray)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from retrieval.distributed.local_cluster import LocalCluster
    from retrieval.distributed.ray_engine import RayEngine

    load_before = os.getloadavg()
    dataset = load_dataset(args.data)
    print(f"{args.data}: {len(dataset.catalog)} items, {len(dataset.interactions)} "
          f"interactions; {os.cpu_count()} cores", flush=True)
    times: dict[str, list[float]] = {"local": [], "ray": []}
    with tempfile.TemporaryDirectory(prefix="encore-ray-bench-") as tmp:
        t = time.perf_counter()
        with LocalCluster(nodes=2, cpus=args.cpus, object_store_mb=256) as address:
            cluster_s = time.perf_counter() - t
            engine = RayEngine(address).start()
            for r in range(args.repeats):
                for name in ("local", "ray"):
                    out = Path(tmp) / f"{name}-{r}"
                    wall, steps = _build(dataset, out, args, engine if name == "ray" else None)
                    times[name].append(wall)
                    print(f"  {name:5s} #{r}: {wall:7.1f} s  "
                          + "  ".join(f"{k} {v:.1f}" for k, v in steps.items()), flush=True)
    print(f"\n{'engine':8s}{'build s (median)':>18s}{'builds':>8s}")
    for name, ts in times.items():
        print(f"{name:8s}{statistics.median(ts):18.1f}{len(ts):8d}")
    load = os.getloadavg()
    print(f"RESULT ray_build: {args.data} ({len(dataset.catalog)} items, "
          f"{len(dataset.interactions)} interactions, ranker {'on' if args.ranker else 'off'}): "
          f"local {statistics.median(times['local']):.1f} s, ray (2 local nodes x {args.cpus} "
          f"CPU) {statistics.median(times['ray']):.1f} s (cluster start {cluster_s:.1f} s, not "
          f"counted); medians of {args.repeats}; {os.cpu_count()} cores, load average (1/5/15 "
          f"min) before {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, after "
          f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}", flush=True)


if __name__ == "__main__":
    main()
