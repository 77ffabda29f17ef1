"""Novelty@K: how unexpected the recommended items are, in bits of self-information."""

from __future__ import annotations

import numpy as np

from eval.metrics.relevance import check_ranked


def item_popularity(user_counts: np.ndarray, n_users: int) -> np.ndarray:
    """Smoothed probability that a training user has interacted with each item,
    ``(users_i + 1) / (n_users + 1)``, so an item nobody has seen stays finite.

    Example:
        >>> item_popularity(np.array([3, 0]), 3).tolist()
        [1.0, 0.25]
    """
    counts = np.asarray(user_counts, dtype=np.float64)
    if n_users < 0 or (counts.size and (counts.min() < 0 or counts.max() > n_users)):
        raise ValueError("user counts must lie between 0 and n_users")
    return (counts + 1.0) / (n_users + 1.0)


def novelty(ranked: np.ndarray, k: int, popularity: np.ndarray) -> np.ndarray:
    """Mean ``-log2 p(i)`` over each user's top ``k`` (Zhou et al., 2010); NaN for an
    empty list. ``popularity`` is :func:`item_popularity` (or any probabilities in (0, 1]).

    Example:
        >>> novelty(np.array([[0, 1]]), 2, np.array([0.5, 0.25])).tolist()  # (1 + 2) / 2
        [1.5]
    """
    ranked = check_ranked(ranked)[:, :k]
    popularity = np.asarray(popularity, dtype=np.float64)
    if popularity.size and (popularity.min() <= 0 or popularity.max() > 1):
        raise ValueError("popularity must be probabilities in (0, 1]; see item_popularity()")
    valid = ranked >= 0
    bits = np.where(valid, -np.log2(popularity[np.where(valid, ranked, 0)]), 0.0)
    n = valid.sum(axis=1)
    out = np.full(ranked.shape[0], np.nan)
    np.divide(bits.sum(axis=1), n, out=out, where=n > 0)
    return out
