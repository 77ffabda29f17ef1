"""The serving engine: what an assistant turn calls once the request is parsed.

:class:`Engine` holds one bundle's :class:`~retrieval.pipeline.Pipeline` (catalog, item
vectors and FAISS index, encoder, interaction statistics, candidates, features, ranker and
MMR, wired once and shared with evaluation and training) and answers the turn's tools:
:meth:`~Engine.recommend`, :meth:`~Engine.similar`, :meth:`~Engine.trending`,
:meth:`~Engine.playlist` and :meth:`~Engine.details`. Every list it returns holds
:class:`~retrieval.diversify.RankedItem` with evidence, never an id the caller excluded,
and only items that satisfy the request's hard constraints: each call computes one
:class:`~retrieval.filter.TurnFilter` and passes it through.

A turn must stay fast on large catalogs, so nothing here loops over the catalog in Python
per call: the hard constraints are evaluated on arrays precomputed over catalog rows and
cached per constraint set (:class:`~retrieval.filter.FilterBuilder`), request texts are
encoded once (an LRU cache), and the trending order is computed once.

Example (over a built bundle; :class:`Engine` shows one built from parts):
    >>> bundle = Bundle.load(".encore/bundle")                           # doctest: +SKIP
    >>> engine = Engine.from_bundle(bundle, Settings())                  # doctest: +SKIP
    >>> req = Request(query="space opera", media_types=["movie"])        # doctest: +SKIP
    >>> picks = engine.recommend(engine.base_history("demo-0001"), req)  # doctest: +SKIP
    >>> engine.details(picks[0].item_id).media_type                      # doctest: +SKIP
    <MediaType.movie: 'movie'>
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import numpy as np

from assistant.errors import UnknownItem as _UnknownItem
from assistant.playlist import Pick, Playlist, Pool, Wanted, assemble
from retrieval.candidates import DENSE, CandidateList
from retrieval.diversify import Evidence, FeatureContribution, RankedItem
from retrieval.features import QueryContext
from retrieval.filter import ConstraintMasks
from retrieval.request import Request
from retrieval.retriever import History

if TYPE_CHECKING:
    from assistant.settings import Settings
    from retrieval.bundle import Bundle
    from retrieval.catalog import Catalog
    from retrieval.config import PipelineConfig
    from retrieval.encoder import Encoder
    from retrieval.index import VectorIndex
    from retrieval.interactions import Interactions
    from retrieval.models import Item
    from retrieval.ranker import Ranker
    from retrieval.stats import InteractionStats

__all__ = ["ConstraintMasks", "Engine", "Playlist", "UnknownItem", "pin_threads"]

_PLAYLIST_POOL = 200
"""Candidates per tier a playlist ranks at least (all of them on a catalog this small)."""

_PLAYLIST_SEARCH_ABOVE = 50_000
"""A playlist tier of more rows than this takes its closest from the vector index."""


class UnknownItem(_UnknownItem):
    """An item id that is not in the engine's catalog (the assistant's
    :class:`~assistant.errors.UnknownItem`, with the catalog's size in the message).

    Example:
        >>> err = UnknownItem("mv-nope", 425)
        >>> isinstance(err, KeyError), str(err)[:50]
        (True, "no item with id 'mv-nope' in the catalog (425 item")
    """

    def __init__(self, item_id: str, n_items: int | None = None) -> None:
        super().__init__(item_id)
        self.item_id = item_id
        size = f" ({n_items} items)" if n_items is not None else ""
        self.message = (f"no item with id {item_id!r} in the catalog{size}. Fix: use an id the "
                        "engine returned, or look the title up in the catalog; if the catalog "
                        "changed, rebuild the bundle with `encore build`")

    def __str__(self) -> str:
        return self.message


class Engine:
    """Retrieval, ranking and the turn's tools over one bundle.

    Build it with :meth:`from_bundle`; the constructor takes the parts (tests and
    synthetic benchmarks pass them directly).

    Args:
        catalog: The items, in the order of ``item_vectors``.
        item_vectors: ``float32[len(catalog), d]`` item embeddings.
        encoder: The encoder that made them (encodes request texts).
        interactions: The log the engine's base histories come from.
        settings: The settings (``settings.pipeline_config()`` when ``config`` is None).
        index: A vector index holding the items (``None``: an exact one is built).
        stats: Interaction statistics for the features (``None``: built from
            ``interactions`` with ``config.stats``).
        ranker: A trained ranker (``None``: the untrained blend).
        config: The pipeline configuration (:meth:`from_bundle` passes the bundle's, with
            the fields set explicitly in ``settings`` over it).

    Attributes:
        pipeline: The :class:`~retrieval.pipeline.Pipeline` every tool calls.
        ranker_name: ``"lightgbm"`` for a trained LambdaMART model, ``"blend"`` for the
            untrained blend.

    Example:
        >>> from assistant.settings import Settings
        >>> from retrieval.catalog import Catalog
        >>> from retrieval.interactions import Interactions
        >>> from retrieval.models import Interaction, Item
        >>> cat = Catalog([Item(id=i, title=i, media_type=m, duration_min=d) for i, m, d in
        ...                [("a", "movie", 90), ("b", "movie", 120), ("c", "podcast", 30)]])
        >>> class OneHot:                   # any Encoder: here, one axis per item title
        ...     dim = 3
        ...     def encode(self, texts):
        ...         return np.eye(3, dtype="float32")[["abc".index(t[0]) for t in texts]]
        >>> log = Interactions.from_records([Interaction(user_id="u", item_id="a")])
        >>> engine = Engine(cat, np.eye(3, dtype="float32"), OneHot(), log, Settings())
        >>> req = Request(media_types=["movie"])
        >>> [p.item_id for p in engine.recommend(engine.base_history("u"), req)], engine.ranker_name
        (['b'], 'blend')
    """

    def __init__(
        self,
        catalog: Catalog,
        item_vectors: np.ndarray,
        encoder: Encoder,
        interactions: Interactions,
        settings: Settings,
        *,
        index: VectorIndex | None = None,
        stats: InteractionStats | None = None,
        ranker: Ranker | None = None,
        config: PipelineConfig | None = None,
    ) -> None:
        from retrieval.pipeline import Pipeline
        from retrieval.train_ranker import stats_from_config

        config = config or settings.pipeline_config()
        self.settings = settings
        self.config = config
        self.catalog = catalog
        self.interactions = interactions
        if stats is None:
            stats = stats_from_config(interactions, catalog, config.stats)
        from assistant.explain.relevance import cite_threshold

        # How close a history item must be to a pick to be cited, measured on these vectors.
        self.cite_min_cosine = cite_threshold(item_vectors)
        self.pipeline = Pipeline(catalog, item_vectors, encoder, stats, index=index,
                                 ranker=ranker, config=config, mood_tags=_mood_tags())
        p = self.pipeline
        self.encoder, self.items, self.stats, self.ranker = p.encoder, p.items, p.stats, p.ranker
        self.retriever, self.generator, self.builder = p.retriever, p.generator, p.builder
        self.reranker = p.reranker
        self.ranker_name = str(getattr(self.ranker, "name", type(self.ranker).__name__))
        self._lock = threading.Lock()
        self._histories: dict[str, History] | None = None
        self._trend_order: np.ndarray | None = None
        self._trend_counts: np.ndarray | None = None

    def clear_caches(self) -> None:
        """Forget remembered request encodings and constraint allow-lists (benchmarks call
        it to time a turn as a new message with new constraints meets it)."""
        if self.pipeline.encoder is not None:
            self.pipeline.encoder.clear()
        self.pipeline.filters.clear()

    @classmethod
    def from_bundle(cls, bundle: Bundle, settings: Settings) -> Engine:
        """The engine over a loaded bundle: its trained ranker and statistics when it has
        them (else the blend, and statistics built from its interactions), its FAISS index,
        its encoder, and the pipeline configuration it was built with; a field set
        explicitly in ``settings`` (keyword, ``ENCORE_*`` variable or TOML) wins over the
        bundle's value. The encoder's threads are pinned to ``retrieval.encoder_threads``
        (:func:`pin_threads`)."""
        pin_threads(settings.retrieval.encoder_threads)
        if settings.retrieval.encoder_threads > 0 and hasattr(bundle.encoder, "threads"):
            # An ONNX Runtime encoder (retrieval.encoder_onnx) has its own thread pool.
            bundle.encoder.threads = settings.retrieval.encoder_threads
        config = settings.pipeline_config(base=bundle.pipeline_config)
        vectors = bundle.item_vectors
        if list(bundle.item_ids) != bundle.catalog.ids:  # vectors in another order: realign
            row = {i: k for k, i in enumerate(bundle.item_ids)}
            vectors = vectors[[row[i] for i in bundle.catalog.ids]]
        return cls(bundle.catalog, vectors, bundle.encoder, bundle.interactions, settings,
                   index=bundle.index, stats=bundle.stats, ranker=bundle.ranker, config=config)

    # -- users ---------------------------------------------------------------------------

    def _all_histories(self) -> dict[str, History]:
        if self._histories is None:
            from retrieval.retriever import histories_from_log

            self._histories = histories_from_log(self.interactions)
        return self._histories

    def base_history(self, user_id: str) -> History:
        """The user's history in the bundle's log, oldest first (sequence order); an unknown
        user gets an empty history."""
        h = self._all_histories().get(str(user_id))
        if h is None:
            return History([])
        return History(list(h.item_ids), list(h.events), list(h.values))

    def known_users(self) -> list[str]:
        """Ids of the users in the bundle's log, sorted."""
        return sorted(self._all_histories())

    def has_user(self, user_id: str) -> bool:
        return str(user_id) in self._all_histories()

    # -- items ---------------------------------------------------------------------------

    def details(self, item_id: str) -> Item:
        """The catalog item.

        Raises:
            UnknownItem: no item has this id.
        """
        item = self.catalog.get(item_id)
        if item is None:
            raise UnknownItem(item_id, len(self.catalog))
        return item

    def allowed_mask(self, request: Request | None) -> np.ndarray:
        """``bool[n_items]`` over catalog rows: what the request's hard constraints allow
        (``exclude_ids`` included). Cached per constraint set; do not modify it."""
        mask, _ = self.pipeline.filters.constraint(request)
        if request is not None and request.exclude_ids:
            rows = self.items.rows(request.exclude_ids, strict=False)
            mask = mask.copy()
            mask[rows[rows >= 0]] = False
        return mask

    def unchecked(self, request: Request | None) -> tuple[str, ...]:
        """The request's constraints this catalog cannot judge (``"year"``, ``"duration"``,
        ``"language"``: too few items have the field); they are not applied."""
        return self.pipeline.filters.unchecked(request)

    # -- the tools -----------------------------------------------------------------------

    def recommend(self, history: History, request: Request | None = None, *, k: int = 10,
                  exclude: Collection[str] = ()) -> list[RankedItem]:
        """The best ``k`` items for a history and a request
        (:meth:`retrieval.pipeline.Pipeline.recommend`, the path evaluation measures).

        The request text (or, without one, the titles it likes) is encoded for dense
        retrieval; the titles it likes join the history as its newest likes (steering the
        profile and the collaborative candidates, and never coming back themselves); the
        titles it rejects, ``exclude`` and ``request.exclude_ids`` never come back; only
        items within the hard constraints do.
        """
        req = request or Request()
        if k < 1:
            return []
        return self.pipeline.recommend(history, req, self.pipeline.filter(req, exclude=exclude),
                                       k)

    def similar(self, item_ids: Sequence[str], *, history: History | None = None,
                request: Request | None = None, k: int = 10,
                exclude: Collection[str] = ()) -> list[RankedItem]:
        """Items closest to ``item_ids`` (vector search on their mean), re-ranked with the
        history and the request, within its hard constraints; the seeds, the history's
        items and ``exclude`` never come back.

        Raises:
            UnknownItem: a seed id is not in the catalog.
            ValueError: no seed given.
        """
        seeds = list(dict.fromkeys(str(i) for i in item_ids))
        if not seeds:
            raise ValueError("similar() needs at least one item id to find items like; pass "
                             "the ids of the titles the person referred to")
        rows = self.items.rows(seeds, strict=False)
        if (rows < 0).any():
            raise UnknownItem(seeds[int(np.flatnonzero(rows < 0)[0])], len(self.catalog))
        req = _in_seed_family(request or Request(), [self.catalog[i] for i in seeds])
        hist = history if history is not None else History([])
        if k < 1:
            return []
        if self.items.vectors is None or self.retriever is None:
            raise ValueError("similar() needs item vectors; build the engine with them")
        filt = self.pipeline.filter(req, exclude=[*seeds, *hist.item_ids, *exclude])
        seed_vec = self.items.vectors[rows].mean(axis=0)
        seed_vec /= max(float(np.linalg.norm(seed_vec)), 1e-9)
        req_vec = seed_vec
        text = req.query.strip() or None
        if text and self.pipeline.encoder is not None:
            both = seed_vec + self.pipeline.encoder.encode([text])[0]
            req_vec = both / max(float(np.linalg.norm(both)), 1e-9)
        n = min(self.generator.n, max(50, 5 * k))
        ids, scores = self.retriever.search(seed_vec[None, :].astype(np.float32), n=n,
                                            exclude=[filt.excluded_ids], allowed=filt.allowed)
        found = self.items.rows(ids[0], strict=False)
        keep = found >= 0
        found, dense = found[keep], np.asarray(scores[0], dtype=np.float32)[keep]
        keep = filt.allows(found)
        found = found[keep]
        stated = filt.stated
        cands = CandidateList(found, dense[keep], np.full(len(found), DENSE, dtype=np.int16),
                              stated, None if stated is None else stated.bits[found])
        ctx = QueryContext(history=hist, request=req, request_vector=req_vec)
        return self.pipeline.rank(ctx, cands, k)

    def trending(self, *, request: Request | None = None, k: int = 10,
                 exclude: Collection[str] = (), history: History | None = None
                 ) -> list[RankedItem]:
        """The most played items of the log's recent window (ties and quiet items by
        overall popularity), within the request's hard constraints; the history's items and
        ``exclude`` never come back."""
        if k < 1:
            return []
        order, counts = self._trending()
        filt = self.pipeline.filter(request, exclude=[
            *exclude, *(history.item_ids if history is not None else ())])
        rows = order[filt.allows(order)][:k]
        pop = self.stats.popularity(self.builder.stats_row[rows])
        window = float(self.stats.params.get("recent_days", 30.0))
        out = []
        for pos, (r, c, p) in enumerate(zip(rows.tolist(), counts[rows].tolist(), pop.tolist(),
                                            strict=True)):
            feats = [FeatureContribution(name="recent_popularity", group="popularity",
                                         value=c, contribution=c)]
            if p > 0:
                feats.append(FeatureContribution(name="popularity", group="popularity",
                                                 value=float(p), contribution=0.0))
            out.append(RankedItem(item_id=self.items.ids[r], rank=pos + 1, score=c,
                                  evidence=Evidence(features=feats,
                                                    sources=[f"trending ({window:g} days)"])))
        return out

    def playlist(self, history: History, request: Request | None, *, target_minutes: int,
                 exclude: Collection[str] = (), tolerance: float = 0.05,
                 keep_ids: Sequence[str] = (), close_matches: bool = True) -> Playlist:
        """An ordered list whose total ``duration_min`` is within ``tolerance`` of
        ``target_minutes`` where the catalog allows it, of items that answer the request.

        Candidates are every item within the hard constraints that matches the request's
        genres and moods, or comes close (:class:`assistant.playlist.Wanted`), found by
        exact lookup (not only what retrieval proposes; on a large catalog the best
        ``pool`` of each by request similarity), ranked for the history. The person's own
        likes may play (a playlist is for listening); disliked and skipped items, ``exclude``
        and what the request rejects never do. :func:`assistant.playlist.assemble` then
        keeps ``keep_ids`` (a previous playlist, in order, cut from its end when it runs
        past the target), adds the best matching items, and close matches only when the
        matching ones cannot reach the target (``close_matches=False``: never); a bounded
        subset sum (:func:`assistant.playlist.fill`) picks the lengths. When nothing reaches
        the tolerance the closest is returned with ``within_tolerance=False`` and its
        ``shortfall`` says why.

        Raises:
            ValueError: a target below one minute or a tolerance outside [0, 1).
        """
        if target_minutes < 1:
            raise ValueError(f"target_minutes must be at least 1, got {target_minutes}")
        if not 0.0 <= tolerance < 1.0:
            raise ValueError(f"tolerance must lie in [0, 1), got {tolerance}")
        req = request or Request()
        pool = self._playlist_pool(history, req, target_minutes * (1 + tolerance),
                                   exclude=exclude, keep_ids=keep_ids,
                                   close_matches=close_matches)
        result = assemble(pool, target=target_minutes, tolerance=tolerance,
                          catalog=self.catalog)
        return self._with_evidence(result, history, req)

    def _with_evidence(self, result: Playlist, history: History, req: Request) -> Playlist:
        """The playlist with each chosen item's evidence. The pool is ranked without it (a
        pool holds many more items than play, and evidence is most of ranking's cost)."""
        if not result.items:
            return result
        rows = self.items.rows([p.item_id for p in result.items])
        evidence = {p.item_id: p.evidence
                    for p in self._rank_all(history, req, rows, evidence=True)}
        items = [p.model_copy(update={"evidence": evidence[p.item_id]})
                 if p.item_id in evidence else p for p in result.items]
        return dataclasses.replace(result, items=items)

    def _rank_all(self, history: History, req: Request, rows: np.ndarray, *,
                  evidence: bool) -> list[RankedItem]:
        """Every one of ``rows`` ranked for ``history`` and ``req`` (the request's encoding
        is remembered by the encoder, so a second call for the same request costs little)."""
        if not len(rows):
            return []
        vec = self.pipeline.encode_request(req)
        ctx = QueryContext(history=self.pipeline.steered_history(history, req), request=req,
                           request_vector=vec)
        dense = (self.items.vectors[rows] @ vec if vec is not None and self.items.vectors
                 is not None else np.full(len(rows), np.nan)).astype(np.float32)
        return self.pipeline.rank(ctx, CandidateList(rows, dense, np.full(
            len(rows), DENSE, dtype=np.int16)), len(rows), evidence=evidence)

    def _playlist_levels(self, want: Wanted) -> tuple[np.ndarray, np.ndarray]:
        """``bool[n_items]`` masks: rows that match ``want`` and rows that come close."""
        n = len(self.items)
        masks = self.pipeline.filters.masks  # column reads: cost the labelled rows only
        genre_ok = (masks.labelled(want.genres, tags=False) if want.genres
                    else np.ones(n, dtype=bool))
        some_genre = genre_ok
        if want.all_genres:  # "indie rock": every genre; a track with one comes close
            for g in want.genres:
                genre_ok = genre_ok & masks.labelled([g], tags=False)
        mood_ok = (masks.labelled(want.mood_tags, genres=False) if want.moods
                   else np.ones(n, dtype=bool))
        close = np.zeros(n, dtype=bool)
        if want.genres:
            near = masks.labelled(want.close, tags=False) & ~genre_ok
            if want.all_genres:
                near |= some_genre & ~genre_ok
            close = (genre_ok & ~mood_ok) | (near & mood_ok)
        return genre_ok & mood_ok, close

    def _playlist_pool(self, history: History, req: Request, hi: float, *,
                       exclude: Collection[str], keep_ids: Sequence[str],
                       close_matches: bool) -> Pool:
        """The candidates of :meth:`playlist`, ranked, in tiers (see there)."""
        want = Wanted.of(req)
        match, close = self._playlist_levels(want)
        if not close_matches:
            close = np.zeros_like(close)
        durations = self.items.duration
        never = [i for i, e in zip(history.item_ids, history.events, strict=True)
                 if e in ("dislike", "skip")]
        timed = self.pipeline.filter(req, exclude=never).row_mask() & np.isfinite(durations)
        keep = [i for i in dict.fromkeys(str(i) for i in keep_ids) if i in self.catalog]
        keep_rows = self.items.rows(keep)
        keep_rows = keep_rows[timed[keep_rows] & (match | close)[keep_rows]
                              & (durations[keep_rows] <= hi)]
        fresh = self.pipeline.filter(req, exclude=[*exclude, *never, *keep]).row_mask()
        fresh &= timed & (durations <= hi)
        available = fresh.copy()
        available[keep_rows] = True
        vec = self.pipeline.encode_request(req)
        new_rows = np.concatenate([self._best_rows(fresh & m, vec, hi) for m in (match, close)])
        rows = np.concatenate([keep_rows, new_rows])
        ranked = self._rank_all(history, req, rows, evidence=False)
        by_id = {p.item_id: p for p in ranked}
        kept_ids = [self.items.ids[r] for r in keep_rows.tolist()]
        kept_set = set(kept_ids)
        tiers: dict[str, list[Pick]] = {"kept": [], "match": [], "close": []}
        for tier, item_id in [*(("kept", i) for i in kept_ids),
                              *((None, p.item_id) for p in ranked if p.item_id not in kept_set)]:
            item = self.catalog[item_id]
            level, note = want.level(item.genres, item.tags)
            if level is not None:
                tiers[tier or level].append(Pick(by_id[item_id], float(item.duration_min or 0),
                                                 level, note))
        # Close matches with a genre asked for (rock for "indie rock") before those of a
        # neighbouring genre only (folk); the ranker's order within each.
        tiers["close"].sort(key=lambda p: not set(want.genres)
                            & set(self.catalog[p.item.item_id].genres))
        too_long = timed & match & (durations > hi)
        return Pool(tiers["kept"], tiers["match"], tiers["close"],
                    n_match=int((available & match).sum()),
                    match_minutes=float(durations[available & match].sum()),
                    n_close=int((available & close).sum()),
                    close_minutes=float(durations[available & close].sum()),
                    too_long=int(too_long.sum()))

    def _best_rows(self, mask: np.ndarray, vec: np.ndarray | None, hi: float) -> np.ndarray:
        """The rows of ``mask``: all of them on a small catalog, else the ones closest to
        the request (by popularity without a request text), enough to fill ``hi`` minutes a
        few times over."""
        rows = np.flatnonzero(mask)
        if not len(rows):
            return rows
        typical = max(float(np.median(self.items.duration[rows])), 0.5)
        cap = max(_PLAYLIST_POOL, math.ceil(4 * hi / typical))
        if len(rows) <= cap:
            return rows
        if vec is not None and self.items.vectors is not None:
            if len(rows) > _PLAYLIST_SEARCH_ABOVE and self.retriever is not None:
                # a large catalog: the vector index finds the closest, where reading every
                # row's vector costs most of the turn
                ids, _ = self.retriever.index.search(
                    vec[None, :].astype(np.float32), cap,
                    allowed=self.pipeline.filters.allow_list(mask))
                found = self.items.rows(ids[0], strict=False)
                found = found[found >= 0]
                if len(found) >= cap:
                    return np.sort(found)
            score = self.items.vectors[rows] @ vec
        else:
            score = self.stats.popularity(self.builder.stats_row[rows]).astype(np.float64)
        top = np.argpartition(-score, cap - 1)[:cap]
        return rows[np.sort(top)]

    # -- internals -----------------------------------------------------------------------

    def _trending(self) -> tuple[np.ndarray, np.ndarray]:
        if self._trend_order is None:
            srows = self.builder.stats_row
            recent = self.stats.recent_popularity(srows).astype(np.float64)
            overall = self.stats.popularity(srows).astype(np.float64)
            self._trend_counts = recent
            self._trend_order = np.lexsort((np.arange(len(recent)), -overall, -recent))
        return self._trend_order, self._trend_counts  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (f"Engine({len(self.catalog)} items, ranker={self.ranker_name}, "
                f"{len(self.interactions)} interactions)")


