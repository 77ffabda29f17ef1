"""The ranker's ablation on a history-only protocol, in one command: retrieval alone,
retrieval + ranker, the ranker without each feature group, and the baselines (popularity,
item-kNN, EASE), all in the same harness (``eval.harness.evaluate``) on the same split.

Protocol (the default of ``encore eval``): implicit positives (every rating), leave-one-out
by timestamp with ties broken by item id, full catalog, each user's training items
excluded, history only. Encore is fitted on the training part only: its ranker learns from
an inner time split of each user's training interactions. ``--on valid`` holds out the
item before the test item and evaluates on it, fitting on what precedes it (for tuning;
the test items are then never used).

Every number is a mean over users with its standard error; "vs EASE" is the paired
difference in NDCG@10 with its standard error.

Run:
    .venv/bin/python -m eval.experiments.ablation --data movielens:../shared/data/ml-100k
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

METRICS = ("ndcg@10", "recall@10", "recall@20", "recall@200")


def _parse(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"error: cannot read --param {item!r}; write NAME=VALUE")
        value: Any = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        out[key.strip()] = value
    return out


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval.experiments.ablation",
                                description="Ranker ablation against the baselines.")
    p.add_argument("--data", required=True, help="data set, e.g. movielens:PATH")
    p.add_argument("--on", choices=("test", "valid"), default="test",
                   help="evaluate on the test items (default) or on the validation items")
    p.add_argument("--encoder", default="all-MiniLM-L6-v2", help="encoder of item texts")
    p.add_argument("--groups", default="all",
                   help="feature groups to ablate, comma-separated ('all', or '' for none)")
    p.add_argument("--no-baselines", action="store_true", help="leave out pop, itemknn, ease")
    p.add_argument("--mmr", type=float, default=0.8,
                   help="also report the full ranker with MMR at this lambda (1: skip)")
    p.add_argument("--param", action="append", default=[],
                   help="Encore parameter NAME=VALUE (repeatable), e.g. cuts=5")
    p.add_argument("--tie-break", default="item", choices=("item", "random", "order"),
                   help="order of same-second interactions in the split (default: item id)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the numbers as JSON too")
    return p.parse_args(argv)


def _systems(args: argparse.Namespace, params: dict[str, Any]) -> dict[str, Any]:
    """The systems of the ablation: baselines, retrieval alone, the blend, the ranker, the
    ranker with MMR and the ranker without each feature group."""
    from eval.systems import make_system
    from retrieval.features import FEATURE_GROUPS

    groups = list(FEATURE_GROUPS) if args.groups == "all" else \
        [g for g in args.groups.split(",") if g]
    systems: dict[str, Any] = {}
    if not args.no_baselines:
        systems.update({"pop": make_system("pop"), "itemknn": make_system("itemknn"),
                        "ease": make_system("ease")})
    n = int(params.get("n_candidates", 200))
    collaborative = int(params.get("collaborative", 190))
    systems["retrieval (dense)"] = make_system("encore-retrieval", encoder=args.encoder, n=n)
    systems["candidates (dense+EASE, merge order)"] = make_system(
        "encore-retrieval", encoder=args.encoder, n=n, collaborative=collaborative)
    systems["retrieval + blend (untrained)"] = make_system("encore", ranker="blend", **params)
    systems["retrieval + ranker (encore)"] = make_system("encore", **params)
    if args.mmr < 1.0:
        systems[f"encore + MMR λ={args.mmr:g}"] = make_system("encore", mmr_lambda=args.mmr,
                                                              **params)
    for g in groups:
        systems[f"encore − {g}"] = make_system("encore", drop_groups=g, **params)
    return systems


def _rows(result: Any) -> list[dict[str, Any]]:
    """One row per system: each metric's mean and standard error, the paired difference
    from EASE on NDCG@10, and the seconds it took."""
    import numpy as np

    ease = result.systems.get("ease")
    rows = []
    for name, sr in result.systems.items():
        row: dict[str, Any] = {"system": name}
        for m in METRICS:
            s = sr.metrics[m]
            row[m] = {"mean": s.mean, "se": s.se}
        if ease is not None and name != "ease":
            d = sr.per_user["ndcg@10"] - ease.per_user["ndcg@10"]
            row["vs_ease"] = {"diff": float(d.mean()),
                              "se": float(d.std(ddof=1) / np.sqrt(len(d))),
                              "relative": float(d.mean() / ease.metrics["ndcg@10"].mean)}
        row["seconds"] = round(sr.fit_seconds + sr.score_seconds, 1)
        rows.append(row)
    return rows


def _print_table(result: Any, rows: list[dict[str, Any]]) -> None:
    print(f"{result.dataset} — {result.description}; {result.on} split, {result.users} users, "
          f"{result.n_items} items; mean ± standard error")
    head = "| system | " + " | ".join(m.replace("ndcg", "NDCG").replace("recall", "Recall")
                                       for m in METRICS) + " | NDCG@10 vs EASE | s |"
    print(head)
    print("|" + "---|" * (len(METRICS) + 3))
    for row in rows:
        cells = [f"{row[m]['mean']:.4f} ± {row[m]['se']:.4f}" for m in METRICS]
        vs = row.get("vs_ease")
        rel = (f"{vs['relative']:+.1%} ({vs['diff']:+.4f} ± {vs['se']:.4f})" if vs else "")
        print(f"| {row['system']} | " + " | ".join(cells) + f" | {rel} | {row['seconds']} |")


def _print_report(rep: dict[str, Any]) -> None:
    print(f"\nranker: {rep.get('rounds')} rounds, inner validation NDCG@10 "
          f"{rep.get('valid_ndcg@10') or 0:.4f}; training lists: "
          + ", ".join(f"{k} {v}" for k, v in rep.get("counts", {}).items()))
    print("inner-split candidate recall (share of training queries whose positive is in the "
          "list, by source): " + ", ".join(f"{k} {v:.3f}" for k, v in
                                           rep.get("candidate_recall", {}).items()))
    top = list(rep.get("importance_gain", {}).items())[:8]
    print("feature importance (gain share): " + ", ".join(f"{k} {v:.3f}" for k, v in top))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = _parse_args(argv)

    from eval.harness import evaluate
    from eval.run import EvalConfig, build_split
    from retrieval.dataset import load_dataset

    started = time.perf_counter()
    params = {"encoder": args.encoder, "seed": args.seed, **_parse(args.param)}
    config = EvalConfig(data=args.data, systems=["pop"], valid=args.on == "valid", on=args.on,
                        seed=args.seed, tie_break=args.tie_break)
    ds = load_dataset(args.data)
    split, _ = build_split(config, ds)
    systems = _systems(args, params)
    result = evaluate(split, ds.catalog, systems, METRICS, on=args.on, curve_ks=(),
                      seed=args.seed, dataset=ds.name, progress=sys.stderr.isatty())
    wall = time.perf_counter() - started
    rows = _rows(result)
    _print_table(result, rows)
    rep = systems["retrieval + ranker (encore)"].report
    _print_report(rep)
    print(f"settings: {json.dumps({k: v for k, v in params.items()})}")
    print(f"wall time {wall:.0f} s ({wall / 60:.1f} min)")
    if args.json:
        print(json.dumps({"rows": rows, "wall_seconds": round(wall, 1), "params": params,
                          "report": {k: v for k, v in rep.items()}}, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
