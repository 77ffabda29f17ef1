"""Intra-list diversity@K: how different the recommended items are from one another."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from eval.metrics.relevance import check_ranked


def normalise_rows(features: np.ndarray | sparse.spmatrix) -> sparse.csr_matrix:
    """L2-normalise item feature rows (all-zero rows stay zero)."""
    f = sparse.csr_matrix(features, dtype=np.float64)
    norms = np.sqrt(np.asarray(f.multiply(f).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sparse.diags(scale) @ f


def diversity(ranked: np.ndarray, k: int, features: np.ndarray | sparse.spmatrix) -> np.ndarray:
    """``1 - mean cosine similarity`` over the pairs of each user's top ``k``; NaN with
    fewer than two items. ``features`` is ``[n_items, d]`` (e.g. genre and tag indicators);
    an item without features is at similarity 0 to every other.

    The pairwise sum comes without forming pairs: for unit rows ``f_i``,
    ``Σ_{i<j} f_i·f_j = (‖Σ f_i‖² - Σ ‖f_i‖²) / 2``.

    Example:
        >>> feats = np.array([[1, 0], [1, 0], [0, 1]])
        >>> diversity(np.array([[0, 1, 2]]), 3, feats).tolist()  # sims 1, 0, 0 over 3 pairs
        [0.6666666666666667]
    """
    ranked = check_ranked(ranked)[:, :k]
    f = normalise_rows(features)
    n_users, width = ranked.shape
    valid = ranked >= 0
    rows = np.repeat(np.arange(n_users), width)[valid.ravel()]
    cols = ranked.ravel()[valid.ravel()]
    if cols.size and cols.max() >= f.shape[0]:
        raise ValueError(
            f"ranked holds item position {int(cols.max())} but features has {f.shape[0]} rows"
        )
    membership = sparse.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(n_users, f.shape[0]))
    summed = membership @ f
    sq_norm_of_sum = np.asarray(summed.multiply(summed).sum(axis=1)).ravel()
    item_sq_norms = np.asarray(f.multiply(f).sum(axis=1)).ravel()
    sum_of_sq_norms = membership @ item_sq_norms
    pair_sum = (sq_norm_of_sum - sum_of_sq_norms) / 2.0
    m = valid.sum(axis=1).astype(np.float64)
    pairs = m * (m - 1) / 2.0
    out = np.full(n_users, np.nan)
    np.divide(pair_sum, pairs, out=out, where=pairs > 0)
    return np.where(pairs > 0, 1.0 - out, np.nan)