def _mood_tags() -> dict[str, list[str]]:
    """Mood -> the tags that express it, from the parsers' vocabulary: a request's mood is
    met by any of them."""
    from assistant.parsers.vocabulary import MOODS

    return {mood.value: list(include) for mood, (include, _) in MOODS.items()}


def pin_threads(threads: int) -> None:
    """Let torch (the encoder) use ``threads`` threads in this process (0: leave its
    default). Serving encodes one short text per turn: more threads only wait on each other,
    and on a loaded machine they make a turn many times slower."""
    if threads < 1:
        return
    try:
        import torch
    except ImportError:  # an encoder without torch has nothing to pin
        return
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _in_seed_family(req: Request, seeds: Sequence[Item]) -> Request:
    """"More like The Searchers" means more westerns, and more films and series, not
    audiobooks: with no genre or tag stated the seeds' genres are the topic, and with no media
    type stated the items like the seeds stay in the seeds' media families."""
    from assistant.explain.relevance import MEDIA_FAMILIES, media_family

    if not (req.genres or req.tags):
        # "More like The Lion King": the seeds' genres are the topic, so items that share one
        # rank before items that are merely near in vector space or in the person's history.
        genres = list(dict.fromkeys(g for s in seeds for g in s.genres))[:3]
        if genres:
            req = req.model_copy(update={"genres": genres})
    if req.media_types or req.exclude_media_types:
        return req
    families = {media_family(str(getattr(s.media_type, "value", s.media_type))) for s in seeds}
    kinds = [m for m, fam in MEDIA_FAMILIES.items() if fam in families]
    return req.model_copy(update={"media_types": kinds}) if kinds else req
