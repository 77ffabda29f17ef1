"""Random: a uniformly random ranking per user, the floor every system must clear."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from retrieval.catalog import Catalog
from retrieval.collaborative.base import check_history, not_fitted
from retrieval.interactions import Interactions


class RandomRecommender:
    """Scores drawn uniformly at random, seeded per user, so a user's ranking does not
    depend on which other users are scored with it or in which batch.

    Example:
        >>> from retrieval.encoding import user_item_matrix
        >>> from retrieval.catalog import Catalog
        >>> from retrieval.models import Item
        >>> cat = Catalog([Item(id=str(i), title=f"T{i}", media_type="movie") for i in range(4)])
        >>> rec = RandomRecommender(seed=1)
        >>> rec.fit(Interactions.empty(), cat)
        >>> a = rec.score(["u1", "u2"], sparse.csr_matrix((2, 4)))
        >>> bool((a[0] == rec.score(["u1"], sparse.csr_matrix((1, 4)))[0]).all()), a.shape
        (True, (2, 4))
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self.n_items: int | None = None

    def fit(self, train: Interactions, catalog: Catalog) -> None:
        self.n_items = len(catalog)

    def score(self, user_ids: Sequence[str], history: sparse.csr_matrix) -> np.ndarray:
        if self.n_items is None:
            raise not_fitted("RandomRecommender")
        check_history(history, len(user_ids), self.n_items, "RandomRecommender")
        out = np.empty((len(user_ids), self.n_items), dtype=np.float32)
        for row, user in enumerate(user_ids):
            key = zlib.crc32(str(user).encode("utf-8"))
            out[row] = np.random.default_rng([self.seed, key]).random(
                self.n_items, dtype=np.float32
            )
        return out
