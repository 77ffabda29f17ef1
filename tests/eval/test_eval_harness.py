"""The harness: full ranking without known items, bounded batches, summaries, limits."""

from __future__ import annotations

import numpy as np
import pytest

from eval.harness import evaluate, make_targets, summarise, top_k
from eval.protocols import leave_one_out
from eval.systems import make_system
from retrieval.encoding import item_positions


class Oracle:
    """Scores each user's held-out items highest: the best any system can do."""

    def __init__(self, held_out, catalog) -> None:
        pos = item_positions(held_out, catalog)
        self.best = {}
        for u, p in zip(held_out.df["user_id"].astype(str), pos, strict=True):
            self.best.setdefault(u, []).append(int(p))
        self.fit_rows = None

    def fit(self, train, catalog) -> None:
        self.fit_rows = len(train)
        self.n = len(catalog)

    def score(self, user_ids, history):
        out = np.zeros((len(user_ids), self.n), dtype=np.float32)
        for r, u in enumerate(user_ids):
            out[r, self.best.get(u, [])] = 1.0
        return out


class KnownFirst:
    """Scores the user's own known items highest; the harness must still exclude them."""

    def fit(self, train, catalog) -> None:
        self.n = len(catalog)

    def score(self, user_ids, history):
        return history.toarray().astype(np.float32) * 100 + np.linspace(
            0, 1, self.n, dtype=np.float32
        )


@pytest.fixture()
def setup(make_catalog, random_log):
    catalog = make_catalog(30)
    log = random_log(50, 30, 6, seed=7)
    return catalog, leave_one_out(log, valid=True)


def test_top_k_orders_by_score_then_position() -> None:
    s = np.array([[0.5, 0.9, 0.5, -np.inf, 0.1]], dtype=np.float32)
    assert top_k(s, 5).tolist() == [[1, 0, 2, 4, -1]]
    assert top_k(s, 2).tolist() == [[1, 0]]
    assert top_k(s, 7).tolist() == [[1, 0, 2, 4, -1, -1, -1]]


def test_oracle_reaches_one_and_known_items_are_excluded(setup) -> None:
    catalog, split = setup
    res = evaluate(
        split,
        catalog,
        {"oracle": Oracle(split.test, catalog), "known": KnownFirst()},
        ["recall@1", "ndcg@5", "hit_rate@5", "mrr@5"],
        curve_ks=(),
        progress=False,
    )
    oracle = res.systems["oracle"].metrics
    for name in ("recall@1", "ndcg@5", "hit_rate@5", "mrr@5"):
        assert oracle[name].mean == pytest.approx(1.0)
    assert res.users == 50
    ranked = res.systems["known"].ranked
    fit_log = split.fit_data("test")
    targets = make_targets(fit_log, split.test, catalog)
    hist = targets.history.toarray() > 0
    assert not hist[np.arange(len(ranked))[:, None], ranked].any()


def test_validation_run_fits_on_train_only(setup) -> None:
    catalog, split = setup
    oracle = Oracle(split.valid, catalog)
    res = evaluate(
        split, catalog, {"oracle": oracle}, ["recall@1"], on="valid", curve_ks=(), progress=False
    )
    assert oracle.fit_rows == len(split.train)
    assert res.systems["oracle"].metrics["recall@1"].mean == 1.0
    evaluate(split, catalog, {"oracle": oracle}, ["recall@1"], curve_ks=(), progress=False)
    assert oracle.fit_rows == len(split.train) + len(split.valid)


def test_batches_do_not_change_the_numbers_and_reruns_agree(setup) -> None:
    catalog, split = setup
    metrics = [
        "ndcg@10",
        "recall@5",
        "coverage@10",
        "novelty@10",
        "diversity@10",
        "ndcg@5[sampled:7]",
    ]
    runs = [
        evaluate(
            split,
            catalog,
            {n: make_system(n) for n in ("random", "pop", "itemknn", "ease")},
            metrics,
            batch_size=b,
            progress=False,
        )
        for b in (1, 7, 512, 512)
    ]
    for name in runs[0].systems:
        for m in runs[0].metrics:
            values = {r.systems[name].metrics[m].mean for r in runs}
            assert len(values) == 1, (name, m, values)


