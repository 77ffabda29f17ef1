"""Request first, as an ablation: what ranking the items that meet a request's genres, tags
and moods first (and finding them by an exact lookup) does to history-only and to
conversational ranking, against the request-plus-popularity blend.

One run, one split, one fitted ranker:

1. history-only (``encore eval``'s default protocol: leave-one-out by time, full catalog):
   NDCG@10 of EASE and Encore (request first changes nothing without a request: the
   figure must stay at 0.075 or above on ml-100k);
2. conversational: requests written from each held-out item's genres and tags
   (:func:`eval.conversational.generate.generate_requests`), each answered by a whole turn
   (rules parser, then the pipeline, as the assistant serves it), NDCG@10 of:

   - Encore, request first (the default: exact lookup + tiers);
   - Encore, the ranker alone (``stated_candidates=0``, ``request_first=False``);
   - the request + popularity blend, ``w`` tuned on validation requests from the training
     part (:class:`eval.baselines.request_blend.RequestPopularityBlend`);
   - popularity (history only: the request ignored).

Every number is a mean with its standard error; the last line is Encore's NDCG@10 relative
to the blend's.

Run (ml-100k, about 5-10 minutes on 2 CPU cores):
    .venv/bin/python -m eval.experiments.request_first --data movielens:../shared/data/ml-100k
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

METRIC = "ndcg@10"


def _row(name: str, summary: Any) -> str:
    return f"| {name} | {summary.mean:.4f} ± {summary.se:.4f} |"


def _history_only(split: Any, ds: Any, systems: dict[str, Any], seed: int) -> list[str]:
    from eval.harness import evaluate

    result = evaluate(split, ds.catalog, systems, [METRIC], on="test", curve_ks=(), seed=seed,
                      dataset=ds.name, progress=sys.stderr.isatty())
    lines = [f"history only — {result.description}; {result.users} users, "
             f"{result.n_items} items", "| system | NDCG@10 |", "|---|---|"]
    lines += [_row(n, sr.metrics[METRIC]) for n, sr in result.systems.items()]
    return lines


def _conversational(split: Any, ds: Any, encore: Any, others: dict[str, Any], n: int,
                    seed: int) -> tuple[list[str], dict[str, float]]:
    from eval.conversational import as_turn, generate_requests, history_lookup, run_requests

    fit_log = split.fit_data("test")
    cases = generate_requests(fit_log, split.target("test"), ds.catalog, n=n, seed=seed).cases
    history = history_lookup(fit_log)
    pipe = encore.pipeline
    stated, first = pipe.generator.stated, pipe.reranker.request_first
    runs: dict[str, Any] = {}
    try:
        runs["encore, request first"] = as_turn(encore, ds.catalog)
        results = {name: run_requests(cases, turn, ds.catalog, metrics=[METRIC],
                                      history=history, name=name, progress=False)
                   for name, turn in runs.items()}
        pipe.generator.stated, pipe.reranker.request_first = 0, False
        results["encore, ranker alone (no lookup, no tiers)"] = run_requests(
            cases, as_turn(encore, ds.catalog), ds.catalog, metrics=[METRIC], history=history,
            name="ranker alone", progress=False)
    finally:
        pipe.generator.stated, pipe.reranker.request_first = stated, first
    for name, system in others.items():
        results[name] = run_requests(cases, as_turn(system, ds.catalog), ds.catalog,
                                     metrics=[METRIC], history=history, name=name,
                                     progress=False)
    lines = [f"conversational — {len(cases)} requests from held-out items' genres and tags "
             f"(seed {seed}), whole turns", "| system | NDCG@10 |", "|---|---|"]
    lines += [_row(name, r.metrics[METRIC]) for name, r in results.items()]
    return lines, {name: r.metrics[METRIC].mean for name, r in results.items()}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m eval.experiments.request_first",
                                description="Request first: history-only and conversational.")
    p.add_argument("--data", required=True, help="data set, e.g. movielens:PATH")
    p.add_argument("--requests", type=int, default=500, help="conversational requests")
    p.add_argument("--encoder", default="all-MiniLM-L6-v2", help="encoder of item texts")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from eval.run import EvalConfig, build_split
    from eval.systems import make_system
    from retrieval.dataset import load_dataset

    started = time.perf_counter()
    ds = load_dataset(args.data)
    split, _ = build_split(EvalConfig(data=args.data, systems=["pop"], seed=args.seed), ds)
    encore = make_system("encore", encoder=args.encoder, seed=args.seed)
    systems = {"ease": make_system("ease"), "encore": encore}
    lines = _history_only(split, ds, systems, args.seed)
    blend: Any = make_system("request-pop", encoder=args.encoder, seed=args.seed)
    pop = make_system("pop")
    for system in (blend, pop):
        system.fit(split.fit_data("test"), ds.catalog)
    conv, means = _conversational(split, ds, encore, {
        "request + popularity blend": blend, "popularity (request ignored)": pop},
        args.requests, args.seed)
    print("\n".join(lines + [""] + conv))
    tuning = ", ".join(f"{w:g}: {v:.4f}" for w, v in blend.tuning.items())
    print(f"\nblend weight w = {blend.weight:g} (validation NDCG@10 by w: {tuning})")
    best = means["request + popularity blend"]
    ours = means["encore, request first"]
    print(f"encore (request first) vs the blend: {ours / best - 1:+.1%} NDCG@10" if best > 0
          else "the blend scored 0")
    print(f"wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
