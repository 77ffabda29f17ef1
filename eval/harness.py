"""Running systems over a split: full ranking over the catalog, the user's known items
excluded, users in bounded batches, and a mean with its standard error per metric.

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.models import Interaction, Item
    >>> from eval.protocols import leave_one_out
    >>> from eval.systems import make_system
    >>> cat = Catalog([Item(id=i, title=i, media_type="movie") for i in "abcd"])
    >>> rows = [("1", "a", 1), ("1", "b", 2), ("2", "a", 1), ("2", "b", 2), ("3", "a", 1),
    ...         ("3", "c", 2)]
    >>> log = Interactions.from_records(
    ...     [Interaction(user_id=u, item_id=i, timestamp=t) for u, i, t in rows])
    >>> result = evaluate(leave_one_out(log), cat, {"pop": make_system("pop")}, ["hit_rate@1"],
    ...                   curve_ks=(), progress=False)
    >>> result.users, result.systems["pop"].metrics["hit_rate@1"].mean  # b (2 users) beats c, d
    (3, 0.6666666666666666)
"""

from __future__ import annotations

import sys
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse

from eval.metrics import (
    MetricContext,
    MetricSpec,
    Relevance,
    evaluate_ranking,
    item_popularity,
    parse_metric,
)
from eval.protocols import Split
from eval.systems import Recommender
from retrieval.catalog import Catalog
from retrieval.encoding import item_features, item_positions, user_item_matrix
from retrieval.interactions import Interactions

if TYPE_CHECKING:
    from eval.conversational.runner import RequestSuite

__all__ = [
    "DEFAULT_CURVE_KS",
    "DEFAULT_METRICS",
    "EvalResult",
    "MetricSummary",
    "SystemResult",
    "Targets",
    "evaluate",
    "evaluate_system",
    "make_targets",
    "summarise",
    "top_k",
]

DEFAULT_METRICS: tuple[str, ...] = (
    "ndcg@10",
    "recall@10",
    "recall@20",
    "precision@10",
    "f1@10",
    "mrr@10",
    "hit_rate@10",
    "map@10",
    "coverage@10",
    "novelty@10",
    "diversity@10",
)
DEFAULT_CURVE_KS: tuple[int, ...] = (1, 5, 10, 20, 50, 100)


@dataclass(frozen=True)
class MetricSummary:
    """Mean over users, its standard error (``None`` for run-level numbers such as
    coverage), and how many users it is over."""

    mean: float
    se: float | None
    n: int


@dataclass
class SystemResult:
    """One system's numbers on one split."""

    name: str
    metrics: dict[str, MetricSummary]
    per_user: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    ranked: np.ndarray | None = field(repr=False, default=None)
    fit_seconds: float = 0.0
    score_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class EvalResult:
    """Everything a report needs: what was evaluated, on what, and the numbers."""

    dataset: str
    protocol: str
    description: str
    on: str
    users: int
    n_items: int
    metrics: list[str]
    curve_ks: list[int]
    systems: dict[str, SystemResult]
    counts: dict[str, int] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    requests: RequestSuite | None = None


@dataclass(frozen=True)
class Targets:
    """The users to evaluate, their known items (to exclude and to score from), and their
    held-out relevant items, row for row."""

    user_ids: list[str]
    history: sparse.csr_matrix
    relevance: Relevance
    counts: dict[str, int]


