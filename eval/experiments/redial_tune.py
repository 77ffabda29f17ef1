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

# The settings tried on the first half; the first is the default (see the module docstring
# of eval/dialogues/systems.py for what each one means).
GRID: list[dict[str, Any]] = [
    {},
    {"mentioned": 0},
    {"recent_days": 365},
    {"candidates": 2000, "collaborative": 1000},
    {"candidates": 1000, "collaborative": 500},
    {"min_ratings": 2},
    {"years": "soft"},
    {"mmr_lambda": 1.0},
    {"als": True},
    {"recommender_titles": False},
    {"blend": None},
]
# Settings compared once, at the end (oracles, or text the parser reads poorly).
EXTRA: list[dict[str, Any]] = [
    {"titles": "parser"},
    {"titles": "mentions"},
    {"query_turns": 2},
    {"roles": False},
    {"min_ratings": 0},
]


def _stats(bundle: Any, cache: Path, recent_days: float, als: bool = False) -> Any:
    from retrieval.stats import InteractionStats
    from retrieval.train_ranker import stats_from_config

    folder = cache / f"recent-{recent_days:g}{'-als' if als else ''}"
    if (folder / "stats.json").is_file():
        return InteractionStats.load(folder)
    config = bundle.pipeline_config.stats.model_copy(update={"recent_days": recent_days,
                                                             "mf_with_ease": als})
    stats = stats_from_config(bundle.interactions, bundle.catalog, config)
    stats.save(folder)
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
    ap.add_argument("--settings-file", type=Path,
                    help="JSON lines, one set of encore settings each, run in turn.")
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
    parser = make_parser("rules", bundle.catalog)
    print(f"# ready after {time.perf_counter() - t0:.0f} s", flush=True)
    settings = GRID + EXTRA if args.grid else [json.loads(args.encore)]
    if args.settings_file is not None:
        settings = [json.loads(x) for x in args.settings_file.read_text().splitlines()
                    if x.strip()]
    pipes: dict[tuple[Any, ...], Any] = {}
    for extra in settings:
        config = EncoreDialogueConfig(**extra)
        stats = _stats(bundle, args.stats_cache, config.recent_days, config.als)
        key = (config.recent_days, config.als, config.collaborative, config.candidates,
               config.mmr_lambda, json.dumps(config.blend, sort_keys=True))
        if key not in pipes:
            pipes[key] = encore_pipeline(bundle, config, stats=stats)
        pipe = pipes[key]
        encore = EncoreDialogue(bundle, config, pipeline=pipe, parser=parser)
        started = time.perf_counter()
        lists = encore.rank(replays, depth)
        print(json.dumps({"system": "encore", "settings": extra, **_score(replays, lists),
                          "seconds": round(time.perf_counter() - started, 1)}), flush=True)


if __name__ == "__main__":
    main()
