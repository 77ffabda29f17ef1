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


def test_every_demo_user_has_a_persona_that_matches_their_history() -> None:
    ds = load_demo(600)
    cat = ds.catalog
    assert set(ds.personas) == set(ds.interactions.users())
    by_persona = {p.persona: p for p in PROFILES}
    assert len(by_persona) == len(PROFILES) >= 25  # richer profiles, each its own persona
    df = ds.interactions.df
    positive = df[df["event"].isin(["play", "like"])]
    shares: dict[str, list[float]] = {}
    for uid, rows in positive.groupby("user_id", observed=True):
        main, _, also = ds.personas[uid].partition(", also ")
        profile = by_persona[main]  # the persona names one of the user's own profiles
        assert profile.name in ds.users[uid] and (not also or also in ds.users[uid])
        genres = [set(cat[i].genres) for i in rows["item_id"].astype(str)]
        shares.setdefault(profile.name, []).append(
            float(np.mean([bool(profile.core & g) for g in genres])))
    every = [s for vals in shares.values() for s in vals]
    # The persona says what the history is mostly made of ...
    assert np.mean(every) > 0.65 and np.mean(np.array(every) >= 0.5) > 0.8
    # ... e.g. a crime and mystery fan's plays are mostly crime, mystery and thrillers.
    assert np.mean(shares["crime and mystery"]) > 0.6
    assert len(shares) >= 20  # most profiles lead some users


def test_personas_are_saved_in_the_bundle_and_read_back(demo_bundle_path) -> None:
    from retrieval.bundle import Bundle

    bundle = Bundle.load(demo_bundle_path)
    assert bundle.manifest["users_file"] == "users.jsonl"
    assert "users.jsonl" in bundle.manifest["files"]  # with its checksum
    ds = load_dataset("demo:200")
    assert bundle.personas == ds.personas and len(bundle.personas) == 200
