"""Precision@K: the share of the top K that is relevant."""

from __future__ import annotations

import numpy as np

from eval.metrics._common import top


def precision(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """``|relevant ∩ top-k| / k`` per user; empty slots count as misses (as in ranx).

    Example:
        >>> precision(np.array([[True, False, True, False]]), np.array([4]), 4).tolist()
        [0.5]
    """
    h, _ = top(hits, n_relevant, k)
    return h.sum(axis=1) / k
