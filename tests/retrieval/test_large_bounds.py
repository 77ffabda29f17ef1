"""What keeps a million-item build bounded, on tiny data: the training lists' user sample
(``training.max_queries``), the ALS top-items index (``stats.mf_index_above``) and the
exact collaborative top-k scored in blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from retrieval.collaborative.factors import ItemFactors, build_factor_index, fit_als
from retrieval.config import PipelineConfig, TrainingListsConfig
from retrieval.interactions import Interactions


def _log(n_users: int = 40, per_user: int = 6) -> Interactions:
    rows = [{"user_id": f"u{u:03d}", "item_id": f"i{(u * 7 + k) % 50}",
             "timestamp": 1_700_000_000 + 100 * u + k, "event": "play", "value": 1.0}
            for u in range(n_users) for k in range(per_user)]
    return Interactions(pd.DataFrame(rows))


def test_sample_users_keeps_whole_logs_of_a_seeded_sample() -> None:
    from retrieval.train_ranker import sample_users

    log = _log()
    config = TrainingListsConfig(cuts=2, max_queries=20)  # 10 users of 40
    sub, rows = sample_users(log, config)
    assert rows is not None and sub.n_users == 10
    assert len(sub) == 10 * 6  # every row of each chosen user
    assert (sub.df["user_id"].to_numpy() == log.df["user_id"].to_numpy()[rows]).all()
    again, rows2 = sample_users(log, config)
    assert rows2 is not None and (rows == rows2).all()  # seeded
    other, _ = sample_users(log, config.model_copy(update={"seed": 1}))
    assert set(other.df["user_id"]) != set(sub.df["user_id"])
    # Under the cap, or without one: the whole log.
    assert sample_users(log, TrainingListsConfig(cuts=2, max_queries=80))[1] is None
    assert sample_users(log, TrainingListsConfig(max_queries=None))[1] is None


def test_training_lists_stay_within_the_query_cap() -> None:
    from retrieval.train_ranker import _queries

    log = _log()
    config = TrainingListsConfig(cuts=2, max_queries=20)
    queries, keep, counts = _queries(log, config, None)
    users = {q.user for q in queries}
    assert len(users) == 10 and len(queries) <= 20
    # The statistics still see every row of the users left out, and hide the held-out
    # rows of the sampled ones only.
    hidden = log.df["user_id"][~keep]
    assert set(hidden) <= users and len(hidden) == 10 * 2
    assert counts["users sampled for the training lists (max_queries)"] == 10
    full, keep_all, _ = _queries(log, TrainingListsConfig(cuts=2, max_queries=None), None)
    assert len({q.user for q in full}) == 40 and (~keep_all).sum() == 40 * 2


def _factors(n_items: int = 300, n_users: int = 200) -> ItemFactors:
    x = sparse.random(n_users, n_items, density=0.05, random_state=1, format="csc",
                      dtype=np.float32)
    x.data[:] = 1.0
    x = x[:, : n_items - 5]  # the last 5 never consumed: zero factors, left out of the index
    x = sparse.hstack([x, sparse.csc_matrix((n_users, 5), dtype=np.float32)])
    return fit_als(sparse.csr_matrix(x), factors=8, iterations=3, index_above=0)


def test_factor_index_finds_the_exact_top_items_when_it_probes_every_list(tmp_path) -> None:
    mf = _factors()
    assert mf.index is not None
    mf.index.nprobe = mf.index.nlist  # every list: the exact inner-product top
    users = mf.user_vectors([np.array([0, 1, 2]), np.array([10, 20])])
    rows, scores = mf.top(users, 10)
    exact = users @ np.asarray(mf.items).T
    for u in range(2):
        want = np.argsort(-exact[u], kind="stable")[:10]
        np.testing.assert_allclose(scores[u], exact[u][want], rtol=1e-5)
        assert set(rows[u].tolist()) == set(want.tolist())
    assert not set(rows.ravel().tolist()) & set(range(295, 300))  # zero rows are not indexed
    # Saved and loaded (memory-mapped), the default probes give a subset of the catalog's
    # best, in score order.
    sizes = mf.save(tmp_path)
    assert "mf_index.faiss" in sizes
    back = ItemFactors.load(tmp_path, regularization=mf.regularization, alpha=mf.alpha)
    assert back.index is not None and 1 <= back.index.nprobe <= back.index.nlist
    got_rows, got_scores = back.top(users, 10)
    assert (np.diff(got_scores, axis=1) <= 1e-6).all()


def test_no_index_below_the_threshold_and_a_clear_error() -> None:
    x = sparse.csr_matrix(np.eye(6, dtype=np.float32))
    mf = fit_als(x, factors=2, iterations=1)  # 6 items: far below index_above
    assert mf.index is None
    with pytest.raises(ValueError, match="build_factor_index"):
        mf.top(np.zeros((1, 2), np.float32), 3)
    assert build_factor_index(np.zeros((4, 3), np.float32)) is None


def test_collaborative_top_in_blocks_equals_one_block(monkeypatch) -> None:
    import retrieval.stats as stats_mod
    from retrieval.catalog import Catalog
    from retrieval.models import Item
    from retrieval.stats import InteractionStats

    log = _log()
    cat = Catalog([Item(id=f"i{k}", title=f"Item {k}", media_type="movie") for k in range(50)])
    stats = InteractionStats.build(log, cat, dense_limit=0)  # ALS + item-kNN, no EASE
    h = sparse.csr_matrix(([1.0] * 6, ([0, 0, 1, 1, 2, 2], [1, 2, 3, 4, 5, 6])),
                          shape=(3, len(stats)))
    whole = stats.collaborative_top(h, [5, 7, 9])
    monkeypatch.setattr(stats_mod, "SCORE_BLOCK", 1)  # one row per block
    blocked = stats.collaborative_top(h, [5, 7, 9])
    for (r1, s1), (r2, s2), k in zip(whole, blocked, [5, 7, 9], strict=True):
        assert len(r1) == k and (r1 == r2).all() and np.allclose(s1, s2)
        assert np.allclose(np.sort(s1)[::-1], s1)


def test_pipeline_serves_with_the_factor_index() -> None:
    """Above ``mf_index_above`` the ALS candidates come from the index; the lists are made
    and hold collaborative candidates."""
    from retrieval.catalog import Catalog
    from retrieval.models import Item
    from retrieval.train_ranker import make_training_lists

    log = _log()
    cat = Catalog([Item(id=f"i{k}", title=f"Item {k}", media_type="movie") for k in range(50)])
    config = PipelineConfig(stats={"dense_limit": 0, "mf_index_above": 0, "mf_factors": 4},
                            retrieval={"n_candidates": 20, "collaborative": 10},
                            training={"cuts": 2, "request_fraction": 0.0})
    lists, _ = make_training_lists(log, cat, None, config=config)
    assert lists.train.n_queries > 0
    assert lists.candidate_recall["collaborative"] > 0
