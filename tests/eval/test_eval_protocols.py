"""Splits: what goes where, what is counted, and the bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eval.protocols import (
    external_split,
    implicit_positives,
    last_fraction,
    leave_one_out,
    make_split,
    parse_cutoff,
    time_cutoff,
)
from retrieval.errors import DataError
from retrieval.interactions import Interactions


def pairs(log: Interactions) -> set[tuple[str, str]]:
    return set(zip(log.df["user_id"].astype(str), log.df["item_id"].astype(str), strict=True))


def test_leave_one_out_holds_out_each_users_latest(make_log) -> None:
    log = make_log([("u", "a", 3), ("u", "b", 1), ("u", "c", 2), ("v", "d", 5), ("v", "e", 9)])
    split = leave_one_out(log)
    assert pairs(split.test) == {("u", "a"), ("v", "e")}
    assert pairs(split.train) == {("u", "b"), ("u", "c"), ("v", "d")}
    assert len(split.valid) == 0 and split.protocol == "loo"


def test_validation_is_apart_from_test_and_train(random_log) -> None:
    log = random_log(40, 30, 8, seed=1)
    split = leave_one_out(log, valid=True)
    parts = [pairs(split.train), pairs(split.valid), pairs(split.test)]
    assert sum(len(p) for p in parts) == len(log)
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    # Every validation interaction is earlier than its user's test interaction.
    t = split.test.df.set_index(split.test.df["user_id"].astype(str))["timestamp"]
    for u, ts in zip(
        split.valid.df["user_id"].astype(str), split.valid.df["timestamp"], strict=True
    ):
        assert ts < t[u]
    assert split.fit_data("valid") is split.train
    assert len(split.fit_data("test")) == len(split.train) + len(split.valid)


def test_single_interaction_users_stay_in_training_and_are_counted(make_log) -> None:
    log = make_log([("u", "a", 1), ("u", "b", 2), ("solo", "c", 1), ("solo2", "d", 4)])
    split = leave_one_out(log)
    assert pairs(split.test) == {("u", "b")}
    assert ("solo", "c") in pairs(split.train)
    assert split.counts == {"users with a single interaction (kept in training, not evaluated)": 2}


def test_ties_do_not_depend_on_the_files_row_order(make_log) -> None:
    rows = [
        ("u", "10", 5),
        ("u", "9", 5),
        ("u", "2", 1),
        ("v", "b", 7),
        ("v", "a", 7),
        ("v", "c", 1),
    ]
    for tie in ("item", "random"):
        a = leave_one_out(make_log(rows), tie_break=tie)
        b = leave_one_out(make_log(rows[::-1]), tie_break=tie)
        assert pairs(a.test) == pairs(b.test)
    # 'item' compares whole-number ids numerically (10 after 9), other ids as text.
    numeric = [("u", "10", 5), ("u", "9", 5), ("u", "2", 1)]
    assert pairs(leave_one_out(make_log(numeric)).test) == {("u", "10")}
    assert ("v", "b") in pairs(leave_one_out(make_log(rows)).test)
    # 'order' keeps the file's order: the later row among ties is held out.
    assert ("u", "9") in pairs(leave_one_out(make_log(rows), tie_break="order").test)
    with pytest.raises(ValueError, match="valid values: item, random, order"):
        leave_one_out(make_log(rows), tie_break="alphabet")


def test_random_tie_break_depends_on_the_seed_only(make_log) -> None:
    rows = [(f"u{u}", str(i), 1) for u in range(30) for i in range(5)]
    tests = [
        pairs(leave_one_out(make_log(rows), tie_break="random", seed=s).test) for s in (0, 0, 1)
    ]
    assert tests[0] == tests[1] != tests[2]


def test_last_fraction_holds_out_ceil_share_but_never_everything(make_log) -> None:
    rows = [("u", str(i), i) for i in range(10)] + [("v", "a", 1), ("v", "b", 2), ("w", "z", 1)]
    split = last_fraction(make_log(rows), 0.25)
    held = (
        split.test.df.groupby(split.test.df["user_id"].astype(str), observed=True).size().to_dict()
    )
    assert held == {"u": 3, "v": 1}  # ceil(2.5) = 3; ceil(0.5) = 1; w has one interaction
    assert set(split.test.df.loc[split.test.df["user_id"] == "u", "item_id"].astype(str)) == {
        "7",
        "8",
        "9",
    }
    assert "users with a single interaction" in next(iter(split.counts))
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        last_fraction(make_log(rows), 1.0)


def test_last_fraction_with_validation(make_log) -> None:
    rows = [("u", str(i), i) for i in range(10)]
    split = last_fraction(make_log(rows), 0.2, valid=True)
    assert sorted(split.test.df["item_id"].astype(int)) == [8, 9]
    assert sorted(split.valid.df["item_id"].astype(int)) == [6, 7]  # ceil(0.2 * 8) = 2


def test_time_cutoff_splits_globally_and_counts_cold_users(make_log) -> None:
    rows = [("u", "a", 1), ("u", "b", 10), ("v", "c", 2), ("v", "d", 3), ("late", "e", 11)]
    split = time_cutoff(make_log(rows), 10)
    assert pairs(split.test) == {("u", "b"), ("late", "e")}
    assert split.counts == {
        "users with held-out interactions but no training history (cold start; not evaluated)": 1
    }
    quant = time_cutoff(make_log(rows), 0.5)
    assert len(quant.train) + len(quant.test) == 5 and len(quant.test) > 0


def test_time_cutoff_outside_the_log_is_an_error(make_log) -> None:
    with pytest.raises(DataError, match="no interaction for testing"):
        time_cutoff(make_log([("u", "a", 1), ("u", "b", 2)]), "2100-01-01")


def test_time_cutoff_with_validation(random_log) -> None:
    log = random_log(20, 30, 10, seed=2)
    split = time_cutoff(log, 0.8, valid=True)
    t_train = split.train.df["timestamp"].max()
    assert t_train < split.valid.df["timestamp"].min()
    assert split.valid.df["timestamp"].max() < split.test.df["timestamp"].min()


def test_parse_cutoff_forms() -> None:
    assert parse_cutoff("0.9") == 0.9
    assert parse_cutoff("1998-01-01T00:00:00Z") == 883612800
    assert parse_cutoff(883612800) == 883612800
    for bad in ("soon", 1.5, -3.0):
        with pytest.raises(ValueError):
            parse_cutoff(bad)


@pytest.mark.parametrize("protocol", ["loo", "last", "time"])
def test_a_log_without_timestamps_is_a_clear_error(protocol: str, make_log) -> None:
    log = make_log([("u", "a", None), ("u", "b", None)])
    with pytest.raises(
        DataError, match="needs a timestamp on every interaction.*--train FILE --test FILE"
    ):
        make_split(protocol, log)


def test_unknown_protocol_lists_the_valid_ones(make_log) -> None:
    with pytest.raises(ValueError, match="valid names: loo, last, time"):
        make_split("kfold", make_log([("u", "a", 1)]))


def test_external_split_keeps_the_files_and_can_carve_validation(make_log) -> None:
    train = make_log([("u", "a", 1), ("u", "b", 2), ("v", "c", 1)])
    test = make_log([("u", "d", 3)])
    split = external_split(train, test)
    assert pairs(split.train) == pairs(train) and pairs(split.test) == pairs(test)
    carved = external_split(train, test, valid=True)
    assert pairs(carved.valid) == {("u", "b")} and pairs(carved.test) == pairs(test)
    with pytest.raises(DataError, match="test log is empty"):
        external_split(train, Interactions.empty())


def test_implicit_positives_drops_negatives_low_ratings_and_repeats() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["u"] * 5,
            "item_id": ["a", "b", "c", "a", "d"],
            "timestamp": [5, 2, 3, 1, 4],
            "event": ["play", "dislike", "rating", "play", "rating"],
            "value": [1.0, -1.0, 2.0, 1.0, 5.0],
        }
    )
    log, counts = implicit_positives(Interactions(frame), min_value=3)
    assert sorted(zip(log.df["item_id"].astype(str), log.df["timestamp"], strict=True)) == [
        ("a", 1),
        ("d", 4),
    ]
    assert counts == {
        "negative interactions dropped (dislike, skip)": 1,
        "ratings below 3 dropped": 1,
        "repeat interactions with the same item dropped (the first is kept)": 1,
    }


def test_splits_are_vectorised_enough_for_a_million_rows() -> None:
    n = 200_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 5000, n).astype(str),
            "item_id": rng.integers(0, 3000, n).astype(str),
            "timestamp": rng.integers(0, 10**6, n),
            "event": "play",
            "value": 1.0,
        }
    )
    log = Interactions(frame)
    split = leave_one_out(log)
    assert len(split.test) == int((log.df.groupby("user_id", observed=True).size() >= 2).sum())
