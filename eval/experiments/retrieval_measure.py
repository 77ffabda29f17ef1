"""Measure retrieval alone, base encoder against fine-tuned, on a history-only protocol.

Protocol: leave-one-out by timestamp (``eval.protocols.leave_one_out``: each user's latest
interaction is the test item), full catalog, each user's training items excluded, history
only (no request). The query is the user profile (:class:`retrieval.retriever.Retriever`),
candidates come from the FAISS index, and the harness of ``eval/`` scores them: candidate
Recall@50/100/200 and NDCG@10 of the candidate order.

The fine-tuned encoder is trained here on the training part of the same split only (pass
``--model`` to reuse one; its ``encore_training.json`` must say it was trained that way),
and the command checks that no held-out (user, item) appears in any training pair.

Run:
    .venv/bin/python -m eval.experiments.retrieval_measure --data movielens:/path/to/ml-100k
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.config import RetrieverConfig
from retrieval.finetune import MiningConfig, TrainingConfig

METRICS = ("recall@50", "recall@100", "recall@200", "ndcg@10")

# Retriever settings for this protocol, chosen on the validation split (each user's
# second-to-last interaction) with a model fine-tuned on the part before it; never on test.
DEFAULTS = {"recency_half_life": 5.0, "dislike_weight": 0.2, "popularity_weight": 0.03}


class RetrievalSystem:
    """Retrieval alone as an ``eval`` :class:`~eval.systems.Recommender`: the profile of the
    user's training history is the query, the top ``n`` of the FAISS index (re-scored with
    the popularity prior when ``config.popularity_weight`` > 0, merged with co-occurrence
    candidates when ``cooccurrence_quota`` > 0) are the candidates, in order; everything
    else scores ``-inf``. The retriever is the pipeline's
    (:meth:`~retrieval.retriever.Retriever.from_config`).

    Args:
        encoder: The encoder for item texts.
        n: Candidates per user.
        config: The retriever's weights (:class:`~retrieval.config.RetrieverConfig`); the
            popularity counts come from the training log given to :meth:`fit`.
        cooccurrence_quota: Places of the ``n`` given to co-occurrence candidates.
    """

    def __init__(self, encoder: Any, *, n: int = 200, config: RetrieverConfig | None = None,
                 cooccurrence_quota: int = 0) -> None:
        self.encoder = encoder
        self.n = n
        self.config = config or RetrieverConfig()
        self.cooccurrence_quota = cooccurrence_quota
        self._vectors: Any = None

    def fit(self, train: Any, catalog: Any) -> None:
        from retrieval.encoder import item_text
        from retrieval.retriever import Retriever, histories_from_log, popularity_counts
        from retrieval.sources import CooccurrenceSource

        self.catalog = catalog
        if self._vectors is None:  # item texts do not depend on the log: encode once
            self._vectors = self.encoder.encode([item_text(it) for it in catalog])
        pop = popularity_counts(train) if self.config.popularity_weight > 0 else None
        self.retriever = Retriever.from_config(self.encoder, catalog.ids, self._vectors,
                                               self.config, catalog=catalog,
                                               item_popularity=pop, n_candidates=self.n)
        self.cooc = (CooccurrenceSource(catalog.ids, train) if self.cooccurrence_quota else None)
        self.histories = histories_from_log(train)
        self._pos = {i: k for k, i in enumerate(catalog.ids)}

    def score(self, user_ids: Sequence[str], history: Any) -> np.ndarray:
        from eval.systems import scores_from_lists
        from retrieval.retriever import Candidate, History
        from retrieval.sources import merge_candidates

        hs = {u: self.histories.get(u, History([])) for u in user_ids}
        got = self.retriever.retrieve_many(hs, n=self.n)
        lists = []
        for u in user_ids:
            ids = got[u][0]
            if self.cooc is not None:
                other, _ = self.cooc.retrieve(hs[u], n=self.cooccurrence_quota)
                merged = merge_candidates([Candidate(item_id=i, score=0.0) for i in ids],
                                          [Candidate(item_id=i, score=0.0) for i in other],
                                          n=self.n, quota=self.cooccurrence_quota)
                ids = [c.item_id for c in merged]
            lists.append([self._pos[i] for i in ids])
        return scores_from_lists(lists, len(self.catalog))


def held_out_leaks(pairs: Sequence[Any], test_df: Any) -> int:
    """How many held-out (user, item) pairs appear in training pairs (as target or in an
    anchor's history) of the same user; must be 0."""
    held = set(zip(test_df["user_id"].astype(str), test_df["item_id"].astype(str), strict=True))
    n = 0
    for p in pairs:
        if p.user_id is None:
            continue
        n += sum((p.user_id, i) in held for i in (p.target_id, *p.source_ids))
    return n


def _table(rows: list[tuple[str, dict[str, float], str]]) -> str:
    head = f"{'system':<42}" + "".join(f"{m:>12}" for m in METRICS) + "  note"
    lines = [head, "-" * len(head)]
    for name, vals, note in rows:
        lines.append(f"{name:<42}" + "".join(f"{vals[m]:>12.4f}" for m in METRICS) + f"  {note}")
    return "\n".join(lines)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval.experiments.retrieval_measure",
                                description="Retrieval alone: base vs fine-tuned encoder.")
    p.add_argument("--data", required=True, help="data set, e.g. movielens:PATH")
    p.add_argument("--base", default="all-MiniLM-L6-v2", help="base encoder")
    p.add_argument("--model", default=None,
                   help="an already fine-tuned model folder (trained here before) to reuse")
    p.add_argument("--out", default=None, help="where to save the fine-tuned model "
                                               "(default: a temporary folder)")
    p.add_argument("--n", type=int, default=200, help="candidates per user")
    p.add_argument("--max-pairs", type=int, default=MiningConfig.max_pairs, help="training pairs")
    p.add_argument("--epochs", type=int, default=TrainingConfig.epochs)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--recency-half-life", type=float, default=DEFAULTS["recency_half_life"])
    p.add_argument("--dislike-weight", type=float, default=DEFAULTS["dislike_weight"])
    p.add_argument("--popularity-weight", type=float, default=DEFAULTS["popularity_weight"])
    p.add_argument("--cooccurrence-quota", type=int, default=50,
                   help="places given to co-occurrence candidates in the merged row")
    p.add_argument("--baselines", default="pop,ease",
                   help="eval baselines to print for reference ('' for none)")
    p.add_argument("--json", action="store_true", help="also print the numbers as JSON")
    return p.parse_args(argv)


