"""The serving engine on a real bundle (the demo catalog, the tiny encoder, a trained
LightGBM ranker): hard constraints always hold, exclusions are respected, playlists hit
their length, and the constraint masks agree with ``satisfies`` item for item."""

from __future__ import annotations

import doctest
import itertools
import time

import numpy as np
import pytest

from assistant.engine import Engine, Playlist, UnknownItem
from assistant.playlist import fill as _fill
from assistant.settings import Settings
from retrieval.diversify import constraint_violations, satisfies
from retrieval.filter import ConstraintMasks
from retrieval.models import MEDIA_TYPES
from retrieval.ranker import LightGBMRanker
from retrieval.request import Request, TitleRef, TitleRole

AUDIO = ["music_track", "album", "podcast"]


def random_request(engine: Engine, rng: np.random.Generator, *, query: bool = True) -> Request:
    """A seeded request with a random subset of the hard constraints, drawn from the
    catalog's own vocabulary (so that most sets leave some items)."""
    cat = engine.catalog
    genres = sorted(cat.genre_counts())
    tags = sorted(cat.tag_counts())
    langs = sorted({it.language.lower() for it in cat if it.language})
    fields: dict = {}
    if rng.random() < 0.5:
        fields["media_types"] = list(rng.choice(MEDIA_TYPES, int(rng.integers(1, 4)),
                                                replace=False))
    elif rng.random() < 0.3:
        fields["exclude_media_types"] = list(rng.choice(MEDIA_TYPES, 2, replace=False))
    if rng.random() < 0.5:
        fields["exclude_genres"] = list(rng.choice(genres, int(rng.integers(1, 4)),
                                                   replace=False))
    if rng.random() < 0.4:
        fields["exclude_tags"] = list(rng.choice(tags, int(rng.integers(1, 6)), replace=False))
    if rng.random() < 0.4:
        lo = int(rng.integers(1950, 2015))
        fields["year_min"] = lo
        if rng.random() < 0.5:
            fields["year_max"] = lo + int(rng.integers(0, 30))
    if rng.random() < 0.4:
        fields["max_minutes"] = int(rng.integers(20, 200))
        if rng.random() < 0.5:
            fields["min_minutes"] = int(rng.integers(1, fields["max_minutes"]))
    if rng.random() < 0.2:
        fields["language"] = str(rng.choice(langs + ["xx"]))
    if rng.random() < 0.3:
        fields["exclude_ids"] = list(rng.choice(cat.ids, 5, replace=False))
    if query and rng.random() < 0.7:
        fields["query"] = str(rng.choice(["space adventure", "something dark and funny",
                                          "jazz for a rainy evening", "true crime"]))
    return Request(**fields)


def assert_valid(engine: Engine, picks, request: Request | None, exclude=()) -> None:
    ids = [p.item_id for p in picks]
    assert len(ids) == len(set(ids)), "an item came back twice"
    assert [p.rank for p in picks] == list(range(1, len(picks) + 1))
    for p in picks:
        item = engine.details(p.item_id)
        if request is not None:
            assert not constraint_violations(item, request), (p.item_id, request)
        assert p.item_id not in set(exclude)


# -- wiring ---------------------------------------------------------------------------------------


def test_engine_uses_the_bundle_ranker_and_statistics(demo_bundle, engine) -> None:
    assert engine.ranker_name == "lightgbm" and isinstance(engine.ranker, LightGBMRanker)
    assert engine.stats is demo_bundle.stats
    assert engine.retriever.index is demo_bundle.index
    assert "lightgbm" in repr(engine)
    result = doctest.testmod(__import__("assistant.engine", fromlist=["_"]))
    assert result.attempted > 0 and result.failed == 0


def test_users_and_base_history(demo_bundle, engine) -> None:
    users = engine.known_users()
    assert users == sorted(users) and len(users) == demo_bundle.manifest["dataset"]["users"]
    u = users[3]
    h = engine.base_history(u)
    df = demo_bundle.interactions.df
    rows = df[df["user_id"].astype(str) == u].sort_values(["timestamp", "item_id"])
    assert h.item_ids == rows["item_id"].astype(str).tolist()
    assert h.events == rows["event"].astype(str).tolist()
    h.item_ids.append("changed")  # a copy: the engine's own is untouched
    assert engine.base_history(u).item_ids == rows["item_id"].astype(str).tolist()
    assert engine.has_user(u) and not engine.has_user("nobody")
    assert len(engine.base_history("nobody")) == 0


def test_details_and_unknown_items(engine) -> None:
    some = engine.catalog.ids[0]
    assert engine.details(some).id == some
    with pytest.raises(UnknownItem, match=r"'mv-no-such-film'.*Fix") as err:
        engine.details("mv-no-such-film")
    assert isinstance(err.value, KeyError) and err.value.item_id == "mv-no-such-film"
    with pytest.raises(UnknownItem, match="nope"):
        engine.similar([some, "nope"])
    with pytest.raises(ValueError, match="at least one item id"):
        engine.similar([])


