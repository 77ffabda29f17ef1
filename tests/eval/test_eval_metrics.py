"""Every metric against its formula, written out by hand, and at its limits."""

from __future__ import annotations

import numpy as np
import pytest

from eval.metrics import (
    MetricContext,
    Relevance,
    average_precision,
    coverage,
    diversity,
    evaluate_ranking,
    f1,
    hit_rate,
    item_popularity,
    mrr,
    ndcg,
    novelty,
    precision,
    recall,
)

L2 = np.log2

# User 0: relevant {1, 4, 7}, ranked [1, 2, 4, 5, 6]: hits at ranks 1 and 3.
# User 1: relevant {9}, ranked [0, 3, 9, 8, 2]: hit at rank 3.
RANKED = np.array([[1, 2, 4, 5, 6], [0, 3, 9, 8, 2]])
REL = Relevance.from_lists([[7, 4, 1], [9]])


def run(name: str) -> np.ndarray:
    return evaluate_ranking(RANKED, REL, [name])[name]


def test_hits_are_found_per_row() -> None:
    assert REL.hits(RANKED).tolist() == [
        [True, False, True, False, False],
        [False, False, True, False, False],
    ]


def test_recall_formula() -> None:
    np.testing.assert_allclose(run("recall@5"), [2 / 3, 1 / 1])
    np.testing.assert_allclose(run("recall@2"), [1 / 3, 0 / 1])


def test_precision_formula() -> None:
    np.testing.assert_allclose(run("precision@5"), [2 / 5, 1 / 5])
    np.testing.assert_allclose(run("precision@1"), [1 / 1, 0 / 1])


def test_f1_formula() -> None:
    p, r = 2 / 5, 2 / 3
    np.testing.assert_allclose(run("f1@5"), [2 * p * r / (p + r), 2 * (1 / 5) * 1 / (1 / 5 + 1)])


def test_ndcg_formula() -> None:
    idcg0 = 1 / L2(2) + 1 / L2(3) + 1 / L2(4)  # three relevant items, all fit in the top 5
    expected0 = (1 / L2(2) + 1 / L2(4)) / idcg0
    expected1 = (1 / L2(4)) / (1 / L2(2))
    np.testing.assert_allclose(run("ndcg@5"), [expected0, expected1])


def test_ndcg_ideal_is_cut_at_k() -> None:
    # Three relevant items but k = 2: the ideal DCG has two terms.
    np.testing.assert_allclose(run("ndcg@2")[0], (1 / L2(2)) / (1 / L2(2) + 1 / L2(3)))


def test_mrr_formula() -> None:
    np.testing.assert_allclose(run("mrr@5"), [1 / 1, 1 / 3])
    np.testing.assert_allclose(run("mrr@2"), [1 / 1, 0.0])


def test_hit_rate_formula() -> None:
    np.testing.assert_allclose(run("hit_rate@5"), [1.0, 1.0])
    np.testing.assert_allclose(run("hit_rate@2"), [1.0, 0.0])


def test_map_formula() -> None:
    np.testing.assert_allclose(run("map@5"), [(1 / 1 + 2 / 3) / 3, (1 / 3) / 1])


@pytest.mark.parametrize("fn", [recall, precision, f1, ndcg, mrr, hit_rate, average_precision])
def test_no_hit_gives_zero(fn) -> None:
    hits = np.zeros((3, 10), dtype=bool)
    assert fn(hits, np.array([1, 4, 10]), 10).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("fn", [recall, ndcg, mrr, hit_rate, average_precision])
def test_perfect_ranking_gives_one(fn) -> None:
    # n relevant items ranked first, with k >= n.
    n_rel = np.array([1, 3, 5])
    hits = np.arange(5)[None, :] < n_rel[:, None]
    np.testing.assert_allclose(fn(hits, n_rel, 5), [1.0, 1.0, 1.0])


def test_perfect_precision_and_f1_need_k_relevant_items() -> None:
    hits = np.ones((1, 4), dtype=bool)
    assert precision(hits, np.array([4]), 4).tolist() == [1.0]
    assert f1(hits, np.array([4]), 4).tolist() == [1.0]


