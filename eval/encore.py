"""Encore's stages as systems of the evaluation harness (``eval.systems`` resolves the
names ``encore-retrieval`` and ``encore`` through :func:`make_system`).

- ``encore-retrieval``: dense retrieval alone: the profile of the user's training history
  is the query, the FAISS index's best ``n`` items are the list, in order. With
  ``collaborative`` > 0, the merged candidate list the ranker sees (dense + EASE +
  popular), in merge order: useful for its recall, not for its order.
- ``encore``: retrieval + the learned ranker (+ MMR when ``mmr_lambda`` < 1). ``fit`` trains
  the ranker on the training log only, with an inner time split inside each user's training
  interactions (:mod:`retrieval.train_ranker`); the held-out items of the split are never
  seen. Item vectors depend only on the catalog's text and are cached.

Both score from history alone in the history-only suite; ``encore`` also answers request
texts (``respond``), which the conversational suite calls.

Example:
    >>> sys = make_system("encore", encoder="all-MiniLM-L6-v2", cuts=2)
    >>> sys.cuts, sys.ranker
    (2, 'lightgbm')
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from eval.systems import Recommender, scores_from_lists
from retrieval.catalog import Catalog
from retrieval.interactions import Interactions

__all__ = ["DEFAULT_CACHE_DIR", "Encore", "EncoreRetrieval", "make_system"]

DEFAULT_CACHE_DIR = ".encore/cache/embeddings"
# Memos shared by the systems of one process (an ablation fits a dozen variants on the
# same log): encoders by name, item vectors by (model, catalog text), training lists and
# statistics by (log, settings). Filled on first use, never at import.
_ENCODERS: dict[str, Any] = {}
_VECTORS: dict[tuple[str, str], np.ndarray] = {}
_MEMO: dict[tuple[str, ...], Any] = {}
_MEMO_SIZE = 4  # training lists of ml-100k take about 200 MB


def make_system(stage: str, **params: Any) -> Recommender:
    """A fresh, unfitted Encore stage (``encore-retrieval`` or ``encore``)."""
    if stage == "encore-retrieval":
        return EncoreRetrieval(**params)
    if stage == "encore":
        return Encore(**params)
    raise ValueError(f"unknown Encore stage {stage!r}; valid: encore-retrieval, encore")


# -- shared pieces --------------------------------------------------------------------------------


def _remember(key: tuple[str, ...], make: Any) -> Any:
    if key not in _MEMO:
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = make()
    return _MEMO[key]


def _encoder(ref: Any) -> tuple[Any, str]:
    """The encoder object and a key naming its model."""
    if not isinstance(ref, str):
        key = str(getattr(ref, "model_key", None) or f"{type(ref).__name__}@{id(ref)}")
        return ref, key
    if ref not in _ENCODERS:
        from retrieval.encoder import load_encoder

        _ENCODERS[ref] = load_encoder(ref)
    enc = _ENCODERS[ref]
    return enc, str(getattr(enc, "model_key", ref))


def _item_vectors(ref: Any, catalog: Catalog, cache_dir: str | None) -> tuple[Any, np.ndarray]:
    from retrieval.encoder import item_text

    texts = [item_text(it) for it in catalog]
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    enc, key = _encoder(ref)
    if (key, digest) not in _VECTORS:
        if cache_dir and isinstance(ref, str):
            from retrieval.embedding_cache import EmbeddingCache

            vecs = EmbeddingCache(cache_dir).encode(enc, texts, model_key=key)
        else:
            vecs = enc.encode(texts)
        _VECTORS[(key, digest)] = np.asarray(vecs, dtype=np.float32)
    return enc, _VECTORS[(key, digest)]


def log_fingerprint(log: Interactions) -> str:
    """A digest of a log's content (same rows in the same order, same digest)."""
    df = log.df
    h = hashlib.sha256()
    for col in ("user_id", "item_id", "event"):
        h.update("\x1f".join(map(str, df[col].cat.categories)).encode("utf-8"))
        h.update(df[col].cat.codes.to_numpy().tobytes())
    h.update(df["timestamp"].astype("float64").to_numpy().tobytes())
    h.update(df["value"].to_numpy().tobytes())
    return h.hexdigest()[:20]


def _catalog_key(catalog: Catalog) -> str:
    return hashlib.sha256("\x1f".join(catalog.ids).encode("utf-8")).hexdigest()[:20]


