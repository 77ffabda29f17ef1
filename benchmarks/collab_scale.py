"""Collaborative signals at any size, side by side in one run.

(a) ml-100k, the ranker pipeline (``encore`` system of ``encore eval`` and
    ``eval.experiments.ablation``: leave-one-out by timestamp, ties by item id, full
    catalog, history only, fitted on the training split only) with each set of
    collaborative signals: dense (EASE + item-kNN, what Encore had), sparse (item-kNN
    table + ALS, what a catalog above the dense limit gets), each sparse signal alone, and
    all three (the new default). NDCG@10, Recall@10/20/200, mean ± standard error.

(b) A large catalog: ml-latest-small's ratings over the MovieLens-latest movie list
    (``--large-movies``, 86k titles). The statistics are built on a leave-one-out training
    split (as above) in a child process each, timed, with its peak memory; the
    candidate generator then proposes 200 items per test user from the collaborative and
    popular sources only (no dense retriever: encoding 86k titles is another helper's
    benchmark), and candidate recall is the share of users whose held-out item is among
    them. Rows: no collaborative signal (popular only), the sparse path (EASE off:
    candidates from ALS, features from item-kNN + ALS), item-kNN alone, EASE over the
    consumed items, and the same ratings over their own 9.7k-movie catalog.

Prints a table per part and one ``RESULT {...}`` line (JSON) with the load average.

Run (from the repository root; about 10 min on 2 shared cores):
    PYTHONPATH=$PWD python benchmarks/collab_scale.py \\
        --ml100k movielens:../shared/data/ml-100k \\
        --large-ratings ../shared/data/ml-latest-small \\
        --large-movies ../shared/data/redial-dev/ml-latest-movies.csv
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

METRICS = ("ndcg@10", "recall@10", "recall@20", "recall@200")

ML100K_SYSTEMS: dict[str, tuple[str, dict[str, Any]]] = {  # key: (name, settings)
    "dense": ("dense: EASE + item-kNN (before)", {"mf_factors": 0}),
    "sparse": ("sparse: item-kNN + ALS", {"dense_limit": 0}),
    "knn": ("sparse: item-kNN alone", {"dense_limit": 0, "mf_factors": 0}),
    "als": ("sparse: ALS alone", {"dense_limit": 0, "knn_neighbours": 0}),
    "all": ("all: EASE + item-kNN + ALS", {"mf_with_ease": True}),
}

LARGE_SYSTEMS: dict[str, dict[str, Any]] = {
    "no collaborative (popular only)": {"quota": 0, "dense_limit": 0, "knn_neighbours": 0,
                                        "mf_factors": 0},
    "sparse: item-kNN + ALS": {"dense_limit": 0},
    "sparse: item-kNN alone": {"dense_limit": 0, "mf_factors": 0},
    "EASE over the consumed items (+ kNN, ALS)": {"mf_with_ease": True},
}


def _ml100k(data: str, seed: int, keys: list[str], threads: int) -> list[dict[str, Any]]:
    from eval.harness import evaluate
    from eval.run import EvalConfig, build_split
    from eval.systems import make_system
    from retrieval.dataset import load_dataset

    config = EvalConfig(data=data, systems=["pop"], valid=False, on="test", seed=seed,
                        tie_break="item")
    ds = load_dataset(data)
    split, _ = build_split(config, ds)
    systems = {name: make_system("encore", encoder="all-MiniLM-L6-v2", seed=seed,
                                 num_threads=threads, **params)
               for name, params in (ML100K_SYSTEMS[k] for k in keys)}
    result = evaluate(split, ds.catalog, systems, METRICS, on="test", curve_ks=(), seed=seed,
                      dataset=ds.name, progress=False)
    rows = []
    for name, sr in result.systems.items():
        row: dict[str, Any] = {"system": name}
        for m in METRICS:
            row[m] = [round(float(sr.metrics[m].mean), 4), round(float(sr.metrics[m].se or 0), 4)]
        row["seconds"] = round(sr.fit_seconds + sr.score_seconds, 1)
        rows.append(row)
    return rows


def _large_one(folder: str, params: dict[str, Any], seed: int) -> dict[str, Any]:
    """One statistics build and its candidate recall (runs in a child process)."""
    import numpy as np

    from eval.run import EvalConfig, build_split
    from retrieval.candidates import CandidateGenerator
    from retrieval.config import StatsConfig
    from retrieval.dataset import load_dataset
    from retrieval.features import ItemTable
    from retrieval.retriever import History
    from retrieval.train_ranker import stats_from_config

    params = dict(params)
    quota = int(params.pop("quota", 190))
    # Ratings of movies the large list lacks are dropped (as `--skip-bad-rows` does).
    ds = load_dataset(f"movielens:{folder}", skip_bad_rows=True)
    split, _ = build_split(EvalConfig(data=f"movielens:{folder}", systems=["pop"], seed=seed,
                                      tie_break="item"), ds)
    train, test = split.fit_data("test"), split.test
    rss_before = _rss_mb()
    t, cpu = time.perf_counter(), time.process_time()
    stats = stats_from_config(train, ds.catalog, StatsConfig(**params))
    # CPU seconds beside wall seconds: on a shared machine the wall time mostly waits.
    build_s, build_cpu = time.perf_counter() - t, time.process_time() - cpu
    peak = _peak_rss_mb()
    gen = CandidateGenerator(ItemTable(ds.catalog, None), stats, None, n=200,
                             collaborative=quota)
    held = test.df.groupby("user_id", observed=True)["item_id"].agg(lambda s: set(map(str, s)))
    df = train.df.sort_values(["user_id", "timestamp"], kind="stable")
    hist = df.groupby("user_id", observed=True)["item_id"].agg(lambda s: [str(i) for i in s])
    users = [u for u in held.index if u in hist.index]
    t = time.perf_counter()
    hits = []
    all_ids = ds.catalog.ids
    for u in users:
        cl = gen.generate_list(History(hist[u]))
        ids = {all_ids[r] for r in cl.rows.tolist()}
        hits.append(len(ids & held[u]) / len(held[u]))
    cand_ms = (time.perf_counter() - t) / max(len(users), 1) * 1000
    return {"items": len(ds.catalog), "ratings": len(ds.interactions),
            "stats_rows": len(stats), "users": len(users),
            "candidate_recall@200": round(float(np.mean(hits)), 4),
            "stats_build_s": round(build_s, 2), "stats_build_cpu_s": round(build_cpu, 2),
            "rss_before_mb": round(rss_before),
            "peak_rss_mb": round(peak), "candidates_ms_per_user": round(cand_ms, 2),
            "collaborative": repr(stats)}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _large(ratings: str, movies: str, seed: int) -> list[dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="encore-collab-"))
    try:
        (tmp / "large").mkdir()
        shutil.copy(Path(movies), tmp / "large" / "movies.csv")
        shutil.copy(Path(ratings) / "ratings.csv", tmp / "large" / "ratings.csv")
        runs = [(name, str(tmp / "large"), p) for name, p in LARGE_SYSTEMS.items()]
        runs.append(("small catalog: EASE + kNN + ALS (reference)", ratings,
                     {"mf_with_ease": True}))
        rows = []
        for name, folder, params in runs:
            out = subprocess.run(
                [sys.executable, __file__, "--one", json.dumps([folder, params, seed])],
                capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(f"{name} failed:\n{out.stderr[-3000:]}")
            rows.append({"system": name, **json.loads(out.stdout.strip().splitlines()[-1])})
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _print(rows: list[dict[str, Any]], cols: list[str], title: str) -> None:
    print(f"\n{title}\n| system | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for r in rows:
        cells = [(f"{r[c][0]:.4f} ± {r[c][1]:.4f}" if isinstance(r[c], list) else str(r[c]))
                 for c in cols]
        print(f"| {r['system']} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ml100k", default="movielens:../shared/data/ml-100k")
    p.add_argument("--large-ratings", default="../shared/data/ml-latest-small")
    p.add_argument("--large-movies", default="../shared/data/redial-dev/ml-latest-movies.csv")
    p.add_argument("--skip-ml100k", action="store_true")
    p.add_argument("--skip-large", action="store_true")
    p.add_argument("--systems", default="dense,sparse,knn,als,all",
                   help=f"ml-100k systems, comma-separated from {', '.join(ML100K_SYSTEMS)}")
    p.add_argument("--ranker-threads", type=int, default=0,
                   help="LightGBM threads (0: all cores; 1 on a crowded machine)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        folder, params, seed = json.loads(args.one)
        print(json.dumps(_large_one(folder, params, seed)))
        return 0
    started, load_start = time.perf_counter(), os.getloadavg()
    result: dict[str, Any] = {}
    if not args.skip_large:
        large = _large(args.large_ratings, args.large_movies, args.seed)
        _print(large, ["items", "ratings", "stats_rows", "candidate_recall@200",
                       "stats_build_s", "stats_build_cpu_s", "peak_rss_mb", "rss_before_mb",
                       "candidates_ms_per_user"],
               "(b) ml-latest-small ratings, leave-one-out; collaborative + popular candidates")
        result["large"] = large
    if not args.skip_ml100k:
        ml = _ml100k(args.ml100k, args.seed, [k for k in args.systems.split(",") if k],
                     args.ranker_threads)
        _print(ml, [*METRICS, "seconds"], "(a) ml-100k, the ranker pipeline (encore), test split")
        result["ml100k"] = ml
        by = {r["system"]: r for r in ml}
        dense, sparse = (by.get(ML100K_SYSTEMS[k][0]) for k in ("dense", "sparse"))
        if dense and sparse:
            result["sparse_vs_dense_ndcg10"] = round(
                sparse["ndcg@10"][0] / dense["ndcg@10"][0] - 1, 4)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    result["load_avg_start"] = [round(x, 2) for x in load_start]
    result["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
