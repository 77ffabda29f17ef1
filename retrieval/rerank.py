"""One query's candidates in, the final list out: features, the ranker's scores, MMR
diversification over the first ``mmr_k`` places, and the evidence of every pick.

Candidates arrive as arrays (:class:`~retrieval.candidates.CandidateList`) already within
the call's :class:`~retrieval.filter.TurnFilter`; :meth:`Reranker.rank` also takes
:class:`~retrieval.retriever.Candidate` objects (tests, small tools) and then drops the
history's items and anything outside the request's hard constraints itself.

Example:
    >>> import numpy as np
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.features import FeatureBuilder, ItemTable, QueryContext
    >>> from retrieval.interactions import Interactions
    >>> from retrieval.models import Interaction, Item
    >>> from retrieval.ranker import make_ranker
    >>> from retrieval.retriever import Candidate, History
    >>> from retrieval.stats import InteractionStats
    >>> cat = Catalog([Item(id=i, title=i, media_type="movie") for i in "abc"])
    >>> log = Interactions.from_records([Interaction(user_id=u, item_id=i) for u, i in
    ...     [("1", "a"), ("1", "b"), ("2", "a"), ("2", "b"), ("3", "c")]])
    >>> builder = FeatureBuilder(ItemTable(cat, np.eye(3, dtype="float32")),
    ...                          InteractionStats.build(log, cat, ease_l2=1.0))
    >>> rr = Reranker(builder, make_ranker("blend"), mmr_lambda=1.0)
    >>> picks = rr.rank(QueryContext(History(["a"])), [Candidate(item_id="c", score=0.0),
    ...                                                Candidate(item_id="b", score=0.0)], k=2)
    >>> [p.item_id for p in picks], picks[0].evidence.history[0].item_id
    (['b', 'c'], 'a')
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.candidates import _NAMES, DENSE, CandidateList
from retrieval.diversify import (
    Evidence,
    FeatureContribution,
    HistoryLink,
    RankedItem,
    mmr_rerank,
)
from retrieval.features import FeatureBuilder, FeatureMatrix, PreparedQuery, QueryContext
from retrieval.ranker import Ranker, top_contributions
from retrieval.retriever import Candidate

__all__ = ["Reranker"]


def _match(cands: CandidateList, j: int) -> tuple[str | None, list[str]]:
    """Candidate ``j``'s match to what the request wants: ``exact`` or ``close`` and what
    it lacks, in words (``None`` when the request wants no genre, tag or mood)."""
    if cands.stated is None or cands.met is None:
        return None, []
    missing = [g.words for g in cands.stated.missing(int(cands.met[j]))]
    return ("close" if missing else "exact"), missing


_REQUEST_WEIGHT = 3.0  # the request's cosine rank against the ranker's, for close matches


def _close_by_request(order: np.ndarray, tier: np.ndarray, cosine: np.ndarray) -> np.ndarray:
    """Reorder the close matches (every tier below the top one) by a weighted mean of two
    ranks: the request's cosine (weight 3) and the ranker's (weight 1). A close match is one
    that lacks something asked for, so how near it comes to the request's meaning decides
    first, and the history orders what is about as near (an "artificial intelligence"
    request's close matches are robots and space films, not the most-watched drama). The
    top tier keeps the ranker's order; without a request vector nothing moves.

    Example:
        >>> order = np.array([0, 1, 2, 3])          # the ranker's order (after MMR)
        >>> tier = np.array([1, 0, 0, 0])
        >>> _close_by_request(order, tier, np.array([0.9, 0.1, 0.2, 0.8])).tolist()
        [0, 3, 2, 1]
    """
    close = tier[order] < tier.max()
    if close.sum() < 2 or not np.isfinite(cosine[order[close]]).any():
        return order
    sub = order[close]
    ranker_rank = np.arange(len(sub), dtype=np.float64)
    by_cosine = np.argsort(-np.nan_to_num(cosine[sub], nan=-np.inf), kind="stable")
    cosine_rank = np.empty(len(sub), dtype=np.float64)
    cosine_rank[by_cosine] = np.arange(len(sub))
    out = order.copy()
    out[close] = sub[np.argsort(ranker_rank + _REQUEST_WEIGHT * cosine_rank, kind="stable")]
    return out


class Reranker:
    """Ranks, diversifies and explains one query's candidates.

    Args:
        builder: Computes the features.
        ranker: Scores them.
        mmr_lambda: Relevance weight of MMR (1 keeps the ranker's order).
        mmr_k: Places chosen by MMR; the rest follow in the ranker's order.
        n_features: Contributing features kept as evidence per pick.
        n_history: Closest history items kept as evidence per pick.
        request_first: Candidates that meet more of what the request wants (their
            ``CandidateList.met``) come first, whatever their score; the score (and MMR)
            orders each tier. Of a request that wants several things, candidates that meet
            none are dropped (they are no close match) when any meets one.

    Two items with the same title and year (a catalog that lists a film twice) are never
    both in a list: the lower one is dropped.
    """

    def __init__(self, builder: FeatureBuilder, ranker: Ranker, *, mmr_lambda: float = 0.8,
                 mmr_k: int = 20, n_features: int = 3, n_history: int = 3,
                 request_first: bool = True) -> None:
        if not 0.0 <= mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must lie in [0, 1], got {mmr_lambda}")
        if mmr_k < 1:
            raise ValueError(f"mmr_k must be positive, got {mmr_k}")
        ranker.schema.check_readable_by(builder.schema)
        self.builder = builder
        self.ranker = ranker
        self.mmr_lambda = float(mmr_lambda)
        self.mmr_k = int(mmr_k)
        self.n_features = int(n_features)
        self.n_history = int(n_history)
        self.request_first = bool(request_first)
        self._masks = None
        self._cosine_col = builder.schema.names.index("request_cosine")

    def order(self, prep: PreparedQuery, cands: CandidateList
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The whole list's order: positions into ``cands`` best first, the ranker's score
        of every candidate, and the feature values (rows in ``cands`` order)."""
        x = self.builder.build_rows(prep, cands.rows, cands.dense_scores, cands.from_dense)
        if not len(cands.rows):
            return np.zeros(0, dtype=np.int64), np.zeros(0), x
        scores = self.ranker.score(FeatureMatrix(x, self.builder.schema.names))
        vecs = self.builder.items.vectors
        order = mmr_rerank(scores, vecs[cands.rows] if vecs is not None else None, self.mmr_k,
                           self.mmr_lambda)
        if self.request_first and cands.stated is not None and cands.met is not None:
            tier = cands.stated.tier(cands.met)
            order = _close_by_request(order, tier, x[:, self._cosine_col])
            order = order[np.argsort(-tier[order], kind="stable")]
            if len(cands.stated.wanted) > 1 and tier.max() > 0:
                # Of several things wanted, an item with none of them is no close match.
                order = order[tier[order] > 0]
        twins = self.builder.items.twin_of
        if twins is not None:  # keep the first of each (title, year)
            _, first = np.unique(twins[cands.rows[order]], return_index=True)
            order = order[np.sort(first)]
        return order, scores, x

    def rank_rows(self, context: QueryContext | PreparedQuery, cands: CandidateList, *,
                  k: int = 10, evidence: bool = True) -> list[RankedItem]:
        """The best ``k`` of candidates given as arrays (already filtered), each with its
        evidence."""
        prep = context if isinstance(context, PreparedQuery) else self.builder.prepare(context)
        order, scores, x = self.order(prep, cands)
        order = order[:max(int(k), 0)]
        contrib = values = None
        if evidence and len(order):
            sub = FeatureMatrix(x[order], self.builder.schema.names)
            contrib = self.ranker.contributions(sub)
            values = sub.select(self.ranker.schema)
        ids = self.builder.items.ids
        out = []
        for pos, j in enumerate(order.tolist()):
            flags = int(cands.sources[j]) if len(cands.sources) else DENSE
            ev = Evidence(sources=[v for f, v in _NAMES.items() if flags & f])
            if contrib is not None and values is not None:
                ev = self._evidence(prep, int(cands.rows[j]), contrib[pos], values[pos], ev)
            match, missing = _match(cands, j)
            out.append(RankedItem(item_id=ids[int(cands.rows[j])], rank=pos + 1,
                                  score=float(scores[j]), evidence=ev, match=match,
                                  missing=missing))
        return out

    def _evidence(self, prep: PreparedQuery, row: int, contrib: np.ndarray, values: np.ndarray,
                  ev: Evidence) -> Evidence:
        names = self.ranker.schema.names
        feats = [FeatureContribution(name=n, group=self.ranker.schema.group_of(n),
                                     value=None if v != v else v, contribution=c)
                 for n, v, c in top_contributions(contrib, values, names, self.n_features)]
        closest = self.builder.closest_history(prep, row, self.n_history)
        vecs = self.builder.items.vectors
        cos: list[float | None] = [None] * len(closest)
        if vecs is not None and closest:
            rows = self.builder.items.rows([i for i, _, _ in closest])
            cos = [float(c) for c in vecs[rows] @ vecs[row]]
        links = [HistoryLink(item_id=i, similarity=s, kind=kind, cosine=c)
                 for (i, s, kind), c in zip(closest, cos, strict=True)]
        return Evidence(features=feats, history=links, sources=ev.sources)

    def rank(self, context: QueryContext | PreparedQuery, candidates: Sequence[Candidate], *,
             k: int = 10, evidence: bool = True) -> list[RankedItem]:
        """The best ``k`` of candidates given as objects, diversified, each with its evidence.

        Candidates already in the history and candidates that break a hard constraint of the
        request are dropped (:class:`~retrieval.filter.ConstraintMasks`).
        """
        prep = context if isinstance(context, PreparedQuery) else self.builder.prepare(context)
        cands = [c for c in candidates if c.item_id not in prep.exclude]
        if not cands:
            return []
        items = self.builder.items
        rows = items.rows([c.item_id for c in cands])
        if prep.request is not None and prep.request.hard_constraints():
            if self._masks is None:
                from retrieval.filter import ConstraintMasks

                self._masks = ConstraintMasks(items)  # type: ignore[assignment]
            ok = self._masks.mask(prep.request)[rows]  # type: ignore[attr-defined]
            ok &= ~np.isin(rows, items.rows(prep.request.exclude_ids, strict=False))
            cands = [c for c, good in zip(cands, ok.tolist(), strict=True) if good]
            rows = rows[ok]
        dense = np.array(["dense" in c.source for c in cands], dtype=bool)
        flags = np.array([sum(f for f, v in _NAMES.items() if v in c.source.split("+"))
                          for c in cands], dtype=np.int16)
        scores = np.array([c.score for c in cands], dtype=np.float32)
        cl = CandidateList(rows.astype(np.int64), np.where(dense, scores, np.nan).astype(
            np.float32), flags)
        return self.rank_rows(prep, cl, k=k, evidence=evidence)
