"""Which items are relevant to each user, and which ranked positions hit them.

Every metric works on two arrays: ``ranked``, an ``int[n_users, K]`` matrix of item
positions (catalog order) best first, where ``-1`` marks an empty slot; and a
:class:`Relevance`, the set of relevant item positions per row.

Example:
    >>> rel = Relevance.from_lists([[3], [0, 2]])
    >>> rel.hits(np.array([[3, 1], [1, 2]])).tolist()
    [[True, False], [False, True]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Relevance", "check_ranked"]


@dataclass(frozen=True)
class Relevance:
    """Relevant item positions per user, in compressed-row form.

    Attributes:
        indptr: ``int64[n_users + 1]``; row ``u`` holds ``indices[indptr[u]:indptr[u+1]]``.
        indices: ``int64[nnz]``, sorted and unique within each row.
    """

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def from_lists(cls, rows: Sequence[Sequence[int] | np.ndarray]) -> Relevance:
        """One list of relevant item positions per user (order and repeats do not matter)."""
        cleaned = [np.unique(np.asarray(r, dtype=np.int64)) for r in rows]
        indptr = np.zeros(len(cleaned) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(r) for r in cleaned])
        indices = np.concatenate(cleaned) if cleaned else np.zeros(0, dtype=np.int64)
        return cls(indptr, indices.astype(np.int64, copy=False))

    @classmethod
    def from_pairs(cls, rows: np.ndarray, items: np.ndarray, n_users: int) -> Relevance:
        """From parallel arrays of (row, item position) pairs; duplicates are dropped."""
        rows = np.asarray(rows, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= n_users):
            raise ValueError(f"row numbers must lie in [0, {n_users})")
        order = np.lexsort((items, rows))
        rows, items = rows[order], items[order]
        keep = np.ones(rows.size, dtype=bool)
        keep[1:] = (rows[1:] != rows[:-1]) | (items[1:] != items[:-1])
        rows, items = rows[keep], items[keep]
        indptr = np.zeros(n_users + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(np.bincount(rows, minlength=n_users))
        return cls(indptr, items)

    @property
    def n_users(self) -> int:
        return len(self.indptr) - 1

    def counts(self) -> np.ndarray:
        """``int64[n_users]``: how many items are relevant to each user."""
        return np.diff(self.indptr)

    def row(self, u: int) -> np.ndarray:
        return self.indices[self.indptr[u] : self.indptr[u + 1]]

    def subset(self, rows: np.ndarray) -> Relevance:
        """The rows ``rows``, in that order."""
        return Relevance.from_lists([self.row(int(u)) for u in rows])

    def hits(self, ranked: np.ndarray) -> np.ndarray:
        """``bool[n_users, K]``: whether each ranked position holds a relevant item.

        Vectorised as a sorted-key lookup: ``(row, item)`` pairs become ``row * stride +
        item`` keys, which are sorted for the relevant set, so one ``searchsorted`` answers
        every position at once.
        """
        ranked = check_ranked(ranked, self.n_users)
        if ranked.size == 0 or self.indices.size == 0:
            return np.zeros(ranked.shape, dtype=bool)
        stride = int(max(ranked.max(), self.indices.max())) + 1
        rows = np.repeat(np.arange(self.n_users, dtype=np.int64), self.counts())
        keys = rows * stride + self.indices  # sorted: rows ascending, items sorted per row
        query = np.arange(ranked.shape[0], dtype=np.int64)[:, None] * stride + ranked
        pos = np.searchsorted(keys, query)
        pos = np.minimum(pos, keys.size - 1)
        return (keys[pos] == query) & (ranked >= 0)


def check_ranked(ranked: np.ndarray, n_users: int | None = None) -> np.ndarray:
    """Validate a ranked matrix: 2-D integers, ``-1`` only as padding."""
    ranked = np.asarray(ranked)
    if ranked.ndim != 2:
        raise ValueError(f"ranked must be a 2-D matrix [users, K], got shape {ranked.shape}")
    if ranked.size and not np.issubdtype(ranked.dtype, np.integer):
        raise ValueError(f"ranked must hold integer item positions, got dtype {ranked.dtype}")
    if n_users is not None and ranked.shape[0] != n_users:
        raise ValueError(f"ranked has {ranked.shape[0]} rows but the relevance has {n_users} users")
    if ranked.size and ranked.min() < -1:
        raise ValueError("ranked holds negative item positions other than -1 (the padding)")
    return ranked.astype(np.int64, copy=False)
