"""Popularity: every user gets the items most users in training interacted with."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from retrieval.catalog import Catalog
from retrieval.collaborative.base import check_history, not_fitted, training_matrix
from retrieval.interactions import Interactions


class Popularity:
    """Score of an item = number of distinct training users who interacted with it.

    Example:
        >>> from retrieval.models import Interaction, Item
        >>> cat = Catalog([Item(id=i, title=i, media_type="movie") for i in "abc"])
        >>> log = Interactions.from_records([Interaction(user_id=u, item_id=i) for u, i in
        ...                                  [("1", "b"), ("2", "b"), ("2", "c")]])
        >>> pop = Popularity(); pop.fit(log, cat)
        >>> pop.score(["9"], sparse.csr_matrix((1, 3))).tolist()
        [[0.0, 2.0, 1.0]]
    """

    def __init__(self) -> None:
        self.counts: np.ndarray | None = None

    def fit(self, train: Interactions, catalog: Catalog) -> None:
        x = training_matrix(train, catalog)
        self.counts = np.asarray(x.sum(axis=0), dtype=np.float32).ravel()

    def score(self, user_ids: Sequence[str], history: sparse.csr_matrix) -> np.ndarray:
        if self.counts is None:
            raise not_fitted("Popularity")
        check_history(history, len(user_ids), self.counts.size, "Popularity")
        return np.tile(self.counts, (len(user_ids), 1))
