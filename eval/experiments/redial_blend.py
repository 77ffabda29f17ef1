"""Search the dialogue blend's weights on one half of the ReDial development dialogues.

Each test point's candidates and feature values are computed once (the pipeline of
:class:`~eval.dialogues.systems.EncoreDialogue` with the given settings); a coordinate
ascent then tries each weight on a small grid, keeping a change when recall@10 + recall@50
over all pairs rises. Only the first half is for searching; the figures it prints skip the
diversity re-ranking, so confirm the weights with ``redial_tune`` (which runs the whole
turn) before reporting them::

    PYTHONPATH=$PWD python -m eval.experiments.redial_blend --bundle /tmp/redial-bundle \\
        --dialogues ../shared/data/redial-dev/dialogues.jsonl --half first \\
        --encore '{"recent_days": 180, "candidates": 3000, "collaborative": 1500}'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from eval.dialogues.redial import load_redial
from eval.dialogues.run import prepare_replays, select_half
from eval.dialogues.systems import EncoreDialogue, EncoreDialogueConfig, Replay

# The features searched; the others of the schema keep the starting weights.
FEATURES = ("request_cosine", "popularity", "recent_popularity", "ease_score", "knn_score",
            "knn_recent_mean", "knn_recent_max", "genre_request", "genre_profile",
            "profile_cosine", "recent_max_cosine", "retrieval_score", "dislike_max_cosine")
GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


def standardised(x: np.ndarray) -> np.ndarray:
    """The blend ranker's within-list z-scores (missing values and constant columns: 0)."""
    present = ~np.isnan(x)
    n = np.maximum(present.sum(axis=0), 1)
    filled = np.where(present, x, 0.0)
    mean = filled.sum(axis=0) / n
    std = np.sqrt(np.where(present, (x - mean) ** 2, 0.0).sum(axis=0) / n)
    return np.where(present, (filled - mean) / np.where(std > 1e-9, std, np.inf), 0.0)


def cache_lists(encore: EncoreDialogue, replays: list[Replay]
                ) -> list[tuple[np.ndarray, list[int]]]:
    """Per test point: the z-scored features of its candidates and each target's position
    among them (-1: not a candidate)."""
    from retrieval.retriever import History

    pipe = encore.pipeline
    out = []
    for r in replays:
        req = encore.request(r)
        ctx, cl = pipe.candidates(History([]), req, encore.filter(req))
        x = pipe.builder.build_rows(pipe.builder.prepare(ctx), cl.rows, cl.dense_scores,
                                    cl.from_dense)
        pos = {int(row): j for j, row in enumerate(cl.rows)}
        rows = pipe.items.rows([t or "" for t in r.targets], strict=False)
        out.append((standardised(x.astype(np.float64)),
                    [pos.get(int(row), -1) for row in rows]))
    return out


def recall(lists: list[tuple[np.ndarray, list[int]]], weights: np.ndarray,
           ks: tuple[int, ...] = (10, 50)) -> list[float]:
    """Recall@k over all pairs of the cached lists scored with ``weights``."""
    hits = np.zeros(len(ks))
    pairs = 0
    for z, targets in lists:
        order = np.argsort(-(z @ weights), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        for t in targets:
            pairs += 1
            if t >= 0:
                hits += rank[t] < np.asarray(ks)
    return (hits / max(pairs, 1)).tolist()


def search(lists: list[tuple[np.ndarray, list[int]]], names: list[str],
           start: dict[str, float], rounds: int = 3) -> dict[str, float]:
    """Coordinate ascent over :data:`FEATURES` on :data:`GRID`, from ``start``."""
    w = np.array([start.get(n, 0.0) for n in names])
    best = sum(recall(lists, w))
    for _ in range(rounds):
        changed = False
        for f in FEATURES:
            j = names.index(f)
            for g in GRID:
                trial = w.copy()
                trial[j] = g
                got = sum(recall(lists, trial))
                if got > best + 1e-9:
                    best, w, changed = got, trial, True
            print(json.dumps({"feature": f, "weight": w[j], "objective": round(best, 4)}),
                  flush=True)
        if not changed:
            break
    return {n: float(v) for n, v in zip(names, w, strict=True) if v}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--dialogues", type=Path, required=True)
    ap.add_argument("--half", choices=["first", "second", "all"], default="first")
    ap.add_argument("--encore", default="{}", help="JSON settings of the encore system.")
    args = ap.parse_args()

    from retrieval.bundle import Bundle
    from retrieval.ranker import DEFAULT_BLEND_WEIGHTS

    bundle = Bundle.load(args.bundle, verify=False)
    replays, _ = prepare_replays(select_half(load_redial(args.dialogues), args.half),
                                 bundle.catalog)
    config = EncoreDialogueConfig(**json.loads(args.encore))
    encore = EncoreDialogue(bundle, config)
    lists = cache_lists(encore, replays)
    names = list(encore.pipeline.builder.schema.names)
    start: dict[str, Any] = {**DEFAULT_BLEND_WEIGHTS, **(config.blend or {})}
    print(json.dumps({"start": recall(lists, np.array([start.get(n, 0.0) for n in names]))}))
    found = search(lists, names, start)
    print(json.dumps({"weights": found,
                      "recall@10, @50": recall(lists, np.array([found.get(n, 0.0)
                                                                for n in names]))}))


if __name__ == "__main__":
    main()
