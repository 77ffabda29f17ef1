"""Candidate sources besides the dense retriever, and how their lists are merged.

:class:`CooccurrenceSource` proposes items that the same users consumed (item-to-item
co-occurrence, cosine-normalised, the ``max_neighbours`` strongest per item), scored from
the user's recency-weighted history. :func:`merge_candidates` fills the last ``quota``
places of the dense list with another source's best items that the dense list lacks.

Example:
    >>> from retrieval.interactions import Interactions
    >>> from retrieval.models import Interaction
    >>> log = Interactions.from_records([Interaction(user_id=u, item_id=i, timestamp=t)
    ...     for u, i, t in [("1", "a", 1), ("1", "b", 2), ("2", "a", 1), ("2", "b", 2),
    ...                     ("3", "c", 1)]])
    >>> src = CooccurrenceSource(["a", "b", "c"], log)
    >>> ids, scores = src.retrieve(History(["a"]), n=2)
    >>> ids, scores.round(3).tolist()
    (['b'], [1.0])
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from retrieval.interactions import Interactions
from retrieval.retriever import Candidate, History, history_weights

__all__ = ["CooccurrenceSource", "merge_candidates"]


class CooccurrenceSource:
    """Item co-occurrence: ``score(j) = Σ_h w_h · cos(h, j)`` over the history items ``h``,
    where ``cos`` is the co-occurrence count normalised by both items' counts and ``w_h``
    the recency weight (dislikes and skips do not vote).

    Args:
        item_ids: Catalog ids (the candidate space).
        interactions: The log to count from (its training part in an evaluation).
        recency_half_life: History weights halve every this many items back.
        dislike_rating: Ratings at or below this are not counted.
        max_neighbours: Strongest neighbours kept per item (bounds memory on big catalogs).
    """

    def __init__(
        self,
        item_ids: Sequence[str],
        interactions: Interactions,
        *,
        recency_half_life: float | None = 10.0,
        dislike_rating: float = 2.0,
        max_neighbours: int = 200,
    ) -> None:
        from scipy import sparse

        from retrieval.finetune import positive_mask

        if max_neighbours < 1:
            raise ValueError(f"max_neighbours must be positive, got {max_neighbours}")
        self.item_ids = [str(i) for i in item_ids]
        self._row = {i: k for k, i in enumerate(self.item_ids)}
        self.recency_half_life = recency_half_life
        self.dislike_rating = dislike_rating
        df = interactions.df
        df = df[positive_mask(df, dislike_rating)]
        cols = df["item_id"].astype(str).map(self._row)
        keep = cols.notna().to_numpy()
        users = df["user_id"].astype(str).to_numpy()[keep]
        cols = cols.to_numpy()[keep].astype(np.int64)
        _, user_rows = np.unique(users, return_inverse=True)
        n = len(self.item_ids)
        x = sparse.csr_matrix((np.ones(len(cols), dtype=np.float32), (user_rows, cols)),
                              shape=(int(user_rows.max()) + 1 if len(cols) else 0, n))
        x.data[:] = 1.0  # repeats count once
        counts = np.asarray(x.sum(axis=0)).ravel()
        co = (x.T @ x).tocsr().astype(np.float32)
        co.setdiag(0)
        co.eliminate_zeros()
        norm = np.sqrt(np.maximum(counts, 1.0)).astype(np.float32)
        co = sparse.diags(1.0 / norm) @ co @ sparse.diags(1.0 / norm)
        self._neighbours = _top_per_row(co.tocsr(), max_neighbours)

    def scores(self, history: History) -> np.ndarray:
        """``float32[n_items]`` co-occurrence scores for one history."""
        w = history_weights(history, recency_half_life=self.recency_half_life,
                            dislike_rating=self.dislike_rating)
        rows = np.array([self._row.get(i, -1) for i in history.item_ids], dtype=np.int64)
        use = (rows >= 0) & (w > 0)
        vec = np.zeros(len(self.item_ids), dtype=np.float32)
        if use.any():
            vec = np.asarray(self._neighbours[rows[use]].T @ w[use], dtype=np.float32).ravel()
        return vec

    def retrieve(self, history: History, *, n: int = 200,
                 exclude: Collection[str] | None = None) -> tuple[list[str], np.ndarray]:
        """The ``n`` best-scoring items (only items with a positive score), best first."""
        s = self.scores(history)
        ex = set(history.item_ids) if exclude is None else set(exclude)
        for i in ex:
            k = self._row.get(i)
            if k is not None:
                s[k] = 0.0
        nz = np.flatnonzero(s > 0)
        order = nz[np.argsort(-s[nz], kind="stable")][:n]
        return [self.item_ids[k] for k in order], s[order]


def merge_candidates(dense: Sequence[Candidate], other: Sequence[Candidate], *, n: int,
                     quota: int) -> list[Candidate]:
    """The first ``n - quota`` dense candidates, then ``other``'s best that are not there
    yet, then the rest of the dense list, up to ``n`` in all.

    Example:
        >>> d = [Candidate(item_id=i, score=1.0) for i in "abc"]
        >>> o = [Candidate(item_id=i, score=1.0, source="cooccurrence") for i in "bx"]
        >>> [c.item_id for c in merge_candidates(d, o, n=3, quota=1)]
        ['a', 'b', 'x']
    """
    if not 0 <= quota <= n:
        raise ValueError(f"quota must lie between 0 and n ({n}), got {quota}")
    out = list(dense[: n - quota])
    seen = {c.item_id for c in out}
    for pool in (other, dense[n - quota:]):
        for c in pool:
            if len(out) >= n:
                break
            if c.item_id not in seen:
                out.append(c)
                seen.add(c.item_id)
    return out


def _top_per_row(m, k: int):
    """Keep the ``k`` largest entries of each CSR row."""
    from scipy import sparse

    indptr, indices, data = m.indptr, m.indices, m.data
    rows, cols, vals = [], [], []
    for r in range(m.shape[0]):
        lo, hi = indptr[r], indptr[r + 1]
        if hi - lo > k:
            sel = lo + np.argpartition(-data[lo:hi], k - 1)[:k]
        else:
            sel = np.arange(lo, hi)
        rows.append(np.full(len(sel), r))
        cols.append(indices[sel])
        vals.append(data[sel])
    if not rows:
        return sparse.csr_matrix(m.shape, dtype=np.float32)
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=m.shape, dtype=np.float32)
