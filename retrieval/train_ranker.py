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

Every setting comes from one :class:`~retrieval.config.PipelineConfig` (its ``training``
section for the lists, ``ranker`` for the model, the others as the pipeline serves them),
and the candidates and features come from a :class:`~retrieval.pipeline.Pipeline` over the
statistics without the future, so the ranker learns on what it will serve. Progress goes to
a ``progress`` callable (default: the ``retrieval.train_ranker`` logger at INFO).

Example:
    >>> from retrieval.config import PipelineConfig
    >>> cfg = PipelineConfig(training={"cuts": 2, "seed": 3})
    >>> cfg.ranker.kind, cfg.retrieval.n_candidates, cfg.training.valid_fraction
    ('lightgbm', 200, 0.1)
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retrieval.candidates import COLLABORATIVE, DENSE, POPULAR
from retrieval.config import PipelineConfig, RankerConfig, StatsConfig, TrainingListsConfig
from retrieval.features import FEATURE_SCHEMA, FeatureSchema, ItemTable, QueryContext
from retrieval.io import atomic_dir
from retrieval.parallel import MapBlocks, blocks
from retrieval.ranker import Ranker, RankingSet, make_ranker
from retrieval.retriever import History
from retrieval.stats import NEGATIVE_EVENTS, InteractionStats, sequence_order, unordered_rows

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.encoder import Encoder
    from retrieval.interactions import Interactions
    from retrieval.parallel import MapBlocks

__all__ = [
    "TrainedRanker",
    "TrainingLists",
    "make_training_lists",
    "lists_key",
    "make_ranker_from_config",
    "stats_from_config",
    "train_ranker",
]

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
LIST_BLOCK = 256
"""Queries per block when the training lists are made in blocks (``map_blocks``)."""
LOCAL_LIST_BLOCK = 256
"""Queries per block in this process: a block's dense search fetches, for every query,
the candidates plus as many as the longest history of the block (to drop what was
consumed), so memory grows with the block (blocks of 4,096 queries took more than 5 GB
over a 1M-item catalog with long synthetic histories)."""
MAPPED_LISTS_MAX_ITEMS = 200_000
"""Above this many catalog items the lists are made in this process even when a mapper
is given: each worker would hold its own pipeline over the whole catalog (1.3 GB per Ray
worker at 100,000 items, so about 13 GB each at 1,000,000), while the queries are capped
(``training.max_queries``)."""


def _say(progress: Progress | None) -> Progress:
    return progress if progress is not None else (lambda msg: log.info("%s", msg))


def stats_from_config(log_: Interactions, catalog: Catalog, config: StatsConfig, *,
                      map_blocks: MapBlocks[Any] | None = None) -> InteractionStats:
    """:meth:`InteractionStats.build` with a :class:`~retrieval.config.StatsConfig`
    (``map_blocks``: how the item-kNN blocks are mapped, ``None`` serially here)."""
    from retrieval.collaborative.factors import FactorSettings

    mf = FactorSettings(factors=config.mf_factors, iterations=config.mf_iterations,
                        regularization=config.mf_regularization, alpha=config.mf_alpha,
                        threads=config.mf_threads, index_above=config.mf_index_above)
    return InteractionStats.build(log_, catalog, min_rating=config.min_rating,
                                  recent_days=config.recent_days, ease_l2=config.ease_l2,
                                  knn_neighbours=config.knn_neighbours,
                                  dense_limit=config.dense_limit, mf=mf,
                                  mf_with_ease=config.mf_with_ease, map_blocks=map_blocks)


def lists_key(config: PipelineConfig) -> str:
    """The settings the training lists depend on (everything but the ranker's)."""
    return config.model_dump_json(exclude={"ranker"})


