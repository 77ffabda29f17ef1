"""Latency of one whole conversational turn (rules parser, template explanations), warm:
``Assistant.chat`` from the message to the complete Reply: parse, session merge, hard
filters, dense retrieval (FAISS) + collaborative candidates, LightGBM reranking with
evidence, MMR, grounds, explanations, and the session saved to SQLite.

Two catalogs, side by side in one run:

- ``demo``: the packaged demo catalog (425 real titles, SYNTHETIC interactions), encoded
  with the real all-MiniLM-L6-v2 (not fine-tuned: the encoder's weights do not change
  the work), FAISS Flat.
- ``synthetic-100k``: 100,000 SYNTHETIC items made by varying the demo items (media type,
  genres, tags, years, durations kept realistic, titles made unique), 300k SYNTHETIC
  interactions by 10,000 users (Zipf popularity), random unit item vectors of MiniLM's
  dimension (encoding 100k texts on a CPU takes longer than the benchmark; the request text
  is still encoded by the real MiniLM every turn), FAISS HNSW32.

Both use a LightGBM ranker trained on their log with the small test configuration. The
messages are multi-turn conversations (constraints, "shorter", "only podcasts now", "not
the second one", playlists, trending, details) over several users; every turn of the
script is timed after two warm-up rounds. "Warm" means the models, index and statistics are
loaded and the code has run. The engine remembers request encodings and constraint
allow-lists; each catalog is timed twice, side by side:

- ``conversation``: the caches are cleared when each conversation starts, so its first
  turn encodes and filters from scratch and its follow-ups ("shorter", "not the second
  one") reuse what the conversation already computed, as they do in a live session;
- ``every turn``: the caches are cleared before every turn, so each turn pays for
  encoding its text and filtering the catalog as a brand-new message would (an upper
  bound).

The encoder's threads: serving pins them (``retrieval.encoder_threads``, default 1);
``--threads 0,1`` times torch's default (every core: 0) and one thread side by side in one
run, and ``--load N`` keeps N busy processes spinning meanwhile (a loaded machine).

A third, ``--bundle PATH``: a bundle built by ``encore build`` (e.g. the 1,000,000-item
SYNTHETIC catalog of ``encore data generate``, benchmarks/README.md "1M build"), loaded
memory-mapped as ``encore serve --workers`` loads it (``Assistant.from_bundle(...,
mmap=True)``): its own encoder, index, statistics (item-kNN, ALS with its top-items index)
and ranker; the load time and the process's resident memory after the timed turns are
reported beside the latencies.

Run (2 CPU cores, about 7 minutes):
    .venv/bin/python benchmarks/turn_bench.py
    .venv/bin/python benchmarks/turn_bench.py --only demo --rounds 5
    .venv/bin/python benchmarks/turn_bench.py --only demo --rounds 3 --threads 0,1 --load 2
    .venv/bin/python benchmarks/turn_bench.py --bundle /tmp/big17/bundle-1m --rounds 5
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

CONVERSATIONS = [
    ["something like Arrival but lighter, no horror", "shorter", "only series now",
     "not the second one", "tell me about the first one"],
    ["a podcast about space for a 40-minute drive", "more like the first one",
     "something from the 2010s"],
    ["90s sci-fi films under 2 hours", "newer", "what's trending in films"],
    ["a 2-hour playlist of chill electronic music", "upbeat jazz albums", "I loved Kid A"],
    ["funny series with short episodes", "no animation", "in Korean"],
]


def _ranker_config():
    from tests.bundles import demo_ranker_config

    return demo_ranker_config()


def _synthetic_catalog(n_items: int, seed: int = 0):
    from retrieval.catalog import Catalog
    from retrieval.demo import load_demo_catalog

    rng = np.random.default_rng(seed)
    base = list(load_demo_catalog())
    items = []
    for i in range(n_items):
        t = base[i % len(base)]
        copy = i // len(base)
        dur = t.duration_min
        if dur is not None:
            dur = max(1.0, round(float(dur) * float(rng.uniform(0.6, 1.4)), 1))
        year = None if t.year is None else int(np.clip(t.year + rng.integers(-15, 6), 1900, 2025))
        items.append(t.model_copy(update={
            "id": str(i + 1), "title": f"{t.title} {copy + 1}" if copy else t.title,
            "duration_min": dur, "year": year}))
    return Catalog(items)


def _rss_mb() -> float:
    text = Path("/proc/self/status").read_text()
    return round(int(text.split("VmRSS:")[1].split()[0]) / 1024.0, 1)


def _assistant_from_bundle(path: str, tmp: Path):
    """An assistant over a built bundle, memory-mapped (as serving workers load it)."""
    from assistant.core import Assistant
    from assistant.settings import Settings
    from assistant.store import open_store

    settings = Settings()
    t0 = time.perf_counter()
    store = open_store(f"sqlite:///{tmp / 'bundle.sqlite3'}")
    bot = Assistant.from_bundle(path, settings, store=store, mmap=True, verify=False)
    bot.warm()  # histories, the encoder, the title index: what a server loads before it listens
    from retrieval.bundle import read_manifest

    manifest = read_manifest(path)
    info = {"items": len(bot.engine.catalog), "interactions": len(bot.engine.interactions),
            "users": len(bot.engine.known_users()),
            "index": str(manifest.get("index", {}).get("factory")),
            "ranker": bot.engine.ranker_name, "setup_s": round(time.perf_counter() - t0, 1),
            "ranker_training_s": 0.0, "collaborative": repr(bot.engine.pipeline.stats),
            "rss_mb": _rss_mb()}
    return bot, info


def _assistant_for(name: str, tmp: Path, n_items: int, bundle: str | None = None):
    from assistant.core import Assistant
    from assistant.engine import Engine
    from assistant.settings import Settings
    from assistant.store import open_store
    from retrieval.encoder import load_encoder
    from retrieval.index import FaissIndex, choose_factory
    from retrieval.train_ranker import train_ranker

    if name == "bundle" and bundle:
        return _assistant_from_bundle(bundle, tmp)
    settings = Settings()
    encoder = load_encoder(settings.retrieval.encoder_model, show_progress_bar=False)
    t0 = time.perf_counter()
    if name == "demo":
        from retrieval.dataset import load_dataset
        from retrieval.encoder import item_text

        ds = load_dataset("demo")
        catalog, log = ds.catalog, ds.interactions
        vectors = encoder.encode([item_text(it) for it in catalog])
    else:
        import pandas as pd

        from eval.synthetic import synthetic_log
        from retrieval.interactions import Interactions

        catalog = _synthetic_catalog(n_items)
        _, slog = synthetic_log(n_users=10_000, n_items=n_items, n_interactions=300_000, seed=0)
        df = slog.df.copy()
        df["event"] = pd.Categorical(np.where(df["value"].to_numpy() >= 3, "like", "play"))
        log = Interactions(df)
        rng = np.random.default_rng(1)
        vectors = rng.standard_normal((n_items, encoder.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.asarray(vectors, dtype=np.float32)
    factory = choose_factory(len(catalog))
    index = FaissIndex(dim=vectors.shape[1], factory=factory)
    index.add(catalog.ids, vectors)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    trained = train_ranker(log, catalog, vectors, encoder=encoder, config=_ranker_config())
    train_s = time.perf_counter() - t0
    engine = Engine(catalog, vectors, encoder, log, settings, index=index, stats=trained.stats,
                    ranker=trained.ranker, config=trained.config)
    store = open_store(f"sqlite:///{tmp / f'{name}.sqlite3'}")
    bot = Assistant(engine, settings, store)
    info = {"items": len(catalog), "interactions": len(log), "users": log.n_users,
            "index": factory, "ranker": engine.ranker_name, "setup_s": round(setup, 1),
            "ranker_training_s": round(train_s, 1)}
    return bot, info


MODES = ("conversation", "every turn")


def _run(bot, users: list[str], rounds: int, tag: str, mode: str = "every turn"
         ) -> tuple[list[float], dict]:
    times: list[float] = []
    stages: dict[str, list[float]] = {}
    for r in range(rounds):
        for c, conv in enumerate(CONVERSATIONS):
            sid = f"{tag}-{r}-{c}"
            user = users[(r * len(CONVERSATIONS) + c) % len(users)]
            bot.engine.clear_caches()
            for msg in conv:
                if mode == "every turn":
                    bot.engine.clear_caches()
                t = time.perf_counter()
                reply = bot.chat(sid, user, msg)
                times.append((time.perf_counter() - t) * 1000.0)
                for k, v in reply.meta.timings_ms.items():
                    stages.setdefault(k, []).append(v)
    return times, {k: round(statistics.median(v), 2) for k, v in stages.items()}


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def _spin(stop) -> None:  # a busy process: the load of --load
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _set_threads(n: int) -> int:
    """Torch's intra-op threads: ``n``, or its default (every core) for 0."""
    import torch

    torch.set_num_threads(n if n > 0 else (os.cpu_count() or 1))
    return torch.get_num_threads()


