"""Ranking metrics over a matrix of ranked item positions, vectorised with NumPy.

One metric per file; names such as ``ndcg@10`` are parsed only by :func:`parse_metric`.
:func:`evaluate_ranking` computes any list of them at once.

Example:
    >>> ranked = np.array([[2, 0, 1], [1, 2, 0]])
    >>> rel = Relevance.from_lists([[0], [0, 2]])
    >>> out = evaluate_ranking(ranked, rel, ["recall@2", "mrr@3", "coverage@1"],
    ...                        MetricContext(n_items=3))
    >>> out["recall@2"].tolist(), out["mrr@3"].tolist(), out["coverage@1"]
    ([1.0, 0.5], [0.5, 0.5], 0.6666666666666666)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from eval.metrics.average_precision import average_precision
from eval.metrics.coverage import coverage
from eval.metrics.diversity import diversity, normalise_rows
from eval.metrics.f1 import f1
from eval.metrics.grounding import find_mentions, ungrounded_per_explanation, ungrounded_rate
from eval.metrics.hit_rate import hit_rate
from eval.metrics.mrr import mrr
from eval.metrics.names import (
    ACCURACY,
    BEYOND_ACCURACY,
    METRIC_NAMES,
    MetricSpec,
    parse_metric,
    parse_metrics,
)
from eval.metrics.ndcg import ndcg
from eval.metrics.novelty import item_popularity, novelty
from eval.metrics.precision import precision
from eval.metrics.recall import recall
from eval.metrics.relevance import Relevance, check_ranked

__all__ = [
    "ACCURACY",
    "ACCURACY_FUNCTIONS",
    "BEYOND_ACCURACY",
    "METRIC_NAMES",
    "MetricContext",
    "MetricSpec",
    "Relevance",
    "average_precision",
    "coverage",
    "diversity",
    "evaluate_ranking",
    "f1",
    "find_mentions",
    "hit_rate",
    "item_popularity",
    "mrr",
    "ndcg",
    "normalise_rows",
    "novelty",
    "parse_metric",
    "parse_metrics",
    "precision",
    "recall",
    "ungrounded_per_explanation",
    "ungrounded_rate",
]

AccuracyMetric = Callable[[np.ndarray, np.ndarray, int], np.ndarray]

ACCURACY_FUNCTIONS: dict[str, AccuracyMetric] = {
    "recall": recall,
    "precision": precision,
    "f1": f1,
    "ndcg": ndcg,
    "mrr": mrr,
    "hit_rate": hit_rate,
    "map": average_precision,
}


@dataclass(frozen=True)
class MetricContext:
    """What the beyond-accuracy metrics need besides the ranking.

    Attributes:
        n_items: Catalog size (coverage).
        popularity: ``float[n_items]`` from :func:`item_popularity` (novelty).
        features: ``[n_items, d]`` item descriptors, e.g. genre and tag indicators (diversity).
    """

    n_items: int
    popularity: np.ndarray | None = None
    features: np.ndarray | sparse.spmatrix | None = None


def evaluate_ranking(
    ranked: np.ndarray,
    relevance: Relevance,
    metrics: Sequence[str | MetricSpec],
    context: MetricContext | None = None,
) -> dict[str, np.ndarray | float]:
    """Compute ``metrics`` for one ranking.

    Args:
        ranked: ``int[n_users, K]`` item positions, best first; ``-1`` pads short lists
            (lists shorter than a metric's cut-off are padded automatically).
        relevance: The relevant items of the same users, row for row.
        metrics: Names (``"ndcg@10"``) or parsed specs; sampled variants are not accepted
            here (rank against the sampled candidates first, then pass the plain names).
        context: Needed by coverage, novelty and diversity.

    Returns:
        ``{name: float64[n_users]}`` for per-user metrics (NaN where undefined, e.g. the
        diversity of a one-item list), and ``{name: float}`` for coverage.
    """
    specs = [parse_metric(m) for m in metrics]
    ranked = check_ranked(ranked, relevance.n_users)
    widest = max((s.k or 0) for s in specs) if specs else 0
    if ranked.shape[1] < widest:
        pad = np.full((ranked.shape[0], widest - ranked.shape[1]), -1, dtype=np.int64)
        ranked = np.hstack([ranked, pad])
    hits: np.ndarray | None = None  # computed on the first accuracy metric
    n_rel = relevance.counts()
    out: dict[str, np.ndarray | float] = {}
    for spec in specs:
        if spec.sampled is not None:
            raise ValueError(
                f"{spec} is a sampled-negative metric: rank each user's items "
                f"against the sampled candidates, then evaluate {spec.full}"
            )
        if spec.kind == "explanation":
            raise ValueError(
                f"{spec} is about explanations, not rankings; use eval.metrics.ungrounded_rate"
            )
        assert spec.k is not None  # every ranking metric has a cut-off (parse_metric)
        if spec.kind == "accuracy":
            if hits is None:
                hits = relevance.hits(ranked)
            out[str(spec)] = ACCURACY_FUNCTIONS[spec.name](hits, n_rel, spec.k)
            continue
        if context is None:
            raise ValueError(f"{spec} needs a MetricContext (catalog size, popularity, features)")
        if spec.name == "coverage":
            out[str(spec)] = coverage(ranked, spec.k, context.n_items)
        elif spec.name == "novelty":
            if context.popularity is None:
                raise ValueError(f"{spec} needs item popularity in the MetricContext")
            out[str(spec)] = novelty(ranked, spec.k, context.popularity)
        elif spec.name == "diversity":
            if context.features is None:
                raise ValueError(f"{spec} needs item features in the MetricContext")
            out[str(spec)] = diversity(ranked, spec.k, context.features)
    return out