def _model_folder(args: argparse.Namespace, ds: Any, split: Any, fit_log: Any
                  ) -> tuple[Path, str] | None:
    """The fine-tuned model to measure and a note on it: reused (``--model``, checked to be
    trained on this split's training part) or trained here; ``None`` after an error."""
    from retrieval.finetune import TRAINING_METADATA_FILE, mine_pairs, train_on_pairs

    if args.model:
        folder = Path(args.model)
        meta_path = folder / TRAINING_METADATA_FILE
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        if meta.get("protocol") != split.description or meta.get("data") != ds.source:
            print(f"error: {folder} was not trained on the training part of this split "
                  f"({meta_path} says data={meta.get('data')!r}, "
                  f"protocol={meta.get('protocol')!r}); "
                  "measuring it could leak test items. Fix: leave out --model to train one here",
                  file=sys.stderr)
            return None
        train_note = f"reused {folder}"
    else:
        mining = MiningConfig(max_pairs=args.max_pairs)
        training = TrainingConfig(seed=args.seed, epochs=args.epochs)
        pairs = mine_pairs(ds.catalog, fit_log, config=mining, seed=args.seed)
        leaks = held_out_leaks(pairs, split.test.df)
        print(f"mined {len(pairs)} pairs from the training part only; held-out (user, item) "
              f"pairs found in them: {leaks}", flush=True)
        if leaks:
            print("error: test items leaked into training pairs", file=sys.stderr)
            return None
        out = (Path(args.out) if args.out
               else Path(tempfile.mkdtemp(prefix="encore-measure-")) / "model")
        ts = fit_log.df["timestamp"]
        result = train_on_pairs(pairs, out, base_model=args.base, config=training, metadata={
            "data": ds.source, "data_name": ds.name, "protocol": split.description,
            "holdout": "leave-one-out", "held_out_interactions": len(split.test),
            "trained_interactions": len(fit_log), "last_trained_timestamp": int(ts.max()),
            "mining": asdict(mining),
        })
        folder = result.output_dir
        first, last = result.losses[0][1], result.losses[-1][1]
        train_note = (f"{result.steps} steps in {result.seconds / 60:.1f} min, "
                      f"loss {first:.2f} -> {last:.2f}")
        print(f"fine-tuned: {train_note}; saved to {folder}", flush=True)
    return folder, train_note


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # the machine's cores may be shared
    args = _parse_args(argv)

    from eval.harness import evaluate
    from eval.protocols import implicit_positives, leave_one_out
    from eval.systems import make_system
    from retrieval.dataset import load_dataset
    from retrieval.encoder import load_encoder

    started = time.time()
    ds = load_dataset(args.data)
    log, _ = implicit_positives(ds.interactions)
    split = leave_one_out(log)
    fit_log = split.fit_data("test")
    print(f"{ds.describe()}\nprotocol: {split.description}; full catalog, history only; "
          f"{len(split.test)} test users; {args.n} candidates per user", flush=True)
    settings = RetrieverConfig(recency_half_life=args.recency_half_life,
                               dislike_weight=args.dislike_weight)
    prior = args.popularity_weight

    def run(name: str, system: Any) -> dict[str, float]:
        res = evaluate(split, ds.catalog, {name: system}, METRICS, curve_ks=(), progress=False,
                       dataset=ds.name)
        return {m: res.systems[name].metrics[m].mean for m in METRICS}

    def variants(label: str, encoder: Any, note: str, *, cooc: bool = False) -> None:
        system = RetrievalSystem(encoder, n=args.n, config=settings)
        rows.append((f"{label}: cosine", run(label, system), note))
        # Same item vectors, now with the prior.
        system.config = settings.model_copy(update={"popularity_weight": prior})
        rows.append((f"{label}: cosine + popularity", run(label, system),
                     f"prior weight {prior:g}"))
        if cooc and args.cooccurrence_quota:
            system.cooccurrence_quota = args.cooccurrence_quota
            rows.append((f"{label}: + co-occurrence", run(label, system),
                         f"last {args.cooccurrence_quota} places from item co-occurrence"))
        print(_table(rows[-2 - cooc:]), flush=True)

    rows: list[tuple[str, dict[str, float], str]] = []
    timings: dict[str, float] = {}

    t = time.time()
    base = load_encoder(args.base)
    variants(f"base {base.name}", base, "pretrained vectors", cooc=True)
    timings["base (encode + retrieve)"] = time.time() - t

    t = time.time()
    chosen = _model_folder(args, ds, split, fit_log)
    if chosen is None:
        return 2
    folder, train_note = chosen
    timings["fine-tuning"] = time.time() - t

    t = time.time()
    variants("fine-tuned", load_encoder(folder), train_note, cooc=True)
    timings["fine-tuned (encode + retrieve)"] = time.time() - t

    for name in filter(None, (b.strip() for b in args.baselines.split(","))):
        t = time.time()
        rows.append((f"baseline {name}", run(name, make_system(name)),
                     "full ranking, for reference"))
        timings[f"baseline {name}"] = time.time() - t

    print()
    print(_table(rows))
    wall = time.time() - started
    print(f"\nretriever settings: {settings.model_dump()}, popularity weight {prior:g}")
    print("wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
          + f"; total {wall:.0f} s ({wall / 60:.1f} min)")
    if args.json:
        print(json.dumps({"rows": [{"system": n, **v, "note": note} for n, v, note in rows],
                          "seconds": {k: round(v, 1) for k, v in timings.items()},
                          "total_seconds": round(wall, 1), "model": str(folder)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