def _measure(args: argparse.Namespace, names: list[str], threads: list[int]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            bot, info = _assistant_for(name, Path(tmp), args.items, args.bundle)
            users = bot.users(50)
            for n in threads:
                used = _set_threads(n)
                _run(bot, users, 2, f"warm-{name}-{n}")
                for mode in MODES:
                    times, stages = _run(bot, users, args.rounds, f"{name}-{mode}-{n}", mode)
                    rows.append({"catalog": name, "caches_cleared": mode, **info,
                                 "encoder_threads": used, "turns": len(times),
                                 "p50_ms": _pct(times, 50), "p90_ms": _pct(times, 90),
                                 "p99_ms": _pct(times, 99), "max_ms": _pct(times, 100),
                                 "stage_median_ms": stages, "rss_after_mb": _rss_mb()})
            bot.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=["demo", "synthetic-100k"], default=None)
    p.add_argument("--items", type=int, default=100_000, help="size of the synthetic catalog")
    p.add_argument("--rounds", type=int, default=10, help="timed rounds of all conversations")
    p.add_argument("--threads", default="1",
                   help="encoder threads to time, comma-separated (0: torch's default, every "
                        "core); default 1, what serving pins")
    p.add_argument("--load", type=int, default=0,
                   help="busy processes spinning while the turns are timed (a loaded CPU)")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.add_argument("--bundle", default=None,
                   help="time this built bundle (memory-mapped) instead of the two catalogs "
                        "(with --only, beside that one)")
    args = p.parse_args(argv)
    names = [args.only] if args.only else ["demo", "synthetic-100k"]
    if args.bundle:
        names = ([args.only] if args.only else []) + ["bundle"]
    threads = [int(t) for t in args.threads.split(",")]
    import multiprocessing as mp

    stop = mp.Event()
    load = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(args.load)]
    for proc in load:
        proc.start()
    try:
        rows = _measure(args, names, threads)
    finally:
        stop.set()
        for proc in load:
            proc.join(timeout=5)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    _print(rows, args.load)
    return 0


