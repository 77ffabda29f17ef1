"""Catalog coverage@K: the share of the catalog that appears in anyone's top K."""

from __future__ import annotations

import numpy as np

from eval.metrics.relevance import check_ranked


def coverage(ranked: np.ndarray, k: int, n_items: int) -> float:
    """``|∪_u top-k(u)| / n_items``: one number for the whole run, not a per-user mean.

    Example:
        >>> coverage(np.array([[0, 1], [1, 2]]), 2, 10)
        0.3
    """
    ranked = check_ranked(ranked)
    if n_items < 1:
        raise ValueError(f"the catalog must hold at least one item, got n_items={n_items}")
    shown = ranked[:, :k]
    shown = shown[shown >= 0]
    if shown.size and shown.max() >= n_items:
        raise ValueError(
            f"ranked holds item position {int(shown.max())} but the catalog has {n_items} items"
        )
    return float(np.unique(shown).size / n_items)
