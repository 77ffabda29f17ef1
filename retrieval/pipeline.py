"""The recommendation pipeline, wired once: the call's filter, dense retrieval, candidates
(dense + collaborative + popular), features, the ranker and MMR.

The serving engine (``assistant.engine.Engine``), the evaluation systems
(``eval.encore``), the ranker's training lists (:mod:`retrieval.train_ranker`) and the
experiments all build a :class:`Pipeline` and call it, so what is measured is what serves.
One query goes through :meth:`Pipeline.recommend`; evaluation ranks many at once with
:meth:`Pipeline.rank_lists`, which gives the same order (``recommend(...)[:k]`` equals the
first ``k`` of ``rank_lists`` for the same history, request, filter and moment).

A call's hard constraints and exclusions are computed once into a
:class:`~retrieval.filter.TurnFilter` (:meth:`Pipeline.filter`) and passed through;
candidates stay arrays (:class:`~retrieval.candidates.CandidateList`) until the final
:class:`~retrieval.diversify.RankedItem` list.

The request comes first. Its hard constraints filter; what it wants beyond them (genres,
tags, moods: :class:`~retrieval.filter.StatedMatch`) adds the items that have all of it to
the candidates by an exact lookup, and ranks in tiers: items that meet everything first,
then those that meet most, history and collaborative signals ordering each tier. So when
``k`` items satisfy everything a message states, all ``k`` shown do; when fewer do, they
come first and each other pick says what it lacks (``RankedItem.match`` and ``missing``).

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.interactions import Interactions
    >>> from retrieval.models import Interaction, Item
    >>> from retrieval.request import Request
    >>> from retrieval.stats import InteractionStats
    >>> cat = Catalog([Item(id=i, title=i, media_type=m) for i, m in
    ...                [("a", "movie"), ("b", "movie"), ("c", "podcast")]])
    >>> class OneHot:                   # any Encoder: here, one axis per item title
    ...     dim = 3
    ...     def encode(self, texts):
    ...         return np.eye(3, dtype="float32")[["abc".index(t[0]) for t in texts]]
    >>> log = Interactions.from_records([Interaction(user_id="u", item_id="a")])
    >>> pipe = Pipeline(cat, np.eye(3, dtype="float32"), OneHot(), InteractionStats.build(log, cat))
    >>> picks = pipe.recommend(History(["a"]), Request(media_types=["movie"]), k=5)
    >>> [p.item_id for p in picks]
    ['b']
    >>> sorted(cat.ids[r] for r in pipe.rank_lists([History(["a"])])[0])  # all but the history
    ['b', 'c']
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from retrieval.candidates import CandidateGenerator, CandidateList, dense_retriever
from retrieval.config import PipelineConfig
from retrieval.features import FeatureBuilder, ItemTable, QueryContext
from retrieval.filter import FilterBuilder, TurnFilter
from retrieval.ranker import BlendRanker
from retrieval.request import Request
from retrieval.rerank import Reranker
from retrieval.retriever import History

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.diversify import RankedItem
    from retrieval.encoder import Encoder
    from retrieval.index import VectorIndex
    from retrieval.ranker import Ranker
    from retrieval.stats import InteractionStats

__all__ = ["CachedEncoder", "Pipeline"]

_TEXT_CACHE = 256  # request texts whose encoding is remembered


class CachedEncoder:
    """An encoder that remembers the vectors of the texts it encoded last (request texts
    repeat across the turns of a conversation and the tools of one turn)."""

    def __init__(self, encoder: Encoder, size: int = _TEXT_CACHE) -> None:
        self.encoder = encoder
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.encoder.dim

    @property
    def model_key(self) -> str | None:
        return getattr(self.encoder, "model_key", None)

    def clear(self) -> None:
        """Forget every remembered vector."""
        with self._lock:
            self._cache.clear()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = np.asarray(self.encoder.encode(missing), dtype=np.float32)
            with self._lock:
                for t, v in zip(missing, vecs, strict=True):
                    self._cache[t] = v
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        with self._lock:
            out = []
            for t in texts:
                v = self._cache.get(t)
                if v is None:  # evicted by a concurrent call: encode again
                    v = np.asarray(self.encoder.encode([t]), dtype=np.float32)[0]
                else:
                    self._cache.move_to_end(t)
                out.append(v)
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack(out)


class Pipeline:
    """Retrieval, candidates, features, ranking and MMR over one catalog.

    Args:
        catalog: The items, in the order of ``item_vectors``.
        item_vectors: ``float32[len(catalog), d]`` item embeddings (``None``: no dense
            retrieval and no content features).
        encoder: The encoder that made them (encodes request texts; ``None``: requests are
            not encoded). It is wrapped in a :class:`CachedEncoder`.
        stats: Interaction statistics (popularity, EASE, item-kNN) the candidates and
            features read.
        index: A vector index holding the items (``None``: an exact one is built).
        ranker: A trained ranker (``None``: the untrained blend).
        config: The settings of every stage (default :class:`~retrieval.config.PipelineConfig`).
        mood_tags: Mood -> the catalog tags that express it (the parser's vocabulary): a
            request's mood is met by any of them (:func:`~retrieval.filter.wanted_groups`).

    Attributes:
        items, retriever, generator, builder, reranker, filters: The stages, for callers
            that need one alone (the engine's ``similar`` and ``trending`` tools).
    """

    def __init__(self, catalog: Catalog, item_vectors: np.ndarray | None,
                 encoder: Encoder | None, stats: InteractionStats, *,
                 index: VectorIndex | None = None, ranker: Ranker | None = None,
                 config: PipelineConfig | None = None,
                 mood_tags: Mapping[str, Sequence[str]] | None = None) -> None:
        self.config = config = config or PipelineConfig()
        self.catalog = catalog
        self.items = ItemTable(catalog, item_vectors)
        self.encoder = (None if encoder is None else
                        encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder))
        self.stats = stats
        self.ranker = ranker if ranker is not None else BlendRanker()
        self.retriever = None
        if self.items.vectors is not None:
            popularity = stats.popularity(stats.rows(catalog.ids)).astype(np.float64)
            self.retriever = dense_retriever(catalog.ids, self.items.vectors, self.encoder,
                                             config.retrieval, index=index, catalog=catalog,
                                             item_popularity=popularity)
        self.generator = CandidateGenerator.from_config(self.items, stats, self.retriever,
                                                        config.retrieval)
        self.builder = FeatureBuilder(self.items, stats, last_k=config.features.last_k,
                                      dislike_rating=config.features.dislike_rating)
        self.reranker = Reranker(self.builder, self.ranker, mmr_lambda=config.ranker.mmr_lambda,
                                 mmr_k=config.ranker.mmr_k,
                                 request_first=config.ranker.request_first)
        self.filters = FilterBuilder(self.items, getattr(self.retriever, "index", None),
                                     mood_tags=mood_tags)

    # -- the parts of one call -------------------------------------------------------------

    def filter(self, request: Request | None = None, *, exclude: Collection[str] = ()
               ) -> TurnFilter:
        """The call's filter: the request's hard constraints, and as exclusions its
        ``exclude_ids``, the titles it rejects and ``exclude``."""
        return self.filters.build(request, exclude=exclude)

    def request_text(self, request: Request) -> str | None:
        """What dense retrieval encodes: the request text, else the titles it likes."""
        text = request.query.strip()
        if text:
            return text
        titles = [self.catalog[i].title for i in request.like_ids if i in self.catalog]
        return " ; ".join(titles) or None

    def encode_request(self, request: Request) -> np.ndarray | None:
        """The request's embedding (once per text: the encoder remembers), or ``None``."""
        text = self.request_text(request)
        if text is None or self.encoder is None:
            return None
        return self.encoder.encode([text])[0]

    def steered_history(self, history: History, request: Request) -> History:
        """The history with the titles the request likes added as its newest likes (they
        steer the profile and the collaborative candidates, and never come back)."""
        likes = [i for i in request.like_ids if i in self.catalog]
        if not likes:
            return history
        return History(list(history.item_ids) + likes,
                       list(history.events) + ["like"] * len(likes),
                       list(history.values) + [1.0] * len(likes))

    def candidates(self, history: History, request: Request | None = None,
                   filter: TurnFilter | None = None
                   ) -> tuple[QueryContext, CandidateList]:
        """One query's context (steered history, request, its vector) and candidates."""
        req = request or Request()
        filt = filter if filter is not None else self.filter(req)
        hist = self.steered_history(history, req)
        vec = self.encode_request(req)
        cl = self.generator.generate_list(hist, vec, filter=filt)
        return QueryContext(history=hist, request=req, request_vector=vec), cl

    # -- one query -------------------------------------------------------------------------

    def recommend(self, history: History, request: Request | None = None,
                  filter: TurnFilter | None = None, k: int = 10, *, now: int | None = None,
                  evidence: bool = True) -> list[RankedItem]:
        """The best ``k`` items for a history and a request.

        The request text (or, without one, the titles it likes) is encoded once for dense
        retrieval and the request features; the titles it likes join the history as its
        newest likes; only rows the filter allows come back (default: :meth:`filter` of the
        request), and never the history's items.

        Args:
            history: What the person did, oldest first (may be empty).
            request: The parsed request (``None``: history only).
            filter: The call's :class:`~retrieval.filter.TurnFilter`, computed once by the
                caller (:meth:`filter`).
            k: How many.
            now: Unix seconds of the query for the recent-popularity feature (default: the
                statistics' latest timestamp).
            evidence: Attach each pick's evidence (features, closest history items).
        """
        if k < 1:
            return []
        ctx, cl = self.candidates(history, request, filter)
        ctx.now = now
        return self.reranker.rank_rows(ctx, cl, k=k, evidence=evidence)

    def rank(self, context: QueryContext, candidates: CandidateList, k: int, *,
             evidence: bool = True) -> list[RankedItem]:
        """Rank candidates found another way (the engine's ``similar``), already within the
        call's filter."""
        return self.reranker.rank_rows(context, candidates, k=k, evidence=evidence)

    # -- many queries ----------------------------------------------------------------------

    def rank_lists(self, histories: Sequence[History], *,
                   requests: Sequence[Request | None] | None = None,
                   filters: Sequence[TurnFilter | None] | None = None,
                   nows: Sequence[int | None] | None = None) -> list[np.ndarray]:
        """Each query's whole candidate list, ranked: catalog rows, best first.

        History-only queries (no ``requests`` and no ``filters``) retrieve in one batch;
        otherwise each query goes through :meth:`candidates` as in :meth:`recommend`.
        """
        n = len(histories)
        for name, seq in (("requests", requests), ("filters", filters), ("nows", nows)):
            if seq is not None and len(seq) != n:
                raise ValueError(f"{n} histories but {len(seq)} {name}")
        if requests is None and filters is None:
            lists = self.generator.batch(histories)
            contexts = [QueryContext(history=h) for h in histories]
        else:
            pairs = [self.candidates(h, requests[i] if requests is not None else None,
                                     filters[i] if filters is not None else None)
                     for i, h in enumerate(histories)]
            contexts = [c for c, _ in pairs]
            lists = [cl for _, cl in pairs]
        out = []
        for i, (ctx, cl) in enumerate(zip(contexts, lists, strict=True)):
            ctx.now = nows[i] if nows is not None else None
            order, _, _ = self.reranker.order(self.builder.prepare(ctx), cl)
            out.append(cl.rows[order])
        return out

    def __repr__(self) -> str:
        return (f"Pipeline({len(self.catalog)} items, ranker="
                f"{getattr(self.ranker, 'name', type(self.ranker).__name__)}, "
                f"{self.config.retrieval.n_candidates} candidates)")
