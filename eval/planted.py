"""Quality at scale against a planted structure: how much of each user's top-k falls in
the taste clusters :mod:`retrieval.synthetic_large` planted for that user.

The data is SYNTHETIC: the figure checks that a pipeline at a million items still finds
the structure it was given (and how far above chance), never how well it serves people.

- ``in_taste``: the share of recommended items whose cluster is one of the user's
  clusters (mean over users); 1.0 when every pick is on taste.
- ``chance``: the same share for items drawn uniformly from the catalog (the share of the
  catalog in the user's clusters, mean over users); ``lift`` is ``in_taste / chance``.
- ``cluster_recall``: the share of the user's clusters that appear in their top-k.

Example:
    >>> import numpy as np
    >>> from retrieval.synthetic_large import PlantedTruth
    >>> truth = PlantedTruth(item_cluster=np.array([0, 0, 1, 1]),
    ...                      user_clusters=np.array([[0, -1, -1]]),
    ...                      user_weights=np.array([[1.0, 0, 0]]), clusters=[], spec={})
    >>> s = planted_score({"syn-u0000000": ["tr-syn-0000000", "tr-syn-0000002"]}, truth)
    >>> s.in_taste, s.chance, s.lift, s.cluster_recall
    (0.5, 0.5, 1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.synthetic_large import PlantedTruth

__all__ = ["PlantedScore", "bundle_top_lists", "planted_score"]


@dataclass(frozen=True)
class PlantedScore:
    users: int
    k: int
    in_taste: float
    chance: float
    lift: float
    cluster_recall: float


def planted_score(lists: Mapping[str, Sequence[str]], truth: PlantedTruth, *,
                  k: int = 10) -> PlantedScore:
    """Score top-``k`` lists (user id -> item ids, best first) against the planted truth.

    Users and items the generator did not make are left out (an empty score has zeros).
    """
    sizes = np.bincount(truth.item_cluster, minlength=int(truth.item_cluster.max()) + 1)
    n_items = len(truth.item_cluster)
    hits, chance, recall = [], [], []
    for uid, items in lists.items():
        u = truth.user_index(uid)
        if not 0 <= u < len(truth.user_clusters) or not items:
            continue
        mine = truth.user_clusters[u][truth.user_clusters[u] >= 0]
        rows = truth.item_index(list(items[:k]))
        rows = rows[(rows >= 0) & (rows < n_items)]
        if not len(rows):
            continue
        got = truth.item_cluster[rows]
        hits.append(float(np.isin(got, mine).mean()))
        chance.append(float(sizes[mine].sum() / n_items))
        recall.append(float(np.isin(mine, got).mean()))
    if not hits:
        return PlantedScore(0, k, 0.0, 0.0, 0.0, 0.0)
    in_taste, base = float(np.mean(hits)), float(np.mean(chance))
    return PlantedScore(users=len(hits), k=k, in_taste=round(in_taste, 4),
                        chance=round(base, 4), lift=round(in_taste / base, 2) if base else 0.0,
                        cluster_recall=round(float(np.mean(recall)), 4))


def bundle_top_lists(bundle: str | Path, *, users: int = 200, k: int = 10, seed: int = 0
                     ) -> dict[str, list[str]]:
    """Top-``k`` lists of ``users`` users (drawn with ``seed``) of the bundle's log, from
    their history alone, through the serving engine (the path the assistant takes)."""
    from assistant.engine import Engine
    from assistant.settings import Settings
    from retrieval.bundle import Bundle

    engine = Engine.from_bundle(Bundle.load(bundle, verify=False), Settings())
    ids = sorted(engine.interactions.df["user_id"].unique())
    rng = np.random.default_rng(seed)
    chosen = [ids[i] for i in rng.choice(len(ids), size=min(users, len(ids)), replace=False)]
    return {uid: [p.item_id for p in engine.recommend(engine.base_history(uid), k=k)]
            for uid in chosen}
