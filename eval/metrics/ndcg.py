"""NDCG@K with binary gains: discounted hits over the best possible discounted hits."""

from __future__ import annotations

import numpy as np

from eval.metrics._common import safe_divide, top


def discounts(k: int) -> np.ndarray:
    """``1 / log2(rank + 1)`` for ranks ``1..k``."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def ndcg(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """``DCG@k / IDCG@k`` per user, where ``DCG = Σ hit_r / log2(r + 1)`` and the ideal
    ranking puts ``min(|relevant|, k)`` hits first (Järvelin and Kekäläinen; ranx's default).

    Example:
        >>> round(float(ndcg(np.array([[False, True]]), np.array([1]), 2)[0]), 4)  # 1/log2(3)
        0.6309
    """
    h, n = top(hits, n_relevant, k)
    d = discounts(k)
    dcg = h @ d
    ideal_cum = np.concatenate([[0.0], np.cumsum(d)])
    idcg = ideal_cum[np.minimum(n, k).astype(np.int64)]
    return safe_divide(dcg, idcg)
