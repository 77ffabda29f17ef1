"""Features of (user, request, candidate) for the ranker, in named groups, computed for all
candidates of one query at once.

A :class:`FeatureSchema` names every column and its group and carries a version: a saved
ranker records the schema it was trained on, and loading it against another one fails
with a message that says what differs. Missing values are NaN (no request, no history,
no year): LightGBM learns where they go, and the blend reads them as 0.

Groups (see :data:`FEATURE_GROUPS`):

- ``retrieval``: the dense retriever's score and rank for the candidate (NaN when another
  source proposed it) and whether the dense source proposed it;
- ``request``: cosine between the candidate and the request (its text, and the titles it
  asks for more of);
- ``profile``: cosine to the user's profile (recency-weighted mean of liked items; plain
  mean for an unordered history), the gap between the candidate's year and the
  history's, the history's length;
- ``recent``: max and mean cosine to the last ``last_k`` liked items (missing when the
  history is unordered: a log without timestamps has no "last" items);
- ``dislike``: max cosine to disliked items (and titles the request rejects);
- ``popularity``: distinct users overall and interactions in the recent window (log);
- ``collaborative``: EASE and item-kNN scores against the whole history, the EASE score
  relative to the best in the list, the max and mean item-kNN similarity to the last
  ``last_k`` items (missing when the history is unordered; EASE's missing above the dense
  limit);
- ``factors``: the ALS score of the candidate for the history's user factors (solved at
  query time) and that score relative to the best in the list;
- ``genre_tag``: share of the request's genres and tags the candidate has; cosine between
  its genres (tags) and the history's genre (tag) profile;
- ``fit``: year and duration fit to the request's ranges (1 inside, decaying outside);
- ``media``: media type matches the request; share of the history of that media type.

Example:
    >>> FEATURE_SCHEMA.groups["popularity"]
    ('popularity', 'recent_popularity')
    >>> FEATURE_SCHEMA.without("popularity").names[:3]
    ('retrieval_score', 'retrieval_rank', 'from_dense')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

# The schema and the matrix live in retrieval.feature_schema; their names stay public here.
from retrieval.feature_schema import (
    FEATURE_GROUPS,
    FEATURE_SCHEMA,
    SCHEMA_VERSION,
    FeatureMatrix,
    FeatureMismatch,
    FeatureSchema,
)
from retrieval.retriever import Candidate, History, history_weights

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.request import Request
    from retrieval.stats import InteractionStats

__all__ = [
    "FEATURE_GROUPS",
    "FEATURE_SCHEMA",
    "SCHEMA_VERSION",
    "FeatureBuilder",
    "FeatureMatrix",
    "FeatureMismatch",
    "FeatureSchema",
    "ItemTable",
    "PreparedQuery",
    "QueryContext",
]

# -- the catalog side -------------------------------------------------------------------------


class ItemTable:
    """Per-item arrays the features read: unit vectors, genre and tag indicators, years,
    durations, media types (and ``twin_of``: each row's first row with the same title and
    year, ``None`` when there are no such twins). Built from a catalog and its item vectors
    (one row per item, catalog order); rebuild it when items are added (new items need no
    statistics: they are scored from these text and metadata features).

    Args:
        catalog: The items.
        vectors: ``float32[len(catalog), d]`` item embeddings (normalised here), or ``None``
            to leave every cosine feature missing.
    """

    def __init__(self, catalog: Catalog, vectors: np.ndarray | None) -> None:
        from scipy import sparse

        items = list(catalog)
        self.ids = [it.id for it in items]
        self.items = items
        self._row = {i: k for k, i in enumerate(self.ids)}
        n = len(items)
        if vectors is not None:
            v: np.ndarray = np.asarray(vectors, dtype=np.float32)
            if v.ndim != 2 or len(v) != n:
                raise ValueError(f"item vectors have shape {v.shape}; expected one row per "
                                 f"catalog item ({n})")
            if not np.isfinite(v).all():
                raise ValueError("item vectors contain NaN or infinite values; re-encode them")
            norms = np.linalg.norm(v, axis=1, keepdims=True)
            # A bundle's vectors are unit already: kept as they are, a memory-mapped file
            # stays shared by the processes serving it instead of being copied into each.
            if not np.allclose(norms[norms > 0], 1.0, rtol=0.0, atol=1e-6):
                v = v / np.where(norms > 0, norms, 1.0)
            self.vectors: np.ndarray | None = np.ascontiguousarray(v, dtype=np.float32)
        else:
            self.vectors = None
        self.genre_vocab: dict[str, int] = {}
        self.tag_vocab: dict[str, int] = {}
        g_rows, g_cols, t_rows, t_cols = [], [], [], []
        for k, it in enumerate(items):
            for g in it.genres:
                g_rows.append(k)
                g_cols.append(self.genre_vocab.setdefault(g, len(self.genre_vocab)))
            for t in it.tags:
                t_rows.append(k)
                t_cols.append(self.tag_vocab.setdefault(t, len(self.tag_vocab)))

        def indicator(rows: list[int], cols: list[int], width: int) -> Any:
            return sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                                     shape=(n, max(width, 1)))

        # Small vocabularies are kept dense: a row gather is then far cheaper.
        self.genres = _maybe_dense(indicator(g_rows, g_cols, len(self.genre_vocab)))
        self.tags = _maybe_dense(indicator(t_rows, t_cols, len(self.tag_vocab)))
        self.genre_norm = np.sqrt(np.asarray(self.genres.sum(axis=1)).ravel()).astype(np.float32)
        self.tag_norm = np.sqrt(np.asarray(self.tags.sum(axis=1)).ravel()).astype(np.float32)
        self.year = np.array([np.nan if it.year is None else it.year for it in items],
                             dtype=np.float32)
        self.duration = np.array([np.nan if it.duration_min is None else it.duration_min
                                  for it in items], dtype=np.float32)
        media = sorted({it.media_type.value for it in items})
        self.media_codes = {m: k for k, m in enumerate(media)}
        self.media = np.array([self.media_codes[it.media_type.value] for it in items],
                              dtype=np.int16)
        self.twin_of = _twins(items)

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, item_ids: Sequence[str], *, strict: bool = True) -> np.ndarray:
        """``int64`` table rows of ``item_ids``.

        Raises:
            KeyError: an id is not in the table (with ``strict``; else its row is ``-1``).
        """
        get = self._row.get
        out = np.fromiter((get(i, -1) for i in item_ids), dtype=np.int64, count=len(item_ids))
        if strict and (out < 0).any():
            bad = [item_ids[k] for k in np.flatnonzero(out < 0)[:3]]
            raise KeyError(f"{int((out < 0).sum())} candidate id(s) are not in the catalog the "
                           f"features were built for (e.g. {', '.join(map(repr, bad))}); rebuild "
                           "the ItemTable with the current catalog")
        return out


# -- one query ---------------------------------------------------------------------------------


@dataclass
class QueryContext:
    """Everything about one query except the candidates.

    Attributes:
        history: What the user did, oldest first (may be empty: cold start).
        request: The parsed request, or ``None`` (history only).
        request_vector: The request text's embedding (the caller encodes it); ``None``
            leaves ``request_cosine`` to the request's titles, or missing.
        now: Unix seconds of the query, for recent popularity (default: the statistics'
            latest timestamp).
    """

    history: History = field(default_factory=lambda: History([]))
    request: Request | None = None
    request_vector: np.ndarray | None = None
    now: int | None = None


@dataclass
class PreparedQuery:
    """The per-query part of the features, computed once and shared by all candidates."""

    hist_rows: np.ndarray          # table rows of liked history items, oldest first
    hist_stats: np.ndarray         # their statistics rows
    hist_weights: np.ndarray       # recency weights of those items
    recent_rows: np.ndarray        # table rows of the last ``last_k`` liked items
    recent_stats: np.ndarray
    dislike_rows: np.ndarray       # table rows of disliked items and rejected titles
    exclude: frozenset[str]        # ids consumed (never candidates)
    profile: np.ndarray | None
    request_vec: np.ndarray | None
    genre_profile: np.ndarray | None
    tag_profile: np.ndarray | None
    request_genres: np.ndarray | None
    n_request_genres: int
    request_tags: np.ndarray | None
    n_request_tags: int
    history_year: float
    media_share: np.ndarray | None
    now: int | None
    request: Any = None
    n_history: int = 0
    ordered: bool = True           # False: no "last" items (recent features missing)
    mf_user: np.ndarray | None = None  # ALS factors of the history, solved per query


class FeatureBuilder:
    """Computes a :class:`FeatureMatrix` for one query's candidates.

    Args:
        items: The catalog side (:class:`ItemTable`).
        stats: Statistics of the interaction log (:class:`~retrieval.stats.InteractionStats`).
        last_k: How many of the most recent liked items the ``recent`` features look at.
        recency_half_life: History weights halve every this many items back.
        dislike_rating: Ratings at or below this count as dislikes.
        max_history: Only the most recent entries of a history are used (of an unordered
            one, the last in its given order; logs give those in a seeded random order).

    Example:
        >>> from retrieval.catalog import Catalog
        >>> from retrieval.interactions import Interactions
        >>> from retrieval.models import Interaction, Item
        >>> from retrieval.stats import InteractionStats
        >>> cat = Catalog([Item(id=i, title=i, media_type="movie", genres=[g])
        ...                for i, g in [("a", "drama"), ("b", "drama"), ("c", "horror")]])
        >>> log = Interactions.from_records([Interaction(user_id="u", item_id="a")])
        >>> fb = FeatureBuilder(ItemTable(cat, np.eye(3, dtype="float32")),
        ...                     InteractionStats.build(log, cat))
        >>> m = fb.build(QueryContext(History(["a"])), [Candidate(item_id="b", score=0.5),
        ...                                               Candidate(item_id="c", score=0.1)])
        >>> m.column("genre_profile").tolist()
        [1.0, 0.0]
    """

    def __init__(
        self,
        items: ItemTable,
        stats: InteractionStats,
        *,
        last_k: int = 5,
        recency_half_life: float | None = 20.0,
        dislike_rating: float = 2.0,
        max_history: int = 500,
    ) -> None:
        if last_k < 1 or max_history < 1:
            raise ValueError("last_k and max_history must be positive")
        self.items = items
        self.stats = stats
        self.last_k = int(last_k)
        self.recency_half_life = recency_half_life
        self.dislike_rating = float(dislike_rating)
        self.max_history = int(max_history)
        self.schema = FEATURE_SCHEMA
        # Table row -> stats row (-1 for items the statistics never saw: cold items).
        self.stats_row = stats.rows(items.ids)

    # -- per query -------------------------------------------------------------------------

    def prepare(self, context: QueryContext) -> PreparedQuery:
        """The per-query part: history rows and weights, profile, label profiles."""
        h = context.history
        if len(h) > self.max_history:
            h = History(h.item_ids[-self.max_history:], h.events[-self.max_history:],
                        h.values[-self.max_history:], ordered=h.ordered)
        w = history_weights(h, recency_half_life=self.recency_half_life,
                            dislike_rating=self.dislike_rating) if len(h) else np.zeros(0)
        rows = self.items.rows(h.item_ids, strict=False)
        known = rows >= 0
        events = np.asarray(h.events, dtype=object)
        consumed = known & ~np.isin(events, ("dislike", "skip")) if len(h) else known
        decay = np.abs(w)
        # Collaborative and recency features read everything consumed (as EASE does); the
        # profile reads what was liked; a repeated item counts once, at its latest position.
        hist_rows, hist_w = _latest_once(rows[consumed], decay[consumed])
        liked_rows, liked_w = _latest_once(rows[known & (w > 0)], w[known & (w > 0)])
        dislike = rows[known & (w < 0)]
        request = context.request
        if request is not None and request.not_ids:
            dislike = np.concatenate([dislike, self.items.rows(request.not_ids, strict=False)])
            dislike = dislike[dislike >= 0]
        # An unordered history has no last items: leave the recent features missing
        # rather than read an arbitrary order (item ids, file rows) as recency.
        recent = hist_rows[-self.last_k:] if h.ordered else hist_rows[:0]
        vecs = self.items.vectors
        profile = None
        if vecs is not None and len(liked_rows):
            p = liked_w @ vecs[liked_rows]
            n = float(np.linalg.norm(p))
            profile = (p / n).astype(np.float32) if n > 1e-9 else None
        request_vec = self._request_vector(context)
        genre_profile = tag_profile = media_share = None
        history_year = float("nan")
        if len(liked_rows):
            genre_profile = _label_profile(self.items.genres, liked_rows, liked_w)
            tag_profile = _label_profile(self.items.tags, liked_rows, liked_w)
        if len(hist_rows):
            years = self.items.year[hist_rows]
            if np.isfinite(years).any():
                history_year = float(np.nanmedian(years))
            media_share = np.bincount(self.items.media[hist_rows],
                                      minlength=len(self.items.media_codes)) / len(hist_rows)
        rg = rt = None
        n_rg = n_rt = 0
        if request is not None and request.genres:
            rg, n_rg = _request_labels(self.items.genre_vocab, request.genres, self.items.genres)
        if request is not None and request.tags:
            rt, n_rt = _request_labels(self.items.tag_vocab, request.tags, self.items.tags)
        return PreparedQuery(
            hist_rows=hist_rows, hist_stats=self.stats_row[hist_rows],
            hist_weights=hist_w.astype(np.float32), recent_rows=recent,
            recent_stats=self.stats_row[recent], dislike_rows=dislike,
            exclude=frozenset(h.item_ids), profile=profile, request_vec=request_vec,
            genre_profile=genre_profile, tag_profile=tag_profile, request_genres=rg,
            n_request_genres=n_rg, request_tags=rt, n_request_tags=n_rt,
            history_year=history_year, media_share=media_share, now=context.now,
            request=request, n_history=len(hist_rows), ordered=h.ordered,
            mf_user=self.stats.user_factors(self.stats_row[hist_rows]),
        )

    def _request_vector(self, context: QueryContext) -> np.ndarray | None:
        parts = []
        if context.request_vector is not None:
            r = np.asarray(context.request_vector, dtype=np.float32).ravel()
            if self.items.vectors is not None and r.shape[0] != self.items.vectors.shape[1]:
                raise ValueError(f"the request vector has dimension {r.shape[0]}, the item "
                                 f"vectors {self.items.vectors.shape[1]}; encode the request "
                                 "with the encoder that made the item vectors")
            parts.append(r)
        req = context.request
        if req is not None and req.like_ids and self.items.vectors is not None:
            rows = self.items.rows(req.like_ids, strict=False)
            rows = rows[rows >= 0]
            if len(rows):
                parts.append(self.items.vectors[rows].mean(axis=0))
        if not parts:
            return None
        v = np.mean([p / max(float(np.linalg.norm(p)), 1e-9) for p in parts], axis=0)
        n = float(np.linalg.norm(v))
        return (v / n).astype(np.float32) if n > 1e-9 else None

    # -- per candidate -----------------------------------------------------------------------

    def build(self, context: QueryContext | PreparedQuery, candidates: Sequence[Candidate]
              ) -> FeatureMatrix:
        """Features of ``candidates`` (as the retriever returns them) for one query.

        Raises:
            KeyError: a candidate id is not in the item table.
        """
        prep = context if isinstance(context, PreparedQuery) else self.prepare(context)
        ids = [c.item_id for c in candidates]
        rows = self.items.rows(ids)
        dense = np.array(["dense" in c.source for c in candidates], dtype=bool)
        scores = np.array([c.score for c in candidates], dtype=np.float32)
        values = self.build_rows(prep, rows, np.where(dense, scores, np.nan), dense)
        return FeatureMatrix(values, self.schema.names, tuple(ids))

    def build_rows(self, prep: PreparedQuery, rows: np.ndarray, dense_scores: np.ndarray,
                   from_dense: np.ndarray) -> np.ndarray:
        """``float32[len(rows), n_features]`` for candidates given as table rows, with the
        dense retriever's score (NaN when it did not propose the candidate)."""
        n = len(rows)
        it = self.items
        out = np.full((n, len(self.schema.names)), np.nan, dtype=np.float32)
        col = _COLUMNS
        if n == 0:
            return out
        srows = self.stats_row[rows]
        # retrieval
        out[:, col["retrieval_score"]] = dense_scores
        if from_dense.any():
            ranks = np.full(n, np.nan, dtype=np.float32)
            d = np.flatnonzero(from_dense)
            order = np.argsort(-np.nan_to_num(dense_scores[d], nan=-np.inf), kind="stable")
            ranks[d[order]] = np.arange(len(d), dtype=np.float32) / max(len(d), 1)
            out[:, col["retrieval_rank"]] = ranks
        out[:, col["from_dense"]] = from_dense
        # content similarities
        if it.vectors is not None:
            cv = it.vectors[rows]
            if prep.request_vec is not None:
                out[:, col["request_cosine"]] = cv @ prep.request_vec
            if prep.profile is not None:
                out[:, col["profile_cosine"]] = cv @ prep.profile
            if len(prep.recent_rows):
                s = cv @ it.vectors[prep.recent_rows].T
                out[:, col["recent_max_cosine"]] = s.max(axis=1)
                out[:, col["recent_mean_cosine"]] = s.mean(axis=1)
            if len(prep.dislike_rows):
                dis = cv @ it.vectors[prep.dislike_rows].T
                out[:, col["dislike_max_cosine"]] = dis.max(axis=1)
        out[:, col["history_length"]] = np.log1p(prep.n_history)
        if np.isfinite(prep.history_year):
            out[:, col["year_gap_history"]] = np.abs(it.year[rows] - prep.history_year) / 10.0
        # popularity
        out[:, col["popularity"]] = np.log1p(self.stats.popularity(srows))
        out[:, col["recent_popularity"]] = np.log1p(self.stats.recent_popularity(srows, prep.now))
        if len(prep.hist_stats) and self.stats.has_collaborative:
            self._collaborative(prep, srows, out)
        # genres and tags
        if prep.request_genres is not None:
            hits = it.genres[rows] @ prep.request_genres
            out[:, col["genre_request"]] = hits / prep.n_request_genres
        if prep.request_tags is not None:
            out[:, col["tag_request"]] = (it.tags[rows] @ prep.request_tags) / prep.n_request_tags
        if prep.genre_profile is not None:
            out[:, col["genre_profile"]] = _cosine_to(it.genres, it.genre_norm, rows,
                                                      prep.genre_profile)
        if prep.tag_profile is not None and len(it.tag_vocab):
            out[:, col["tag_profile"]] = _cosine_to(it.tags, it.tag_norm, rows, prep.tag_profile)
        # request fit
        req = prep.request
        if req is not None:
            if req.year_min is not None or req.year_max is not None:
                out[:, col["year_fit"]] = _range_fit(it.year[rows], req.year_min, req.year_max,
                                                     scale=5.0, relative=False)
            if req.min_minutes is not None or req.max_minutes is not None:
                out[:, col["duration_fit"]] = _range_fit(it.duration[rows], req.min_minutes,
                                                         req.max_minutes, scale=0.25,
                                                         relative=True)
            if req.media_types or req.exclude_media_types:
                media = [it.items[r].media_type for r in rows]
                wanted = set(req.media_types)
                banned = set(req.exclude_media_types)
                out[:, col["media_match"]] = [
                    0.0 if m in banned else (1.0 if not wanted or m in wanted else 0.0)
                    for m in media]
        if prep.media_share is not None:
            out[:, col["media_history_share"]] = prep.media_share[it.media[rows]]
        return out

    def _collaborative(self, prep: PreparedQuery, srows: np.ndarray, out: np.ndarray) -> None:
        """EASE, item-kNN and ALS scores against the history, into ``out``'s columns (each
        left missing when the statistics lack it: EASE above the dense limit)."""
        col = _COLUMNS
        stats = self.stats
        if stats.ease is not None:
            ease = stats.pair_weights("ease", prep.hist_stats, srows).sum(axis=0)
            out[:, col["ease_score"]] = ease
            top = float(np.max(np.abs(ease)))
            out[:, col["ease_relative"]] = ease / top if top > 0 else 0.0
        if stats.knn is not None:
            knn = stats.pair_weights("knn", prep.hist_stats, srows)
            out[:, col["knn_score"]] = knn.sum(axis=0)
            if prep.ordered:  # an unordered history has no "recent" items: leave them missing
                last = knn[-min(self.last_k, len(prep.hist_stats)):]
                out[:, col["knn_recent_max"]] = last.max(axis=0)
                out[:, col["knn_recent_mean"]] = last.mean(axis=0)
        if prep.mf_user is not None:
            mf = stats.mf_scores(prep.mf_user, srows)
            out[:, col["mf_score"]] = mf
            top = float(np.nanmax(np.abs(mf))) if np.isfinite(mf).any() else 0.0
            out[:, col["mf_relative"]] = mf / top if top > 0 else 0.0

    # -- evidence ----------------------------------------------------------------------------

    def closest_history(self, prep: PreparedQuery, row: int, n: int = 3
                        ) -> list[tuple[str, float, str]]:
        """The liked history items closest to candidate ``row``: ``(item_id, similarity,
        kind)`` with kind ``"content"`` (embedding cosine) or ``"collaborative"`` (item-kNN
        similarity), strongest first, each history item once."""
        if not len(prep.hist_rows) or n < 1:
            return []
        links: dict[int, tuple[float, str]] = {}
        srow = self.stats_row[row]
        if srow >= 0 and self.stats.knn is not None:
            sims = self.stats.pair_weights("knn", prep.hist_stats, np.array([srow]))[:, 0]
            for k in np.argsort(-sims, kind="stable")[:n]:
                if sims[k] > 0:
                    links[int(prep.hist_rows[k])] = (float(sims[k]), "collaborative")
        if self.items.vectors is not None:
            sims = self.items.vectors[prep.hist_rows] @ self.items.vectors[row]
            for k in np.argsort(-sims, kind="stable")[:n]:
                r = int(prep.hist_rows[k])
                if r not in links or links[r][0] < sims[k]:
                    links[r] = (float(sims[k]), "content")
        best = sorted(links.items(), key=lambda kv: -kv[1][0])[:n]
        return [(self.items.ids[r], s, kind) for r, (s, kind) in best]


