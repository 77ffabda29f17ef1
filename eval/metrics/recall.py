"""Recall@K: the share of a user's relevant items found in the top K."""

from __future__ import annotations

import numpy as np

from eval.metrics._common import safe_divide, top


def recall(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """``|relevant ∩ top-k| / |relevant|`` per user (0 when nothing is relevant).

    Example:
        >>> recall(np.array([[True, False, True]]), np.array([4]), 3).tolist()
        [0.5]
    """
    h, n = top(hits, n_relevant, k)
    return safe_divide(h.sum(axis=1), n)