def make_ranker_from_config(config: RankerConfig, *, seed: int = 0) -> Ranker:
    """A fresh, untrained ranker of ``config.kind`` with its parameters."""
    schema: FeatureSchema = FEATURE_SCHEMA.without(*config.drop_groups)
    kind = config.kind.strip().lower()
    if kind in ("lightgbm", "lambdamart", "lgbm"):
        return make_ranker(kind, schema=schema, seed=seed, params=config.lightgbm_params(),
                           max_rounds=config.max_rounds, early_stopping=config.early_stopping,
                           num_threads=config.num_threads)
    return make_ranker(kind, schema=schema)


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
    config: PipelineConfig
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


def sample_users(log: Interactions, config: TrainingListsConfig
                 ) -> tuple[Interactions, np.ndarray | None]:
    """The log of a seeded sample of ``max_queries // cuts`` users (all of each one's
    rows, in log order) and those rows' positions in ``log``; ``log`` itself and ``None``
    when its users are not more than that (or there is no cap)."""
    from retrieval.interactions import Interactions

    if config.max_queries is None:
        return log, None
    codes, uniques = pd.factorize(log.df["user_id"], sort=True)
    n_keep = max(2, config.max_queries // config.cuts)
    if len(uniques) <= n_keep:
        return log, None
    chosen = np.zeros(len(uniques), dtype=bool)
    chosen[np.random.default_rng(config.seed).choice(len(uniques), n_keep, replace=False)] = True
    rows = np.flatnonzero(chosen[codes])
    return Interactions(log.df.iloc[rows].reset_index(drop=True)), rows


def _queries(log: Interactions, config: TrainingListsConfig, min_rating: float | None
             ) -> tuple[list[_Query], np.ndarray, dict[str, int]]:
    """The queries, and a mask over the log's rows of what the statistics may see. A user
    without timestamps is in random order, so their held-out items are a random pick.
    Above ``max_queries`` the queries come from a sample of users (:func:`sample_users`):
    the mask then hides only their held-out rows."""
    sub, rows = sample_users(log, config)
    queries, keep_sub, counts = _user_queries(sub, config, min_rating)
    if rows is None:
        return queries, keep_sub, counts
    keep = np.ones(len(log), dtype=bool)
    keep[rows] = keep_sub
    counts["users sampled for the training lists (max_queries)"] = \
        int(sub.df["user_id"].nunique())
    return queries, keep, counts


def _user_queries(log: Interactions, config: TrainingListsConfig, min_rating: float | None
                  ) -> tuple[list[_Query], np.ndarray, dict[str, int]]:
    """:func:`_queries` over every user of ``log``."""
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
                                  & ~((events == "rating") & (values < min_rating)
                                      if min_rating is not None else False))
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
    config: PipelineConfig | None = None,
    progress: Progress | None = None,
    map_blocks: MapBlocks | None = None,
) -> tuple[TrainingLists, ItemTable]:
    """Training and validation lists from ``log`` (see the module docstring).

    Args:
        log: The interactions to learn from (for an evaluation: its training part).
        catalog: The items.
        item_vectors: ``float32[len(catalog), d]`` item embeddings (``None``: no dense
            retrieval and no cosine features).
        encoder: The encoder that made them (needed to encode the synthetic requests; without
            one their ``request_cosine`` is missing).
        config: Settings (default :class:`~retrieval.config.PipelineConfig`).
        progress: Called with a line of progress now and then (default: logging at INFO).
        map_blocks: Make the candidates and features of blocks of queries with this mapper
            (:mod:`retrieval.parallel`; e.g. Ray tasks); the lists are the same.

    Raises:
        ValueError: the log gives no usable query.
    """
    from retrieval.interactions import Interactions
    from retrieval.pipeline import Pipeline

    config = config or PipelineConfig()
    tc = config.training
    say = _say(progress)
    started = time.perf_counter()
    queries, keep, counts = _queries(log, tc, config.stats.min_rating)
    rng = np.random.default_rng(tc.seed)
    users, valid_users, queries = _split_users(queries, tc, rng, counts)
    stats = stats_from_config(Interactions(log.df[keep].reset_index(drop=True)), catalog,
                              config.stats, map_blocks=map_blocks)
    texts = _synthetic_requests(queries, catalog, tc.request_fraction, rng)
    if texts:
        counts["queries with a synthetic request"] = len(texts)
    vectors: dict[str, np.ndarray] = {}
    if texts and encoder is not None and item_vectors is not None:
        unique = sorted({t for _, t in texts.values()})
        vectors = dict(zip(unique, np.asarray(encoder.encode(unique), np.float32), strict=True))
    say(f"training lists: {len(queries)} queries from {len(users)} users "
        f"({len(valid_users)} held out for validation, {len(texts)} with a synthetic request), "
        f"{config.retrieval.n_candidates} candidates each")
    pipe = Pipeline(catalog, item_vectors, None, stats, config=config)
    work = _ListsBlock(catalog, item_vectors, stats, config, queries, texts, vectors,
                       valid_users, token=uuid.uuid4().hex)
    _PIPES.clear()
    _PIPES[work.token] = pipe
    if map_blocks is not None and len(catalog) > MAPPED_LISTS_MAX_ITEMS:
        say(f"training lists: {len(catalog):,} items: made in this process (each worker "
            f"would rebuild the pipeline over the whole catalog)")
        map_blocks = None
    if map_blocks is None:
        results = [work(a, b) for a, b in blocks(len(queries), LOCAL_LIST_BLOCK)]
    else:  # blocks of queries: each query's list and features depend on it alone
        say(f"training lists: {len(queries)} queries in blocks of {LIST_BLOCK}")
        results = map_blocks(work, blocks(len(queries), LIST_BLOCK))
    _PIPES.pop(work.token, None)
    sets, recall = _merge_blocks(results, counts)
    counts.update({"queries": len(queries), "train queries": sets["train"].n_queries,
                   "valid queries": sets["valid"].n_queries, "users": len(users)})
    seconds = time.perf_counter() - started
    say(f"training lists: {sets['train'].n_queries} training and {sets['valid'].n_queries} "
        f"validation lists in {seconds:.0f} s; candidate recall {recall.get('any', 0.0):.3f}")
    return TrainingLists(sets["train"], sets["valid"], counts, recall, seconds), pipe.items