# -- hard constraints -----------------------------------------------------------------------------


def test_constraint_masks_equal_satisfies(engine) -> None:
    rng = np.random.default_rng(1)
    items = list(engine.catalog)
    for _ in range(60):
        req = random_request(engine, rng, query=False)
        expected = satisfies(items, req)
        assert np.array_equal(engine.allowed_mask(req), expected), req.hard_constraints()
    assert engine.allowed_mask(None).all()
    # A label outside the vocabulary excludes nothing; a language nobody has allows nothing.
    assert ConstraintMasks(engine.items).mask(Request(exclude_genres=["zzz"])).all()
    assert not engine.allowed_mask(Request(language="xx")).any()


def test_recommend_respects_constraints_and_exclusions(engine) -> None:
    rng = np.random.default_rng(0)
    users = engine.known_users()
    nonempty = with_features = 0
    for trial in range(30):
        req = random_request(engine, rng)
        hist = engine.base_history(users[trial % len(users)])
        exclude = set(rng.choice(engine.catalog.ids, 20, replace=False).tolist())
        picks = engine.recommend(hist, req, k=10, exclude=exclude)
        assert_valid(engine, picks, req, exclude)
        assert not set(p.item_id for p in picks) & set(hist.item_ids)
        allowed = engine.allowed_mask(req).copy()
        allowed[engine.items.rows(sorted(exclude | set(hist.item_ids)), strict=False)] = False
        assert len(picks) == min(10, int(allowed.sum())), req.hard_constraints()
        nonempty += bool(picks)
        if picks:
            assert picks[0].evidence.sources
            with_features += bool(picks[0].evidence.features)
    assert nonempty >= 20  # the constraint sets were not all empty
    # Evidence lists only features that raised the score: a top pick that every feature
    # lowered (a request far from the user's history, e.g. short albums for a film lover)
    # has none to show; most top picks do.
    assert with_features >= 0.8 * nonempty, (with_features, nonempty)


def test_recommend_is_steered_by_liked_titles_and_drops_rejected_ones(engine, demo_bundle) -> None:
    stats = demo_bundle.stats
    pop = stats.popularity(stats.rows(engine.catalog.ids))
    liked = engine.catalog.ids[int(np.argmax(pop))]  # a title with many co-watchers
    rejected = engine.recommend(engine.base_history("nobody"), Request(), k=1)[0].item_id
    req = Request(titles=[TitleRef(text="x", item_id=liked),
                          TitleRef(text="y", item_id=rejected, role=TitleRole.not_)])
    picks = engine.recommend(engine.base_history("nobody"), req, k=10)
    ids = [p.item_id for p in picks]
    assert liked not in ids and rejected not in ids and len(ids) == 10
    # Liked titles join the history: the picks are its collaborative neighbours, cited.
    knn = stats.pair_weights("knn", stats.rows([liked]), stats.rows(ids))[0]
    assert (knn > 0).sum() >= 5
    cited = {link.item_id for p in picks for link in p.evidence.history}
    assert cited == {liked}
    assert ids != [p.item_id for p in engine.recommend(engine.base_history("nobody"), Request())]


def test_similar_never_returns_seeds_and_holds_constraints(engine) -> None:
    rng = np.random.default_rng(2)
    users = engine.known_users()
    for trial in range(15):
        seeds = list(rng.choice(engine.catalog.ids, int(rng.integers(1, 3)), replace=False))
        req = random_request(engine, rng)
        hist = engine.base_history(users[trial])
        exclude = {engine.catalog.ids[trial]}
        picks = engine.similar(seeds, history=hist, request=req, k=8, exclude=exclude)
        assert_valid(engine, picks, req, exclude)
        got = {p.item_id for p in picks}
        assert not got & set(seeds) and not got & set(hist.item_ids)
    # Without constraints the nearest neighbours by vector, of the seed's media family
    # (films and series for a film), come first in the pool.
    from assistant.explain.relevance import media_family

    seed = engine.catalog.ids[10]
    picks = engine.similar([seed], k=5)
    row = engine.items.rows([seed])[0]
    sims = engine.items.vectors @ engine.items.vectors[row]
    sims[row] = -np.inf
    fam = media_family(engine.catalog[seed].media_type)
    sims[[media_family(it.media_type) != fam for it in engine.catalog]] = -np.inf
    top50 = set(np.array(engine.items.ids)[np.argsort(-sims)[:50]])
    assert len(picks) == 5 and {p.item_id for p in picks} <= top50
    assert {media_family(engine.catalog[p.item_id].media_type) for p in picks} == {fam}


