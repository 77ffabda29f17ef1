"""The ranker's candidates: the dense retriever's list merged with collaborative and
popular items.

Dense retrieval alone finds what reads like the request and the history; the items people
watch next are often ones whose text says little (on ml-100k, the dense list's recall@200 is
far below EASE's). So the list the ranker sees is the union of

1. the dense retriever's best ``n - quota`` items,
2. the ``quota`` best items by EASE score against the history (statistics built at build
   time, :class:`~retrieval.stats.InteractionStats`; above EASE's dense limit, by ALS
   score, else by item-kNN: :meth:`~retrieval.stats.InteractionStats.collaborative_scores`)
   that are not there yet; the quota is
   ``collaborative`` for history-only queries and ``collaborative_with_request`` (smaller:
   the dense list then carries what was asked for) when there is a request,
3. the rest of the dense list, then the most popular items, until ``n``.

Everything stays arrays (:class:`CandidateList`: rows, dense scores, source flags) from
retrieval to the ranker. Training lists are made by the same code (through
:class:`~retrieval.pipeline.Pipeline`), so the ranker learns on the candidates it serves.

Example:
    >>> import numpy as np
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.features import ItemTable
    >>> from retrieval.interactions import Interactions
    >>> from retrieval.models import Interaction, Item
    >>> from retrieval.stats import InteractionStats
    >>> cat = Catalog([Item(id=i, title=i, media_type="movie") for i in "abcd"])
    >>> log = Interactions.from_records([Interaction(user_id=u, item_id=i) for u, i in
    ...     [("1", "a"), ("1", "b"), ("2", "a"), ("2", "b"), ("3", "c")]])
    >>> gen = CandidateGenerator(ItemTable(cat, None), InteractionStats.build(log, cat, ease_l2=1),
    ...                          None, n=2, collaborative=2)
    >>> [(c.item_id, c.source) for c in gen.generate(History(["a"]))]
    [('b', 'collaborative'), ('c', 'popular')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.retriever import Candidate, History

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.config import CandidateConfig, RetrieverConfig
    from retrieval.encoder import Encoder
    from retrieval.features import ItemTable
    from retrieval.filter import StatedMatch, TurnFilter
    from retrieval.index import VectorIndex
    from retrieval.retriever import Retriever
    from retrieval.stats import InteractionStats

__all__ = ["CandidateGenerator", "CandidateList", "dense_retriever"]

# Source codes of a CandidateList (bit flags).
DENSE, COLLABORATIVE, POPULAR, STATED = 1, 2, 4, 8
_NAMES = {DENSE: "dense", COLLABORATIVE: "collaborative", POPULAR: "popular", STATED: "stated"}


@dataclass
class CandidateList:
    """One query's candidates as arrays: item-table rows, the dense score (NaN when the
    dense retriever did not propose the item) and which sources proposed it (bit flags).

    ``stated`` and ``met`` say which of the request's wanted genres, tags and moods each
    candidate has (:class:`~retrieval.filter.StatedMatch` and its bit sets, one per
    candidate); ``None`` when the request states none. The reranker puts the candidates
    that meet everything first."""

    rows: np.ndarray
    dense_scores: np.ndarray
    sources: np.ndarray
    stated: StatedMatch | None = None
    met: np.ndarray | None = None

    @property
    def from_dense(self) -> np.ndarray:
        return (self.sources & DENSE) > 0

    def to_candidates(self, ids: Sequence[str]) -> list[Candidate]:
        out = []
        for r, d, s in zip(self.rows.tolist(), self.dense_scores.tolist(),
                           self.sources.tolist(), strict=True):
            name = "+".join(v for k, v in _NAMES.items() if s & k)
            out.append(Candidate(item_id=ids[r], score=0.0 if d != d else d, source=name))
        return out


class CandidateGenerator:
    """Dense retrieval merged with collaborative (EASE) and popular candidates.

    Args:
        items: The catalog side of the features (its row order is the candidates' rows).
        stats: Statistics of the interaction log (EASE weights and popularity).
        retriever: The dense retriever (``None``: collaborative and popular only).
        n: Candidates per query.
        collaborative: Places reserved for collaborative candidates when there is no request
            (0 turns them off).
        collaborative_with_request: The same when there is a request: the dense list then
            carries what was asked for and keeps most places (default: a quarter of ``n``,
            at most ``collaborative``).
        stated: Items that have every genre, tag and mood the request wants (an exact
            lookup over the catalog's labels, most popular first) added to the list when
            it lacks them, at most this many (0 turns the lookup off).
    """

    def __init__(self, items: ItemTable, stats: InteractionStats, retriever: Retriever | None,
                 *, n: int = 200, collaborative: int = 100,
                 collaborative_with_request: int | None = None, stated: int = 100) -> None:
        if collaborative_with_request is None:
            collaborative_with_request = min(collaborative, n // 4)
        if n < 1 or not 0 <= collaborative <= n or not 0 <= collaborative_with_request <= n:
            raise ValueError(f"need n >= 1 and collaborative quotas between 0 and n, got n={n}, "
                             f"collaborative={collaborative}, "
                             f"collaborative_with_request={collaborative_with_request}")
        self.items = items
        self.stats = stats
        self.retriever = retriever
        self.n = int(n)
        self.collaborative = int(collaborative)
        self.collaborative_with_request = int(collaborative_with_request)
        self.stated = max(int(stated), 0)
        stats_row = stats.rows(items.ids)
        self._table_of_stats = np.full(len(stats), -1, dtype=np.int64)
        self._table_of_stats[stats_row[stats_row >= 0]] = np.flatnonzero(stats_row >= 0)
        pop = stats.popularity(stats_row)
        self._popular = np.argsort(-pop, kind="stable")
        self._pop_rank = np.empty(len(pop), dtype=np.int64)
        self._pop_rank[self._popular] = np.arange(len(pop))

    @classmethod
    def from_config(cls, items: ItemTable, stats: InteractionStats, retriever: Retriever | None,
                    config: CandidateConfig) -> CandidateGenerator:
        """A generator with the sizes of a :class:`~retrieval.config.CandidateConfig`."""
        return cls(items, stats, retriever, n=config.n_candidates,
                   collaborative=config.collaborative_quota(),
                   collaborative_with_request=config.request_quota(),
                   stated=config.stated_candidates)

    # -- one query ---------------------------------------------------------------------------

    def generate(self, history: History | None = None, request_vector: np.ndarray | None = None,
                 *, filter: TurnFilter | None = None) -> list[Candidate]:
        """:meth:`generate_list` as :class:`~retrieval.retriever.Candidate` objects."""
        return self.generate_list(history, request_vector, filter=filter).to_candidates(
            self.items.ids)

    def generate_list(self, history: History | None = None,
                      request_vector: np.ndarray | None = None, *,
                      filter: TurnFilter | None = None) -> CandidateList:
        """Candidates for one query, as arrays (the history's items are never among them).

        Args:
            history: What the user did (``None`` or empty: cold start).
            request_vector: The request's embedding for the dense retriever (``None``:
                history only); a query with one gets the smaller collaborative quota.
            filter: The call's :class:`~retrieval.filter.TurnFilter`: only rows it allows
                come back (``None``: every row).
        """
        history = history if history is not None else History([])
        dense = None
        if self.retriever is not None and (request_vector is not None or len(history)):
            q = self.retriever.query_or_none(None, history if len(history) else None,
                                             request_vector=request_vector)
            if q is not None:  # None: no request and no catalog item in the history
                banned = set(history.item_ids)
                if filter is not None:
                    banned |= filter.excluded_ids
                ids, scores = self.retriever.search(
                    q[None, :], n=self.n, exclude=[banned],
                    allowed=filter.allowed if filter is not None else None)
                dense = (ids[0], np.asarray(scores[0], np.float32))
        quota = self.collaborative_with_request if request_vector is not None \
            else self.collaborative
        cl = self._merge([history], [dense], filter, quota)[0]
        if filter is not None and filter.stated is not None:
            cl = self._with_stated(cl, history, filter)
        return cl

    def _with_stated(self, cl: CandidateList, history: History, filter: TurnFilter
                     ) -> CandidateList:
        """The list with the items that meet most of what the request wants added (an
        exact genre/tag lookup: those that meet everything first, then those that meet
        most, each by popularity; the dense list may hold few of them when the request's
        words and the encoder disagree), and each candidate's bit set."""
        stated = filter.stated
        assert stated is not None  # the caller checks
        if self.stated:
            met = stated.met
            free = filter.mask & (met > 0)
            free[filter.excluded] = False
            free[cl.rows] = False
            seen = self.items.rows(list(history.item_ids), strict=False)
            free[seen[seen >= 0]] = False
            rows = np.flatnonzero(free)
            # most groups met first, then by popularity: one integer key, and a partial
            # selection before the sort (a million-item catalog may have 100k rows here)
            key = (len(stated.wanted) - met[rows].astype(np.int64)) * (len(self._pop_rank) + 1) \
                + self._pop_rank[rows]
            if len(rows) > self.stated:
                part = np.argpartition(key, self.stated - 1)[: self.stated]
                rows, key = rows[part], key[part]
            extra = rows[np.argsort(key, kind="stable")][: self.stated]
            if len(extra):
                cl = CandidateList(
                    np.concatenate([cl.rows, extra]),
                    np.concatenate([cl.dense_scores, np.full(len(extra), np.nan,
                                                             dtype=np.float32)]),
                    np.concatenate([cl.sources, np.full(len(extra), STATED, dtype=np.int16)]))
        return CandidateList(cl.rows, cl.dense_scores, cl.sources, stated, stated.bits[cl.rows])

    # -- many queries (training lists, offline evaluation) -----------------------------------

    def batch(self, histories: Sequence[History]) -> list[CandidateList]:
        """History-only candidates for many queries at once."""
        dense: list[tuple[list[str], np.ndarray] | None] = [None] * len(histories)
        if self.retriever is not None:
            keyed = {str(k): h for k, h in enumerate(histories)}
            got = self.retriever.retrieve_many(keyed, n=self.n)
            dense = [got.get(str(k)) for k in range(len(histories))]
        return self._merge(histories, dense, None, self.collaborative)

    def _merge(self, histories: Sequence[History],
               dense: Sequence[tuple[list[str], np.ndarray] | None],
               filter: TurnFilter | None, quota: int) -> list[CandidateList]:
        from scipy import sparse

        n_items = len(self.items)
        exclude = [self.items.rows(list(dict.fromkeys(h.item_ids)), strict=False)
                   for h in histories]
        exclude = [e[e >= 0] for e in exclude]
        collab: list[tuple[np.ndarray, np.ndarray]] | None = None
        if quota and self.stats.has_collaborative:
            srows = [self.stats.rows(_consumed(h)) for h in histories]
            srows = [s[s >= 0] for s in srows]
            indptr = np.concatenate([[0], np.cumsum([len(s) for s in srows])])
            x = sparse.csr_matrix((np.ones(int(indptr[-1]), dtype=np.float32),
                                   np.concatenate(srows) if srows else np.zeros(0, np.int64),
                                   indptr), shape=(len(histories), len(self.stats)))
            x.sum_duplicates()
            x.data[:] = 1.0
            ks = [min(quota + len(e) + self.n, len(self.stats)) for e in exclude]
            collab = self.stats.collaborative_top(x, ks)
        out = []
        for k, h in enumerate(histories):
            taken = np.zeros(n_items, dtype=bool)
            taken[exclude[k]] = True
            if filter is not None:
                taken |= ~filter.mask
                taken[filter.excluded] = True
            d_rows = np.zeros(0, dtype=np.int64)
            d_scores = np.zeros(0, dtype=np.float32)
            got = dense[k]
            if got is not None:
                ids, scores = got
                d_rows = self.items.rows(ids, strict=False)
                ok = d_rows >= 0
                d_rows, d_scores = d_rows[ok], np.asarray(scores, dtype=np.float32)[ok]
                ok = ~taken[d_rows]
                d_rows, d_scores = d_rows[ok], d_scores[ok]
            c_rows = np.zeros(0, dtype=np.int64)
            if collab is not None and len(h):
                c_rows = self._collaborative_rows(*collab[k], taken)
            out.append(self._merge_one(d_rows, d_scores, c_rows, taken, quota))
        return out

    def _collaborative_rows(self, top: np.ndarray, scores: np.ndarray, taken: np.ndarray
                            ) -> np.ndarray:
        """Table rows of the best collaborative scores (stats rows ``top``, best first,
        with their ``scores``), best first: positive scores, not taken."""
        rows = self._table_of_stats[top[scores > 0]]
        rows = rows[rows >= 0]
        return rows[~taken[rows]]

    def _popular_free(self, taken: np.ndarray, n: int) -> np.ndarray:
        """The ``n`` most popular rows not taken, most popular first: read in chunks from
        the top (the same rows as filtering the whole order, without touching a million
        rows when a few hundred are enough)."""
        chunk = max(4 * n, 1024)
        got: list[np.ndarray] = []
        found = 0
        for start in range(0, len(self._popular), chunk):
            part = self._popular[start:start + chunk]
            part = part[~taken[part]]
            got.append(part)
            found += len(part)
            if found >= n:
                break
        return np.concatenate(got)[:n] if got else self._popular[:0]

    def _merge_one(self, d_rows: np.ndarray, d_scores: np.ndarray, c_rows: np.ndarray,
                   taken: np.ndarray, quota: int) -> CandidateList:
        """The merge order: dense head, collaborative quota, dense rest, collaborative rest,
        popular; each item once, at its first place."""
        n, q = self.n, quota if len(c_rows) else 0
        head = n - q
        popular = self._popular_free(taken, n)
        pool = np.concatenate([d_rows[:head], c_rows[:q], d_rows[head:], c_rows[q:], popular])
        flags = np.concatenate([np.full(min(head, len(d_rows)), DENSE),
                                np.full(min(q, len(c_rows)), COLLABORATIVE),
                                np.full(max(len(d_rows) - head, 0), DENSE),
                                np.full(max(len(c_rows) - q, 0), COLLABORATIVE),
                                np.full(len(popular), POPULAR)]).astype(np.int16)
        _, first = np.unique(pool, return_index=True)
        keep = np.sort(first)[:n]
        rows = pool[keep]
        sources = flags[keep]
        # An item both lists hold keeps both flags (and its dense score).
        in_dense = np.isin(rows, d_rows)
        sources = sources | np.where(in_dense, DENSE, 0).astype(np.int16)
        sources |= np.where(np.isin(rows, c_rows[: max(q, 1) if q else 0]), COLLABORATIVE,
                            0).astype(np.int16)
        score_of = np.full(len(self.items), np.nan, dtype=np.float32)
        score_of[d_rows] = d_scores
        return CandidateList(rows, score_of[rows], sources)


class _NoTextEncoder:
    """Stands in for an encoder when only item vectors are at hand: history-only retrieval
    needs no text encoding, and a request text then raises a clear error."""

    def __init__(self, dim: int) -> None:
        self._dim = int(dim)

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise ValueError("no encoder was given, so request texts cannot be encoded; pass the "
                         "encoder that made the item vectors")


def dense_retriever(item_ids: Sequence[str], vectors: np.ndarray, encoder: Encoder | None = None,
                    config: RetrieverConfig | None = None, *, index: VectorIndex | None = None,
                    catalog: Catalog | None = None, item_popularity: np.ndarray | None = None
                    ) -> Retriever:
    """A :class:`~retrieval.retriever.Retriever` over precomputed item vectors with the
    weights of ``config`` (default :class:`~retrieval.config.RetrieverConfig`); without an
    ``encoder`` it serves history-only queries and queries with an encoded request."""
    from retrieval.config import RetrieverConfig
    from retrieval.retriever import Retriever

    enc = encoder if encoder is not None else _NoTextEncoder(np.asarray(vectors).shape[1])
    return Retriever.from_config(enc, list(item_ids), vectors, config or RetrieverConfig(),
                                 index=index, catalog=catalog, item_popularity=item_popularity)


def _consumed(history: History) -> list[str]:
    """Items the history consumed (anything but dislikes and skips)."""
    return [i for i, e in zip(history.item_ids, history.events, strict=True)
            if e not in ("dislike", "skip")]