def _split_users(queries: list[_Query], config: TrainingListsConfig, rng: np.random.Generator,
                 counts: dict[str, int]) -> tuple[list[str], set[str], list[_Query]]:
    """The users (at most ``max_users``), the validation users, and the queries with the
    cold-start copies added for some training users."""
    users = sorted({q.user for q in queries})
    if config.max_users is not None and len(users) > config.max_users:
        users = sorted(rng.choice(users, size=config.max_users, replace=False).tolist())
        chosen = set(users)
        queries = [q for q in queries if q.user in chosen]
    if len(users) < 2:
        raise ValueError(f"the log gives training queries for {len(users)} user(s); at least 2 "
                         f"are needed (one for validation). Each user needs more than "
                         f"{config.min_history} consumed items")
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
    return users, valid_users, queries


# The pipeline of the lists being made, by token: made once per process (the driver's,
# or once in each worker of a mapper that ships _ListsBlock to other processes; a pipeline
# holds locks and caches, so it is rebuilt there from its parts rather than pickled).
_PIPES: dict[str, Any] = {}


@dataclass
class _ListsBlock:
    """The candidates, labels and features of queries ``start..stop`` (one block)."""

    catalog: Catalog
    item_vectors: np.ndarray | None
    stats: InteractionStats
    config: PipelineConfig
    queries: list[_Query]
    texts: dict[int, tuple[Any, str]]
    vectors: dict[str, np.ndarray]
    valid_users: set[str]
    token: str = ""

    @property
    def pipe(self) -> Any:
        if self.token not in _PIPES:
            from retrieval.pipeline import Pipeline

            _PIPES.clear()
            _PIPES[self.token] = Pipeline(self.catalog, self.item_vectors, None, self.stats,
                                          config=self.config)
        return _PIPES[self.token]

    def __call__(self, start: int, stop: int) -> _BlockResult:
        pipe, queries, texts = self.pipe, self.queries, self.texts
        plain = [k for k in range(start, stop) if k not in texts]
        lists: dict[int, Any] = dict(zip(
            plain, pipe.generator.batch([queries[k].history for k in plain]), strict=True))
        for k in range(start, stop):
            if k in texts:  # as served: the request's filter and lookup
                req, text = texts[k]
                lists[k] = pipe.generator.generate_list(queries[k].history,
                                                        self.vectors.get(text),
                                                        filter=pipe.filter(req))
        return _assemble(self, range(start, stop), lists)


