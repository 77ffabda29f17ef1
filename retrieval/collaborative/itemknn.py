"""Item-kNN: items similar (by who interacted with them) to the user's items."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from retrieval.catalog import Catalog
from retrieval.collaborative.base import check_history, not_fitted, training_matrix
from retrieval.interactions import Interactions

# A dense n_items x n_items float64 similarity: 40,000 items already need ~13 GB.
MAX_ITEMS = 40_000


class ItemKNN:
    """Cosine item-item similarity on the binary training matrix, each item keeping its
    ``neighbours`` most similar items; a user's score for item ``j`` is the sum of ``j``'s
    similarities to the items in the user's history.

    ``sim(i, j) = |U_i ∩ U_j| / (sqrt(|U_i| |U_j|) + shrink)`` where ``U_i`` is the set of
    training users of item ``i``.

    Args:
        neighbours: How many most-similar items each item keeps (``0`` keeps all).
        shrink: Added to the denominator, damping similarities built on few users.

    The defaults (200, 0) scored best on ml-100k's leave-one-out validation split
    (grid 10-200 and all neighbours, shrink 0, 10, 50), though within one standard error
    of most of the grid; tune them on your own data with :func:`eval.tuning.grid_search`.

    Example:
        >>> from retrieval.models import Interaction, Item
        >>> cat = Catalog([Item(id=i, title=i, media_type="movie") for i in "abc"])
        >>> pairs = [("1", "a"), ("1", "b"), ("2", "a"), ("2", "b"), ("2", "c")]
        >>> log = Interactions.from_records([Interaction(user_id=u, item_id=i) for u, i in pairs])
        >>> knn = ItemKNN(neighbours=0); knn.fit(log, cat)
        >>> [round(float(s), 3) for s in knn.score(["1"], sparse.csr_matrix([[1.0, 0, 0]]))[0]]
        [0.0, 1.0, 0.707]
    """

    def __init__(self, neighbours: int = 200, shrink: float = 0.0) -> None:
        if int(neighbours) < 0:
            raise ValueError(f"neighbours must be 0 (all) or positive, got {neighbours}")
        if float(shrink) < 0:
            raise ValueError(f"shrink must be non-negative, got {shrink}")
        self.neighbours = int(neighbours)
        self.shrink = float(shrink)
        self.similarity: np.ndarray | None = None

    def fit(self, train: Interactions, catalog: Catalog) -> None:
        if len(catalog) > MAX_ITEMS:
            raise ValueError(
                f"ItemKNN keeps a dense {len(catalog)} x {len(catalog)} similarity matrix, too "
                f"large (limit {MAX_ITEMS} items); evaluate pop on this catalog, or restrict "
                "the catalog to its most frequent items"
            )
        x = training_matrix(train, catalog).astype(np.float64)
        co = (x.T @ x).toarray()
        n = np.sqrt(np.diag(co))
        sim = co / (np.outer(n, n) + self.shrink + 1e-12)
        np.fill_diagonal(sim, 0.0)
        n_items = sim.shape[0]
        if 0 < self.neighbours < n_items - 1:
            # Keep, for each target item j (a column), its `neighbours` most similar items.
            drop = np.argpartition(-sim, self.neighbours, axis=0)[self.neighbours :, :]
            np.put_along_axis(sim, drop, 0.0, axis=0)
        self.similarity = sim.astype(np.float32)

    def score(self, user_ids: Sequence[str], history: sparse.csr_matrix) -> np.ndarray:
        if self.similarity is None:
            raise not_fitted("ItemKNN")
        h = check_history(history, len(user_ids), self.similarity.shape[0], "ItemKNN")
        return h.toarray() @ self.similarity
