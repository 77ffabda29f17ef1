"""The training matrix every baseline starts from."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from retrieval.catalog import Catalog
from retrieval.encoding import user_item_matrix
from retrieval.interactions import Interactions


def training_matrix(train: Interactions, catalog: Catalog) -> sparse.csr_matrix:
    """Binary ``float32[n_train_users, n_items]``: who interacted with what in training."""
    return user_item_matrix(train, train.users(), catalog)


def check_history(
    history: sparse.spmatrix, n_users: int, n_items: int, name: str
) -> sparse.csr_matrix:
    history = sparse.csr_matrix(history, dtype=np.float32)
    if history.shape != (n_users, n_items):
        raise ValueError(
            f"{name}.score: history has shape {history.shape}, expected "
            f"({n_users}, {n_items}) — one row per user, one column per catalog item"
        )
    return history


def not_fitted(name: str) -> RuntimeError:
    return RuntimeError(f"{name} is not fitted; call fit(train, catalog) first")