@dataclass
class _BlockResult:
    parts: dict[str, tuple[list, list, list, list]]
    found: dict[str, int]
    n_plain: int
    counts: dict[str, int]


def _assemble(block: _ListsBlock, ks: range, lists: dict[int, Any]) -> _BlockResult:
    """Label each query's candidates, compute their features, and group them into the
    training and validation parts; what the candidate recall counts."""
    table, builder = block.pipe.items, block.pipe.builder
    parts: dict[str, tuple[list, list, list, list]] = {"train": ([], [], [], []),
                                                      "valid": ([], [], [], [])}
    found = {"any": 0, "dense": 0, "collaborative": 0, "popular": 0}
    counts: dict[str, int] = {}
    n_plain = 0
    for k in ks:
        q, cl = block.queries[k], lists[k]
        rows, dense, src = cl.rows, cl.dense_scores, cl.sources
        if q.later:
            keep_rows = ~np.isin(rows, table.rows(list(q.later), strict=False))
            rows, dense, src = rows[keep_rows], dense[keep_rows], src[keep_rows]
        label = np.isin(rows, table.rows(q.positives, strict=False)).astype(np.float32)
        if not q.cold and k not in block.texts:
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
        request, text = block.texts.get(k, (None, None))
        ctx = QueryContext(history=q.history, request=request, now=q.now,
                           request_vector=block.vectors.get(text) if text else None)
        x = builder.build_rows(builder.prepare(ctx), rows, dense, (src & DENSE) > 0)
        bucket = parts["valid" if q.user in block.valid_users else "train"]
        bucket[0].append(x)
        bucket[1].append(label)
        bucket[2].append(len(label))
        bucket[3].append(q.user + ("#cold" if q.cold else "") + ("#request" if text else ""))
    return _BlockResult(parts, found, n_plain, counts)


def _merge_blocks(results: list[_BlockResult], counts: dict[str, int]
                  ) -> tuple[dict[str, RankingSet], dict[str, float]]:
    """The training and validation sets from the blocks (in block order: the same lists
    as one block), and the candidate recall of the history-only queries."""
    found = {"any": 0, "dense": 0, "collaborative": 0, "popular": 0}
    n_plain = 0
    for r in results:
        n_plain += r.n_plain
        for k, v in r.found.items():
            found[k] += v
        for k, v in r.counts.items():
            counts[k] = counts.get(k, 0) + v
    sets = {}
    width = len(FEATURE_SCHEMA.names)
    for name in ("train", "valid"):
        xs = [x for r in results for x in r.parts[name][0]]
        ys = [y for r in results for y in r.parts[name][1]]
        gs = [g for r in results for g in r.parts[name][2]]
        qs = [q for r in results for q in r.parts[name][3]]
        sets[name] = RankingSet(
            np.concatenate(xs) if xs else np.zeros((0, width), np.float32),
            np.concatenate(ys) if ys else np.zeros(0, np.float32),
            np.asarray(gs, dtype=np.int64), FEATURE_SCHEMA, list(qs))
    return sets, {k: v / max(n_plain, 1) for k, v in found.items()}


_NOUNS = {"movie": "film", "series": "series", "episode": "episode", "music_track": "song",
          "album": "album", "podcast": "podcast", "audiobook": "audiobook"}


