"""The serving engine: what an assistant turn calls once the request is parsed.

:class:`Engine` wires one bundle's parts (catalog, item vectors and FAISS index, encoder,
interaction statistics, candidate generator, feature builder, ranker and MMR) and answers
the turn's tools: :meth:`~Engine.recommend`, :meth:`~Engine.similar`,
:meth:`~Engine.trending`, :meth:`~Engine.playlist` and :meth:`~Engine.details`. Every list
it returns holds :class:`~retrieval.diversify.RankedItem` with evidence, never an id the
caller excluded, and only items that satisfy the request's hard constraints
(:func:`retrieval.diversify.satisfies`; :meth:`Engine.allowed_mask` computes the same thing
from arrays).

A turn must stay fast on large catalogs, so nothing here loops over the catalog in Python
per call: the hard constraints are evaluated on arrays precomputed over catalog rows
(media type codes, years, durations, language codes, genre and tag indicator columns) and
cached per constraint set, request texts are encoded once (an LRU cache), and the trending
order is computed once.

Example (over a built bundle; :class:`Engine` shows one built from parts):
    >>> bundle = Bundle.load(".encore/bundle")                           # doctest: +SKIP
    >>> engine = Engine.from_bundle(bundle, Settings())                  # doctest: +SKIP
    >>> req = Request(query="space opera", media_types=["movie"])        # doctest: +SKIP
    >>> picks = engine.recommend(engine.base_history("demo-0001"), req)  # doctest: +SKIP
    >>> engine.details(picks[0].item_id).media_type                      # doctest: +SKIP
    <MediaType.movie: 'movie'>
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.errors import UnknownItem as _UnknownItem
from retrieval.request import Request
from retrieval.candidates import CandidateGenerator, CandidateList
from retrieval.diversify import Evidence, FeatureContribution, RankedItem
from retrieval.index import FaissIndex
from retrieval.retriever import Candidate, History

if TYPE_CHECKING:
    from assistant.settings import Settings
    from retrieval.bundle import Bundle
    from retrieval.catalog import Catalog
    from retrieval.encoder import Encoder
    from retrieval.index import VectorIndex
    from retrieval.interactions import Interactions
    from retrieval.models import Item
    from retrieval.ranker import Ranker
    from retrieval.stats import InteractionStats
    from retrieval.train_ranker import RankerTrainingConfig

__all__ = ["ConstraintMasks", "Engine", "Playlist", "UnknownItem"]

_MASK_CACHE = 64      # constraint sets remembered (masks and allow-lists)
_TEXT_CACHE = 256     # request texts whose encoding is remembered
_DURATION_UNIT = 100  # playlist sums are exact to 1/100 of a minute


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


@dataclass(frozen=True)
class Playlist:
    """An ordered playlist and how close its length came to the target.

    Attributes:
        items: The picks in play order (``rank`` is the position, ``score`` the ranker's).
        total_minutes: Sum of their ``duration_min``.
        target_minutes: The length asked for.
        within_tolerance: Whether ``total_minutes`` is within the tolerance of the target;
            when False the candidates could not reach it and this is the closest found.
        tolerance: The relative tolerance used (0.05: ±5%).

    Example:
        >>> p = Playlist(items=[], total_minutes=0.0, target_minutes=60, within_tolerance=False)
        >>> p.shortfall_minutes
        60.0
    """

    items: list[RankedItem]
    total_minutes: float
    target_minutes: int
    within_tolerance: bool
    tolerance: float = 0.05

    @property
    def shortfall_minutes(self) -> float:
        """Target minus total (negative when the playlist runs long)."""
        return round(float(self.target_minutes) - self.total_minutes, 2)


class ConstraintMasks:
    """The hard constraints of a :class:`~retrieval.request.Request` as boolean masks over
    catalog rows, computed from arrays (no per-item Python) and equal to
    :func:`~retrieval.diversify.satisfies` item for item.

    Args:
        items: The catalog side of the features (:class:`~retrieval.features.ItemTable`):
            its media codes, years, durations and genre/tag indicators are reused.

    Example:
        >>> from retrieval.catalog import Catalog
        >>> from retrieval.features import ItemTable
        >>> from retrieval.models import Item
        >>> cat = Catalog([Item(id="a", title="A", media_type="movie", year=1990),
        ...                Item(id="b", title="B", media_type="podcast", genres=["horror"])])
        >>> masks = ConstraintMasks(ItemTable(cat, None))
        >>> masks.mask(Request(exclude_genres=["horror"])).tolist()
        [True, False]
        >>> masks.mask(Request(year_min=1980)).tolist()   # an unknown year cannot satisfy it
        [True, False]
    """

    def __init__(self, items: Any) -> None:
        from scipy import sparse

        self.items = items
        self.n = len(items)
        self.media = np.asarray(items.media)
        self.media_codes: dict[str, int] = dict(items.media_codes)
        self.year = np.asarray(items.year, dtype=np.float64)
        self.duration = np.asarray(items.duration, dtype=np.float64)
        langs = [None if it.language is None else it.language.lower() for it in items.items]
        vocab = sorted({x for x in langs if x is not None})
        self.language_codes = {lang: k for k, lang in enumerate(vocab)}
        self.language = np.array([-1 if x is None else self.language_codes[x] for x in langs],
                                 dtype=np.int32)
        # Column access (which rows carry an excluded label) wants CSC.
        self._genres = sparse.csc_matrix(items.genres)
        self._tags = sparse.csc_matrix(items.tags)

    @staticmethod
    def key(request: Request | None) -> str:
        """The cache key of a request's hard constraints (``exclude_ids`` left out: they are
        applied per call)."""
        if request is None:
            return ""
        hc = request.hard_constraints()
        hc.pop("exclude_ids", None)
        return json.dumps(hc, sort_keys=True) if hc else ""

    def _labelled(self, matrix: Any, vocab: dict[str, int], labels: Sequence[str]) -> np.ndarray:
        cols = [vocab[x] for x in labels if x in vocab]
        if not cols:
            return np.zeros(self.n, dtype=bool)
        sub = matrix[:, cols]
        return np.asarray(sub.sum(axis=1)).ravel() > 0

    def mask(self, request: Request | None) -> np.ndarray:
        """``bool[n_items]``: rows that break none of the request's hard constraints except
        ``exclude_ids`` (which the caller applies)."""
        ok = np.ones(self.n, dtype=bool)
        if request is None:
            return ok
        if request.media_types:
            codes = [self.media_codes[m.value] for m in request.media_types
                     if m.value in self.media_codes]
            ok &= np.isin(self.media, codes)
        if request.exclude_media_types:
            codes = [self.media_codes[m.value] for m in request.exclude_media_types
                     if m.value in self.media_codes]
            ok &= ~np.isin(self.media, codes)
        if request.exclude_genres:
            ok &= ~self._labelled(self._genres, self.items.genre_vocab, request.exclude_genres)
        if request.exclude_tags:
            ok &= ~self._labelled(self._tags, self.items.tag_vocab, request.exclude_tags)
        for lo, hi, values in ((request.year_min, request.year_max, self.year),
                               (request.min_minutes, request.max_minutes, self.duration)):
            if lo is None and hi is None:
                continue
            with np.errstate(invalid="ignore"):
                ok &= np.isfinite(values)
                if lo is not None:
                    ok &= values >= lo
                if hi is not None:
                    ok &= values <= hi
        if request.language is not None:
            code = self.language_codes.get(request.language, -2)
            ok &= self.language == code
        return ok


class _CachedEncoder:
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


class Engine:
    """Retrieval, ranking and the turn's tools over one bundle.

    Build it with :meth:`from_bundle`; the constructor takes the parts (tests and
    synthetic benchmarks pass them directly).

    Args:
        catalog: The items, in the order of ``item_vectors``.
        item_vectors: ``float32[len(catalog), d]`` item embeddings.
        encoder: The encoder that made them (encodes request texts).
        interactions: The log the engine's base histories come from.
        settings: ``retrieval.n_candidates`` and ``ranker.mmr_lambda`` are read.
        index: A vector index holding the items (``None``: an exact one is built).
        stats: Interaction statistics for the features (``None``: built from
            ``interactions`` with the training settings).
        ranker: A trained ranker (``None``: the untrained blend).
        training: The ranker's training settings: its feature and statistics settings, and
            the dense retriever's (the engine serves candidates the way the ranker's
            training lists were made, so ``settings.retrieval``'s weights are not used here).

    Attributes:
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
        training: RankerTrainingConfig | None = None,
    ) -> None:
        from retrieval.candidates import dense_retriever
        from retrieval.features import FeatureBuilder, ItemTable
        from retrieval.ranker import BlendRanker
        from retrieval.rerank import Reranker
        from retrieval.stats import InteractionStats
        from retrieval.train_ranker import RankerTrainingConfig

        config = training or RankerTrainingConfig()
        self.settings = settings
        self.catalog = catalog
        self.interactions = interactions
        self.encoder = _CachedEncoder(encoder)
        self.items = ItemTable(catalog, item_vectors)
        self.stats = stats if stats is not None else InteractionStats.build(
            interactions, catalog, **config.stats_params())
        self.ranker = ranker if ranker is not None else BlendRanker()
        self.ranker_name = str(getattr(self.ranker, "name", type(self.ranker).__name__))
        self.retriever = dense_retriever(catalog.ids, self.items.vectors, self.encoder,
                                         catalog=catalog, index=index, **config.retriever)
        n = settings.retrieval.n_candidates
        self.generator = _MaskedGenerator(self.items, self.stats, self.retriever, n=n,
                                          collaborative=min(config.collaborative, n))
        self.builder = FeatureBuilder(self.items, self.stats, **config.feature_params())
        self.reranker = Reranker(self.builder, self.ranker, mmr_lambda=settings.ranker.mmr_lambda)
        self.masks = ConstraintMasks(self.items)
        self._allowed: OrderedDict[str, tuple[np.ndarray, Collection[str] | None]] = OrderedDict()
        # FAISS id of each catalog row, so a constraint mask becomes an allow-list in numpy
        vindex = getattr(self.retriever, "index", None)
        self._row_keys = (vindex.keys_of(catalog.ids) if isinstance(vindex, FaissIndex)
                          else None)
        self._lock = threading.Lock()
        self._histories: dict[str, History] | None = None
        self._trend_order: np.ndarray | None = None
        self._trend_counts: np.ndarray | None = None

    def clear_caches(self) -> None:
        """Forget remembered request encodings and constraint allow-lists (benchmarks call
        it to time a turn as a new message with new constraints meets it)."""
        self.encoder.clear()
        with self._lock:
            self._allowed.clear()

    @classmethod
    def from_bundle(cls, bundle: Bundle, settings: Settings) -> Engine:
        """The engine over a loaded bundle: its trained ranker and statistics when it has
        them (else the blend, and statistics built from its interactions), its FAISS index
        and its encoder."""
        from retrieval.train_ranker import RankerTrainingConfig

        training = None
        info = bundle.ranker_training if bundle.has_ranker else None
        if info is not None:
            training = RankerTrainingConfig.model_validate(info["config"])
        vectors = bundle.item_vectors
        index = bundle.index
        if list(bundle.item_ids) != bundle.catalog.ids:  # vectors in another order: realign
            row = {i: k for k, i in enumerate(bundle.item_ids)}
            vectors = vectors[[row[i] for i in bundle.catalog.ids]]
        return cls(bundle.catalog, vectors, bundle.encoder, bundle.interactions, settings,
                   index=index, stats=bundle.stats, ranker=bundle.ranker, training=training)

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
        mask, _ = self._constraint(request)
        if request is not None and request.exclude_ids:
            rows = self.items.rows(request.exclude_ids, strict=False)
            mask = mask.copy()
            mask[rows[rows >= 0]] = False
        return mask

    def _constraint(self, request: Request | None) -> tuple[np.ndarray, Collection[str] | None]:
        """The cached mask of a constraint set and its allow-list (``None``: everything)."""
        key = ConstraintMasks.key(request)
        with self._lock:
            hit = self._allowed.get(key)
            if hit is not None:
                self._allowed.move_to_end(key)
                return hit
        mask = self.masks.mask(request) if key else np.ones(len(self.items), dtype=bool)
        mask.setflags(write=False)
        ids = self.items.ids
        # Cached with the mask: an allow-list reused across calls is converted to FAISS ids once.
        if mask.all():
            allowed: Collection[str] | None = None
        elif self._row_keys is not None:  # FAISS ids straight from the mask, no id lookups
            allowed = self.retriever.index.allow_list(self._row_keys[mask])
        else:
            allowed = frozenset(ids[r] for r in np.flatnonzero(mask))
        with self._lock:
            self._allowed[key] = (mask, allowed)
            while len(self._allowed) > _MASK_CACHE:
                self._allowed.popitem(last=False)
        return mask, allowed

    def _excluded_rows(self, *groups: Collection[str]) -> np.ndarray:
        ids = [i for g in groups for i in g]
        if not ids:
            return np.zeros(0, dtype=np.int64)
        rows = self.items.rows(ids, strict=False)
        return rows[rows >= 0]

    # -- the tools -----------------------------------------------------------------------

    def recommend(self, history: History, request: Request | None = None, *, k: int = 10,
                  exclude: Collection[str] = ()) -> list[RankedItem]:
        """The best ``k`` items for a history and a request.

        The request text (or, without one, the titles it likes) is encoded for dense
        retrieval; the titles it likes join the history as its newest likes (steering the
        profile and the collaborative candidates, and never coming back themselves); the
        titles it rejects, ``exclude`` and ``request.exclude_ids`` never come back; only
        items within the hard constraints do.
        """
        req = request or Request()
        if k < 1:
            return []
        mask, allowed = self._constraint(req)
        hist = self._steered_history(history, req)
        text = self._request_text(req)
        vec = self.encoder.encode([text])[0] if text else None
        cl = self.generator.generate_masked(hist, text, allowed, mask)
        banned = self._excluded_rows(exclude, req.not_ids, req.exclude_ids)
        keep = mask[cl.rows] & ~np.isin(cl.rows, banned)
        cands = _candidates(cl, keep, self.items.ids)
        return self._rank(hist, req, vec, cands, k)

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
        req = request or Request()
        hist = history if history is not None else History([])
        if k < 1:
            return []
        mask, allowed = self._constraint(req)
        vecs = self.items.vectors
        seed_vec = vecs[rows].mean(axis=0)
        seed_vec /= max(float(np.linalg.norm(seed_vec)), 1e-9)
        text = req.query.strip() or None
        req_vec = seed_vec
        if text:
            tv = self.encoder.encode([text])[0]
            both = seed_vec + tv
            req_vec = both / max(float(np.linalg.norm(both)), 1e-9)
        banned = set(seeds) | set(hist.item_ids) | set(exclude) | set(req.not_ids) \
            | set(req.exclude_ids)
        n = min(self.generator.n, max(50, 5 * k))
        ids, scores = self.retriever.search(seed_vec[None, :].astype(np.float32), n=n,
                                            exclude=[banned], allowed=allowed)
        cands = [Candidate(item_id=i, score=float(s), source="dense")
                 for i, s in zip(ids[0], scores[0], strict=True)]
        return self._rank(hist, req, req_vec, cands, k, mask=mask)

    def trending(self, *, request: Request | None = None, k: int = 10,
                 exclude: Collection[str] = (), history: History | None = None
                 ) -> list[RankedItem]:
        """The most played items of the log's recent window (ties and quiet items by
        overall popularity), within the request's hard constraints; the history's items and
        ``exclude`` never come back."""
        if k < 1:
            return []
        order, counts = self._trending()
        mask = self.allowed_mask(request)
        banned = self._excluded_rows(exclude, history.item_ids if history is not None else (),
                                     request.not_ids if request is not None else ())
        ok = mask[order]
        if len(banned):
            ok &= ~np.isin(order, banned)
        rows = order[ok][:k]
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
                 exclude: Collection[str] = (), tolerance: float = 0.05) -> Playlist:
        """An ordered list whose total ``duration_min`` is within ``tolerance`` of
        ``target_minutes``, drawn from the most relevant candidates.

        The pool is :meth:`recommend`'s ranking (items without a duration, or longer than
        the target, are skipped); a bounded subset sum over its durations (to 1/100 of a
        minute) picks the subset closest to the target among the fewest top-ranked
        candidates that can reach it, so higher-ranked items are preferred. The picks play
        in relevance order, the same creator never twice in a row when avoidable. When no
        subset reaches the tolerance (too few or too long candidates), the closest is
        returned with ``within_tolerance=False``.

        Raises:
            ValueError: a target below one minute or a tolerance outside [0, 1).
        """
        if target_minutes < 1:
            raise ValueError(f"target_minutes must be at least 1, got {target_minutes}")
        if not 0.0 <= tolerance < 1.0:
            raise ValueError(f"tolerance must lie in [0, 1), got {tolerance}")
        req = request or Request()
        lo, hi = target_minutes * (1 - tolerance), target_minutes * (1 + tolerance)
        mask = self.allowed_mask(req)
        durations = self.items.duration
        fits = mask & np.isfinite(durations) & (durations <= hi)
        if not fits.any():
            return Playlist([], 0.0, target_minutes, False, tolerance)
        typical = float(np.median(durations[fits]))
        pool_k = int(min(self.generator.n, max(20, math.ceil(3 * target_minutes / typical))))
        best: tuple[list[RankedItem], float] = ([], 0.0)
        for size in dict.fromkeys((pool_k, self.generator.n)):
            ranked = self.recommend(history, req, k=size, exclude=exclude)
            pool = [p for p in ranked if _finite(durations[self.catalog.position(p.item_id)])
                    and durations[self.catalog.position(p.item_id)] <= hi]
            mins = [float(durations[self.catalog.position(p.item_id)]) for p in pool]
            chosen = _fill(mins, target_minutes, lo, hi)
            total = float(sum(mins[j] for j in chosen))
            if abs(total - target_minutes) < abs(best[1] - target_minutes) or not best[0]:
                best = ([pool[j] for j in chosen], total)
            if lo <= total <= hi or len(ranked) < size:
                break
        picks = self._flow(best[0])
        items = [p.model_copy(update={"rank": pos + 1}) for pos, p in enumerate(picks)]
        total = round(best[1], 2)
        return Playlist(items, total, target_minutes, bool(items) and lo <= best[1] <= hi,
                        tolerance)

    # -- internals -----------------------------------------------------------------------

    def _request_text(self, req: Request) -> str | None:
        text = req.query.strip()
        if text:
            return text
        titles = [self.catalog[i].title for i in req.like_ids if i in self.catalog]
        return " ; ".join(titles) or None

    def _steered_history(self, history: History, req: Request) -> History:
        likes = [i for i in req.like_ids if i in self.catalog]
        if not likes:
            return history
        return History(list(history.item_ids) + likes, list(history.events) + ["like"] * len(likes),
                       list(history.values) + [1.0] * len(likes))

    def _rank(self, hist: History, req: Request, vec: np.ndarray | None,
              cands: list[Candidate], k: int, *, mask: np.ndarray | None = None
              ) -> list[RankedItem]:
        from retrieval.features import QueryContext

        if mask is not None and cands:
            rows = self.items.rows([c.item_id for c in cands])
            cands = [c for c, ok in zip(cands, mask[rows].tolist(), strict=True) if ok]
        if not cands:
            return []
        ctx = QueryContext(history=hist, request=req, request_vector=vec)
        return self.reranker.rank(ctx, cands, k=k, evidence=True)

    def _trending(self) -> tuple[np.ndarray, np.ndarray]:
        if self._trend_order is None:
            srows = self.builder.stats_row
            recent = self.stats.recent_popularity(srows).astype(np.float64)
            overall = self.stats.popularity(srows).astype(np.float64)
            self._trend_counts = recent
            self._trend_order = np.lexsort((np.arange(len(recent)), -overall, -recent))
        return self._trend_order, self._trend_counts  # type: ignore[return-value]

    def _flow(self, picks: list[RankedItem]) -> list[RankedItem]:
        """Relevance order, moving an item down when it would follow one of the same
        creator (the next different one plays first)."""
        rest = list(picks)
        out: list[RankedItem] = []
        while rest:
            prev = set(self.catalog[out[-1].item_id].creators) if out else set()
            j = next((j for j, p in enumerate(rest)
                      if not prev & set(self.catalog[p.item_id].creators)), 0)
            out.append(rest.pop(j))
        return out

    def __repr__(self) -> str:
        return (f"Engine({len(self.catalog)} items, ranker={self.ranker_name}, "
                f"{len(self.interactions)} interactions)")


