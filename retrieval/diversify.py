"""After ranking: maximal-marginal-relevance diversification, the request's hard constraints
checked once more, and the evidence each pick carries to the explainer.

MMR (Carbonell and Goldstein, 1998) picks, one at a time, the candidate maximising
``λ · relevance − (1 − λ) · max similarity to the picks so far``; relevance is the ranker's
score scaled to [0, 1] within the list and similarity the cosine of item vectors. ``λ = 1``
keeps the ranker's order.

Hard constraints (``Request.hard_constraints``) are applied once per call, on arrays, by
:class:`retrieval.filter.TurnFilter`; :func:`satisfies` and :func:`constraint_violations`
are the per-item reference (tests compare the filter with them; explanations use the
words). An item whose year or duration is unknown cannot be shown to satisfy a year or
duration range and is left out.

Example:
    >>> import numpy as np
    >>> v = np.array([[1, 0], [1, 0], [0, 1]], dtype="float32")
    >>> mmr_order(np.array([1.0, 0.9, 0.5]), v, k=3, lambda_=1.0).tolist()
    [0, 1, 2]
    >>> mmr_order(np.array([1.0, 0.9, 0.5]), v, k=3, lambda_=0.5).tolist()  # the twin waits
    [0, 2, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from retrieval.models import Item

if TYPE_CHECKING:
    from retrieval.request import Request

__all__ = [
    "Evidence",
    "FeatureContribution",
    "HistoryLink",
    "RankedItem",
    "constraint_violations",
    "mmr_order",
    "mmr_rerank",
    "satisfies",
]


class FeatureContribution(BaseModel):
    """One feature that raised a pick's score: its value and how much it added."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Feature name (see retrieval.features.FEATURE_GROUPS).")
    group: str = Field(description="Its feature group.")
    value: float | None = Field(description="The feature's value (None when missing).")
    contribution: float = Field(description="What it added to the score.")


class HistoryLink(BaseModel):
    """A history item a pick is close to."""

    model_config = ConfigDict(frozen=True)

    item_id: str = Field(description="Catalog id of the history item.")
    similarity: float = Field(description="Cosine (content) or item-kNN similarity.")
    kind: Literal["content", "collaborative"] = Field(
        description="content: close in text embedding; collaborative: watched by the same people.")
    cosine: float | None = Field(default=None,
                                 description="Cosine of the two items' vectors, whatever the "
                                             "kind (None: no vectors); explanations cite a "
                                             "history item only when it is high enough.")


class Evidence(BaseModel):
    """What the explainer may cite about a pick, and nothing else."""

    model_config = ConfigDict(frozen=True)

    features: list[FeatureContribution] = Field(default_factory=list,
                                                description="Top contributing features.")
    history: list[HistoryLink] = Field(default_factory=list,
                                       description="Closest history items, strongest first.")
    sources: list[str] = Field(default_factory=list,
                               description="Candidate sources that proposed it.")


