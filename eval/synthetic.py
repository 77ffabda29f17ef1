"""Seeded SYNTHETIC interaction logs at any scale, for speed benchmarks and tests (never
for reported quality numbers): Zipf-like item popularity, a log-normal number of
interactions per user (at least 20, as in MovieLens), and increasing timestamps.

Example:
    >>> cat, log = synthetic_log(n_users=50, n_items=40, n_interactions=1200, seed=0)
    >>> len(cat), log.n_users, 1000 < len(log) <= 1200
    (40, 50, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retrieval.catalog import Catalog
from retrieval.interactions import Interactions
from retrieval.models import Item

__all__ = ["synthetic_log"]

_GENRES = (
    "action",
    "comedy",
    "drama",
    "horror",
    "romance",
    "science fiction",
    "thriller",
    "documentary",
    "animation",
    "crime",
)


def synthetic_log(
    n_users: int = 6040,
    n_items: int = 3706,
    n_interactions: int = 1_000_209,
    *,
    seed: int = 0,
    min_per_user: int = 20,
) -> tuple[Catalog, Interactions]:
    """A SYNTHETIC catalog and log; the defaults are ml-1m's shape (6,040 users, 3,706 items,
    1,000,209 ratings). Each user's items are distinct, so the log holds slightly fewer rows
    than asked when a user's draw would exceed the catalog."""
    if min_per_user * n_users > n_interactions:
        raise ValueError("n_interactions must allow min_per_user interactions per user")
    rng = np.random.default_rng(seed)
    catalog = Catalog(
        Item(
            id=str(i + 1),
            title=f"Synthetic title {i + 1}",
            media_type="movie",
            genres=[_GENRES[j] for j in sorted(rng.choice(len(_GENRES), size=2, replace=False))],
        )
        for i in range(n_items)
    )
    sizes = rng.lognormal(mean=0.0, sigma=1.0, size=n_users)
    sizes = min_per_user + sizes / sizes.sum() * (n_interactions - min_per_user * n_users)
    sizes = np.minimum(np.round(sizes).astype(np.int64), n_items)
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.9
    weights /= weights.sum()
    # Gumbel top-k: a weighted draw without replacement for every user at once.
    users, items = [], []
    for u, size in enumerate(sizes):
        keys = np.log(weights) + rng.gumbel(size=n_items)
        chosen = np.argpartition(-keys, size - 1)[:size]
        users.append(np.full(size, u + 1))
        items.append(chosen + 1)
    user_col = np.concatenate(users)
    item_col = np.concatenate(items)
    ts = 956_703_932 + np.sort(rng.integers(0, 90_000_000, size=user_col.size))
    ts = ts[np.argsort(np.argsort(user_col, kind="stable"), kind="stable")]
    frame = pd.DataFrame(
        {
            "user_id": user_col.astype(str),
            "item_id": item_col.astype(str),
            "timestamp": ts,
            "event": "rating",
            "value": rng.integers(1, 6, size=user_col.size).astype(float),
        }
    )
    return catalog, Interactions(frame)