def make_targets(fit_log: Interactions, target_log: Interactions, catalog: Catalog) -> Targets:
    """Pair each held-out user with their history in ``fit_log``.

    Held-out items already in the user's history are dropped (a full ranking excludes them,
    so they could never be hit); users left with nothing, and users with no history at all,
    are not evaluated. Both are counted.
    """
    counts: dict[str, int] = {}
    tdf = target_log.df
    users = list(pd.unique(tdf["user_id"].astype(str)))
    known = set(pd.unique(fit_log.df["user_id"].astype(str))) if len(fit_log) else set()
    cold = [u for u in users if u not in known]
    if cold:
        counts["held-out users without training history (not evaluated)"] = len(cold)
    users = [u for u in users if u in known]
    history = user_item_matrix(fit_log, users, catalog)
    user_index = pd.Index(users)
    rows = user_index.get_indexer(tdf["user_id"].astype(str))
    items = item_positions(target_log, catalog, what="held-out log")
    keep = rows >= 0
    rows, items = rows[keep], items[keep]
    seen = np.asarray(history[rows, items]).ravel() > 0 if rows.size else np.zeros(0, dtype=bool)
    if seen.any():
        counts["held-out interactions with items already in the user's history (dropped)"] = int(
            seen.sum()
        )
    rows, items = rows[~seen], items[~seen]
    relevance = Relevance.from_pairs(rows, items, len(users))
    empty = relevance.counts() == 0
    if empty.any():
        counts["users whose held-out items were all in their history (not evaluated)"] = int(
            empty.sum()
        )
        keep_rows = np.flatnonzero(~empty)
        users = [users[i] for i in keep_rows]
        history = history[keep_rows]
        relevance = relevance.subset(keep_rows)
    return Targets(users, history.tocsr(), relevance, counts)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """``int64[n, k]``: the positions of each row's ``k`` highest scores, best first, ties
    broken by the lower position; ``-inf`` scores are never ranked (``-1`` instead).

    Example:
        >>> top_k(np.array([[0.1, 0.9, 0.9, -np.inf]], dtype=np.float32), 4).tolist()
        [[1, 2, 0, -1]]
    """
    n, m = scores.shape
    k_eff = min(k, m)
    if n == 0 or k_eff == 0:
        return np.full((n, k), -1, dtype=np.int64)
    # The k-th largest score per row; everything at or above it is a candidate, and a
    # stable sort of the candidates puts ties in position order, exactly.
    kth = np.partition(scores, m - k_eff, axis=1)[:, m - k_eff]
    key = np.where(scores >= kth[:, None], -scores, np.inf)
    ranked = np.argsort(key, axis=1, kind="stable")[:, :k_eff].astype(np.int64)
    ranked[np.take_along_axis(scores, ranked, axis=1) == -np.inf] = -1
    if k_eff < k:
        ranked = np.hstack([ranked, np.full((n, k - k_eff), -1, dtype=np.int64)])
    return ranked


def summarise(values: np.ndarray | float) -> MetricSummary:
    """Mean and standard error (``std(ddof=1) / sqrt(n)``) over the defined values."""
    if np.ndim(values) == 0:
        return MetricSummary(float(values), None, 1)
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return MetricSummary(float("nan"), None, 0)
    se = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else None
    return MetricSummary(float(v.mean()), se, int(v.size))


def _user_rng(seed: int, user: str, salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, salt, zlib.crc32(user.encode("utf-8"))])


def _sample_candidates(
    users: Sequence[str], known: np.ndarray, relevant: np.ndarray, n_neg: int, seed: int
) -> tuple[np.ndarray, int]:
    """Boolean candidate mask: the relevant items plus ``n_neg`` items drawn uniformly
    (seeded per user) from those neither known nor relevant; and how many users had fewer
    than ``n_neg`` to draw from."""
    n, m = known.shape
    prio = np.empty((n, m), dtype=np.float64)
    for row, user in enumerate(users):
        prio[row] = _user_rng(seed, user, 1).random(m)
    prio[known | relevant] = np.inf
    available = (~(known | relevant)).sum(axis=1)
    take = min(n_neg, m)
    chosen = (
        np.argpartition(prio, take - 1, axis=1)[:, :take]
        if take < m
        else np.broadcast_to(np.arange(m), (n, m))
    )
    mask = np.zeros((n, m), dtype=bool)
    np.put_along_axis(mask, chosen, True, axis=1)
    mask &= ~(known | relevant)
    return mask | relevant, int((available < n_neg).sum())


