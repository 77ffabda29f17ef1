"""The held-out parser table: well-formed, frozen, and a regression guard on the rules parser.

``parser_heldout.jsonl`` was written from the schema's docs and the tuning table's conventions
without reading or running the parser, then frozen before it was first scored. Its row accuracy
is the honest figure; ``parser_table.jsonl`` was used to develop the parser.
"""

from __future__ import annotations

import hashlib
import json
import math

import pytest

from assistant.parsers.rules import RulesParser
from eval.parser_report import DEFAULT_TABLE, HELDOUT_TABLE, SLOTS, evaluate, load_table
from retrieval.catalog import Catalog
from retrieval.demo import load_demo_catalog
from retrieval.request import Request, TitleRef

HELDOUT = HELDOUT_TABLE
TUNING = DEFAULT_TABLE

# sha256 of the table as frozen before the parser was first run on it. Change the table only to
# fix an expected value that is plainly a typo or contradicts the schema's docs (never to match
# the parser's output), and say so where the change is recorded.
FROZEN_SHA256 = "0966dd61a60ca4e816833d745436b2fa88cad3118ea041fcf1f5fdb9dc5b4d3a"

# Rows fully right, measured when the table was frozen: 60 of 80 (0.750). The guard is that
# value minus 0.05, rounded down to two decimals: a regression guard, not a target.
MEASURED_ROW_ACCURACY = 0.75
ROW_ACCURACY_FLOOR = math.floor(round((MEASURED_ROW_ACCURACY - 0.05) * 100, 6)) / 100


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_demo_catalog()


def test_table_is_the_frozen_one() -> None:
    assert hashlib.sha256(HELDOUT.read_bytes()).hexdigest() == FROZEN_SHA256


def test_every_row_is_well_formed(catalog: Catalog) -> None:
    rows = load_table(HELDOUT)  # unknown slots and bad contexts raise here
    assert len(rows) == 80
    assert len({r.message for r in rows}) == 80
    tuning = {json.loads(line)["message"].strip().lower()
              for line in TUNING.read_text(encoding="utf-8").splitlines() if line.strip()}
    genres, tags = set(catalog.genre_counts()), set(catalog.tag_counts())
    for row in rows:
        where = f"line {row.line} {row.message!r}"
        assert row.message.strip().lower() not in tuning, f"{where}: repeats the tuning table"
        assert set(row.expect) <= set(SLOTS), where
        expect = dict(row.expect)
        titles = expect.pop("titles", [])
        for t in titles:
            assert set(t) == {"id", "role"} and t["id"] in catalog, where
        # Every expected value must be one a Request can hold (types, ranges, enums).
        Request(**expect, titles=[TitleRef(text=t["id"], item_id=t["id"], role=t["role"])
                                  for t in titles])
        # Labels outside the catalog's vocabulary would be dropped silently by the scorer.
        for slot, vocabulary in (("genres", genres), ("exclude_genres", genres),
                                 ("tags", tags), ("exclude_tags", tags)):
            assert set(expect.get(slot, [])) <= vocabulary, f"{where}: {slot}"
        positions, ids = expect.get("exclude_positions", []), expect.get("exclude_ids", [])
        assert all(i in catalog for i in ids), where
        if positions or ids:
            assert row.context is not None and len(positions) == len(ids), where
            assert [row.context.id_at(p) for p in positions] == ids, where
        if expect.get("reference_positions"):
            assert row.context is not None and row.context.last_ids, where


def test_rules_parser_row_accuracy_does_not_regress(catalog: Catalog) -> None:
    assert ROW_ACCURACY_FLOOR == 0.70
    accuracy, errors = evaluate(RulesParser(catalog), load_table(HELDOUT),
                                catalog.genre_counts(), catalog.tag_counts())
    shown = "\n".join(f"line {r.line} {r.message!r}: {s} expected {e!r}, got {p!r}"
                      for r, s, e, p in errors)
    assert accuracy["all_slots"] >= ROW_ACCURACY_FLOOR, shown