_COLUMNS = {name: j for j, name in enumerate(FEATURE_SCHEMA.names)}


def _twins(items: Sequence[Any]) -> np.ndarray | None:
    """``int64[n]``: each row's first row with the same title and year (a catalog may list
    one film twice), or ``None`` when every (title, year) is unique."""
    first: dict[tuple[str, int | None], int] = {}
    out = np.fromiter((first.setdefault((" ".join(it.title.casefold().split()), it.year), k)
                       for k, it in enumerate(items)), dtype=np.int64, count=len(items))
    return out if len(first) < len(items) else None


def _maybe_dense(m: Any, limit: int = 20_000_000) -> Any:
    """A label indicator matrix as a dense array when it is small enough."""
    return m.toarray() if m.shape[0] * m.shape[1] <= limit else m


def _latest_once(rows: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep each row once, at its latest position (order kept)."""
    if len(rows) == len(np.unique(rows)):
        return rows, weights.astype(np.float32)
    _, last_pos = np.unique(rows[::-1], return_index=True)
    keep = np.sort(len(rows) - 1 - last_pos)
    return rows[keep], weights[keep].astype(np.float32)


def _label_profile(matrix: Any, rows: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
    prof = np.asarray(matrix[rows].T @ weights, dtype=np.float32).ravel() \
        if not isinstance(matrix, np.ndarray) else weights @ matrix[rows]
    n = float(np.linalg.norm(prof))
    return prof / n if n > 0 else None


def _cosine_to(matrix: Any, norms: np.ndarray, rows: np.ndarray, profile: np.ndarray) -> np.ndarray:
    dots = np.asarray(matrix[rows] @ profile, dtype=np.float32).ravel()
    nr = norms[rows]
    return np.where(nr > 0, dots / np.where(nr > 0, nr, 1.0), 0.0).astype(np.float32)


def _request_labels(vocab: dict[str, int], labels: Sequence[str], matrix: Any
                    ) -> tuple[np.ndarray, int]:
    vec = np.zeros(matrix.shape[1], dtype=np.float32)
    for label in labels:
        j = vocab.get(label)
        if j is not None:
            vec[j] = 1.0
    return vec, len(labels)


def _range_fit(values: np.ndarray, lo: float | None, hi: float | None, *, scale: float,
               relative: bool) -> np.ndarray:
    """1 inside ``[lo, hi]``, decaying as ``exp(-gap / scale)`` outside (``gap`` relative to
    the bound when ``relative``), NaN for unknown values."""
    v = values.astype(np.float64)
    gap = np.zeros_like(v)
    if lo is not None:
        below = np.maximum(lo - v, 0.0)
        gap = np.maximum(gap, below / lo if relative else below)
    if hi is not None:
        above = np.maximum(v - hi, 0.0)
        gap = np.maximum(gap, above / hi if relative else above)
    out = np.exp(-gap / scale)
    out[~np.isfinite(v)] = np.nan
    return out.astype(np.float32)

