"""Encore's stages as systems of the evaluation harness (``eval.systems`` resolves the
names ``encore-retrieval`` and ``encore`` through :func:`make_system`).

- ``encore-retrieval``: dense retrieval alone: the profile of the user's training history
  is the query, the FAISS index's best ``n`` items are the list, in order. With
  ``collaborative`` > 0, the merged candidate list the ranker sees (dense + EASE +
  popular), in merge order: useful for its recall, not for its order.
- ``encore``: retrieval + the learned ranker (+ MMR when ``mmr_lambda`` < 1): the
  :class:`~retrieval.pipeline.Pipeline` the serving engine calls, configured by a
  :class:`~retrieval.config.PipelineConfig`. ``fit`` trains the ranker on the training log
  only, with an inner time split inside each user's training interactions
  (:mod:`retrieval.train_ranker`); the held-out items of the split are never seen. Item
  vectors depend only on the catalog's text and are cached.

Both score from history alone in the history-only suite; ``encore`` also answers request
texts (``respond``) through ``Pipeline.recommend``, exactly as the assistant serves them,
which the conversational suite calls.

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
from retrieval.config import PipelineConfig, flat_names
from retrieval.interactions import Interactions

__all__ = ["DEFAULT_CACHE_DIR", "EVAL_DEFAULTS", "Encore", "EncoreRetrieval", "make_system"]

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
    """Retrieval alone (see the module docstring): the candidates of the
    :class:`~retrieval.pipeline.Pipeline`, in merge order.

    Args:
        encoder: Encoder name or folder (``"all-MiniLM-L6-v2"``, a fine-tuned model) or an
            object with ``encode`` and ``dim``.
        n: Candidates per user.
        collaborative: Places given to EASE's picks (0: dense retrieval only).
        cache_dir: Folder of the embedding cache (``None``: in memory).
        ease_l2: EASE's ridge weight.
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
        self.config = PipelineConfig.model_validate({
            "retrieval": {"n_candidates": max(self.n, 2), "collaborative": self.collaborative},
            "stats": {"ease_l2": self.ease_l2}})
        self.pipeline: Any = None

    def fit(self, train: Interactions, catalog: Catalog) -> None:
        from retrieval.pipeline import Pipeline
        from retrieval.train_ranker import stats_from_config

        enc, vecs = _item_vectors(self.encoder, catalog, self.cache_dir)
        stats = _remember(("stats", log_fingerprint(train), _catalog_key(catalog),
                           self.config.stats.model_dump_json()),
                          lambda: stats_from_config(train, catalog, self.config.stats))
        self.catalog = catalog
        self.pipeline = Pipeline(catalog, vecs, enc, stats, config=self.config)
        self._histories, _ = _histories(train)

    def score(self, user_ids: Sequence[str], history: sparse.csr_matrix) -> np.ndarray:
        if self.pipeline is None:
            raise RuntimeError("EncoreRetrieval is not fitted; call fit(train, catalog) first")
        ids = self.catalog.ids
        h = sparse.csr_matrix(history)
        hs = [_history_for(u, h[k], ids, self._histories) for k, u in enumerate(user_ids)]
        lists = self.pipeline.generator.batch(hs)
        return scores_from_lists([cl.rows[: self.n] for cl in lists], len(ids))


# -- retrieval + ranker ---------------------------------------------------------------------------

# Encore's keyword arguments that are not the bare name of a PipelineConfig field.
_RENAMED = {"ranker": ("ranker", "kind"), "seed": ("training", "seed")}
# What the history-only evaluation uses unless told otherwise: the ranker's order, without
# MMR (serving diversifies with ranker.mmr_lambda = 0.8).
EVAL_DEFAULTS: dict[str, Any] = {"mmr_lambda": 1.0}


