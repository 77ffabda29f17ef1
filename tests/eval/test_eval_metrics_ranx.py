"""Cross-check against an independent implementation: ranx, on random runs.

ranx JIT-compiles its metrics with numba on first use (about a minute on a fresh
environment, cached afterwards), so every metric is checked in one ``evaluate`` call.
"""

from __future__ import annotations

import numpy as np
import pytest

from eval.metrics import Relevance, evaluate_ranking

ranx = pytest.importorskip("ranx")

NAMES = ["recall", "precision", "f1", "ndcg", "mrr", "hit_rate", "map"]
KS = [1, 3, 10, 25]


def _random_run(seed: int, n_users: int = 200, n_items: int = 60, depth: int = 25):
    rng = np.random.default_rng(seed)
    ranked = np.stack([rng.permutation(n_items)[:depth] for _ in range(n_users)])
    # 1 to 12 relevant items per user, some of them outside the ranked list.
    rel = [
        rng.choice(n_items, size=int(rng.integers(1, 13)), replace=False) for _ in range(n_users)
    ]
    return ranked, rel


@pytest.mark.parametrize("seed", [0, 1])
def test_every_accuracy_metric_matches_ranx(seed: int) -> None:
    ranked, rel = _random_run(seed)
    qrels = ranx.Qrels({f"u{u}": {f"i{i}": 1 for i in r} for u, r in enumerate(rel)})
    run = ranx.Run(
        {
            f"u{u}": {f"i{i}": float(len(row) - pos) for pos, i in enumerate(row)}
            for u, row in enumerate(ranked)
        }
    )
    names = [f"{n}@{k}" for n in NAMES for k in KS]
    theirs = ranx.evaluate(qrels, run, names, make_comparable=True, return_mean=False)
    ours = evaluate_ranking(ranked, Relevance.from_lists(rel), names)
    for name in names:
        # ranx returns per-query scores in its own (sorted) query order.
        order = sorted(range(len(rel)), key=lambda u: f"u{u}")
        np.testing.assert_allclose(
            ours[name][order], np.asarray(theirs[name]), rtol=1e-9, atol=1e-12, err_msg=name
        )
