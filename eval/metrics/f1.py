"""F1@K: the harmonic mean of Precision@K and Recall@K."""

from __future__ import annotations

import numpy as np

from eval.metrics._common import safe_divide
from eval.metrics.precision import precision
from eval.metrics.recall import recall


def f1(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """``2 P R / (P + R)`` per user, 0 when both are 0.

    Example:
        >>> f1(np.array([[True, False]]), np.array([1]), 2).tolist()  # P = 1/2, R = 1
        [0.6666666666666666]
    """
    p = precision(hits, n_relevant, k)
    r = recall(hits, n_relevant, k)
    return safe_divide(2 * p * r, p + r)