class Encore:
    """Retrieval, the learned ranker and MMR (one :class:`~retrieval.pipeline.Pipeline`),
    trained on the training log only.

    Args:
        encoder: Encoder name or folder, or an encoder object.
        config: The pipeline configuration (default: :class:`~retrieval.config.PipelineConfig`
            with ``mmr_lambda`` 1, :data:`EVAL_DEFAULTS`); the keyword arguments below
            replace its fields.
        ranker: ``lightgbm`` or ``blend`` (the untrained blend): ``ranker.kind``.
        n_candidates, collaborative: Candidates per user and EASE's places among them.
        cuts, horizon, min_history, valid_fraction, cold_start_fraction, request_fraction:
            Training lists (:class:`~retrieval.config.TrainingListsConfig`).
        drop_groups: Feature groups left out, comma-separated (ablations).
        mmr_lambda: MMR's relevance weight over the first ``mmr_k`` places (1: off).
        seed: Seed of the user split and of LightGBM (``training.seed``).
        cache_dir: Folder of the embedding cache (``None``: in memory).
        learning_rate, num_leaves, min_data_in_leaf, max_rounds, num_threads: LightGBM.
        last_k, recent_days, ease_l2: Features and statistics.
        **settings: Any other field of the configuration by its bare name
            (``request_weight=0.8``, ``popularity_weight=0.03``).
    """

    def __init__(
        self,
        encoder: Any = "all-MiniLM-L6-v2",
        *,
        config: PipelineConfig | None = None,
        ranker: str | None = None,
        n_candidates: int | None = None,
        collaborative: int | None = None,
        cuts: int | None = None,
        horizon: int | None = None,
        min_history: int | None = None,
        valid_fraction: float | None = None,
        cold_start_fraction: float | None = None,
        request_fraction: float | None = None,
        drop_groups: str | Sequence[str] | None = None,
        mmr_lambda: float | None = None,
        mmr_k: int | None = None,
        seed: int | None = None,
        cache_dir: str | None = DEFAULT_CACHE_DIR,
        learning_rate: float | None = None,
        num_leaves: int | None = None,
        min_data_in_leaf: int | None = None,
        max_rounds: int | None = None,
        num_threads: int | None = None,
        last_k: int | None = None,
        recent_days: float | None = None,
        ease_l2: float | None = None,
        **settings: Any,
    ) -> None:
        given = {k: v for k, v in locals().items()
                 if k not in ("self", "encoder", "config", "cache_dir", "settings", "given")
                 and v is not None}
        unknown = sorted(set(settings) - flat_names())
        if unknown:
            raise TypeError(f"Encore() got an unexpected keyword argument {unknown[0]!r}")
        given.update(settings)
        if isinstance(given.get("drop_groups"), str):
            given["drop_groups"] = [g.strip() for g in given["drop_groups"].split(",")
                                    if g.strip()]
        base = config if config is not None else PipelineConfig().with_flat(**EVAL_DEFAULTS)
        renamed = {k: given.pop(k) for k in list(given) if k in _RENAMED}
        cfg = base.with_flat(**given)
        if renamed:
            cfg = cfg.merged({s: {f: renamed[k]} for k, (s, f) in _RENAMED.items()
                              if k in renamed})
        self.config = cfg
        self.encoder = encoder
        self.cache_dir = cache_dir
        self._expose(cfg)
        self.report: dict[str, Any] = {}
        self._fitted = False

    def _expose(self, cfg: PipelineConfig) -> None:
        """The effective values as attributes (reports read the constructor's names)."""
        r, t, rk = cfg.retrieval, cfg.training, cfg.ranker
        self.ranker, self.seed = rk.kind, t.seed
        self.n_candidates, self.collaborative = r.n_candidates, r.collaborative
        self.cuts, self.horizon, self.min_history = t.cuts, t.horizon, t.min_history
        self.valid_fraction, self.cold_start_fraction = t.valid_fraction, t.cold_start_fraction
        self.request_fraction = t.request_fraction
        self.drop_groups = ",".join(rk.drop_groups)
        self.mmr_lambda, self.mmr_k = rk.mmr_lambda, rk.mmr_k
        self.learning_rate, self.num_leaves = rk.learning_rate, rk.num_leaves
        self.min_data_in_leaf, self.max_rounds = rk.min_data_in_leaf, rk.max_rounds
        self.num_threads, self.last_k = rk.num_threads, cfg.features.last_k
        self.recent_days, self.ease_l2 = cfg.stats.recent_days, cfg.stats.ease_l2

    def fit(self, train: Interactions, catalog: Catalog) -> None:
        """Train the ranker on ``train`` (an inner time split of it) and wire the pipeline.
        Progress goes to the ``retrieval.train_ranker`` and ``retrieval.ranker`` loggers at
        INFO."""
        from retrieval.pipeline import Pipeline
        from retrieval.train_ranker import (
            lists_key,
            make_training_lists,
            stats_from_config,
            train_ranker,
        )

        enc, vecs = _item_vectors(self.encoder, catalog, self.cache_dir)
        base = (log_fingerprint(train), _catalog_key(catalog), _encoder(self.encoder)[1])
        lists = _remember(("lists", *base, lists_key(self.config)),
                          lambda: make_training_lists(train, catalog, vecs, encoder=enc,
                                                      config=self.config)[0])
        stats = _remember(("stats", base[0], base[1], self.config.stats.model_dump_json()),
                          lambda: stats_from_config(train, catalog, self.config.stats))
        trained = train_ranker(train, catalog, vecs, encoder=enc, config=self.config,
                               lists=lists, stats=stats)
        self.trained = trained
        self.report = trained.report
        self._wire(Pipeline(catalog, vecs, enc, trained.stats, ranker=trained.ranker,
                            config=self.config), train)

    @classmethod
    def from_bundle(cls, bundle: Any, *, config: PipelineConfig | None = None) -> Encore:
        """The adapter over a built bundle, fitted already: its encoder, index, statistics,
        ranker and pipeline configuration (``config`` replaces the latter), its log as the
        users' histories. What ``Engine.from_bundle`` serves, for the conversational suite.
        """
        from retrieval.pipeline import Pipeline
        from retrieval.train_ranker import stats_from_config

        cfg = config or bundle.pipeline_config
        system = cls(bundle.encoder, config=cfg, cache_dir=None)
        catalog = bundle.catalog
        vectors = bundle.item_vectors
        if list(bundle.item_ids) != catalog.ids:  # vectors in another order: realign
            row = {i: k for k, i in enumerate(bundle.item_ids)}
            vectors = vectors[[row[i] for i in catalog.ids]]
        stats = bundle.stats or stats_from_config(bundle.interactions, catalog, cfg.stats)
        system.report = dict((bundle.ranker_training or {}).get("report", {}))
        system._wire(Pipeline(catalog, vectors, bundle.encoder, stats, index=bundle.index,
                              ranker=bundle.ranker, config=cfg), bundle.interactions)
        return system

    def _wire(self, pipeline: Any, log: Interactions) -> None:
        self.pipeline = pipeline
        self.catalog = pipeline.catalog
        self._histories, self._last = _histories(log)
        self._parser: Any = None
        self._fitted = True

    def _check(self) -> None:
        if not self._fitted:
            raise RuntimeError("Encore is not fitted; call fit(train, catalog) first")

    def rank_lists(self, user_ids: Sequence[str], history: sparse.csr_matrix) -> list[np.ndarray]:
        """Each user's ranked candidate rows (catalog positions), best first
        (:meth:`~retrieval.pipeline.Pipeline.rank_lists`, history only, at the moment of
        the user's last training interaction)."""
        self._check()
        ids = self.catalog.ids
        h = sparse.csr_matrix(history)
        hs = [_history_for(u, h[k], ids, self._histories) for k, u in enumerate(user_ids)]
        return self.pipeline.rank_lists(hs, nows=[self._last.get(u) for u in user_ids])

    def score(self, user_ids: Sequence[str], history: sparse.csr_matrix) -> np.ndarray:
        return scores_from_lists(self.rank_lists(user_ids, history), len(self.catalog))

    def respond(self, user_id: str, request: str, history_item_ids: list[str], k: int
                ) -> list[str]:
        """One conversational turn through the serving path: parse the text (rules parser),
        then :meth:`~retrieval.pipeline.Pipeline.recommend` with the request's filter (hard
        constraints, rejected titles), its liked titles steering the history, as
        ``Engine.recommend`` calls it."""
        from assistant.parsers import make_parser
        from retrieval.request import Request

        self._check()
        if self._parser is None:
            self._parser = make_parser("rules", self.catalog)
        req: Request = self._parser.parse(request)
        pos = {i: n for n, i in enumerate(self.catalog.ids)}
        cols = sorted({pos[i] for i in history_item_ids if i in pos})
        row = sparse.csr_matrix((np.ones(len(cols), np.float32), ([0] * len(cols), cols)),
                                shape=(1, len(self.catalog)))
        hist = _history_for(user_id, row, self.catalog.ids, self._histories)
        picks = self.pipeline.recommend(hist, req, self.pipeline.filter(req), k, evidence=False)
        return [p.item_id for p in picks]
