"""MAP@K: average precision truncated at K (its mean over users is MAP@K)."""

from __future__ import annotations

import numpy as np

from eval.metrics._common import safe_divide, top


def average_precision(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """``Σ_{r ≤ k, hit at r} Precision@r / |relevant|`` per user.

    The denominator is every relevant item, not ``min(k, |relevant|)``: the TREC
    convention that ranx follows, so a user with more relevant items than ``k`` cannot
    reach 1.

    Example:
        >>> hits = np.array([[True, False, True]])
        >>> average_precision(hits, np.array([2]), 3).tolist()  # (1/1 + 2/3) / 2
        [0.8333333333333333]
    """
    h, n = top(hits, n_relevant, k)
    precision_at_r = np.cumsum(h, axis=1) / np.arange(1, k + 1)
    return safe_divide((precision_at_r * h).sum(axis=1), n)
