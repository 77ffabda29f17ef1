"""The large synthetic data set: seeded, exact sizes, heavy-tailed popularity, a planted
structure that the events follow, and a folder that `encore build` loads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retrieval.synthetic_large import LargeSpec, generate_large, load_truth

SMALL = LargeSpec(items=1500, events=30_000, users=300, seed=7, chunk_events=7_000)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("large") / "data"
    generate_large(SMALL, folder)
    return folder


def test_the_same_seed_gives_the_same_files_and_another_seed_others(small, tmp_path) -> None:
    generate_large(SMALL, tmp_path / "again")
    assert _digest(tmp_path / "again") == _digest(small)
    other = LargeSpec(**{**SMALL.__dict__, "seed": 8})
    generate_large(other, tmp_path / "other")
    assert _digest(tmp_path / "other")["interactions.parquet"] != \
        _digest(small)["interactions.parquet"]


def test_sizes_are_exact_and_every_media_type_is_there(small) -> None:
    cat = pd.read_parquet(small / "catalog.parquet")
    log = pd.read_parquet(small / "interactions.parquet")
    assert len(cat) == SMALL.items and cat["id"].is_unique
    assert len(log) == SMALL.events and log["user_id"].nunique() == SMALL.users
    assert set(log["item_id"]) <= set(cat["id"])
    assert log.groupby("user_id").size().min() >= SMALL.min_per_user
    assert set(cat["media_type"]) <= {"movie", "series", "album", "music_track", "podcast",
                                      "audiobook"}
    assert cat["title"].str.startswith("Synthetic").all()
    assert cat["description"].str.contains("not a real title").all()
    # timestamps increase within each user
    assert (log.groupby("user_id")["timestamp"].diff().dropna() >= 0).all()
    assert json.loads((small / "truth.json").read_text())["synthetic"] is True


def test_every_media_type_appears_at_scale(tmp_path) -> None:
    generate_large(LargeSpec(items=20_000, events=20_000, users=1000, seed=0), tmp_path)
    cat = pd.read_parquet(tmp_path / "catalog.parquet", columns=["media_type"])
    assert set(cat["media_type"]) == {"movie", "series", "album", "music_track", "podcast",
                                      "audiobook"}


def test_popularity_is_heavy_tailed(small) -> None:
    counts = pd.read_parquet(small / "interactions.parquet")["item_id"].value_counts()
    top = max(1, SMALL.items // 100)
    share = counts.iloc[:top].sum() / SMALL.events
    assert share > 0.15  # the top 1% of items hold far more than 1% of the events


def test_the_events_follow_the_planted_tastes(small) -> None:
    truth = load_truth(small)
    log = pd.read_parquet(small / "interactions.parquet")
    users = log["user_id"].map(truth.user_index).to_numpy()
    items = truth.item_index(log["item_id"].tolist())
    cluster = truth.item_cluster[items]
    on_taste = (truth.user_clusters[users] == cluster[:, None]).any(axis=1)
    # taste events (1 - noise) plus the noise events that fall on taste by chance
    assert on_taste.mean() > 1 - SMALL.noise - 0.02
    # and a user's heaviest cluster takes the largest share of their events
    first = truth.user_clusters[users, np.argmax(truth.user_weights[users], axis=1)]
    assert (cluster == first).mean() > 0.4


def test_the_folder_loads_through_the_build_loader(small) -> None:
    from retrieval.dataset import load_dataset

    ds = load_dataset(str(small))
    assert len(ds.catalog) == SMALL.items and len(ds.interactions) == SMALL.events
    assert ds.interactions.n_users == SMALL.users
    assert {it.media_type.value if hasattr(it.media_type, "value") else it.media_type
            for it in ds.catalog} <= {"movie", "series", "album", "music_track", "podcast",
                                      "audiobook"}


def test_a_spec_that_cannot_be_met_says_why() -> None:
    with pytest.raises(ValueError, match="fewer users"):
        LargeSpec(items=10, events=10, users=100).resolved()
