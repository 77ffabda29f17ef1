"""Recall over (turn, movie) pairs, as the CRS literature measures ReDial.

Each test point contributes one pair per movie its recommender turn mentions. ``recall@k``
is the share of pairs whose movie is in the system's top ``k``; a movie that could not be
mapped to the catalog is a pair no system can hit, and stays in the denominator. The
*novel* variant drops the pairs whose movie was already mentioned earlier in the dialogue,
and removes the earlier-mentioned movies from each list before cutting it at ``k``.

Example:
    >>> p = ScoredPoint(targets=["x", "y"], earlier=["y"], ranked=["y", "a", "x"])
    >>> recall_at([p], 1), recall_at([p], 3)
    (0.5, 1.0)
    >>> recall_at([p], 1, novel=True)   # "y" dropped from the pairs and from the list
    0.0
    >>> recall_at([p], 2, novel=True)
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["ScoredPoint", "pair_count", "recall_at", "recall_table"]


@dataclass(frozen=True)
class ScoredPoint:
    """One test point as the metric sees it.

    Attributes:
        targets: The catalog id of each movie the turn mentions (``None``: not in the
            catalog, a pair that counts as a miss).
        earlier: Catalog ids of the movies mentioned before the turn.
        ranked: The system's list, best first.
    """

    targets: Sequence[str | None]
    earlier: Sequence[str] = ()
    ranked: Sequence[str] = field(default_factory=list)


def _pairs(point: ScoredPoint, novel: bool) -> list[str | None]:
    if not novel:
        return list(point.targets)
    before = set(point.earlier)
    return [t for t in point.targets if t is None or t not in before]


def pair_count(points: Sequence[ScoredPoint], *, novel: bool = False) -> int:
    """How many (turn, movie) pairs ``recall_at`` divides by."""
    return sum(len(_pairs(p, novel)) for p in points)


def recall_at(points: Sequence[ScoredPoint], k: int, *, novel: bool = False) -> float:
    """The share of (turn, movie) pairs whose movie is in the top ``k`` (0.0 without pairs)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    hits = total = 0
    for p in points:
        pairs = _pairs(p, novel)
        if not pairs:
            continue
        before = set(p.earlier) if novel else set()
        top = set([r for r in p.ranked if r not in before][:k])
        total += len(pairs)
        hits += sum(1 for t in pairs if t is not None and t in top)
    return hits / total if total else 0.0


def recall_table(points: Sequence[ScoredPoint], ks: Sequence[int] = (1, 10, 50)
                 ) -> dict[str, float]:
    """``{"recall@1": ..., "novel recall@1": ...}`` for each ``k``."""
    out = {f"recall@{k}": recall_at(points, k) for k in ks}
    out.update({f"novel recall@{k}": recall_at(points, k, novel=True) for k in ks})
    return out
