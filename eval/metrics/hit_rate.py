"""HitRate@K: whether any relevant item is in the top K."""

from __future__ import annotations

import numpy as np

from eval.metrics._common import top


def hit_rate(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """1 when the top ``k`` holds at least one relevant item, else 0.

    Example:
        >>> hit_rate(np.array([[False, True], [False, False]]), np.array([1, 1]), 2).tolist()
        [1.0, 0.0]
    """
    h, _ = top(hits, n_relevant, k)
    return np.asarray(h.any(axis=1), dtype=np.float64)