def _synthetic_requests(queries: list[_Query], catalog: Catalog, fraction: float,
                        rng: np.random.Generator) -> dict[int, tuple[Any, str]]:
    """For a seeded ``fraction`` of the queries, a request shaped like what people type
    for the first positive: one of its genres (now and then two), its media type, and now
    and then one of its tags ("jazz album", "crime drama series about heist"): query index
    -> (Request, text). Items without genres or tags get none.

    A request names what a person wants, not every label of the item they chose next (the
    label soup of the item's two genres and two tags made the request features a near
    perfect key in training and left the history to order nothing); so the ranker learns to
    order, with the history, the many items that fit a broad request, which is what it does
    when serving (:class:`~retrieval.pipeline.Pipeline` puts those first)."""
    if fraction <= 0 or not queries:
        return {}
    from retrieval.request import Request

    out: dict[int, tuple[Any, str]] = {}
    picks = rng.permutation(len(queries))[: int(round(fraction * len(queries)))]
    for k in sorted(picks.tolist()):
        item = catalog.get(queries[k].positives[0])
        if item is None or not (item.genres or item.tags):
            continue
        n_genres = 2 if rng.random() < 0.25 else 1
        genres = [item.genres[i] for i in sorted(rng.permutation(len(item.genres))[:n_genres])]
        tags = [item.tags[int(rng.integers(len(item.tags)))]] \
            if item.tags and (rng.random() < 0.5 or not genres) else []
        noun = _NOUNS.get(item.media_type.value, "")
        text = " ".join([*genres, noun] + (["about", *tags] if tags else []))
        out[k] = (Request(query=text, genres=genres, tags=tags, media_types=[item.media_type]),
                  text)
    return out


def train_ranker(
    log: Interactions,
    catalog: Catalog,
    item_vectors: np.ndarray | None,
    *,
    encoder: Encoder | None = None,
    config: PipelineConfig | None = None,
    lists: TrainingLists | None = None,
    stats: InteractionStats | None = None,
    progress: Progress | None = None,
    map_blocks: MapBlocks | None = None,
) -> TrainedRanker:
    """Train a ranker on ``log`` and compute the statistics it serves with.

    Args:
        log: The interactions (for an evaluation: the training part only).
        catalog: The items.
        item_vectors: Item embeddings, one row per catalog item (``None``: none).
        encoder: The encoder that made them.
        config: Settings (default :class:`~retrieval.config.PipelineConfig`): the lists
            follow its ``training`` section and the pipeline's, the model its ``ranker``.
        lists: Training lists already made from the same log and settings (ablations
            reuse them).
        stats: Statistics of the whole ``log`` already computed with the same settings.
        progress: Called with a line of progress now and then (lists, boosting rounds);
            default: logging at INFO.
        map_blocks: Make the training lists in blocks of queries with this mapper.

    Example:
        >>> trained = train_ranker(log, catalog, vectors)               # doctest: +SKIP
        >>> trained.save("artifacts/ranker")                            # doctest: +SKIP
    """
    config = config or PipelineConfig()
    say = _say(progress)
    started = time.perf_counter()
    if lists is None:
        lists, _ = make_training_lists(log, catalog, item_vectors, encoder=encoder, config=config,
                                       progress=progress, map_blocks=map_blocks)
    ranker = make_ranker_from_config(config.ranker, seed=config.training.seed)
    if hasattr(ranker, "progress"):
        ranker.progress = say
    t = time.perf_counter()
    fit_report = ranker.fit(lists.train, lists.valid)
    fit_seconds = time.perf_counter() - t
    say(f"{config.ranker.kind}: fitted in {fit_seconds:.0f} s, {fit_report.get('rounds', 0)} "
        f"rounds, validation NDCG@10 {fit_report.get('valid_ndcg@10') or 0:.4f}")
    if stats is None:
        stats = stats_from_config(log, catalog, config.stats, map_blocks=map_blocks)
    report = {
        "counts": lists.counts,
        "candidate_recall": lists.candidate_recall,
        "lists_seconds": round(lists.seconds, 2),
        "fit_seconds": round(fit_seconds, 2),
        "seconds": round(time.perf_counter() - started, 2),
        "schema_fingerprint": ranker.schema.fingerprint,
        **fit_report,
    }
    return TrainedRanker(ranker, stats, config, report)
