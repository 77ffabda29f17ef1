"""Tune Encore's dialogue settings on the first half of the ReDial development dialogues
and report every system on the second half (never tuned on).

    PYTHONPATH=$PWD python -m eval.experiments.redial_tune --bundle /tmp/redial-bundle \
        --dialogues ../shared/data/redial-dev/dialogues.jsonl --half first --grid

The bundle's interaction statistics (EASE and item-kNN over the rated items) are built once
and kept in ``--stats-cache``; the parser's readings are shared by every variant.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from eval.dialogues.metrics import ScoredPoint, recall_table
from eval.dialogues.redial import load_redial
from eval.dialogues.run import prepare_replays, select_half
from eval.dialogues.systems import (
    EncoreDialogue,
    EncoreDialogueConfig,
    MiniLMCosine,
    Popularity,
    encore_pipeline,
)

# The settings tried on the first half; the first is the default.
GRID: list[dict[str, Any]] = [
    {},
    {"min_ratings": 0},
    {"min_ratings": 5},
    {"min_ratings": 20},
    {"recommender_titles": False},
    {"keep_years": False},
    {"query_turns": 0},
    {"query_turns": 1},
    {"query_turns": 99},
    {"blend": {"popularity": 1.0}},
    {"blend": {"popularity": 1.5, "ease_score": 1.5}},
    {"blend": {"ease_score": 2.0, "knn_recent_max": 1.0}},
    {"blend": {"request_cosine": 1.0}},
]


def _stats(bundle: Any, cache: Path) -> Any:
    from retrieval.stats import InteractionStats
    from retrieval.train_ranker import stats_from_config

    if (cache / "stats.json").is_file():
        return InteractionStats.load(cache)
    stats = stats_from_config(bundle.interactions, bundle.catalog,
                              bundle.pipeline_config.stats)
    stats.save(cache)
    return stats


def _score(replays: list[Any], lists: list[list[str]]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in recall_table(
        [ScoredPoint(r.targets, r.earlier, x) for r, x in zip(replays, lists, strict=True)]
    ).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--dialogues", type=Path, required=True)
    ap.add_argument("--half", choices=["first", "second", "all"], default="first")
    ap.add_argument("--grid", action="store_true", help="Try every setting of GRID.")
    ap.add_argument("--encore", default="{}", help="JSON settings of the encore system.")
    ap.add_argument("--stats-cache", type=Path, default=Path("/tmp/redial-stats"))
    ap.add_argument("--baselines", action="store_true")
    args = ap.parse_args()

    from assistant.parsers import make_parser
    from retrieval.bundle import Bundle

    t0 = time.perf_counter()
    bundle = Bundle.load(args.bundle, verify=False)
    replays, counts = prepare_replays(select_half(load_redial(args.dialogues), args.half),
                                      bundle.catalog)
    print(json.dumps({"half": args.half, **counts}), flush=True)
    depth = 50 + max(len(r.earlier) for r in replays)
    if args.baselines:
        for system in (Popularity(bundle), MiniLMCosine(bundle)):
            print(json.dumps({"system": system.name,
                              **_score(replays, system.rank(replays, depth))}), flush=True)
    stats = _stats(bundle, args.stats_cache)
    parser = make_parser("rules", bundle.catalog)
    print(f"# ready after {time.perf_counter() - t0:.0f} s", flush=True)
    settings = GRID if args.grid else [json.loads(args.encore)]
    base = None
    for extra in settings:
        config = EncoreDialogueConfig(**extra)
        if base is None or config.blend is not None:
            pipe = encore_pipeline(bundle, config, stats=stats)
        else:
            pipe = base
        if config.blend is None:
            base = pipe
        encore = EncoreDialogue(bundle, config, pipeline=pipe, parser=parser)
        started = time.perf_counter()
        lists = encore.rank(replays, depth)
        print(json.dumps({"system": "encore", "settings": extra, **_score(replays, lists),
                          "seconds": round(time.perf_counter() - started, 1)}), flush=True)


if __name__ == "__main__":
    main()
