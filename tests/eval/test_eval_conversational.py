"""Request sets: loading with validation, generating without titles, running turns,
and per-slot parser accuracy."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from eval.conversational import (
    RequestCase,
    as_turn,
    describe_item,
    generate_requests,
    history_lookup,
    load_labelled_requests,
    load_requests,
    parser_accuracy,
    run_requests,
    save_requests,
    slot_accuracy,
)
from eval.protocols import leave_one_out
from eval.systems import make_system
from retrieval.catalog import Catalog
from retrieval.errors import DataError
from retrieval.models import Item


def write_jsonl(path, rows):
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8"
    )
    return path


GOOD = {"user_id": "1", "request": "a funny drama", "target_item_ids": ["3"]}


def test_load_valid_file_with_optional_fields(tmp_path, tiny_catalog) -> None:
    path = write_jsonl(
        tmp_path / "r.jsonl",
        [
            GOOD,
            "",
            {
                "user_id": 2,
                "request": "x",
                "target_item_ids": [4, "5"],
                "history_item_ids": ["1"],
                "cutoff_ts": 123,
            },
        ],
    )
    rs = load_requests(path, tiny_catalog)
    assert len(rs.cases) == 2 and rs.report.loaded == 2
    assert rs.cases[1].user_id == "2" and rs.cases[1].target_item_ids == ["4", "5"]


@pytest.mark.parametrize(
    ("row", "line_field", "problem"),
    [
        (
            {**GOOD, "target_item_ids": ["3", "999"]},
            "line 2, field 'target_item_ids'",
            "not in the catalog: '999'",
        ),
        (
            {**GOOD, "history_item_ids": ["nope"]},
            "line 2, field 'history_item_ids'",
            "not in the catalog",
        ),
        (
            {k: v for k, v in GOOD.items() if k != "request"},
            "line 2, field 'request'",
            "missing required field",
        ),
        ({**GOOD, "target_item_ids": []}, "line 2, field 'target_item_ids'", ""),
        ({**GOOD, "targets": ["3"]}, "line 2, field 'targets'", "unknown field"),
        ('{"user_id": "1", ', "line 2", "not valid JSON"),
        ("[1, 2]", "line 2", "expected a JSON object"),
    ],
)
def test_bad_lines_name_file_line_and_field(
    tmp_path, tiny_catalog, row, line_field, problem
) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", [GOOD, row])
    with pytest.raises(DataError) as err:
        load_requests(path, tiny_catalog)
    text = str(err.value)
    assert text.startswith(str(path)) and line_field in text and problem in text and "Fix:" in text


def test_bad_lines_can_be_skipped_and_counted(tmp_path, tiny_catalog) -> None:
    path = write_jsonl(
        tmp_path / "r.jsonl", [GOOD, {**GOOD, "target_item_ids": ["999"]}, "{", GOOD]
    )
    rs = load_requests(path, tiny_catalog, skip_bad_rows=True)
    assert len(rs.cases) == 2 and rs.report.skipped == 2
    assert rs.report.examples[0].line == 2 and rs.report.examples[0].field == "target_item_ids"


def test_empty_or_missing_file(tmp_path, tiny_catalog) -> None:
    with pytest.raises(DataError, match="not found"):
        load_requests(tmp_path / "absent.jsonl", tiny_catalog)
    with pytest.raises(DataError, match="no usable request"):
        load_requests(write_jsonl(tmp_path / "e.jsonl", [""]), tiny_catalog)


def test_save_and_load_round_trip(tmp_path, tiny_catalog) -> None:
    cases = [
        RequestCase(
            user_id="1",
            request="scary",
            target_item_ids=["2"],
            history_item_ids=["1"],
            cutoff_ts=5,
            meta={"generated": True},
        )
    ]
    path = save_requests(cases, tmp_path / "out.jsonl")
    assert load_requests(path, tiny_catalog).cases == cases


def test_descriptions_never_contain_the_title() -> None:
    rng = np.random.default_rng(0)
    tricky = [
        Item(id="1", title="Alien", media_type="movie", genres=["horror"], tags=["alien", "space"]),
        Item(id="2", title="Drama", media_type="movie", genres=["drama"], tags=["family drama"]),
        Item(
            id="3", title="Heat", media_type="movie", genres=["crime"], tags=["heat wave", "heist"]
        ),
        Item(id="4", title="Jazz", media_type="album", genres=["jazz"]),
        Item(id="5", title="Untitled", media_type="podcast"),
    ]
    for item in tricky:
        for _ in range(20):
            text = describe_item(item, rng)
            if text is not None:
                assert not re.search(rf"\b{item.title.lower()}\b", text.lower()), text
    assert describe_item(tricky[3], rng) is None  # its only genre is its title
    assert describe_item(tricky[4], rng) is None  # nothing to describe it by


def test_generator_uses_held_out_items_and_counts_skips(make_catalog, random_log) -> None:
    catalog = make_catalog(20)
    split = leave_one_out(random_log(25, 20, 5, seed=1))
    gen = generate_requests(split.train, split.test, catalog, seed=3)
    assert len(gen.cases) == 25 and gen.counts == {}
    held = {
        (u, i)
        for u, i in zip(
            split.test.df["user_id"].astype(str), split.test.df["item_id"].astype(str), strict=True
        )
    }
    for case in gen.cases:
        assert (case.user_id, case.target_item_ids[0]) in held
        assert case.target_item_ids[0] not in case.history_item_ids
        assert "title number" not in case.request.lower()
    again = generate_requests(split.train, split.test, catalog, seed=3)
    assert [c.request for c in again.cases] == [c.request for c in gen.cases]
    few = generate_requests(split.train, split.test, catalog, n=5, seed=3)
    assert len(few.cases) == 5
    bare = make_catalog(20, genres=False)
    none = generate_requests(split.train, split.test, bare, seed=3)
    assert none.cases == [] and sum(none.counts.values()) == 25


def test_runner_counts_everything_that_went_wrong(tiny_catalog) -> None:
    cases = [
        RequestCase(user_id="a", request="x", target_item_ids=["2"], history_item_ids=["1"]),
        RequestCase(user_id="b", request="x", target_item_ids=["1"], history_item_ids=["1"]),
        RequestCase(user_id="c", request="boom", target_item_ids=["3"], history_item_ids=[]),
        RequestCase(user_id="d", request="x", target_item_ids=["4", "5"], history_item_ids=["6"]),
    ]

    def turn(user, text, history, k):
        if text == "boom":
            raise TimeoutError("model too slow")
        return {"a": ["9999", "2", "2"], "d": ["6", "5", "3"]}[user]

    res = run_requests(
        cases, turn, tiny_catalog, metrics=["hit_rate@3", "recall@3", "mrr@3"], progress=False
    )
    assert res.cases == 3
    np.testing.assert_allclose(res.per_case["recall@3"], [1.0, 0.0, 0.5])
    np.testing.assert_allclose(res.per_case["mrr@3"], [1.0, 0.0, 0.5])
    assert res.counts == {
        "returned ids not in the catalog (dropped)": 1,
        "repeated ids in an answer (dropped)": 1,
        "targets already in the case's history (dropped)": 1,
        "cases whose targets were all in the history (skipped)": 1,
        "turns that raised an error (scored as empty answers)": 1,
        "returned items already in the history (kept)": 1,
    }
    assert res.first_error == "TimeoutError: model too slow"


def test_runner_refuses_k_above_the_catalog(tiny_catalog) -> None:
    with pytest.raises(ValueError, match="K larger than the catalog"):
        run_requests([], lambda *a: [], tiny_catalog, metrics=["recall@7"], progress=False)


def test_baselines_run_as_turns_from_history(make_catalog, random_log) -> None:
    catalog = make_catalog(20)
    split = leave_one_out(random_log(25, 20, 5, seed=1))
    pop = make_system("pop")
    pop.fit(split.train, catalog)
    turn = as_turn(pop, catalog)
    history = history_lookup(split.train)
    hist = history("1", None)
    answer = turn("1", "anything", hist, 5)
    assert len(answer) == 5 and not set(answer) & set(hist)
    gen = generate_requests(split.train, split.test, catalog, seed=0)
    stripped = [c.model_copy(update={"history_item_ids": None}) for c in gen.cases]
    a = run_requests(gen.cases, turn, catalog, progress=False)
    b = run_requests(stripped, turn, catalog, history=history, progress=False)
    assert a.metrics == b.metrics


def test_history_lookup_respects_the_cut_off(make_log) -> None:
    look = history_lookup(make_log([("u", "1", 5), ("u", "2", 1), ("u", "3", 9)]))
    assert look("u", None) == ["2", "1", "3"]
    assert look("u", 6) == ["2", "1"]
    assert look("nobody", None) == []


def test_slot_accuracy_formula() -> None:
    expected = [
        {"genres": ["Horror", "comedy"], "max_minutes": 90, "intent": "recommend"},
        {"genres": [], "max_minutes": None, "titles": [{"id": "x", "role": "like"}]},
        {"genres": ["drama"]},
    ]
    predicted = [
        {"genres": ["comedy", "horror"], "max_minutes": 90.0, "intent": "Recommend "},
        {"titles": [{"role": "like", "id": "x"}], "max_minutes": 120},
        {"genres": ["drama", "war"], "intent": None},
    ]
    acc = slot_accuracy(expected, predicted)
    assert acc == {
        "genres": 2 / 3,
        "max_minutes": 2 / 3,
        "intent": 1.0,
        "titles": 1.0,
        "all_slots": 1 / 3,
    }
    assert slot_accuracy(expected, expected)["all_slots"] == 1.0
    with pytest.raises(ValueError, match="one prediction per labelled request"):
        slot_accuracy(expected, predicted[:2])


def test_parser_accuracy_on_a_labelled_table(tmp_path) -> None:
    path = write_jsonl(
        tmp_path / "t.jsonl",
        [
            {
                "message": "a horror film",
                "expected": {"genres": ["horror"], "media_types": ["movie"]},
            },
            {"message": "", "expect": {"intent": "chitchat"}},
        ],
    )
    rows = load_labelled_requests(path)

    def parse(message):
        return {
            "genres": ["horror"] if "horror" in message else [],
            "media_types": [],
            "intent": "chitchat" if not message else "recommend",
            "extra": "ignored",
        }

    acc = parser_accuracy(parse, rows)
    # Row 1 misses media_types and sets an intent it should not; row 2 is all right.
    assert acc == {"genres": 1.0, "media_types": 0.5, "intent": 0.5, "all_slots": 0.5}
    with pytest.raises(DataError, match="line 1, field 'expected'"):
        load_labelled_requests(write_jsonl(tmp_path / "bad.jsonl", [{"message": "x"}]))


def test_catalog_without_matches_is_fine() -> None:
    cat = Catalog([Item(id="a", title="A", media_type="movie")])
    res = run_requests(
        [RequestCase(user_id="u", request="x", target_item_ids=["a"])],
        lambda *args: [],
        cat,
        metrics=["recall@1"],
        progress=False,
    )
    assert res.metrics["recall@1"].mean == 0.0