class _MaskedGenerator(CandidateGenerator):
    """:class:`~retrieval.candidates.CandidateGenerator` taking the hard filter as the
    engine's cached allow-list and row mask, so a call does not look every allowed id up
    again (``generate_list(allowed=...)`` costs O(allowed) in Python per call)."""

    def generate_masked(self, history: History, request: str | None,
                        allowed: Collection[str] | None, mask: np.ndarray) -> CandidateList:
        dense = None
        if self.retriever is not None and (request or len(history)):
            try:
                got = self.retriever.retrieve(request or None, history if len(history) else None,
                                              n=self.n, allowed=allowed)
                dense = ([c.item_id for c in got], np.array([c.score for c in got], np.float32))
            except ValueError as exc:  # a history with no catalog item and no request
                if "nothing to retrieve from" not in str(exc):
                    raise
        rows = None if allowed is None else np.flatnonzero(mask)
        quota = self.collaborative_with_request if request else self.collaborative
        return self._merge([history], [dense], rows, quota)[0]


def _finite(x: float) -> bool:
    return bool(np.isfinite(x))


def _candidates(cl: CandidateList, keep: np.ndarray, ids: Sequence[str]) -> list[Candidate]:
    sub = CandidateList(cl.rows[keep], cl.dense_scores[keep], cl.sources[keep])
    return sub.to_candidates(ids)


