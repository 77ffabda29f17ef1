"""Speed of the ranker at serving time: features plus LambdaMART scores for the 200
candidates of one query, on one core.

What is timed, per query: ``FeatureBuilder.prepare`` (history, profile) +
``FeatureBuilder.build`` (all 25 features of the 200 ``Candidate`` objects) +
``LightGBMRanker.score``. Candidate generation (retrieval) is not timed; it is the
retriever's benchmark. Item vectors are random 384-d unit vectors unless ``--encoder`` is
given (the values do not change the work done, only the dimension does).

Run:
    .venv/bin/python benchmarks/ranker_bench.py --data movielens:../shared/data/ml-100k
    .venv/bin/python benchmarks/ranker_bench.py            # synthetic ml-100k-sized data
"""

from __future__ import annotations

import os

# One core: set before numpy, scipy or LightGBM start their thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)

    import numpy as np

    from eval.protocols import implicit_positives
    from retrieval.config import PipelineConfig
    from retrieval.pipeline import Pipeline
    from retrieval.train_ranker import train_ranker

    catalog, log, name = _load(args)
    log, _ = implicit_positives(log)
    rng = np.random.default_rng(args.seed)
    enc, vecs = _vectors(args, catalog, rng)
    t = time.perf_counter()
    # The default training settings (those of `encore train-ranker` and the `encore` system),
    # so the model has the trees it has in use.
    config = PipelineConfig(retrieval={"n_candidates": args.candidates},
                            training={"seed": args.seed})
    trained = train_ranker(log, catalog, vecs, encoder=enc, config=config)
    train_s = time.perf_counter() - t
    pipe = Pipeline(catalog, vecs, enc, trained.stats, ranker=trained.ranker, config=config)
    builder = pipe.builder
    from eval.encore import _histories

    histories, last = _histories(log)
    users = rng.choice(sorted(histories), size=args.queries, replace=True)
    cands = [pipe.generator.generate_list(histories[u]) for u in users]
    ranker = trained.ranker
    feat_ms, score_ms, total_ms = _time_queries(builder, ranker, histories, last, users, cands)
    out = {
        "data": name,
        "candidates": args.candidates,
        "queries": args.queries,
        "features": len(builder.schema.names),
        "trees": int(ranker.booster.num_trees()),
        "mean_history": round(float(np.mean([len(histories[u]) for u in users])), 1),
        "features_ms": _pct(feat_ms),
        "score_ms": _pct(score_ms),
        "total_ms": _pct(total_ms),
        "train_seconds": round(train_s, 1),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{name}: {args.queries} queries x {args.candidates} candidates, "
              f"{out['features']} features, {out['trees']} trees, one core")
        for key in ("features_ms", "score_ms", "total_ms"):
            print(f"  {key[:-3]:<9} p50 {out[key]['p50']:.3f} ms   p99 {out[key]['p99']:.3f} ms")
    return 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="data set (default: synthetic, ml-100k-sized)")
    p.add_argument("--encoder", default=None, help="encode item texts with this model")
    p.add_argument("--queries", type=int, default=500, help="timed queries")
    p.add_argument("--candidates", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    return p.parse_args(argv)


def _load(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """(catalog, interactions, name): the data set, or synthetic ml-100k-sized data."""
    if args.data:
        from retrieval.dataset import load_dataset

        ds = load_dataset(args.data)
        return ds.catalog, ds.interactions, ds.name
    from eval.synthetic import synthetic_log

    catalog, log = synthetic_log(n_users=943, n_items=1682, n_interactions=100_000,
                                 seed=args.seed)
    return catalog, log, "SYNTHETIC (943 users, 1682 items, 100k interactions)"


def _vectors(args: argparse.Namespace, catalog: Any, rng: Any) -> tuple[Any, Any]:
    """(encoder or None, item vectors): encoded texts, or random 384-d vectors."""
    import numpy as np

    if args.encoder:
        from retrieval.encoder import item_text, load_encoder

        enc = load_encoder(args.encoder)
        return enc, enc.encode([item_text(it) for it in catalog])
    return None, rng.normal(size=(len(catalog), 384)).astype(np.float32)


def _time_queries(builder: Any, ranker: Any, histories: dict, last: dict, users: Any,
                  cands: list) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds per query: features, scores and both (after 20 warm-up queries)."""
    from retrieval.features import FeatureMatrix, QueryContext

    def features(ctx: Any, cl: Any) -> FeatureMatrix:
        x = builder.build_rows(builder.prepare(ctx), cl.rows, cl.dense_scores, cl.from_dense)
        return FeatureMatrix(x, builder.schema.names)

    feat_ms, score_ms, total_ms = [], [], []
    for _ in range(20):  # warm-up
        m = features(QueryContext(histories[users[0]]), cands[0])
        ranker.score(m)
    for u, c in zip(users, cands, strict=True):
        t0 = time.perf_counter()
        m = features(QueryContext(histories[u], now=last.get(u)), c)
        t1 = time.perf_counter()
        ranker.score(m)
        t2 = time.perf_counter()
        feat_ms.append((t1 - t0) * 1e3)
        score_ms.append((t2 - t1) * 1e3)
        total_ms.append((t2 - t0) * 1e3)
    return feat_ms, score_ms, total_ms


def _pct(xs: list[float]) -> dict[str, float]:
    import numpy as np

    return {"p50": round(float(np.percentile(xs, 50)), 3),
            "p99": round(float(np.percentile(xs, 99)), 3)}


if __name__ == "__main__":
    raise SystemExit(main())