def test_user_without_relevant_items_scores_zero() -> None:
    hits = np.zeros((1, 3), dtype=bool)
    for fn in (recall, ndcg, average_precision, f1):
        assert fn(hits, np.array([0]), 3).tolist() == [0.0]


def test_padding_never_hits_and_short_lists_are_padded() -> None:
    ranked = np.array([[3, -1, -1]])
    rel = Relevance.from_lists([[3, 5]])
    out = evaluate_ranking(ranked, rel, ["recall@10", "precision@10"])
    assert out["recall@10"].tolist() == [0.5]
    assert out["precision@10"].tolist() == [0.1]


def test_k_above_the_hit_matrix_is_an_error() -> None:
    with pytest.raises(ValueError, match="pad short rankings"):
        recall(np.zeros((1, 3), dtype=bool), np.array([1]), 5)


def test_ranked_matrix_is_validated() -> None:
    with pytest.raises(ValueError, match="2-D"):
        REL.hits(np.array([1, 2]))
    with pytest.raises(ValueError, match="rows"):
        REL.hits(np.array([[1, 2]]))
    with pytest.raises(ValueError, match="-1"):
        REL.hits(np.array([[1, -2], [0, 0]]))


def test_relevance_from_pairs_sorts_and_deduplicates() -> None:
    rel = Relevance.from_pairs(np.array([1, 0, 1, 1]), np.array([5, 2, 3, 5]), 3)
    assert [rel.row(u).tolist() for u in range(3)] == [[2], [3, 5], []]


def test_coverage_formula() -> None:
    ranked = np.array([[0, 1, 2], [2, 3, -1]])
    assert coverage(ranked, 3, 10) == 4 / 10
    assert coverage(ranked, 1, 10) == 2 / 10
    with pytest.raises(ValueError, match="catalog has 3"):
        coverage(ranked, 3, 3)


def test_novelty_formula() -> None:
    pop = item_popularity(np.array([9, 4, 0]), 9)  # (c + 1) / 10
    np.testing.assert_allclose(pop, [1.0, 0.5, 0.1])
    ranked = np.array([[1, 2], [0, -1], [-1, -1]])
    out = novelty(ranked, 2, pop)
    np.testing.assert_allclose(out[:2], [(-L2(0.5) - L2(0.1)) / 2, 0.0])
    assert np.isnan(out[2])


def test_diversity_formula() -> None:
    feats = np.array([[1.0, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]])
    cos01 = 1 / np.sqrt(2)
    ranked = np.array([[0, 1, 2], [0, 1, -1], [3, 2, -1], [0, -1, -1]])
    out = diversity(ranked, 3, feats)
    np.testing.assert_allclose(out[:3], [1 - (cos01 + 0 + 0) / 3, 1 - cos01, 1.0])
    assert np.isnan(out[3])


def test_diversity_matches_brute_force_on_random_lists() -> None:
    rng = np.random.default_rng(0)
    feats = (rng.random((30, 8)) < 0.3).astype(float)
    ranked = np.stack([rng.choice(30, size=6, replace=False) for _ in range(20)])
    norm = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-300)
    brute = []
    for row in ranked:
        sims = [norm[a] @ norm[b] for i, a in enumerate(row) for b in row[i + 1 :]]
        brute.append(1 - np.mean(sims))
    np.testing.assert_allclose(diversity(ranked, 6, feats), brute)


def test_beyond_accuracy_metrics_need_their_context() -> None:
    with pytest.raises(ValueError, match="MetricContext"):
        evaluate_ranking(RANKED, REL, ["coverage@5"])
    with pytest.raises(ValueError, match="popularity"):
        evaluate_ranking(RANKED, REL, ["novelty@5"], MetricContext(n_items=10))
    out = evaluate_ranking(RANKED, REL, ["coverage@5"], MetricContext(n_items=10))
    assert out["coverage@5"] == 9 / 10


def test_sampled_names_are_refused_on_a_plain_ranking() -> None:
    with pytest.raises(ValueError, match="sampled"):
        evaluate_ranking(RANKED, REL, ["ndcg@5[sampled:10]"])
