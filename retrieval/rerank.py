"""One query's candidates in, the final list out: features, the ranker's scores, the hard
constraints checked again, MMR diversification, and the evidence of every pick.

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

from retrieval.diversify import (
    Evidence,
    FeatureContribution,
    HistoryLink,
    RankedItem,
    mmr_order,
    satisfies,
)
from retrieval.features import FeatureBuilder, FeatureMatrix, PreparedQuery, QueryContext
from retrieval.ranker import Ranker, top_contributions
from retrieval.retriever import Candidate

__all__ = ["Reranker"]


class Reranker:
    """Ranks, filters, diversifies and explains one query's candidates.

    Args:
        builder: Computes the features.
        ranker: Scores them.
        mmr_lambda: Relevance weight of MMR (1 keeps the ranker's order).
        n_features: Contributing features kept as evidence per pick.
        n_history: Closest history items kept as evidence per pick.
    """

    def __init__(self, builder: FeatureBuilder, ranker: Ranker, *, mmr_lambda: float = 0.8,
                 n_features: int = 3, n_history: int = 3) -> None:
        if not 0.0 <= mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must lie in [0, 1], got {mmr_lambda}")
        ranker.schema.check_readable_by(builder.schema)
        self.builder = builder
        self.ranker = ranker
        self.mmr_lambda = float(mmr_lambda)
        self.n_features = int(n_features)
        self.n_history = int(n_history)

    def rank(self, context: QueryContext | PreparedQuery, candidates: Sequence[Candidate], *,
             k: int = 10, evidence: bool = True) -> list[RankedItem]:
        """The best ``k`` candidates, diversified, each with its evidence.

        Candidates already in the history and candidates that break a hard constraint of the
        request are dropped.
        """
        prep = context if isinstance(context, PreparedQuery) else self.builder.prepare(context)
        items = self.builder.items
        cands = [c for c in candidates if c.item_id not in prep.exclude]
        if not cands:
            return []
        matrix = self.builder.build(prep, cands)
        rows = items.rows(list(matrix.item_ids))
        ok = satisfies([items.items[r] for r in rows], prep.request)
        keep = np.flatnonzero(ok)
        if not len(keep):
            return []
        scores = self.ranker.score(matrix)[keep]
        vecs = items.vectors[rows[keep]] if items.vectors is not None else None
        order = keep[mmr_order(scores, vecs, k, self.mmr_lambda)]
        all_scores = np.full(len(cands), np.nan)
        all_scores[keep] = scores
        contrib = None
        if evidence and len(order):
            sub = FeatureMatrix(matrix.values[order], matrix.names)
            contrib = self.ranker.contributions(sub)
        out = []
        for pos, j in enumerate(order.tolist()):
            ev = Evidence(sources=cands[j].source.split("+"))
            if contrib is not None:
                names = self.ranker.schema.names
                values = sub.select(self.ranker.schema)[pos]
                feats = [FeatureContribution(name=n, group=self.ranker.schema.group_of(n),
                                             value=None if v != v else v, contribution=c)
                         for n, v, c in top_contributions(contrib[pos], values, names,
                                                          self.n_features)]
                links = [HistoryLink(item_id=i, similarity=s, kind=kind)  # type: ignore[arg-type]
                         for i, s, kind in self.builder.closest_history(prep, int(rows[j]),
                                                                        self.n_history)]
                ev = Evidence(features=feats, history=links, sources=ev.sources)
            out.append(RankedItem(item_id=cands[j].item_id, rank=pos + 1,
                                  score=float(all_scores[j]), evidence=ev))
        return out
