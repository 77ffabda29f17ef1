"""From id-keyed logs to the integer matrices the systems and metrics work on.

Items are numbered in catalog order (``catalog.ids``); users in the order asked for.

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.models import Interaction, Item
    >>> cat = Catalog([Item(id=i, title=i.upper(), media_type="movie") for i in "abc"])
    >>> log = Interactions.from_records([Interaction(user_id="u", item_id="c"),
    ...                                  Interaction(user_id="v", item_id="a")])
    >>> user_item_matrix(log, ["v", "u", "w"], cat).toarray().tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from retrieval.catalog import Catalog
from retrieval.errors import DataError
from retrieval.interactions import Interactions

__all__ = ["catalog_index", "item_features", "item_positions", "user_item_matrix"]


def catalog_index(catalog: Catalog) -> pd.Index:
    """Item ids in catalog order, for vectorised id -> position look-ups."""
    return pd.Index(catalog.ids)


def item_positions(
    log: Interactions, catalog: Catalog, *, what: str = "interaction log"
) -> np.ndarray:
    """``int64[len(log)]``: the catalog position of each row's item.

    Raises:
        DataError: when rows name items that are not in the catalog.
    """
    col = log.df["item_id"]
    cats = col.cat.categories
    pos_of_cat = catalog_index(catalog).get_indexer(cats.astype(str))
    codes = col.cat.codes.to_numpy()
    pos = pos_of_cat[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    if (pos < 0).any():
        unknown = pd.unique(col[pos < 0].astype(str))
        raise DataError(
            f"{int((pos < 0).sum())} rows of the {what} name {len(unknown)} items that are not in "
            f"the catalog (e.g. {', '.join(repr(u) for u in unknown[:3])})",
            field="item_id",
            fix="evaluate against the catalog the log was made for, or drop those rows "
            "(--skip-bad-rows when loading)",
        )
    return pos.astype(np.int64)


def user_item_matrix(
    log: Interactions, user_ids: Sequence[str], catalog: Catalog
) -> sparse.csr_matrix:
    """Binary ``float32[len(user_ids), n_items]`` CSR matrix: which items each user has;
    users absent from ``log`` get an empty row and rows of other users are ignored."""
    n_items = len(catalog)
    users = pd.Index([str(u) for u in user_ids])
    if len(log) == 0:
        return sparse.csr_matrix((len(users), n_items), dtype=np.float32)
    col = log.df["user_id"]
    row_of_cat = users.get_indexer(col.cat.categories.astype(str))
    rows = row_of_cat[col.cat.codes.to_numpy()]
    cols = item_positions(log, catalog)
    keep = rows >= 0
    m = sparse.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], cols[keep])),
        shape=(len(users), n_items),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def item_features(catalog: Catalog) -> sparse.csr_matrix:
    """Binary ``[n_items, n_labels]`` indicators of each item's genres and tags (the
    descriptors intra-list diversity compares)."""
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, item in enumerate(catalog):
        for label in [f"genre:{g}" for g in item.genres] + [f"tag:{t}" for t in item.tags]:
            rows.append(i)
            cols.append(vocab.setdefault(label, len(vocab)))
    return sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(catalog), max(1, len(vocab)))
    )