def _fill(minutes: Sequence[float], target: float, lo: float, hi: float) -> list[int]:
    """Positions (ascending) of a subset of ``minutes`` whose sum is closest to ``target``,
    within ``[lo, hi]`` when possible, preferring early (higher-ranked) positions.

    The shortest prefix of the list that can reach ``[lo, hi]`` is searched (prefixes
    doubling) with a subset sum over units of 1/100 minute (bit sets held in Python
    integers, one per prefix length, so the subset can be read back); among its reachable
    sums in range the one closest to ``target`` is taken, and read back preferring the
    earlier items. When no prefix reaches the range, the whole list's closest sum is used.

    Example:
        >>> _fill([50, 30, 25, 10], target=60, lo=57, hi=63)
        [0, 3]
    """
    units = [max(1, int(round(m * _DURATION_UNIT))) for m in minutes]
    if not units:
        return []
    t, lo_u, hi_u = (int(round(x * _DURATION_UNIT)) for x in (target, lo, hi))
    # Sums above the range are never wanted, so the bit sets stop there.
    limit_mask = (1 << (max(hi_u, t) + 1)) - 1
    reach = [1]  # reach[j]: sums reachable with the first j items (bit s set: sum s)
    for u in units:
        reach.append((reach[-1] | (reach[-1] << u)) & limit_mask)

    def closest(bits: int) -> int:
        """The reachable sum closest to the target (ties: the longer)."""
        below = bits & ((1 << (t + 1)) - 1)
        above = bits >> t
        options = []
        if below:
            options.append(below.bit_length() - 1)
        if above:
            options.append(t + (above & -above).bit_length() - 1)
        return min(options, key=lambda x: (abs(x - t), -x))

    chosen_len, target_sum = len(units), closest(reach[-1])
    m = 1
    while True:
        m = min(m, len(units))
        s = closest(reach[m])
        if lo_u <= s <= hi_u:
            chosen_len, target_sum = m, s
            break
        if m == len(units):
            break
        m *= 2
    # Read back, last item first: take item j only when the sum is not reachable without
    # it, so earlier (higher-ranked) items are preferred.
    out, s = [], target_sum
    for j in range(chosen_len, 0, -1):
        if (reach[j - 1] >> s) & 1:
            continue
        out.append(j - 1)
        s -= units[j - 1]
    return sorted(out)
