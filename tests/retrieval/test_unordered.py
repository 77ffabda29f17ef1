"""A log without timestamps has no order, and nothing reads one into it: no item-id or
file order as recency, the ranker's recent-item features missing, its inner split
random, and the training report says so. Logs with timestamps are ordered as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retrieval.catalog import Catalog
from retrieval.config import PipelineConfig, TrainingListsConfig
from retrieval.features import FeatureBuilder, ItemTable, QueryContext
from retrieval.interactions import Interactions
from retrieval.models import Interaction, Item
from retrieval.retriever import History, histories_from_log, history_weights
from retrieval.stats import InteractionStats, sequence_order, unordered_rows
from retrieval.train_ranker import _queries, make_training_lists

RECENT = ("recent_max_cosine", "recent_mean_cosine", "knn_recent_max", "knn_recent_mean")
UNORDERED_KEY = ("users without timestamps (treated as unordered: held-out items picked at "
                 "random, recent-item features missing)")


def _log(n_users: int = 40, n_items: int = 30, per_user: int = 12, *, timed: bool,
         seed: int = 0) -> Interactions:
    """Each user rates ``per_user`` random items, written in item-id order (as a loader
    that sorts would give them)."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        picks = np.sort(rng.choice(n_items, size=per_user, replace=False))
        times = rng.permutation(per_user)
        for t, i in zip(times, picks, strict=True):
            rows.append(Interaction(user_id=f"u{u}", item_id=str(i + 1),
                                    timestamp=int(t) if timed else None))
    return Interactions.from_records(rows)


def _catalog(n_items: int = 30) -> Catalog:
    return Catalog([Item(id=str(i + 1), title=f"film {i + 1}", media_type="movie",
                         genres=["drama" if i % 2 else "comedy"]) for i in range(n_items)])


def _old_sequence_order(df: pd.DataFrame) -> np.ndarray:
    """The order before unordered logs were handled: user, time (missing first), item id."""
    item_key = pd.to_numeric(df["item_id"].astype(str)).to_numpy(dtype=np.float64)
    ts = df["timestamp"].astype("float64").fillna(-1.0).to_numpy()
    users = pd.Categorical(df["user_id"].astype(str).to_numpy()).codes
    return np.lexsort((item_key, ts, users))