def test_summary_is_mean_and_standard_error() -> None:
    v = np.array([0.0, 1.0, 1.0, np.nan])
    s = summarise(v)
    assert s.mean == pytest.approx(2 / 3)
    assert s.se == pytest.approx(np.std([0, 1, 1], ddof=1) / np.sqrt(3))
    assert s.n == 3
    assert summarise(0.25).se is None


def test_k_larger_than_the_catalog_is_a_clear_error(setup) -> None:
    catalog, split = setup
    with pytest.raises(
        ValueError, match="K larger than the catalog: ndcg@31 but the catalog has 30 items"
    ):
        evaluate(split, catalog, {"pop": make_system("pop")}, ["ndcg@31"], progress=False)


def test_curve_cut_offs_above_the_catalog_are_left_out(setup) -> None:
    catalog, split = setup
    res = evaluate(split, catalog, {"pop": make_system("pop")}, ["ndcg@10"], progress=False)
    assert res.curve_ks == [1, 5, 10, 20]


def test_cold_users_and_already_known_targets_are_counted(make_catalog, make_log) -> None:
    from eval.protocols import external_split

    catalog = make_catalog(5)
    train = make_log([("u", "1", 1), ("u", "2", 2), ("v", "3", 1)])
    test = make_log([("u", "2", 3), ("u", "4", 3), ("v", "3", 4), ("cold", "1", 5)])
    res = evaluate(
        external_split(train, test),
        catalog,
        {"pop": make_system("pop")},
        ["recall@2"],
        curve_ks=(),
        progress=False,
    )
    assert res.users == 1
    assert res.counts == {
        "held-out users without training history (not evaluated)": 1,
        "held-out interactions with items already in the user's history (dropped)": 2,
        "users whose held-out items were all in their history (not evaluated)": 1,
    }


def test_sampled_metrics_are_labelled_and_count_short_users(make_catalog, make_log) -> None:
    catalog = make_catalog(4)
    log = make_log([("u", "1", 1), ("u", "2", 2), ("v", "1", 1), ("v", "3", 2)])
    split = leave_one_out(log)
    res = evaluate(
        split,
        catalog,
        {"pop": make_system("pop")},
        ["recall@1", "recall@1[sampled:5]"],
        curve_ks=(),
        progress=False,
    )
    sr = res.systems["pop"]
    assert set(sr.metrics) == {"recall@1", "recall@1[sampled:5]"}
    assert "fewer than 5 unseen items" in next(iter(sr.counts))


def test_bad_scores_are_refused(setup) -> None:
    catalog, split = setup

    class Bad:
        def __init__(self, out) -> None:
            self.out = out

        def fit(self, train, catalog) -> None:
            pass

        def score(self, user_ids, history):
            return self.out(len(user_ids))

    with pytest.raises(ValueError, match="returned scores of shape"):
        evaluate(
            split, catalog, {"bad": Bad(lambda n: np.zeros((n, 3)))}, ["recall@1"], progress=False
        )
    with pytest.raises(ValueError, match="NaN"):
        evaluate(
            split,
            catalog,
            {"bad": Bad(lambda n: np.full((n, 30), np.nan))},
            ["recall@1"],
            progress=False,
        )


def test_explanation_metrics_are_not_ranking_metrics(setup) -> None:
    catalog, split = setup
    with pytest.raises(ValueError, match="explanations"):
        evaluate(split, catalog, {"pop": make_system("pop")}, ["ungrounded"], progress=False)


def test_memory_stays_bounded_by_the_batch(setup) -> None:
    catalog, split = setup
    seen = []

    class Spy:
        def fit(self, train, catalog) -> None:
            self.n = len(catalog)

        def score(self, user_ids, history):
            seen.append(len(user_ids))
            return np.zeros((len(user_ids), self.n), dtype=np.float32)

    evaluate(
        split, catalog, {"spy": Spy()}, ["recall@1"], batch_size=16, curve_ks=(), progress=False
    )
    assert max(seen) == 16 and sum(seen) == 50


def test_top_k_breaks_ties_at_the_boundary_by_position() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(50, 40)).astype(np.float32)  # many ties
    scores[rng.random((50, 40)) < 0.2] = -np.inf
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :7]
    expected[np.take_along_axis(scores, expected, axis=1) == -np.inf] = -1
    np.testing.assert_array_equal(top_k(scores, 7), expected)