def _print(rows: list[dict], load: int) -> None:
    print(f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}; {os.cpu_count()} cores; "
          f"{load} busy processes meanwhile")
    print(f"{'catalog':<16}{'items':>8}{'caches cleared':>16}{'threads':>8}{'turns':>7}"
          f"{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}  ranker / index")
    for r in rows:
        print(f"{r['catalog']:<16}{r['items']:>8}{r['caches_cleared']:>16}"
              f"{r['encoder_threads']:>8}{r['turns']:>7}{r['p50_ms']:>8}{r['p90_ms']:>8}"
              f"{r['p99_ms']:>8}{r['max_ms']:>8}  {r['ranker']} / {r['index']}")
    for r in rows:
        print(f"  {r['catalog']}, {r['caches_cleared']}, {r['encoder_threads']} thread(s): "
              f"stage medians (ms) {r['stage_median_ms']}")
    seen = set()
    for r in rows:
        if r["catalog"] not in seen:
            seen.add(r["catalog"])
            print(f"  {r['catalog']}: setup {r['setup_s']} s, ranker training "
                  f"{r['ranker_training_s']} s, {r['interactions']} interactions"
                  + (f"; {r['collaborative']}; RSS after the turns {r['rss_after_mb']} MiB"
                     if "collaborative" in r else ""))
    load_avg = os.getloadavg()
    print("RESULT turn_bench " + json.dumps(
        {f"{r['catalog']}/{r['caches_cleared']}": {"p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
                                                   "turns": r["turns"], "items": r["items"]}
         for r in rows}) + f" load_avg={load_avg[0]:.2f} cores={os.cpu_count()}")


if __name__ == "__main__":
    raise SystemExit(main())