def test_a_log_with_timestamps_keeps_its_order_exactly() -> None:
    df = _log(timed=True).df
    # Ties in time too, so that the item-id tie-break is exercised.
    df["timestamp"] = pd.array(df["timestamp"].to_numpy() // 3, dtype="Int64")
    assert np.array_equal(sequence_order(df), _old_sequence_order(df))
    assert np.array_equal(sequence_order(df, seed=5), sequence_order(df))
    assert not unordered_rows(df).any()


def test_a_log_without_timestamps_is_in_neither_item_id_nor_file_order() -> None:
    df = _log(timed=False).df
    order = sequence_order(df)
    assert not np.array_equal(order, _old_sequence_order(df))
    users = df["user_id"].astype(str).to_numpy()[order]
    assert (users[1:] >= users[:-1]).all()              # still grouped by user
    items = df["item_id"].astype(int).to_numpy()[order]
    sorted_users = sum(bool((np.diff(items[users == u]) > 0).all()) for u in set(users))
    assert sorted_users == 0                             # no user's items run by id
    assert np.array_equal(sequence_order(df, seed=1), sequence_order(df, seed=1))
    assert not np.array_equal(sequence_order(df, seed=1), order)
    assert unordered_rows(df).all()


def test_mixed_logs_untimed_rows_come_first_and_the_user_is_ordered() -> None:
    log = Interactions.from_records([
        Interaction(user_id="a", item_id="9", timestamp=5),
        Interaction(user_id="a", item_id="1"),
        Interaction(user_id="a", item_id="2"),
        Interaction(user_id="b", item_id="3"),
        Interaction(user_id="b", item_id="4"),
    ])
    df = log.df
    ordered = df.iloc[sequence_order(df)]
    assert ordered["item_id"].astype(str).tolist()[2] == "9"   # a's timed row is the last
    assert unordered_rows(df).tolist() == [False, False, False, True, True]
    hs = histories_from_log(log)
    assert hs["a"].ordered and not hs["b"].ordered


def test_unordered_history_weights_are_uniform() -> None:
    h = History(["a", "b", "c"], ["rating", "dislike", "play"], [5.0, 1.0, 1.0])
    ordered = history_weights(h, recency_half_life=1.0)
    h.ordered = False
    assert ordered.tolist() == [0.25, -0.5, 1.0]
    assert history_weights(h, recency_half_life=1.0).tolist() == [1.0, -1.0, 1.0]


def test_recent_item_features_are_missing_for_an_unordered_history() -> None:
    cat = _catalog()
    log = _log(timed=False)
    vecs = np.random.default_rng(0).normal(size=(len(cat), 8)).astype(np.float32)
    fb = FeatureBuilder(ItemTable(cat, vecs), InteractionStats.build(log, cat))
    cols = [fb.schema.names.index(n) for n in RECENT]
    items = [str(i) for i in range(1, 9)]
    rows = np.arange(10, 20)
    dense, from_dense = np.full(10, np.nan, np.float32), np.zeros(10, bool)
    for ordered in (True, False):
        prep = fb.prepare(QueryContext(History(items, ordered=ordered)))
        x = fb.build_rows(prep, rows, dense, from_dense)
        assert np.isnan(x[:, cols]).all() != ordered
        assert np.isfinite(x[:, fb.schema.names.index("knn_score")]).all()


def test_inner_split_of_an_unordered_log_is_random_and_reported() -> None:
    log = _log(timed=False)
    cfg = TrainingListsConfig(cuts=1, min_history=3, seed=0)
    queries, keep, counts = _queries(log, cfg, None)
    assert counts[UNORDERED_KEY] == log.n_users
    assert queries and all(not q.history.ordered and q.now is None for q in queries)
    # The held-out item is the user's highest id for about 1 user in 12, not for all.
    top = {u: g["item_id"].astype(int).max() for u, g in log.df.groupby("user_id",
                                                                         observed=True)}
    highest = sum(int(q.positives[0]) == top[q.user] for q in queries)
    assert highest < len(queries) / 3
    # Another seed picks other items; the statistics never see the held-out rows.
    other, _, _ = _queries(log, cfg.model_copy(update={"seed": 1}), None)
    assert [q.positives for q in other] != [q.positives for q in queries]
    assert int((~keep).sum()) == len(queries)


def test_timed_log_queries_do_not_change() -> None:
    log = _log(timed=True)
    cfg = TrainingListsConfig(cuts=2, min_history=3, seed=0)
    queries, _, counts = _queries(log, cfg, None)
    assert UNORDERED_KEY not in counts
    df = log.df.iloc[_old_sequence_order(log.df)]
    for q in queries[:6]:
        seq = df.loc[df["user_id"] == q.user, "item_id"].astype(str).tolist()
        n = len(q.history)
        assert q.history.ordered and q.history.item_ids == seq[:n] and q.positives == [seq[n]]


def test_training_lists_of_an_unordered_log_have_no_recent_features() -> None:
    cat = _catalog()
    log = _log(timed=False)
    vecs = np.random.default_rng(0).normal(size=(len(cat), 8)).astype(np.float32)
    cfg = PipelineConfig().with_flat(n_candidates=15, collaborative=8, cuts=2, seed=0,
                                     cold_start_fraction=0.0, request_fraction=0.0)
    lists, _ = make_training_lists(log, cat, vecs, config=cfg)
    names = list(lists.train.schema.names)
    x = np.concatenate([lists.train.features, lists.valid.features])
    assert np.isnan(x[:, [names.index(n) for n in RECENT]]).all()
    assert np.isfinite(x[:, names.index("knn_score")]).any()
    assert lists.counts[UNORDERED_KEY] == log.n_users


@pytest.mark.parametrize("timed", [True, False])
def test_histories_for_evaluation_carry_the_order(timed: bool) -> None:
    from eval.encore import _histories

    hs, last = _histories(_log(timed=timed))
    assert all(h.ordered == timed for h in hs.values())
    assert bool(last) == timed
