"""Training the ranker: query groups from a time split of the log, LambdaMART fitted on
them with early stopping on validation NDCG@10, and the result saved with its feature
schema and importances.

How the training lists are made (everything from the log it is given, so for an
evaluation only from the training part):

1. Each user's interactions are ordered by time (ties by item id, as ``eval.protocols``).
   The last ``cuts`` consumed interactions become cut-offs: for each, the query's history
   is everything before it and its positives are the ``horizon`` consumed items from it
   on. A cut needs ``min_history`` consumed items before it.
2. The statistics the features read (popularity, EASE, item-kNN) are computed from the
   log *without* anything at or after each user's earliest cut-off, so a positive never
   leaks into the features that score it. The model then serves with statistics of the
   whole log (:attr:`TrainedRanker.stats`).
3. Candidates come from :class:`~retrieval.candidates.CandidateGenerator`, as at serving
   time; the positives among them are labelled 1, the others 0. Later interactions of the
   same user that are not positives are left out of the list (they are neither). Queries
   whose positives were not retrieved cannot teach a ranking and are dropped (counted:
   that is the candidate recall).
4. A seeded ``valid_fraction`` of users is held out for early stopping.

Example:
    >>> cfg = RankerTrainingConfig(cuts=2, seed=3)
    >>> cfg.ranker, cfg.n_candidates, cfg.valid_fraction
    ('lightgbm', 200, 0.1)
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from retrieval.candidates import COLLABORATIVE, DENSE, POPULAR, CandidateGenerator, dense_retriever
from retrieval.features import FEATURE_SCHEMA, FeatureBuilder, ItemTable, QueryContext
from retrieval.io import atomic_dir
from retrieval.ranker import Ranker, RankingSet, make_ranker
from retrieval.retriever import History
from retrieval.stats import NEGATIVE_EVENTS, InteractionStats, sequence_order, unordered_rows

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.encoder import Encoder
    from retrieval.interactions import Interactions

__all__ = [
    "RankerTrainingConfig",
    "TrainedRanker",
    "TrainingLists",
    "make_training_lists",
    "train_ranker",
]


class RankerTrainingConfig(BaseModel):
    """Everything that decides a trained ranker (with the log and the item vectors)."""

    model_config = ConfigDict(extra="forbid")

    ranker: str = Field(default="lightgbm", description="Ranker kind: lightgbm or blend.")
    ranker_params: dict[str, Any] = Field(
        default_factory=dict, description="LightGBM parameters (learning_rate, num_leaves…).")
    drop_groups: list[str] = Field(default_factory=list,
                                   description="Feature groups left out (ablations).")
    n_candidates: int = Field(default=200, ge=2, description="Candidates per query.")
    collaborative: int = Field(default=190, ge=0,
                               description="Places of the candidates kept for EASE's picks.")
    cuts: int = Field(default=10, ge=1, le=50, description="Cut-offs (queries) per user.")
    horizon: int = Field(default=1, ge=1, le=50,
                         description="Positives per query: the next consumed items.")
    min_history: int = Field(default=2, ge=1, description="Consumed items needed before a cut.")
    valid_fraction: float = Field(default=0.1, gt=0, lt=1,
                                  description="Share of users held out for early stopping.")
    cold_start_fraction: float = Field(
        default=0.1, ge=0, le=1,
        description="Share of training users who also give a query with their history "
                    "hidden, so the model learns to rank for people without one.")
    request_fraction: float = Field(
        default=0.3, ge=0, le=1,
        description="Share of queries given a synthetic request (genres and tags of the "
                    "chosen item), so the model learns to use the request features.")
    max_users: int | None = Field(default=None, ge=2,
                                  description="Train on at most this many users (seeded).")
    seed: int = Field(default=0, description="Seed of the user split and of LightGBM.")
    min_rating: float | None = Field(default=None,
                                     description="Ratings below it are not positives.")
    recent_days: float = Field(default=30.0, gt=0, description="Recent-popularity window.")
    ease_l2: float = Field(default=300.0, gt=0, description="EASE's ridge weight.")
    knn_neighbours: int = Field(default=200, ge=1, description="Item-kNN neighbours.")
    last_k: int = Field(default=5, ge=1, description="History items the recent features see.")
    dislike_rating: float = Field(default=2.0, description="Ratings at or below are dislikes.")
    retriever: dict[str, Any] = Field(default_factory=dict,
                                      description="Settings of the dense Retriever.")

    @field_validator("drop_groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        FEATURE_SCHEMA.without(*v)  # raises on unknown names
        return v

    def stats_params(self) -> dict[str, Any]:
        return {"min_rating": self.min_rating, "recent_days": self.recent_days,
                "ease_l2": self.ease_l2, "knn_neighbours": self.knn_neighbours}

    def feature_params(self) -> dict[str, Any]:
        return {"last_k": self.last_k, "dislike_rating": self.dislike_rating}

    def lists_key(self) -> str:
        """The settings the training lists depend on (not the ranker's)."""
        return self.model_dump_json(exclude={"ranker", "ranker_params", "drop_groups"})


@dataclass
class TrainingLists:
    """Training and validation lists, and what making them counted."""

    train: RankingSet
    valid: RankingSet
    counts: dict[str, int] = field(default_factory=dict)
    candidate_recall: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class TrainedRanker:
    """A trained ranker and the statistics it serves with.

    Attributes:
        ranker: The trained ranker.
        stats: Statistics of the whole log given to :func:`train_ranker` (for serving).
        config: The training settings.
        report: Counts, candidate recall, rounds, validation NDCG@10, importances, seconds.
    """

    ranker: Ranker
    stats: InteractionStats
    config: RankerTrainingConfig
    report: dict[str, Any]

    def save(self, folder: str | Path) -> Path:
        """Write ``ranker/`` (model, schema, importances), ``stats/`` and ``training.json``
        into ``folder``, replaced whole."""
        folder = Path(folder)
        with atomic_dir(folder) as tmp:
            self.ranker.save(tmp / "ranker",
                             extra={"training": self.config.model_dump(mode="json")})
            self.stats.save(tmp / "stats")
            (tmp / "training.json").write_text(
                json.dumps({"config": self.config.model_dump(mode="json"),
                            "report": self.report}, indent=1, default=float),
                encoding="utf-8")
        return folder


# -- the lists -----------------------------------------------------------------------------------


@dataclass
class _Query:
    user: str
    history: History
    positives: list[str]
    later: set[str]
    now: int | None
    cold: bool = False


def _user_sequences(log: Interactions, seed: int = 0
                    ) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]]:
    """Each user's (id, items, events, values, timestamps, ordered) in sequence order; a
    user without timestamps comes in a seeded random order (``sequence_order``)."""
    df = log.df
    order = sequence_order(df, seed)
    df = df.iloc[order]
    unordered = unordered_rows(df)
    users = df["user_id"].astype(str).to_numpy()
    items = df["item_id"].astype(str).to_numpy()
    events = df["event"].astype(str).to_numpy()
    values = df["value"].to_numpy(dtype=np.float64)
    ts = df["timestamp"].astype("float64").to_numpy()
    if not len(df):
        return []
    bounds = np.flatnonzero(np.r_[True, users[1:] != users[:-1], True])
    return [(str(users[lo]), items[lo:hi], events[lo:hi], values[lo:hi], ts[lo:hi],
             not unordered[lo]) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def _queries(log: Interactions, config: RankerTrainingConfig
             ) -> tuple[list[_Query], np.ndarray, dict[str, int]]:
    """The queries, and a mask over the log's rows of what the statistics may see. A user
    without timestamps is in random order, so their held-out items are a random pick."""
    df = log.df
    order = sequence_order(df, config.seed)
    keep_for_stats = np.ones(len(df), dtype=bool)
    queries: list[_Query] = []
    counts: dict[str, int] = {}
    sequences = _user_sequences(log, config.seed)
    start = 0
    for user, items, events, values, ts, ordered in sequences:
        rows = order[start:start + len(items)]
        start += len(items)
        if not ordered:
            key = ("users without timestamps (treated as unordered: held-out items picked at "
                   "random, recent-item features missing)")
            counts[key] = counts.get(key, 0) + 1
        consumed = np.flatnonzero(~np.isin(events, NEGATIVE_EVENTS)
                                  & ~((events == "rating") & (values < config.min_rating)
                                      if config.min_rating is not None else False))
        m = len(consumed)
        cuts = [j for j in range(1, config.cuts + 1) if m - j >= config.min_history]
        if not cuts:
            counts["users with too short a history to give a query"] = \
                counts.get("users with too short a history to give a query", 0) + 1
            continue
        earliest = int(consumed[m - max(cuts)])
        keep_for_stats[rows[earliest:]] = False
        for j in cuts:
            at = int(consumed[m - j])
            pos_idx = consumed[m - j: min(m, m - j + config.horizon)]
            positives = list(dict.fromkeys(items[pos_idx].tolist()))
            later = set(items[at:].tolist()) - set(positives)
            hist = History(items[:at].tolist(), events[:at].tolist(), values[:at].tolist(),
                           ordered=ordered)
            now = ts[at - 1] if at > 0 and np.isfinite(ts[at - 1]) else None
            queries.append(_Query(user, hist, positives, later,
                                  None if now is None else int(now)))
    return queries, keep_for_stats, counts


def make_training_lists(
    log: Interactions,
    catalog: Catalog,
    item_vectors: np.ndarray | None,
    *,
    encoder: Encoder | None = None,
    config: RankerTrainingConfig | None = None,
) -> tuple[TrainingLists, ItemTable]:
    """Training and validation lists from ``log`` (see the module docstring).

    Args:
        log: The interactions to learn from (for an evaluation: its training part).
        catalog: The items.
        item_vectors: ``float32[len(catalog), d]`` item embeddings (``None``: no dense
            retrieval and no cosine features).
        encoder: The encoder that made them (needed to encode the synthetic requests; without
            one their ``request_cosine`` is missing).
        config: Settings.

    Raises:
        ValueError: the log gives no usable query.
    """
    from retrieval.interactions import Interactions

    config = config or RankerTrainingConfig()
    started = time.perf_counter()
    queries, keep, counts = _queries(log, config)
    rng = np.random.default_rng(config.seed)
    users = sorted({q.user for q in queries})
    if config.max_users is not None and len(users) > config.max_users:
        users = sorted(rng.choice(users, size=config.max_users, replace=False).tolist())
        chosen = set(users)
        queries = [q for q in queries if q.user in chosen]
    if len(users) < 2:
        raise ValueError(f"the log gives training queries for {len(users)} user(s); at least 2 "
                         f"are needed (one for validation). Each user needs more than "
                         f"{config.min_history} consumed items")
    stats_log = Interactions(log.df[keep].reset_index(drop=True))
    stats = InteractionStats.build(stats_log, catalog, **config.stats_params())
    table = ItemTable(catalog, item_vectors)
    builder = FeatureBuilder(table, stats, **config.feature_params())
    shuffled = rng.permutation(len(users))
    n_valid = max(1, int(round(config.valid_fraction * len(users))))
    valid_users = {users[i] for i in shuffled[:n_valid]}
    train_users = [users[i] for i in shuffled[n_valid:]]
    if config.cold_start_fraction > 0:
        # Some users also ask with their history hidden: the model sees cold starts.
        n_cold = int(round(config.cold_start_fraction * len(train_users)))
        cold_users = {train_users[i] for i in rng.permutation(len(train_users))[:n_cold]}
        seen: set[str] = set()
        for q in list(queries):
            if q.user in cold_users and q.user not in seen:
                seen.add(q.user)
                queries.append(_Query(q.user, History([]), q.positives,
                                      set(q.history.item_ids) | q.later, q.now, cold=True))
        counts["cold-start queries (history hidden)"] = len(seen)
    texts = _synthetic_requests(queries, catalog, config.request_fraction, rng)
    if texts:
        counts["queries with a synthetic request"] = len(texts)
    vectors: dict[str, np.ndarray] = {}
    if texts and encoder is not None and item_vectors is not None:
        unique = sorted({t for _, t in texts.values()})
        vectors = dict(zip(unique, np.asarray(encoder.encode(unique), np.float32), strict=True))
    retriever = (dense_retriever(catalog.ids, item_vectors,
                                 _Memo(vectors, item_vectors.shape[1]) if vectors else None,
                                 **config.retriever)
                 if item_vectors is not None else None)
    gen = CandidateGenerator(table, stats, retriever, n=config.n_candidates,
                             collaborative=min(config.collaborative, config.n_candidates))
    plain = [k for k in range(len(queries)) if k not in texts]
    lists: list[Any] = [None] * len(queries)
    for k, cl in zip(plain, gen.batch([queries[k].history for k in plain]), strict=True):
        lists[k] = cl
    for k, (_, text) in texts.items():
        lists[k] = gen.generate_list(queries[k].history, text if vectors else None)
    parts: dict[str, tuple[list, list, list, list]] = {"train": ([], [], [], []),
                                                      "valid": ([], [], [], [])}
    found = {"any": 0, "dense": 0, "collaborative": 0, "popular": 0}
    n_plain = 0
    for k, (q, cl) in enumerate(zip(queries, lists, strict=True)):
        rows, dense, src = cl.rows, cl.dense_scores, cl.sources
        if q.later:
            keep_rows = ~np.isin(rows, table.rows(list(q.later), strict=False))
            rows, dense, src = rows[keep_rows], dense[keep_rows], src[keep_rows]
        label = np.isin(rows, table.rows(q.positives, strict=False)).astype(np.float32)
        if not q.cold and k not in texts:
            n_plain += 1
            if label.any():
                found["any"] += 1
                hit = src[label > 0]
                found["dense"] += int((hit & DENSE).any())
                found["collaborative"] += int((hit & COLLABORATIVE).any())
                found["popular"] += int((hit & POPULAR).any())
        if not label.any() or label.all():
            key = "queries whose positives are not among the candidates (dropped)"
            counts[key] = counts.get(key, 0) + 1
            continue
        request, text = texts.get(k, (None, None))
        ctx = QueryContext(history=q.history, request=request, now=q.now,
                           request_vector=vectors.get(text) if text else None)
        x = builder.build_rows(builder.prepare(ctx), rows, dense, (src & DENSE) > 0)
        bucket = parts["valid" if q.user in valid_users else "train"]
        bucket[0].append(x)
        bucket[1].append(label)
        bucket[2].append(len(label))
        bucket[3].append(q.user + ("#cold" if q.cold else "") + ("#request" if text else ""))
    sets = {}
    width = len(FEATURE_SCHEMA.names)
    for name, (xs, ys, gs, qs) in parts.items():
        sets[name] = RankingSet(
            np.concatenate(xs) if xs else np.zeros((0, width), np.float32),
            np.concatenate(ys) if ys else np.zeros(0, np.float32),
            np.asarray(gs, dtype=np.int64), FEATURE_SCHEMA, list(qs))
    counts.update({"queries": len(queries), "train queries": sets["train"].n_queries,
                   "valid queries": sets["valid"].n_queries, "users": len(users)})
    recall = {k: v / max(n_plain, 1) for k, v in found.items()}
    return TrainingLists(sets["train"], sets["valid"], counts, recall,
                         time.perf_counter() - started), table


class _Memo:
    """The request vectors encoded up front, served to the retriever by text."""

    def __init__(self, vectors: dict[str, np.ndarray], dim: int) -> None:
        self.vectors = vectors
        self.dim = dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts])


