"""MRR@K: the reciprocal rank of the first relevant item within the top K."""

from __future__ import annotations

import numpy as np

from eval.metrics._common import top


def mrr(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """``1 / rank`` of the first hit in the top ``k`` per user, 0 without one; its mean
    over users is the mean reciprocal rank.

    Example:
        >>> hits = np.array([[False, False, True], [False, False, False]])
        >>> mrr(hits, np.array([1, 1]), 3).tolist()
        [0.3333333333333333, 0.0]
    """
    h, _ = top(hits, n_relevant, k)
    first = h.argmax(axis=1)
    return np.where(h.any(axis=1), 1.0 / (first + 1), 0.0)
