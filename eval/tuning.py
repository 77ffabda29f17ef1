"""Choosing hyper-parameters on the validation split, never on the test split.

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.interactions import Interactions
    >>> from retrieval.models import Interaction, Item
    >>> from eval.protocols import leave_one_out
    >>> cat = Catalog([Item(id=i, title=i, media_type="movie") for i in "abcd"])
    >>> log = Interactions.from_records(
    ...     Interaction(user_id=u, item_id=i, timestamp=t)
    ...     for u, items in [("1", "abc"), ("2", "abd"), ("3", "bcd")] for t, i in enumerate(items))
    >>> best = grid_search("ease", {"l2": [1.0, 10.0]}, leave_one_out(log, valid=True), cat,
    ...                    metric="hit_rate@2", progress=False)
    >>> sorted(best.params), len(best.trials)
    (['l2'], 2)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eval.harness import evaluate
from eval.metrics import parse_metric
from eval.protocols import Split
from eval.systems import make_system
from retrieval.catalog import Catalog

__all__ = ["TuningResult", "grid_search"]


@dataclass(frozen=True)
class TuningResult:
    """The best parameters by validation ``metric``, and every trial as (params, mean, se)."""

    system: str
    metric: str
    params: dict[str, Any]
    value: float
    trials: list[tuple[dict[str, Any], float, float | None]]


def grid_search(
    system: str,
    grid: Mapping[str, Sequence[Any]],
    split: Split,
    catalog: Catalog,
    *,
    metric: str = "ndcg@10",
    seed: int = 0,
    progress: bool = True,
) -> TuningResult:
    """Fit ``system`` with every combination in ``grid`` on ``split.train`` and score it
    on ``split.valid``; the test part is not touched. Ties go to the earlier combination.

    Raises:
        ValueError: when the split has no validation part, or the grid is empty.
    """
    spec = parse_metric(metric)
    if len(split.valid) == 0:
        raise ValueError(
            "tuning needs a validation split; make the split with valid=True (CLI: --valid)"
        )
    keys = list(grid)
    combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]
    if not combos:
        raise ValueError("the grid is empty; give at least one value per parameter")
    trials: list[tuple[dict[str, Any], float, float | None]] = []
    for params in combos:
        res = evaluate(
            split,
            catalog,
            {system: make_system(system, **params)},
            [spec],
            on="valid",
            curve_ks=(),
            seed=seed,
            progress=progress,
        )
        summary = res.systems[system].metrics[str(spec)]
        trials.append((params, summary.mean, summary.se))
    best = max(range(len(trials)), key=lambda i: (trials[i][1], -i))
    return TuningResult(system, str(spec), trials[best][0], trials[best][1], trials)
