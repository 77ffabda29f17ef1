"""Shared guards for the accuracy metrics."""

from __future__ import annotations

import numpy as np


def top(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` columns of ``hits`` as floats, and ``n_relevant`` as floats.

    Raises:
        ValueError: when ``k`` is not positive, when ``hits`` has fewer than ``k`` columns
            (pad the ranking with ``-1`` instead), or when the shapes disagree.
    """
    hits = np.asarray(hits, dtype=bool)
    n_relevant = np.asarray(n_relevant)
    if k < 1:
        raise ValueError(f"the cut-off k must be at least 1, got {k}")
    if hits.ndim != 2 or hits.shape[1] < k:
        raise ValueError(
            f"need a [users, >= {k}] hit matrix, got shape {hits.shape}; pad short rankings with -1"
        )
    if n_relevant.shape != (hits.shape[0],):
        raise ValueError(f"n_relevant has shape {n_relevant.shape}, expected ({hits.shape[0]},)")
    return hits[:, :k].astype(np.float64), n_relevant.astype(np.float64)


def safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den`` is 0 (a user with nothing relevant scores 0)."""
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=np.asarray(den) != 0)
    return out