def _histories(log: Interactions) -> tuple[dict[str, Any], dict[str, int]]:
    """Every user's history in sequence order (time, ties by item id; a user without
    timestamps unordered, see ``sequence_order``) and last timestamp."""
    from retrieval.retriever import History
    from retrieval.stats import sequence_order, unordered_rows

    df = log.df.iloc[sequence_order(log.df)]
    unordered = unordered_rows(df)
    users = df["user_id"].astype(str).to_numpy()
    items = df["item_id"].astype(str).to_numpy()
    events = df["event"].astype(str).to_numpy()
    values = df["value"].to_numpy(dtype=float)
    ts = df["timestamp"].astype("float64").to_numpy()
    out: dict[str, Any] = {}
    last: dict[str, int] = {}
    if not len(df):
        return out, last
    bounds = np.flatnonzero(np.r_[True, users[1:] != users[:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        u = str(users[lo])
        out[u] = History(items[lo:hi].tolist(), events[lo:hi].tolist(), values[lo:hi].tolist(),
                         ordered=not unordered[lo])
        if np.isfinite(ts[hi - 1]):
            last[u] = int(ts[hi - 1])
    return out, last


def _history_for(user: str, row: Any, ids: Sequence[str], known: dict[str, Any]) -> Any:
    """The user's history as the harness gives it (a binary row), in the training log's
    order and with its events where the user is known; items the log lacks come last."""
    from retrieval.retriever import History

    cols = row.indices if sparse.issparse(row) else np.flatnonzero(np.asarray(row).ravel())
    have = [ids[c] for c in np.sort(cols)]
    h = known.get(user)
    if h is None:
        return History(have, ordered=False)  # a binary row has no order
    wanted = set(have)
    keep = [k for k, i in enumerate(h.item_ids) if i in wanted]
    seen = {h.item_ids[k] for k in keep}
    extra = [i for i in have if i not in seen]
    return History([h.item_ids[k] for k in keep] + extra,
                   [h.events[k] for k in keep] + ["play"] * len(extra),
                   [h.values[k] for k in keep] + [1.0] * len(extra), ordered=h.ordered)


# -- retrieval only -------------------------------------------------------------------------------


class EncoreRetrieval:
    """Retrieval alone (see the module docstring).

    Args:
        encoder: Encoder name or folder (``"all-MiniLM-L6-v2"``, a fine-tuned model) or an
            object with ``encode`` and ``dim``.
        n: Candidates per user.
        collaborative: Places given to EASE's picks (0: dense retrieval only).
        cache_dir: Folder of the embedding cache (``None``: in memory).
    """

    def __init__(self, encoder: Any = "all-MiniLM-L6-v2", *, n: int = 200,
                 collaborative: int = 0, cache_dir: str | None = DEFAULT_CACHE_DIR,
                 ease_l2: float = 300.0) -> None:
        if n < 1 or not 0 <= collaborative <= n:
            raise ValueError(f"need n >= 1 and 0 <= collaborative <= n, got {n}, {collaborative}")
        self.encoder = encoder
        self.n = int(n)
        self.collaborative = int(collaborative)
        self.cache_dir = cache_dir
        self.ease_l2 = float(ease_l2)
        self._gen: Any = None

    def fit(self, train: Interactions, catalog: Catalog) -> None:
        from retrieval.candidates import CandidateGenerator, dense_retriever
        from retrieval.features import ItemTable
        from retrieval.stats import InteractionStats

        enc, vecs = _item_vectors(self.encoder, catalog, self.cache_dir)
        stats = _remember(("stats", log_fingerprint(train), _catalog_key(catalog),
                           str(self.ease_l2)),
                          lambda: InteractionStats.build(train, catalog, ease_l2=self.ease_l2))
        table = ItemTable(catalog, vecs)
        self.catalog = catalog
        self._gen = CandidateGenerator(table, stats, dense_retriever(catalog.ids, vecs, enc),
                                       n=self.n, collaborative=self.collaborative)
        self._histories, _ = _histories(train)

    def score(self, user_ids: Sequence[str], history: sparse.csr_matrix) -> np.ndarray:
        if self._gen is None:
            raise RuntimeError("EncoreRetrieval is not fitted; call fit(train, catalog) first")
        ids = self.catalog.ids
        h = sparse.csr_matrix(history)
        hs = [_history_for(u, h[k], ids, self._histories) for k, u in enumerate(user_ids)]
        lists = self._gen.batch(hs)
        return scores_from_lists([cl.rows for cl in lists], len(ids))


# -- retrieval + ranker ---------------------------------------------------------------------------


class Encore:
    """Retrieval, the learned ranker and MMR, trained on the training log only.

    Args:
        encoder: Encoder name or folder, or an encoder object.
        ranker: ``lightgbm`` or ``blend`` (the untrained blend).
        n_candidates: Candidates per user.
        collaborative: Places of the candidates given to EASE's picks.
        cuts, horizon, min_history, valid_fraction, cold_start_fraction, request_fraction:
            Training lists
            (:class:`~retrieval.train_ranker.RankerTrainingConfig`).
        drop_groups: Feature groups left out, comma-separated (ablations).
        mmr_lambda: MMR's relevance weight over the first ``mmr_k`` places (1: off).
        seed: Seed of the user split and of LightGBM.
        cache_dir: Folder of the embedding cache (``None``: in memory).
        learning_rate, num_leaves, min_data_in_leaf, max_rounds, num_threads: LightGBM.
        last_k, recent_days, ease_l2: Features and statistics.
    """

    def __init__(
        self,
        encoder: Any = "all-MiniLM-L6-v2",
        *,
        ranker: str = "lightgbm",
        n_candidates: int = 200,
        collaborative: int = 190,
        cuts: int = 10,
        horizon: int = 1,
        min_history: int = 2,
        valid_fraction: float = 0.1,
        cold_start_fraction: float = 0.1,
        request_fraction: float = 0.3,
        drop_groups: str | Sequence[str] = "",
        mmr_lambda: float = 1.0,
        mmr_k: int = 20,
        seed: int = 0,
        cache_dir: str | None = DEFAULT_CACHE_DIR,
        learning_rate: float = 0.02,
        num_leaves: int = 15,
        min_data_in_leaf: int = 50,
        max_rounds: int = 1000,
        num_threads: int = 1,
        last_k: int = 5,
        recent_days: float = 30.0,
        ease_l2: float = 300.0,
    ) -> None:
        from retrieval.train_ranker import RankerTrainingConfig

        groups = drop_groups.split(",") if isinstance(drop_groups, str) else list(drop_groups)
        self.drop_groups = ",".join(g.strip() for g in groups if g.strip())
        if not 0.0 <= mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must lie in [0, 1], got {mmr_lambda}")
        self.encoder = encoder
        self.ranker = ranker
        self.n_candidates, self.collaborative = int(n_candidates), int(collaborative)
        self.cuts, self.horizon, self.min_history = int(cuts), int(horizon), int(min_history)
        self.valid_fraction, self.cold_start_fraction = valid_fraction, cold_start_fraction
        self.request_fraction = request_fraction
        self.mmr_lambda, self.mmr_k, self.seed = float(mmr_lambda), int(mmr_k), int(seed)
        self.cache_dir = cache_dir
        self.learning_rate, self.num_leaves = learning_rate, num_leaves
        self.min_data_in_leaf, self.max_rounds, self.num_threads = (min_data_in_leaf, max_rounds,
                                                                    num_threads)
        self.last_k, self.recent_days, self.ease_l2 = last_k, recent_days, ease_l2
        lgbm = ranker.strip().lower() in ("lightgbm", "lambdamart", "lgbm")
        self.config = RankerTrainingConfig(
            ranker=ranker,
            ranker_params={"learning_rate": learning_rate, "num_leaves": num_leaves,
                           "min_data_in_leaf": min_data_in_leaf, "max_rounds": max_rounds,
                           "num_threads": num_threads} if lgbm else {},
            drop_groups=[g for g in self.drop_groups.split(",") if g],
            n_candidates=n_candidates, collaborative=collaborative, cuts=cuts, horizon=horizon,
            min_history=min_history, valid_fraction=valid_fraction,
            cold_start_fraction=cold_start_fraction, request_fraction=request_fraction,
            seed=seed, recent_days=recent_days,
            ease_l2=ease_l2, last_k=last_k)
        self.report: dict[str, Any] = {}
        self._fitted = False

    def fit(self, train: Interactions, catalog: Catalog) -> None:
        from retrieval.candidates import CandidateGenerator, dense_retriever
        from retrieval.features import FeatureBuilder, ItemTable
        from retrieval.rerank import Reranker
        from retrieval.stats import InteractionStats
        from retrieval.train_ranker import make_training_lists, train_ranker

        enc, vecs = _item_vectors(self.encoder, catalog, self.cache_dir)
        base = (log_fingerprint(train), _catalog_key(catalog), _encoder(self.encoder)[1])
        lists = _remember(("lists", *base, self.config.lists_key()),
                          lambda: make_training_lists(train, catalog, vecs, encoder=enc,
                                                      config=self.config)[0])
        stats = _remember(("stats", base[0], base[1], str(self.ease_l2), str(self.recent_days)),
                          lambda: InteractionStats.build(train, catalog,
                                                         **self.config.stats_params()))
        trained = train_ranker(train, catalog, vecs, encoder=enc, config=self.config,
                               lists=lists, stats=stats)
        table = ItemTable(catalog, vecs)
        self.builder = FeatureBuilder(table, trained.stats, **self.config.feature_params())
        self.generator = CandidateGenerator(
            table, trained.stats, dense_retriever(catalog.ids, vecs, enc, catalog=catalog),
            n=self.n_candidates, collaborative=self.collaborative)
        self.reranker = Reranker(self.builder, trained.ranker, mmr_lambda=self.mmr_lambda)
        self.trained = trained
        self.report = trained.report
        self.catalog = catalog
        self._encoder_obj = enc
        self._histories, self._last = _histories(train)
        self._parser: Any = None
        self._fitted = True

    def _check(self) -> None:
        if not self._fitted:
            raise RuntimeError("Encore is not fitted; call fit(train, catalog) first")

    def rank_lists(self, user_ids: Sequence[str], history: sparse.csr_matrix) -> list[np.ndarray]:
        """Each user's ranked candidate rows (catalog positions), best first."""
        from retrieval.diversify import mmr_order
        from retrieval.features import FeatureMatrix, QueryContext

        self._check()
        ids = self.catalog.ids
        h = sparse.csr_matrix(history)
        hs = [_history_for(u, h[k], ids, self._histories) for k, u in enumerate(user_ids)]
        lists = self.generator.batch(hs)
        ranker = self.trained.ranker
        vecs = self.builder.items.vectors
        out = []
        for u, hist, cl in zip(user_ids, hs, lists, strict=True):
            if not len(cl.rows):
                out.append(cl.rows)
                continue
            prep = self.builder.prepare(QueryContext(history=hist, now=self._last.get(u)))
            x = self.builder.build_rows(prep, cl.rows, cl.dense_scores, cl.from_dense)
            s = ranker.score(FeatureMatrix(x, self.builder.schema.names))
            order = np.argsort(-s, kind="stable")
            if self.mmr_lambda < 1.0 and vecs is not None:
                head = mmr_order(s, vecs[cl.rows], self.mmr_k, self.mmr_lambda)
                rest = order[~np.isin(order, head)]
                order = np.concatenate([head, rest])
            out.append(cl.rows[order])
        return out

    def score(self, user_ids: Sequence[str], history: sparse.csr_matrix) -> np.ndarray:
        return scores_from_lists(self.rank_lists(user_ids, history), len(self.catalog))

    def respond(self, user_id: str, request: str, history_item_ids: list[str], k: int
                ) -> list[str]:
        """One conversational turn: parse the text (rules parser), retrieve under its hard
        constraints, rank against the history, diversify."""
        from assistant.parsers import make_parser
        from retrieval.diversify import satisfies
        from retrieval.features import QueryContext

        self._check()
        if self._parser is None:
            self._parser = make_parser("rules", self.catalog)
        req = self._parser.parse(request)
        pos = {i: n for n, i in enumerate(self.catalog.ids)}
        cols = sorted({pos[i] for i in history_item_ids if i in pos})
        row = sparse.csr_matrix((np.ones(len(cols), np.float32), ([0] * len(cols), cols)),
                                shape=(1, len(self.catalog)))
        hist = _history_for(user_id, row, self.catalog.ids, self._histories)
        allowed = None
        if req.hard_constraints():
            ok = satisfies(list(self.catalog), req)
            allowed = [i for i, good in zip(self.catalog.ids, ok, strict=True) if good]
        text = req.query.strip() or None
        vec = self._encoder_obj.encode([text])[0] if text else None
        cands = self.generator.generate(hist, text, allowed=allowed)
        ctx = QueryContext(history=hist, request=req, request_vector=vec,
                           now=self._last.get(user_id))
        picks = self.reranker.rank(ctx, cands, k=k, evidence=False)
        return [p.item_id for p in picks]