def test_trending_holds_constraints_and_orders_by_recent_plays(engine) -> None:
    rng = np.random.default_rng(3)
    for _ in range(15):
        req = random_request(engine, rng, query=False)
        exclude = set(rng.choice(engine.catalog.ids, 10, replace=False).tolist())
        picks = engine.trending(request=req, k=10, exclude=exclude)
        assert_valid(engine, picks, req, exclude)
        scores = [p.score for p in picks]
        assert scores == sorted(scores, reverse=True)
    picks = engine.trending(k=20)
    stats = engine.stats
    recent = stats.recent_popularity(stats.rows([p.item_id for p in picks]))
    assert recent.tolist() == sorted(recent.tolist(), reverse=True) and recent[0] > 0
    best = stats.recent_popularity(stats.rows(engine.catalog.ids)).max()
    assert recent[0] == best
    hist = engine.base_history(engine.known_users()[0])
    assert not {p.item_id for p in engine.trending(history=hist, k=50)} & set(hist.item_ids)


# -- playlists ------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [20, 60, 120, 240])
def test_playlist_totals_within_five_percent(engine, target) -> None:
    req = Request(media_types=AUDIO, exclude_genres=["metal"])
    hist = engine.base_history(engine.known_users()[5])
    exclude = set(engine.catalog.ids[:30])
    pl = engine.playlist(hist, req, target_minutes=target, exclude=exclude)
    assert isinstance(pl, Playlist) and pl.within_tolerance
    minutes = [engine.details(p.item_id).duration_min for p in pl.items]
    assert abs(sum(minutes) - pl.total_minutes) < 0.01
    assert abs(pl.total_minutes - target) <= 0.05 * target
    assert_valid(engine, pl.items, req, exclude)
    # a playlist may play what the person liked or played, never what they rejected
    rejected = {i for i, e in zip(hist.item_ids, hist.events, strict=True)
                if e in ("dislike", "skip")}
    assert not {p.item_id for p in pl.items} & rejected


def test_playlist_that_cannot_reach_the_target_says_so(engine) -> None:
    req = Request(media_types=["music_track"])
    tracks = [it.duration_min for it in engine.catalog if it.media_type.value == "music_track"]
    beyond = int(sum(tracks)) + 500  # more than every track of the catalog together
    pl = engine.playlist(engine.base_history("nobody"), req, target_minutes=beyond)
    assert not pl.within_tolerance and pl.total_minutes <= sum(tracks) + 0.01
    assert pl.shortfall_minutes > 0 and len(pl.items) == len(tracks)  # every track, the closest
    with pytest.raises(ValueError, match="target_minutes"):
        engine.playlist(engine.base_history("nobody"), req, target_minutes=0)


def test_fill_matches_brute_force() -> None:
    rng = np.random.default_rng(4)
    for _ in range(200):
        mins = [float(x) for x in rng.integers(2, 90, int(rng.integers(1, 9)))]
        target = int(rng.integers(5, 200))
        lo, hi = target * 0.95, target * 1.05
        chosen = _fill(mins, target, lo, hi)
        total = sum(mins[j] for j in chosen)
        sums = {sum(c) for r in range(len(mins) + 1) for c in itertools.combinations(mins, r)}
        feasible = [s for s in sums if lo <= s <= hi]
        if feasible:
            assert lo <= total <= hi
            # Top-ranked items first: the shortest prefix that can reach the range (found by
            # doubling, so within twice its length) supplies the picks.
            shortest = next(m for m in range(1, len(mins) + 1) if any(
                lo <= sum(c) <= hi for r in range(m + 1)
                for c in itertools.combinations(mins[:m], r)))
            assert max(chosen) < 2 * shortest
        else:
            below = max(s for s in sums if s <= hi)
            assert total == below, (mins, target, chosen)


# -- a bundle without a ranker, and latency ------------------------------------------------------


def test_engine_over_a_bundle_without_ranker(tmp_path, demo_bundle_path) -> None:
    from retrieval.bundle import Bundle
    from retrieval.bundle_store import resolve
    from tests.bundles import build_demo_bundle

    encoder = resolve(demo_bundle_path).folder / "encoder"
    path = build_demo_bundle(tmp_path, encoder_path=encoder, users=40,
                             train_ranker=False)
    bundle = Bundle.load(path)
    engine = Engine.from_bundle(bundle, Settings())
    assert engine.ranker_name == "blend" and bundle.stats is None
    assert engine.stats.params["interactions"] > 0  # built from the bundle's log
    req = Request(query="space", media_types=["movie"], max_minutes=120)
    picks = engine.recommend(engine.base_history(engine.known_users()[0]), req, k=5)
    assert len(picks) == 5
    assert_valid(engine, picks, req)


@pytest.mark.slow
def test_recommend_latency_on_the_demo(engine) -> None:
    hist = engine.base_history(engine.known_users()[0])
    req = Request(query="space adventure", media_types=["movie"], year_min=1990)
    engine.recommend(hist, req)
    times = []
    for _ in range(30):
        t = time.perf_counter()
        engine.recommend(hist, req)
        times.append(time.perf_counter() - t)
    assert np.median(times) < 0.030