class RankedItem(BaseModel):
    """One result of the ranker, after diversification and the constraint check."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    rank: int = Field(ge=1, description="1-based position in the final list.")
    score: float = Field(description="The ranker's score (before diversification).")
    evidence: Evidence = Field(default_factory=Evidence)
    match: Literal["exact", "close"] | None = Field(
        default=None, description="exact: it has every genre, tag and mood the request wants; "
                                  "close: it lacks some (see missing); None: none stated.")
    missing: list[str] = Field(default_factory=list,
                               description="What it lacks of the request, in words ('jazz').")


def mmr_order(relevance: np.ndarray, vectors: np.ndarray | None, k: int, lambda_: float
              ) -> np.ndarray:
    """Positions of the ``k`` picks, in order, by maximal marginal relevance.

    Args:
        relevance: Scores of the candidates (any scale; scaled to [0, 1] here).
        vectors: Unit item vectors, one row per candidate (``None``: no diversification).
        k: How many to pick (at most the number of candidates).
        lambda_: Weight of relevance in [0, 1]; 1 keeps the order of ``relevance``.

    Raises:
        ValueError: ``lambda_`` outside [0, 1], or vectors that do not match.
    """
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"the MMR lambda must lie in [0, 1], got {lambda_}")
    rel = np.asarray(relevance, dtype=np.float64)
    n = len(rel)
    k = min(int(k), n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if vectors is None or lambda_ >= 1.0:
        return np.argsort(-rel, kind="stable")[:k]
    v = np.asarray(vectors, dtype=np.float32)
    if v.shape[0] != n:
        raise ValueError(f"{n} candidates but {v.shape[0]} vectors")
    lo, hi = float(rel.min()), float(rel.max())
    r = (rel - lo) / (hi - lo) if hi > lo else np.zeros(n)
    max_sim = np.full(n, 0.0)
    picked = np.zeros(n, dtype=bool)
    order = []
    for step in range(k):
        gain = lambda_ * r - (1.0 - lambda_) * max_sim if step else r.copy()
        gain[picked] = -np.inf
        j = int(np.argmax(gain))
        order.append(j)
        picked[j] = True
        max_sim = np.maximum(max_sim, v @ v[j])
    return np.asarray(order, dtype=np.int64)


def mmr_rerank(relevance: np.ndarray, vectors: np.ndarray | None, head: int, lambda_: float
               ) -> np.ndarray:
    """A whole list's order: the first ``head`` places by :func:`mmr_order`, the rest in
    relevance order (stable). What the pipeline serves and what evaluation measures.

    Example:
        >>> v = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype="float32")
        >>> mmr_rerank(np.array([1.0, 0.9, 0.5, 0.4]), v, head=2, lambda_=0.5).tolist()
        [0, 2, 1, 3]
    """
    rel = np.asarray(relevance, dtype=np.float64)
    order = np.argsort(-rel, kind="stable")
    if vectors is None or lambda_ >= 1.0 or not len(rel):
        return order
    first = mmr_order(rel, vectors, head, lambda_)
    return np.concatenate([first, order[~np.isin(order, first)]])


def constraint_violations(item: Item, request: Request) -> list[str]:
    """The hard constraints of ``request`` that ``item`` breaks, in words (empty: none).

    Example:
        >>> from retrieval.request import Request
        >>> it = Item(id="x", title="X", media_type="movie", year=1980, genres=["horror"])
        >>> constraint_violations(it, Request(exclude_genres=["horror"], year_min=1990))
        ["genre 'horror' is excluded", 'year 1980 is before 1990']
    """
    out: list[str] = []
    media = item.media_type
    if request.media_types and media not in request.media_types:
        out.append(f"media type {media.value!r} was not asked for")
    if media in request.exclude_media_types:
        out.append(f"media type {media.value!r} is excluded")
    out += [f"genre {g!r} is excluded" for g in item.genres if g in request.exclude_genres]
    out += [f"tag {t!r} is excluded" for t in item.tags if t in request.exclude_tags]
    if request.year_min is not None or request.year_max is not None:
        if item.year is None:
            out.append("its year is unknown and a year range was asked for")
        else:
            if request.year_min is not None and item.year < request.year_min:
                out.append(f"year {item.year} is before {request.year_min}")
            if request.year_max is not None and item.year > request.year_max:
                out.append(f"year {item.year} is after {request.year_max}")
    if request.min_minutes is not None or request.max_minutes is not None:
        d = item.duration_min
        if d is None:
            out.append("its duration is unknown and a duration range was asked for")
        else:
            if request.min_minutes is not None and d < request.min_minutes:
                out.append(f"{d:g} minutes is shorter than {request.min_minutes}")
            if request.max_minutes is not None and d > request.max_minutes:
                out.append(f"{d:g} minutes is longer than {request.max_minutes}")
    if request.language is not None and item.language is not None \
            and item.language.lower() != request.language:
        out.append(f"language {item.language!r} is not {request.language!r}")
    if request.language is not None and item.language is None:
        out.append("its language is unknown and a language was asked for")
    if item.id in request.exclude_ids:
        out.append("it was excluded by id")
    return out


def satisfies(items: Sequence[Item], request: Request | None) -> np.ndarray:
    """``bool[len(items)]``: which items break none of the request's hard constraints."""
    if request is None or not request.hard_constraints():
        return np.ones(len(items), dtype=bool)
    return np.array([not constraint_violations(it, request) for it in items], dtype=bool)
