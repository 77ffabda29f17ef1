"""Benchmark the FAISS vector index: build time, memory, single-query latency, recall@k.

Two modes:

- default: for each size in ``--sizes``, build ``Flat`` and ``HNSW32,Flat`` through
  :class:`retrieval.index.FaissIndex` and print build time, memory, single-query search
  p50/p99 and tie-tolerant recall@k against exact search, for each HNSW ``efSearch`` in
  ``--ef-search``.
- ``--allowed``: at the first size, compare the three ways of serving a hard filter
  (``gather``, ``selector``, ``overfetch``) for allow-lists of several sizes.

Synthetic data (seeded, clustered, L2-normalised; neither data nor query is uniform random):
``n // 1000`` cluster centres (at least 16) drawn from N(0, I) and normalised; each cluster
has its own random 16-d subspace ``B_j`` (orthonormal columns); an item of cluster ``j`` is
``c_j + 0.7 * B_j z + 0.3 * e`` with ``z ~ N(0, I_16 / 16)`` and ``e ~ N(0, I_d / d)``,
then normalised. Clusters are picked with Zipf-like weights (a few large, many small).
Queries are fresh draws from the same mixture, not items of the index.

Examples:
    .venv/bin/python benchmarks/index_bench.py --sizes 100000
    .venv/bin/python benchmarks/index_bench.py --sizes 100000,1000000 --ef-search 100,128,192,256
    .venv/bin/python benchmarks/index_bench.py --allowed --sizes 100000
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.index import DEFAULT_EF_CONSTRUCTION, FaissIndex  # noqa: E402

SUBSPACE = 16
_DEFAULT_THREADS: list[int] = []  # FAISS's own thread count, read before the first change


# -- data ------------------------------------------------------------------------------


def clustered(n: int, dim: int, seed: int, *, n_queries: int = 0,
              chunk: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """``n`` items and ``n_queries`` queries from the clustered mixture described above."""
    rng = np.random.default_rng(seed)
    n_clusters = max(16, n // 1000)
    centres = rng.standard_normal((n_clusters, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    bases = np.empty((n_clusters, dim, SUBSPACE), dtype=np.float32)
    for j in range(n_clusters):
        q, _ = np.linalg.qr(rng.standard_normal((dim, SUBSPACE)))
        bases[j] = q
    weights = 1.0 / np.arange(1, n_clusters + 1) ** 0.7
    weights /= weights.sum()

    def draw(m: int, out: np.ndarray) -> None:
        for start in range(0, m, chunk):
            stop = min(m, start + chunk)
            c = rng.choice(n_clusters, size=stop - start, p=weights)
            z = rng.standard_normal((stop - start, SUBSPACE), dtype=np.float32) / np.sqrt(SUBSPACE)
            e = rng.standard_normal((stop - start, dim), dtype=np.float32) / np.sqrt(dim)
            x = centres[c] + 0.7 * np.einsum("nds,ns->nd", bases[c], z) + 0.3 * e
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            out[start:stop] = x

    data = np.empty((n, dim), dtype=np.float32)
    draw(n, data)
    queries = np.empty((n_queries, dim), dtype=np.float32)
    draw(n_queries, queries)
    return data, queries


# -- measuring -------------------------------------------------------------------------


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def trim() -> None:
    """Collect garbage and hand freed heap pages back to the OS, so RSS deltas mean something."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def faiss_bytes(index: FaissIndex) -> int:
    """Size of the FAISS index as serialised (counted, never stored)."""
    import faiss

    total = 0

    def count(chunk: bytes) -> int:
        nonlocal total
        total += len(chunk)
        return len(chunk)

    writer = faiss.PyCallbackIOWriter(count)
    faiss.write_index(index._index, writer)
    del writer
    return total


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def exact_topk(data: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top-k by inner product (FAISS's BLAS kernel, no index)."""
    import faiss

    scores, idx = faiss.knn(queries, data, k, metric=faiss.METRIC_INNER_PRODUCT)
    return scores, idx


def recall_tie_tolerant(found: list[np.ndarray], data: np.ndarray, queries: np.ndarray,
                        kth_score: np.ndarray, k: int, eps: float = 1e-5) -> float:
    """Share of returned items whose exact score reaches the exact k-th score (minus eps),
    divided by k: an item tied with the k-th true neighbour counts as a hit."""
    hits = 0
    for qi, rows in enumerate(found):
        if len(rows):
            s = data[rows] @ queries[qi]
            hits += int((s >= kth_score[qi] - eps).sum())
    return hits / (k * len(found))


def time_single(index: FaissIndex, queries: np.ndarray, k: int, allowed=None,
                budget_s: float = float("inf")) -> tuple[np.ndarray, list]:
    """Per-query wall times (seconds) of ``index.search`` on one query at a time; stops
    after ``budget_s`` seconds (at least 5 queries) so a hopeless strategy cannot stall."""
    times = []
    results = []
    start = time.perf_counter()
    for i in range(len(queries)):
        t0 = time.perf_counter()
        ids, _ = index.search(queries[i : i + 1], k, allowed=allowed)
        times.append(time.perf_counter() - t0)
        results.append(ids[0])
        if i >= 4 and time.perf_counter() - start > budget_s:
            break
    return np.array(times), results


def rows_of(names: list[list[str]] | list[str]) -> np.ndarray:
    return np.array([int(n[4:]) for n in names], dtype=np.int64)


def set_threads(n: int) -> None:
    import faiss

    if not _DEFAULT_THREADS:
        _DEFAULT_THREADS.append(faiss.omp_get_max_threads())
    faiss.omp_set_num_threads(n if n > 0 else _DEFAULT_THREADS[0])


def build(factory: str, data: np.ndarray, names: list[str], ef_construction: int,
          chunk: int = 100_000, threads: int = 0) -> tuple[FaissIndex, float, float]:
    set_threads(threads)
    trim()
    before = rss_mib()
    t0 = time.perf_counter()
    index = FaissIndex(data.shape[1], factory, ef_construction=ef_construction, use_gpu=False)
    for start in range(0, len(data), chunk):
        index.add(names[start : start + chunk], data[start : start + chunk])
        if len(data) > chunk:
            print(f"    {factory}: {start + chunk:,} / {len(data):,} added, "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    trim()
    return index, seconds, rss_mib() - before


# -- modes -----------------------------------------------------------------------------


def run_sizes(args: argparse.Namespace) -> None:
    import faiss

    print(f"faiss {faiss.__version__}, OpenMP threads: build {args.build_threads or 'all'}, "
          f"search {args.search_threads or 'all'}; dim {args.dim}, k {args.k}, "
          f"{args.queries} single queries, seed {args.seed}")
    header = (f"| {'items':>9} | {'index':<12} | {'efSearch':>8} | {'build s':>8} | "
              f"{'RSS +MiB':>8} | {'faiss MiB':>9} | {'p50 ms':>7} | {'p99 ms':>7} | "
              f"{'recall@' + str(args.k):>10} |")
    rows = [header, "|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|"]
    for n in args.sizes:
        t0 = time.perf_counter()
        data, queries = clustered(n, args.dim, args.seed, n_queries=args.queries)
        names = [f"item{i}" for i in range(n)]
        print(f"  {n:,} vectors generated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        t0 = time.perf_counter()
        gt_scores, _ = exact_topk(data, queries, args.k)
        kth = gt_scores[:, -1]
        print(f"  exact top-{args.k} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        for factory in args.factories:
            index, build_s, mem = build(factory, data, names, args.ef_construction,
                                        threads=args.build_threads)
            size = faiss_bytes(index)
            set_threads(args.search_threads)
            efs = args.ef_search if factory.startswith("HNSW") else [None]
            for ef in efs:
                if ef is not None:
                    index.ef_search = ef
                time_single(index, queries[: min(20, len(queries))], args.k)  # warm-up
                times, found = time_single(index, queries, args.k)
                rec = recall_tie_tolerant([rows_of(f) for f in found], data, queries, kth, args.k)
                line = (f"| {n:>9,} | {factory:<12} | {ef if ef else '-':>8} | {build_s:>8.1f} | "
                        f"{mem:>8.0f} | {size / 2**20:>9.0f} | "
                        f"{np.percentile(times, 50) * 1e3:>7.3f} | "
                        f"{np.percentile(times, 99) * 1e3:>7.3f} | {rec:>10.4f} |")
                rows.append(line)
                print(line, flush=True)
            del index
            gc.collect()
        del data, queries, names
        gc.collect()
    print("\n".join(rows))
    print(f"peak RSS {peak_rss_mib():.0f} MiB")


def run_allowed(args: argparse.Namespace) -> None:
    n = args.sizes[0]
    data, queries = clustered(n, args.dim, args.seed, n_queries=args.queries)
    names = [f"item{i}" for i in range(n)]
    rng = np.random.default_rng(args.seed + 1)
    print(f"allow-list strategies, {n:,} x {args.dim}, k {args.k}, {args.queries} single queries; "
          "allowed sets are uniform random samples of the catalog"
          + ("; each passed as one reused frozenset" if args.frozen else ""))
    header = (f"| {'index':<12} | {'allowed':>8} | {'strategy':<15} | {'queries':>7} | "
              f"{'p50 ms':>7} | {'p99 ms':>7} | {'recall@' + str(args.k):>10} | {'ids ms':>8} |")
    rows = [header, "|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|"]
    for factory in args.factories:
        index, _, _ = build(factory, data, names, args.ef_construction,
                            threads=args.build_threads)
        set_threads(args.search_threads)
        index.ef_search = args.ef_search[0]
        for m in args.allowed_sizes:
            pick = np.sort(rng.choice(n, size=m, replace=False))
            allowed = {names[i] for i in pick}
            if args.frozen:
                allowed = frozenset(allowed)  # converted to FAISS ids once, then cached
            sub = data[pick]
            gt = np.sort(queries @ sub.T, axis=1)[:, ::-1]
            kk = min(args.k, m)
            kth = gt[:, kk - 1]
            plain = set(allowed)  # a plain set is never cached: the cost of converting once
            t0 = time.perf_counter()
            for _ in range(20):
                index._allowed_keys(plain)
            conv_ms = (time.perf_counter() - t0) / 20 * 1e3
            for strategy in args.strategies:
                index.filter_strategy = strategy
                time_single(index, queries[:3], args.k, allowed, budget_s=args.budget)
                times, found = time_single(index, queries, args.k, allowed, budget_s=args.budget)
                rec = recall_tie_tolerant([rows_of(f) for f in found], data, queries[: len(found)],
                                          kth, kk)
                if strategy == "auto":
                    strategy = f"auto: {index._pick_strategy(m, kk)}"
                line = (f"| {factory:<12} | {m:>8,} | {strategy:<15} | {len(times):>7} | "
                        f"{np.percentile(times, 50) * 1e3:>7.2f} | "
                        f"{np.percentile(times, 99) * 1e3:>7.2f} | {rec:>10.4f} | "
                        f"{conv_ms:>8.2f} |")
                rows.append(line)
                print(line, flush=True)
        del index
        gc.collect()
    print("\n".join(rows))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100000,1000000",
                   help="comma-separated catalog sizes (default: 100000,1000000)")
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--queries", type=int, default=500, help="single queries timed per row")
    p.add_argument("--factories", default="Flat;HNSW32,Flat",
                   help="semicolon-separated factory strings (default: 'Flat;HNSW32,Flat')")
    p.add_argument("--ef-search", default="100,128,192,256",
                   help="comma-separated HNSW efSearch values to sweep (searches use "
                   "max(efSearch, k)); with --allowed only the first is used")
    p.add_argument("--ef-construction", type=int, default=DEFAULT_EF_CONSTRUCTION,
                   help=f"HNSW efConstruction (default {DEFAULT_EF_CONSTRUCTION})")
    p.add_argument("--build-threads", type=int, default=0,
                   help="OpenMP threads while building (0: FAISS default, all cores)")
    p.add_argument("--search-threads", type=int, default=1,
                   help="OpenMP threads while timing single queries (default 1; see README)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--allowed", action="store_true", help="compare allow-list strategies")
    p.add_argument("--strategies", default="gather,selector,overfetch,auto",
                   help="--allowed: comma-separated strategies to time")
    p.add_argument("--frozen", action="store_true",
                   help="--allowed: pass each allow-list as one reused frozenset (cached ids)")
    p.add_argument("--budget", type=float, default=15.0,
                   help="--allowed: seconds of timing per row before it stops (min 5 queries)")
    p.add_argument("--allowed-sizes", default="100,1000,5000,20000,50000,90000",
                   help="allow-list sizes for --allowed")
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.factories = [f.strip() for f in args.factories.split(";") if f.strip()]
    args.ef_search = [int(s) for s in args.ef_search.split(",")]
    args.allowed_sizes = [int(s) for s in args.allowed_sizes.split(",")]
    args.strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if args.allowed:
        run_allowed(args)
    else:
        run_sizes(args)


if __name__ == "__main__":
    main()
