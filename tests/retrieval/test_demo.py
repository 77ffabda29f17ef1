"""The bundled demo: real titles with written descriptions, SYNTHETIC interactions."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from retrieval.dataset import load_dataset
from retrieval.demo import DEMO_NAME, load_demo, load_demo_catalog
from retrieval.demo.generate import generate_interactions
from retrieval.demo.profiles import PROFILES

GENRES = {
    "video": set("action adventure animation biography comedy crime documentary drama family "
                 "fantasy history horror musical mystery romance sport thriller war western"
                 .split()) | {"science fiction"},
    "music": set("alternative ambient blues classical country electronic folk funk indie jazz "
                 "latin metal pop punk reggae rock soul soundtrack".split()) | {"hip hop", "r&b"},
    "talk": set("arts business comedy education fiction health history news politics science "
                "sports technology".split()) | {"society & culture", "true crime"},
}
ALLOWED = {"movie": GENRES["video"], "series": GENRES["video"], "album": GENRES["music"],
           "music_track": GENRES["music"], "podcast": GENRES["talk"],
           "audiobook": GENRES["talk"] | GENRES["video"]}


def test_catalog_size_and_mix() -> None:
    cat = load_demo_catalog()
    kinds = cat.media_type_counts()
    assert len(cat) >= 400, kinds
    assert kinds["movie"] >= 40 and kinds["series"] >= 40 and kinds["podcast"] >= 40
    assert kinds["album"] + kinds["music_track"] >= 40


def test_catalog_rows_are_complete_and_use_the_vocabulary() -> None:
    for item in load_demo_catalog():
        assert item.year and item.duration_min and item.creators and item.language, item.id
        assert 0 < len(item.description) <= 300, item.id
        assert 1 <= len(item.genres) <= 3, item.id
        assert set(item.genres) <= ALLOWED[item.media_type.value], item.id
        assert 3 <= len(item.tags) <= 7, item.id
        prefix = item.id.split("-")[0]
        assert prefix in {"mv", "tv", "al", "tr", "pc", "ab"}, item.id


def test_demo_is_labelled_synthetic_everywhere() -> None:
    ds = load_dataset("demo:50")
    assert ds.synthetic and "SYNTHETIC" in ds.name and "SYNTHETIC" in ds.describe()
    assert ds.name == DEMO_NAME and ds.interactions.n_users == 50


def test_generator_is_seeded_and_plausible() -> None:
    cat = load_demo_catalog()
    a, users = generate_interactions(cat, 300, seed=7)
    b, _ = generate_interactions(cat, 300, seed=7)
    c, _ = generate_interactions(cat, 300, seed=8)
    assert a.df.equals(b.df)
    assert not a.df.equals(c.df)
    df = a.df
    events = Counter(df["event"].astype(str))
    assert events["play"] > events["like"] > events["dislike"] > 0
    assert events["skip"] > 0  # music and podcasts that did not fit
    per_user = df.groupby("user_id", observed=True).size()
    assert per_user.min() >= 5 and per_user.median() >= 10
    assert not df.duplicated(["user_id", "item_id"]).any()  # one event per item per user
    assert a.has_timestamps
    # histories follow the user's taste: liked items share labels with the profile
    names = {p.name: p for p in PROFILES}
    fits = []
    for uid, rows in df[df["event"] == "like"].groupby("user_id", observed=True):
        wanted = set().union(*(names[n].likes for n in users.profiles[uid]))
        fits += [bool(wanted & (set(cat[i].genres) | set(cat[i].tags)))
                 for i in rows["item_id"].astype(str)]
    assert np.mean(fits) > 0.7


def test_default_demo_has_about_1500_users() -> None:
    ds = load_demo()
    assert ds.interactions.n_users == 1500
    assert set(ds.users) == set(ds.interactions.users())


def test_bad_demo_reference() -> None:
    from retrieval.errors import DataError

    with pytest.raises(DataError, match="demo:lots"):
        load_dataset("demo:lots")
