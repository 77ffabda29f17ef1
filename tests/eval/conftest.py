"""Fixtures for the evaluation tests: tiny catalogs and logs built in code, and a data
folder on disk (catalog.jsonl + interactions.csv) for the command-line tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retrieval.catalog import Catalog
from retrieval.interactions import Interactions
from retrieval.models import Interaction, Item


def make_catalog(n_items: int, *, genres: bool = True) -> Catalog:
    names = ["drama", "comedy", "horror", "crime", "romance"]
    return Catalog(
        Item(
            id=str(i),
            title=f"Title number {i}",
            media_type="movie",
            genres=[names[i % 5], names[(i + 2) % 5]] if genres else [],
            tags=[f"tag{i % 3}"] if genres else [],
        )
        for i in range(1, n_items + 1)
    )


def make_log(rows: list[tuple[str, str, int | None]]) -> Interactions:
    return Interactions.from_records(
        Interaction(user_id=u, item_id=i, timestamp=t) for u, i, t in rows
    )


def random_log(n_users: int, n_items: int, per_user: int, seed: int = 0) -> Interactions:
    """Each user: ``per_user`` distinct items with increasing, distinct timestamps."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(1, n_users + 1):
        items = rng.choice(np.arange(1, n_items + 1), size=per_user, replace=False, p=None)
        for t, i in enumerate(items):
            rows.append((str(u), str(int(i)), 1_000_000 + 100 * u + t))
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    frame["event"] = "play"
    frame["value"] = 1.0
    return Interactions(frame)


@pytest.fixture(name="make_catalog")
def _make_catalog_fixture():
    """``make_catalog(n_items, genres=True)``: items "1".."n" with genres and a tag."""
    return make_catalog


@pytest.fixture(name="make_log")
def _make_log_fixture():
    """``make_log([(user, item, timestamp), ...])``: a log of plays."""
    return make_log


@pytest.fixture(name="random_log")
def _random_log_fixture():
    """``random_log(n_users, n_items, per_user, seed)``: distinct items, distinct times."""
    return random_log


@pytest.fixture()
def tiny_catalog() -> Catalog:
    return make_catalog(6)


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    """A 30-user, 20-item data set in Encore's folder layout, with timestamps."""
    folder = tmp_path / "toy"
    folder.mkdir()
    cat = make_catalog(20)
    (folder / "catalog.jsonl").write_text(
        "\n".join(json.dumps(it.model_dump(mode="json")) for it in cat) + "\n", encoding="utf-8"
    )
    log = random_log(30, 20, 6, seed=3)
    log.df.astype({"user_id": str, "item_id": str, "event": str}).to_csv(
        folder / "interactions.csv", index=False
    )
    return folder
