"""Ranker features and the statistics behind them: each feature against its formula, the
schema's checks, cold users and cold items, and the statistics files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import sparse

from retrieval.catalog import Catalog
from retrieval.collaborative.ease import EASE
from retrieval.collaborative.itemknn import ItemKNN
from retrieval.errors import DataError
from retrieval.features import (
    FEATURE_GROUPS,
    FEATURE_SCHEMA,
    FeatureBuilder,
    FeatureMatrix,
    FeatureMismatch,
    FeatureSchema,
    ItemTable,
    QueryContext,
)
from retrieval.interactions import Interactions
from retrieval.models import Interaction, Item
from retrieval.request import Request, TitleRef
from retrieval.retriever import Candidate, History
from retrieval.stats import InteractionStats

DAY = 86_400


def _catalog() -> Catalog:
    spec = [
        ("a", "drama", ["slow"], 1990, 100, "movie"),
        ("b", "drama", ["slow", "sad"], 1995, 130, "movie"),
        ("c", "horror", ["dark"], 2001, 90, "movie"),
        ("d", "horror", ["dark", "sad"], 2010, 45, "series"),
        ("e", "comedy", ["light"], None, None, "movie"),
        ("f", "comedy", [], 2020, 30, "podcast"),
    ]
    return Catalog(Item(id=i, title=i.upper(), media_type=m, year=y, duration_min=d,
                        genres=[g], tags=t) for i, g, t, y, d, m in spec)


def _log() -> Interactions:
    rows = [("u1", "a", 1), ("u1", "b", 2), ("u1", "c", 3), ("u2", "a", 1), ("u2", "b", 5),
            ("u3", "c", 2), ("u3", "d", 40 * DAY), ("u4", "b", 41 * DAY), ("u4", "e", 42 * DAY)]
    return Interactions.from_records(
        Interaction(user_id=u, item_id=i, timestamp=t) for u, i, t in rows)


def _vectors(n: int = 6, d: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture()
def builder() -> FeatureBuilder:
    cat = _catalog()
    return FeatureBuilder(ItemTable(cat, _vectors()), InteractionStats.build(_log(), cat,
                                                                             ease_l2=1.0))


def _cands(ids: str) -> list[Candidate]:
    return [Candidate(item_id=i, score=0.5 - 0.1 * k) for k, i in enumerate(ids)]


def test_schema_names_groups_and_checks() -> None:
    names = FEATURE_SCHEMA.names
    assert len(names) == len(set(names)) == sum(len(v) for v in FEATURE_GROUPS.values())
    for group in ("retrieval", "request", "profile", "recent", "dislike", "popularity",
                  "collaborative", "genre_tag", "fit", "media"):
        assert group in FEATURE_SCHEMA.groups
    smaller = FEATURE_SCHEMA.without("popularity")
    assert "popularity" not in smaller.names and smaller.fingerprint != FEATURE_SCHEMA.fingerprint
    with pytest.raises(ValueError, match="unknown feature group.*valid: retrieval"):
        FEATURE_SCHEMA.without("nope")
    smaller.check_readable_by(FEATURE_SCHEMA)
    with pytest.raises(FeatureMismatch, match="version 0.*computes version 2.*encore build"):
        FeatureSchema(version=0, groups=dict(FEATURE_GROUPS)).check_readable_by(FEATURE_SCHEMA)
    with pytest.raises(FeatureMismatch, match="not computed here: popularity"):
        FEATURE_SCHEMA.check_readable_by(smaller)


def test_matrix_select_names_missing_features() -> None:
    m = FeatureMatrix(np.zeros((2, 2), np.float32), ("popularity", "ease_score"))
    with pytest.raises(FeatureMismatch, match="lacks .* retrieval_score"):
        m.select(FEATURE_SCHEMA)
    sub = FeatureSchema(groups={"x": ("ease_score",)})
    assert m.select(sub).shape == (2, 1)


def test_history_features_against_their_formulas(builder: FeatureBuilder) -> None:
    hist = History(["a", "b"], ["rating", "rating"], [5.0, 1.0])  # b is disliked (rating 1)
    m = builder.build(QueryContext(hist, now=5), _cands("cdef"))
    v = builder.items.vectors
    rows = builder.items.rows(list("cdef"))
    a, b = builder.items.rows(["a", "b"])
    # The profile is the liked items only: a.
    np.testing.assert_allclose(m.column("profile_cosine"), v[rows] @ v[a], rtol=1e-5)
    # Recent: everything consumed, a and b.
    sims = v[rows] @ v[[a, b]].T
    np.testing.assert_allclose(m.column("recent_max_cosine"), sims.max(1), rtol=1e-5)
    np.testing.assert_allclose(m.column("recent_mean_cosine"), sims.mean(1), rtol=1e-5)
    np.testing.assert_allclose(m.column("dislike_max_cosine"), v[rows] @ v[b], rtol=1e-5)
    # Collaborative: the EASE and item-kNN baselines' own weights.
    ease, knn = EASE(l2=1.0), ItemKNN()
    ease.fit(_log(), _catalog())
    knn.fit(_log(), _catalog())
    h = sparse.csr_matrix(np.array([[1, 1, 0, 0, 0, 0]], np.float32))
    np.testing.assert_allclose(m.column("ease_score"), ease.score(["x"], h)[0, rows], atol=1e-6)
    np.testing.assert_allclose(m.column("knn_score"), knn.score(["x"], h)[0, rows], atol=1e-6)
    np.testing.assert_allclose(m.column("knn_recent_max"),
                               knn.similarity[[a, b]][:, rows].max(0), atol=1e-6)
    top = np.abs(m.column("ease_score")).max()
    np.testing.assert_allclose(m.column("ease_relative"), m.column("ease_score") / top, rtol=1e-5)
    # Popularity: distinct users; recent: interactions in the 30 days up to `now`.
    np.testing.assert_allclose(m.column("popularity"), np.log1p([2, 1, 1, 0]))
    np.testing.assert_allclose(m.column("recent_popularity"), np.log1p([2, 0, 0, 0]))
    # Genres: c and d are horror, the liked history is drama.
    assert m.column("genre_profile").tolist() == [0.0, 0.0, 0.0, 0.0]
    assert m.column("history_length")[0] == pytest.approx(np.log1p(2))
    assert m.column("year_gap_history")[0] == pytest.approx(abs(2001 - 1992.5) / 10)
    assert np.isnan(m.column("year_gap_history")[2])  # e has no year
    # Retrieval: the dense score as given, its rank within the list, the source flag.
    np.testing.assert_allclose(m.column("retrieval_score"), [0.5, 0.4, 0.3, 0.2], rtol=1e-6)
    np.testing.assert_allclose(m.column("retrieval_rank"), [0, 0.25, 0.5, 0.75])
    # No request: request features are missing.
    for name in ("request_cosine", "genre_request", "tag_request", "year_fit", "duration_fit",
                 "media_match"):
        assert np.isnan(m.column(name)).all(), name


def test_recent_popularity_never_counts_the_future(builder: FeatureBuilder) -> None:
    m = builder.build(QueryContext(History(["a"]), now=3), _cands("bc"))
    # b: u1 at 2 (u2 at 5 is later); c: u3 at 2 and u1 at 3 (inclusive)
    np.testing.assert_allclose(m.column("recent_popularity"), np.log1p([1, 2]))
    later = builder.build(QueryContext(History(["a"]), now=42 * DAY), _cands("bcd"))
    np.testing.assert_allclose(later.column("recent_popularity"), np.log1p([1, 0, 1]))


def test_request_features_against_their_formulas(builder: FeatureBuilder) -> None:
    req = Request(genres=["horror", "western"], tags=["dark"], year_min=2000, year_max=2005,
                  max_minutes=60, media_types=["movie"],
                  titles=[TitleRef(text="A", item_id="a")])
    rvec = _vectors(1, seed=5)[0]
    m = builder.build(QueryContext(History([]), request=req, request_vector=rvec),
                      _cands("bcdef"))
    v = builder.items.vectors
    rows = builder.items.rows(list("bcdef"))
    q = rvec + v[builder.items.rows(["a"])[0]]
    q = q / np.linalg.norm(q)
    np.testing.assert_allclose(m.column("request_cosine"), v[rows] @ q, rtol=1e-5)
    # Share of the asked genres (horror, western) and tags (dark) the item has.
    assert m.column("genre_request").tolist() == [0.0, 0.5, 0.5, 0.0, 0.0]
    assert m.column("tag_request").tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]
    # Year 1995 is 5 years early, 2001 inside, 2010 5 late, e unknown, 2020 15 late.
    yf = m.column("year_fit")
    np.testing.assert_allclose(yf[[0, 1, 2, 4]], [np.exp(-1), 1.0, np.exp(-1), np.exp(-3)],
                               rtol=1e-6)
    assert np.isnan(yf[3])
    # 130 min is (130 - 60) / 60 over the limit; 90 is 0.5 over; 45 and 30 inside.
    df = m.column("duration_fit")
    np.testing.assert_allclose(df[[0, 1, 2, 4]],
                               [np.exp(-(70 / 60) / 0.25), np.exp(-0.5 / 0.25), 1.0, 1.0],
                               rtol=1e-5)
    assert m.column("media_match").tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]


def test_cold_start_user_gets_finite_request_and_popularity_features(builder) -> None:
    m = builder.build(QueryContext(History([])), _cands("abc"))
    assert np.isfinite(m.column("popularity")).all()
    for name in ("profile_cosine", "recent_max_cosine", "ease_score", "knn_recent_max",
                 "genre_profile", "dislike_max_cosine", "media_history_share"):
        assert np.isnan(m.column(name)).all(), name
    assert m.column("history_length").tolist() == [0.0, 0.0, 0.0]


def test_cold_item_is_scored_from_its_text_and_metadata() -> None:
    cat = _catalog()
    stats = InteractionStats.build(_log(), cat, ease_l2=1.0)
    grown = Catalog([*cat, Item(id="new", title="New", media_type="movie", year=2002,
                                genres=["horror"], tags=["dark"])])
    vecs = np.vstack([_vectors(), _vectors(1, seed=9)])
    fb = FeatureBuilder(ItemTable(grown, vecs), stats)
    m = fb.build(QueryContext(History(["c"]), request=Request(genres=["horror"])),
                 _cands(["new", "d"]))
    assert m.column("popularity")[0] == 0 and m.column("ease_score")[0] == 0
    assert m.column("genre_request")[0] == 1.0 and m.column("genre_profile")[0] == 1.0
    assert np.isfinite(m.column("profile_cosine")).all()


def test_unknown_candidate_id_is_a_clear_error(builder: FeatureBuilder) -> None:
    with pytest.raises(KeyError, match="not in the catalog the features were built for"):
        builder.build(QueryContext(History(["a"])), _cands(["zzz"]))


def test_vectorised_equals_one_at_a_time(builder: FeatureBuilder) -> None:
    ctx = QueryContext(History(["a", "c"]), request=Request(genres=["drama"], year_min=1994),
                       request_vector=_vectors(1, seed=3)[0], now=10)
    whole = builder.build(ctx, _cands("bdef"))
    list_relative = {"retrieval_rank", "ease_relative", "mf_relative"}
    keep = [j for j, n in enumerate(whole.names) if n not in list_relative]
    for k, c in enumerate(_cands("bdef")):
        one = builder.build(ctx, [c])
        np.testing.assert_allclose(one.values[0, keep], whole.values[k, keep], rtol=1e-5)


def test_stats_save_load_and_damage(tmp_path) -> None:
    cat = _catalog()
    stats = InteractionStats.build(_log(), cat, ease_l2=1.0)
    stats.save(tmp_path / "s")
    back = InteractionStats.load(tmp_path / "s")
    assert back.item_ids == stats.item_ids and back.params == stats.params
    np.testing.assert_array_equal(back.ease, stats.ease)
    np.testing.assert_array_equal(back.recent_popularity(back.rows(["b"]), now=5),
                                  stats.recent_popularity(stats.rows(["b"]), now=5))
    (tmp_path / "s" / "arrays.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="checksum"):
        InteractionStats.load(tmp_path / "s")
    meta = json.loads((tmp_path / "s" / "stats.json").read_text())
    meta["format"] = "encore-stats/0"
    (tmp_path / "s" / "stats.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="format"):
        InteractionStats.load(tmp_path / "s")
    with pytest.raises(DataError, match="not a ranker statistics folder"):
        InteractionStats.load(tmp_path / "missing")


def test_dislikes_and_skips_do_not_count_as_consumption() -> None:
    cat = _catalog()
    log = Interactions.from_records([
        Interaction(user_id="u", item_id="a", event="dislike"),
        Interaction(user_id="v", item_id="a", event="skip"),
        Interaction(user_id="w", item_id="a", event="play")])
    stats = InteractionStats.build(log, cat)
    assert stats.popularity(stats.rows(["a"])).tolist() == [1.0]


@pytest.mark.parametrize("name", ["retrieval.features", "retrieval.stats", "retrieval.ranker",
                                  "retrieval.diversify", "retrieval.rerank",
                                  "retrieval.candidates", "retrieval.train_ranker", "eval.encore"])
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_stats_of_a_large_catalog_keep_collaborative_weights_over_consumed_items() -> None:
    # Six items, a dense limit of four: only the three consumed items become rows, so EASE
    # and item-kNN are built; the others read as never consumed.
    cat = Catalog([Item(id=i, title=i, media_type="movie") for i in "abcdef"])
    log = Interactions.from_records([Interaction(user_id=u, item_id=i) for u, i in
                                     [("1", "a"), ("1", "b"), ("2", "a"), ("2", "b"),
                                      ("3", "d")]])
    small = InteractionStats.build(log, cat, ease_l2=1.0, dense_limit=4)
    full = InteractionStats.build(log, cat, ease_l2=1.0)
    assert small.item_ids == ["a", "b", "d"] and small.has_collaborative
    assert small.params["rated_only"] and not full.params["rated_only"]
    rows = small.rows(list("abcdef"))
    assert rows.tolist() == [0, 1, -1, 2, -1, -1]
    assert small.popularity(rows).tolist() == full.popularity(full.rows(list("abcdef"))).tolist()
    assert small.pair_weights("knn", small.rows(["a"]), small.rows(["b", "c"]))[0].tolist() == \
        pytest.approx(full.pair_weights("knn", full.rows(["a"]), full.rows(["b", "c"]))[0].tolist())
    # More consumed items than the limit: no EASE (its weights read as missing), but the
    # sparse item-kNN table and the ALS factors are there at any size.
    big = InteractionStats.build(log, cat, dense_limit=2)
    assert big.ease is None and big.knn is not None and big.mf is not None
    assert np.isnan(big.pair_weights("ease", big.rows(["a"]), big.rows(["b"]))).all()
    assert big.pair_weights("knn", big.rows(["a"]), big.rows(["b"]))[0, 0] == pytest.approx(1.0)