def _score_batch(system: Recommender, name: str, targets: Targets, start: int, stop: int,
                 n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """The scores of users ``start:stop`` (known items at ``-inf``) and their known items."""
    ids = targets.user_ids[start:stop]
    hist = targets.history[start:stop]
    scores = np.asarray(system.score(ids, hist))
    if scores.shape != (stop - start, n_items):
        raise ValueError(
            f"system {name!r} returned scores of shape {scores.shape}; expected "
            f"({stop - start}, {n_items}): one row per user, one column per "
            "catalog item"
        )
    if np.isnan(scores).any():
        raise ValueError(
            f"system {name!r} returned NaN scores; return -inf for items it "
            "must never recommend"
        )
    known = hist.toarray() > 0
    return np.where(known, -np.inf, scores.astype(np.float32, copy=False)), known


def _metric_values(specs: list[MetricSpec], ranked: np.ndarray,
                   ranked_sampled: dict[int, np.ndarray], relevance: Relevance,
                   context: MetricContext | None) -> dict[str, np.ndarray | float]:
    """Each metric's per-user values (or its one value), full ranking and sampled variants."""
    values: dict[str, np.ndarray | float] = {}
    full = [s for s in specs if s.sampled is None]
    if full:
        values.update(evaluate_ranking(ranked, relevance, full, context))
    for n_neg in ranked_sampled:
        group = [s for s in specs if s.sampled == n_neg]
        got = evaluate_ranking(ranked_sampled[n_neg], relevance, [s.full for s in group])
        values.update({str(s): got[str(s.full)] for s in group})
    return values


def evaluate_system(
    system: Recommender,
    name: str,
    fit_log: Interactions,
    catalog: Catalog,
    targets: Targets,
    metrics: Sequence[str | MetricSpec],
    *,
    context: MetricContext | None = None,
    batch_size: int = 512,
    seed: int = 0,
    progress: bool = True,
) -> SystemResult:
    """Fit ``system`` on ``fit_log`` and evaluate it on ``targets``.

    Users are scored ``batch_size`` at a time, so memory stays at a few
    ``batch_size x n_items`` arrays whatever the number of users.
    """
    from tqdm.auto import tqdm

    specs = [parse_metric(m) for m in metrics]
    n_items = len(catalog)
    sampled_ns = sorted({s.sampled for s in specs if s.sampled is not None})
    k_max = max([s.k or 1 for s in specs] + [1])
    t0 = time.perf_counter()
    system.fit(fit_log, catalog)
    fit_seconds = time.perf_counter() - t0

    n_users = len(targets.user_ids)
    ranked = np.full((n_users, k_max), -1, dtype=np.int64)
    ranked_sampled = {n: np.full((n_users, k_max), -1, dtype=np.int64) for n in sampled_ns}
    short = dict.fromkeys(sampled_ns, 0)
    t0 = time.perf_counter()
    starts = range(0, n_users, batch_size)
    bar = tqdm(
        starts,
        desc=f"{name}: ranking {n_users} users",
        unit="batch",
        file=sys.stderr,
        disable=None if progress else True,
        leave=False,
    )
    for start in bar:
        stop = min(start + batch_size, n_users)
        scores, known = _score_batch(system, name, targets, start, stop, n_items)
        ranked[start:stop] = top_k(scores, k_max)
        if sampled_ns:
            rel = np.zeros_like(known)
            sub = targets.relevance
            for row in range(start, stop):
                rel[row - start, sub.row(row)] = True
            for n_neg in sampled_ns:
                cand, n_short = _sample_candidates(targets.user_ids[start:stop], known, rel,
                                                   n_neg, seed)
                short[n_neg] += n_short
                ranked_sampled[n_neg][start:stop] = top_k(np.where(cand, scores, -np.inf), k_max)
    score_seconds = time.perf_counter() - t0

    values = _metric_values(specs, ranked, ranked_sampled, targets.relevance, context)
    order = [str(s) for s in specs]
    result = SystemResult(
        name=name,
        metrics={k: summarise(values[k]) for k in order},
        per_user={k: v for k, v in values.items() if isinstance(v, np.ndarray) and v.ndim == 1},
        ranked=ranked,
        fit_seconds=fit_seconds,
        score_seconds=score_seconds,
        counts={
            f"users with fewer than {n} unseen items to sample as negatives (all used)": c
            for n, c in short.items()
            if c
        },
    )
    return result


def _check_ranking_metrics(specs: list[MetricSpec], n_items: int) -> None:
    """Refuse metrics a ranking cannot be scored on: K above the catalog, explanations."""
    too_big = [str(s) for s in specs if s.k is not None and s.k > n_items]
    if too_big:
        raise ValueError(
            f"K larger than the catalog: {', '.join(too_big)} but the catalog has "
            f"{n_items} items; use a cut-off of at most {n_items}"
        )
    explain = [str(s) for s in specs if s.kind == "explanation"]
    if explain:
        raise ValueError(
            f"{', '.join(explain)} measures explanations, not rankings; it is "
            "computed by the conversational suite"
        )


def _metric_context(fit_log: Interactions, catalog: Catalog) -> MetricContext:
    """What beyond-accuracy metrics read: item popularity in ``fit_log`` and item features."""
    train_users = fit_log.n_users
    user_counts = np.asarray(
        user_item_matrix(fit_log, fit_log.users(), catalog).sum(axis=0)
    ).ravel()
    return MetricContext(
        n_items=len(catalog),
        popularity=item_popularity(user_counts, train_users),
        features=item_features(catalog),
    )


def evaluate(
    split: Split,
    catalog: Catalog,
    systems: Mapping[str, Recommender],
    metrics: Sequence[str | MetricSpec] = DEFAULT_METRICS,
    *,
    on: str = "test",
    curve_ks: Sequence[int] = DEFAULT_CURVE_KS,
    batch_size: int = 512,
    seed: int = 0,
    dataset: str = "",
    progress: bool = True,
) -> EvalResult:
    """Evaluate every system on ``split`` (its ``test`` part, or ``valid`` for tuning).

    Each system is fitted on :meth:`Split.fit_data` only, then ranks the whole catalog
    minus each user's known items.

    Args:
        metrics: Metric names (``ndcg@10``; ``recall@10[sampled:100]`` for the labelled
            sampled-negative variant).
        curve_ks: Cut-offs for the Recall@K curve; those above the catalog size are left out.

    Raises:
        ValueError: when a metric's K exceeds the catalog, or nobody can be evaluated.
    """
    specs = [parse_metric(m) for m in metrics]
    n_items = len(catalog)
    _check_ranking_metrics(specs, n_items)
    ks = sorted({int(k) for k in curve_ks if 0 < int(k) <= n_items})
    curve = [MetricSpec("recall", k) for k in ks]
    all_specs = list(dict.fromkeys(specs + curve))
    fit_log = split.fit_data(on)
    targets = make_targets(fit_log, split.target(on), catalog)
    if not targets.user_ids:
        raise ValueError(
            "no user can be evaluated: every held-out user lacks a training "
            "history or held-out items outside it (see the split's counts)"
        )
    context = _metric_context(fit_log, catalog)
    results = {}
    for name, system in systems.items():
        results[name] = evaluate_system(
            system,
            name,
            fit_log,
            catalog,
            targets,
            all_specs,
            context=context,
            batch_size=batch_size,
            seed=seed,
            progress=progress,
        )
    counts = dict(split.counts)
    counts.update(targets.counts)
    return EvalResult(
        dataset=dataset,
        protocol=split.protocol,
        description=split.description,
        on=on,
        users=len(targets.user_ids),
        n_items=n_items,
        metrics=[str(s) for s in specs],
        curve_ks=ks,
        systems=results,
        counts=counts,
        settings={
            "seed": seed,
            "batch_size": batch_size,
            "train_interactions": len(fit_log),
            "held_out_interactions": len(split.target(on)),
        },
    )
