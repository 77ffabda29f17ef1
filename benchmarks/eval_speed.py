"""Time every baseline of ``encore eval`` at two scales and print the figures.

1. ml-100k (943 users x 1,682 items): load, leave-one-out split, and for each baseline fit
   plus full ranking of all 943 users with the default metrics. Target: under 60 s in all.
2. ml-1m scale (6,040 users x 3,706 items, ~1M interactions), SYNTHETIC: the same steps.
   Target: under 5 minutes in all.

Run:  .venv/bin/python benchmarks/eval_speed.py [--ml100k PATH] [--skip-1m] [--systems ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SYSTEMS = ("random", "pop", "itemknn", "ease")


def _threads() -> str:
    import numpy  # noqa: F401  (load BLAS first, so that there is a pool to report)
    import scipy.linalg  # noqa: F401

    try:
        from threadpoolctl import threadpool_info

        return ", ".join(f"{i['internal_api']}={i['num_threads']}" for i in threadpool_info())
    except ImportError:
        return "unknown"


def bench(name: str, catalog, log, systems: list[str], budget_s: float) -> float:
    from eval.harness import DEFAULT_METRICS, evaluate
    from eval.protocols import implicit_positives, leave_one_out
    from eval.systems import make_system

    t0 = time.perf_counter()
    positives, _ = implicit_positives(log)
    split = leave_one_out(positives)
    t_split = time.perf_counter() - t0
    print(f"\n{name}: {log.n_users} users x {len(catalog)} items, {len(log)} interactions")
    print(f"  implicit positives + leave-one-out split: {t_split:6.2f} s")
    total = t_split
    for sys_name in systems:
        t1 = time.perf_counter()
        res = evaluate(
            split, catalog, {sys_name: make_system(sys_name)}, DEFAULT_METRICS, progress=False
        )
        wall = time.perf_counter() - t1
        total += wall
        sr = res.systems[sys_name]
        print(
            f"  {sys_name:8s} fit {sr.fit_seconds:6.2f} s  rank {res.users} users "
            f"{sr.score_seconds:6.2f} s  total with metrics {wall:6.2f} s   "
            f"ndcg@10 {sr.metrics['ndcg@10'].mean:.4f}  "
            f"recall@10 {sr.metrics['recall@10'].mean:.4f}"
        )
    verdict = "within" if total < budget_s else "OVER"
    print(f"  all baselines: {total:6.2f} s ({verdict} the {budget_s:.0f} s budget)")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ml100k",
        default=os.environ.get("ENCORE_ML100K", "/work/shared/data/ml-100k"),
        help="ml-100k folder (skipped when absent)",
    )
    parser.add_argument("--skip-1m", action="store_true", help="skip the ml-1m-scale run")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated baselines")
    args = parser.parse_args()
    systems = [s for s in args.systems.split(",") if s]
    print(f"CPU cores: {os.cpu_count()}; BLAS/OpenMP threads: {_threads()}")

    from retrieval.dataset import load_dataset

    folder = Path(args.ml100k).expanduser()
    if folder.is_dir():
        t0 = time.perf_counter()
        ds = load_dataset(f"movielens:{folder}")
        t_load = time.perf_counter() - t0
        print(f"\nloaded {ds.name} in {t_load:.2f} s")
        total = bench("ml-100k", ds.catalog, ds.interactions, systems, 60.0) + t_load
        print(f"  ml-100k including loading: {total:.2f} s")
    else:
        print(f"\nml-100k not found at {folder}; skipped")

    if not args.skip_1m:
        from eval.synthetic import synthetic_log

        t0 = time.perf_counter()
        catalog, log = synthetic_log(seed=0)
        t_gen = time.perf_counter() - t0
        print(f"\ngenerated the SYNTHETIC ml-1m-scale log in {t_gen:.2f} s (not counted)")
        bench("ml-1m scale (SYNTHETIC)", catalog, log, systems, 300.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
