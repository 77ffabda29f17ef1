"""Request + popularity: the reference point a conversational recommender must beat.

Each item's score for a request is ``w * cosine(request, item) + (1 - w) * popularity``,
with the cosine between the request text's and the item text's embeddings (the encoder
Encore uses, not fine-tuned) and popularity the item's log count of distinct training users
scaled to [0, 1]. ``w`` is tuned on validation requests: the last interaction of each
training user is held out, described by its genres and tags
(:func:`eval.conversational.generate.generate_requests`), and the ``w`` of the best NDCG@10
on those requests is kept. Nothing of the evaluation's held-out items is seen.

History-only, it is popularity (the history is only removed from the list).

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.interactions import Interactions
    >>> from retrieval.models import Interaction, Item
    >>> class Letters:                                  # any encoder: one axis per first letter
    ...     dim = 3
    ...     def encode(self, texts):
    ...         return np.eye(3, dtype="float32")[["abc".index(t[0].lower()) for t in texts]]
    >>> cat = Catalog([Item(id=i, title=t, media_type="movie") for i, t in
    ...                [("1", "apple"), ("2", "banana"), ("3", "cherry")]])
    >>> log = Interactions.from_records([Interaction(user_id=u, item_id=i) for u, i in
    ...                                  [("u", "2"), ("v", "2"), ("v", "3")]])
    >>> blend = RequestPopularityBlend(Letters(), weight=0.5, cache_dir=None)
    >>> blend.fit(log, cat)
    >>> blend.respond("x", "cherries", [], 2), blend.respond("x", "anything", ["2"], 2)
    (['3', '2'], ['1', '3'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from retrieval.catalog import Catalog
from retrieval.collaborative.base import check_history, not_fitted, training_matrix
from retrieval.interactions import Interactions

__all__ = ["RequestPopularityBlend"]

_GRID = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 11))


class RequestPopularityBlend:
    """``w * cosine(request, item) + (1 - w) * popularity``, ``w`` tuned on validation.

    Args:
        encoder: Encoder name or folder, or an encoder object (as ``encore`` takes it).
        weight: A fixed ``w`` in [0, 1] (``None``: tuned in :meth:`fit`).
        n_valid: Validation requests to tune on (at most one per training user).
        seed: Seed of the validation requests.
        cache_dir: Folder of the embedding cache (``None``: in memory).
    """

    def __init__(self, encoder: Any = "all-MiniLM-L6-v2", *, weight: float | None = None,
                 n_valid: int = 300, seed: int = 0,
                 cache_dir: str | None = ".encore/cache/embeddings") -> None:
        if weight is not None and not 0.0 <= weight <= 1.0:
            raise ValueError(f"weight must lie in [0, 1], got {weight}")
        self.encoder = encoder
        self.weight = weight
        self.n_valid = int(n_valid)
        self.seed = int(seed)
        self.cache_dir = cache_dir
        self.tuning: dict[float, float] = {}
        self._enc: Any = None
        self._vectors: np.ndarray | None = None
        self._pop: np.ndarray | None = None
        self._ids: list[str] = []

    def fit(self, train: Interactions, catalog: Catalog) -> None:
        """Item vectors, popularity, and ``w`` tuned on validation requests from ``train``."""
        from eval.encore import _item_vectors

        self._enc, vecs = _item_vectors(self.encoder, catalog, self.cache_dir)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        self._vectors = (vecs / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        self._ids = list(catalog.ids)
        if self.weight is None:
            inner, held = _last_out(train)
            self._pop = _popularity(inner, catalog)
            self.tuning = self._tune(inner, held, catalog)
            self.weight = max(self.tuning, key=lambda w: (self.tuning[w], -w))
        self._pop = _popularity(train, catalog)

    def _tune(self, inner: Interactions, held: Interactions, catalog: Catalog
              ) -> dict[float, float]:
        """Mean NDCG@10 of each ``w`` of the grid on requests for the held-out items."""
        from eval.conversational.generate import generate_requests

        cases = generate_requests(inner, held, catalog, n=self.n_valid, seed=self.seed).cases
        if not cases:
            return {1.0: 0.0}
        pos = {i: k for k, i in enumerate(self._ids)}
        cos = self._cosines([c.request for c in cases])
        out = {}
        for w in _GRID:
            gains = []
            for row, case in zip(cos, cases, strict=True):
                s = self._blend(row, w)
                s[[pos[h] for h in case.history_item_ids or () if h in pos]] = -np.inf
                top = np.argsort(-s, kind="stable")[:10]
                hits = [r for r, j in enumerate(top) if self._ids[j] in case.target_item_ids]
                gains.append(1.0 / np.log2(hits[0] + 2) if hits else 0.0)
            out[w] = float(np.mean(gains))
        return out

    def _cosines(self, texts: Sequence[str]) -> np.ndarray:
        q = np.asarray(self._enc.encode(list(texts)), dtype=np.float32)
        q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-9)
        return q @ self._vectors.T  # type: ignore[union-attr]

    def _blend(self, cosine: np.ndarray, w: float) -> np.ndarray:
        return (w * cosine + (1.0 - w) * self._pop).astype(np.float64)  # type: ignore[operator]

    def score(self, user_ids: Sequence[str], history: sparse.csr_matrix) -> np.ndarray:
        """History only: popularity."""
        if self._pop is None:
            raise not_fitted("RequestPopularityBlend")
        check_history(history, len(user_ids), self._pop.size, "RequestPopularityBlend")
        return np.tile(self._pop, (len(user_ids), 1))

    def respond(self, user_id: str, request: str, history_item_ids: list[str], k: int
                ) -> list[str]:
        """The ``k`` best items for a request text, the history left out."""
        if self._pop is None or self.weight is None:
            raise not_fitted("RequestPopularityBlend")
        s = self._blend(self._cosines([request])[0], self.weight)
        seen = set(history_item_ids)
        order = np.argsort(-s, kind="stable")
        return [self._ids[j] for j in order[: k + len(seen)] if self._ids[j] not in seen][:k]


def _popularity(log: Interactions, catalog: Catalog) -> np.ndarray:
    """log(1 + distinct users) per catalog item, scaled to [0, 1]."""
    counts = np.asarray(training_matrix(log, catalog).sum(axis=0), dtype=np.float64).ravel()
    pop = np.log1p(counts)
    top = float(pop.max()) if pop.size else 0.0
    return (pop / top if top > 0 else pop).astype(np.float32)


def _last_out(log: Interactions) -> tuple[Interactions, Interactions]:
    """Each user's last interaction (by time, then file order) held out, the rest kept."""
    df = log.df.reset_index(drop=True)
    order = df.sort_values("timestamp", kind="stable", na_position="first")
    last = order.groupby(order["user_id"].astype(str), sort=False).tail(1).index
    held = df.index.isin(last)
    counts = df["user_id"].astype(str).map(df["user_id"].astype(str).value_counts())
    held &= (counts > 1).to_numpy()  # a user's only interaction stays history
    return Interactions(df[~held].reset_index(drop=True)), Interactions(
        df[held].reset_index(drop=True))