def _synthetic_requests(queries: list[_Query], catalog: Catalog, fraction: float,
                        rng: np.random.Generator) -> dict[int, tuple[Any, str]]:
    """For a seeded ``fraction`` of the queries, a request naming up to two genres and two
    tags of the first positive (what a person who chose it might have asked for): query
    index -> (Request, text). Items without genres or tags get none."""
    if fraction <= 0 or not queries:
        return {}
    from retrieval.request import Request

    out: dict[int, tuple[Any, str]] = {}
    picks = rng.permutation(len(queries))[: int(round(fraction * len(queries)))]
    for k in sorted(picks.tolist()):
        item = catalog.get(queries[k].positives[0])
        if item is None or not (item.genres or item.tags):
            continue
        genres = [item.genres[i] for i in sorted(rng.permutation(len(item.genres))[:2])]
        tags = [item.tags[i] for i in sorted(rng.permutation(len(item.tags))[:2])]
        text = " ".join(genres + tags)
        out[k] = (Request(query=text, genres=genres, tags=tags), text)
    return out


def train_ranker(
    log: Interactions,
    catalog: Catalog,
    item_vectors: np.ndarray | None,
    *,
    encoder: Encoder | None = None,
    config: RankerTrainingConfig | None = None,
    lists: TrainingLists | None = None,
    stats: InteractionStats | None = None,
) -> TrainedRanker:
    """Train a ranker on ``log`` and compute the statistics it serves with.

    Args:
        log: The interactions (for an evaluation: the training part only).
        catalog: The items.
        item_vectors: Item embeddings, one row per catalog item (``None``: none).
        encoder: The encoder that made them.
        config: Settings (default :class:`RankerTrainingConfig`).
        lists: Training lists already made from the same log and settings (ablations
            reuse them).
        stats: Statistics of the whole ``log`` already computed with the same settings.

    Example:
        >>> trained = train_ranker(log, catalog, vectors)               # doctest: +SKIP
        >>> trained.save("artifacts/ranker")                            # doctest: +SKIP
    """
    config = config or RankerTrainingConfig()
    started = time.perf_counter()
    if lists is None:
        lists, _ = make_training_lists(log, catalog, item_vectors, encoder=encoder, config=config)
    schema = FEATURE_SCHEMA.without(*config.drop_groups)
    kind = config.ranker.strip().lower()
    if kind in ("lightgbm", "lambdamart", "lgbm"):
        options = dict(config.ranker_params)
        top = {k: options.pop(k) for k in ("max_rounds", "early_stopping", "num_threads")
               if k in options}
        ranker = make_ranker(kind, schema=schema, seed=config.seed, params=options, **top)
    else:
        ranker = make_ranker(kind, schema=schema, **config.ranker_params)
    t = time.perf_counter()
    fit_report = ranker.fit(lists.train, lists.valid)
    fit_seconds = time.perf_counter() - t
    if stats is None:
        stats = InteractionStats.build(log, catalog, **config.stats_params())
    report = {
        "counts": lists.counts,
        "candidate_recall": lists.candidate_recall,
        "lists_seconds": round(lists.seconds, 2),
        "fit_seconds": round(fit_seconds, 2),
        "seconds": round(time.perf_counter() - started, 2),
        "schema_fingerprint": schema.fingerprint,
        **fit_report,
    }
    return TrainedRanker(ranker, stats, config, report)
