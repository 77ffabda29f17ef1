"""The retriever: request only, history only, both; consumed items; dislikes; recency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.catalog import Catalog
from retrieval.embedding_cache import EmbeddingCache
from retrieval.encoder import load_encoder
from retrieval.interactions import Interactions
from retrieval.models import Interaction
from retrieval.retriever import Candidate, History, Retriever, histories_from_log, history_weights

# Eight items on a circle in 2-d: neighbours in id order are near each other.
IDS = [f"i{k}" for k in range(8)]
ANGLES = np.arange(8) * (2 * np.pi / 8)
VECS = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1).astype(np.float32)


class FakeEncoder:
    """Requests name an item ('like i3'), encoded as that item's vector."""

    dim = 2

    def encode(self, texts):
        out = []
        for t in texts:
            if not t.strip():
                raise ValueError("empty text")
            k = int(t.split("i")[-1]) if "i" in t else 0
            out.append(VECS[k])
        return np.array(out, dtype=np.float32)


@pytest.fixture()
def retriever() -> Retriever:
    return Retriever(FakeEncoder(), IDS, VECS, recency_half_life=None, dislike_weight=0.0)


def ids(cands: list[Candidate]) -> list[str]:
    return [c.item_id for c in cands]


def test_request_only(retriever: Retriever) -> None:
    got = retriever.retrieve("something like i2", n=3)
    assert ids(got)[0] == "i2" and set(ids(got)[1:]) == {"i1", "i3"}
    assert got[0].score == pytest.approx(1.0, abs=1e-5) and got[0].source == "dense"
    assert [c.score for c in got] == sorted((c.score for c in got), reverse=True)


def test_history_only_leaves_out_consumed_items_unless_asked(retriever: Retriever) -> None:
    h = History(["i0", "i1"])
    got = ids(retriever.retrieve(history=h, n=2))
    assert set(got) == {"i2", "i7"}  # the neighbours of the profile, not i0 / i1
    kept = ids(retriever.retrieve(history=h, n=2, include_consumed=True))
    assert set(kept) == {"i0", "i1"}


def test_request_and_history_are_blended_by_weight() -> None:
    h = History(["i0"])
    only_request = Retriever(FakeEncoder(), IDS, VECS, request_weight=1.0)
    only_profile = Retriever(FakeEncoder(), IDS, VECS, request_weight=0.0)
    half = Retriever(FakeEncoder(), IDS, VECS, request_weight=0.5)
    assert ids(only_request.retrieve("like i4", h, n=1)) == ["i4"]
    assert ids(only_profile.retrieve("like i4", h, n=1, include_consumed=True)) == ["i0"]
    # Halfway between i0 and i2 is i1.
    assert ids(half.retrieve("like i2", h, n=1, include_consumed=True)) == ["i1"]


def test_dislikes_push_the_profile_away() -> None:
    h = History(["i0", "i2"], events=["like", "dislike"], values=[1.0, -1.0])
    neutral = Retriever(FakeEncoder(), IDS, VECS, dislike_weight=0.0, recency_half_life=None)
    away = Retriever(FakeEncoder(), IDS, VECS, dislike_weight=0.5, recency_half_life=None)
    # Without the dislike, i1 and i7 are equally near i0; with it, i7 (away from i2) wins.
    n_ids, n_scores = neutral.search(neutral.profile(h)[None], n=2, exclude=[{"i0", "i2"}])
    assert set(n_ids[0]) == {"i1", "i7"} and n_scores[0][0] == pytest.approx(n_scores[0][1])
    got = away.retrieve(history=h, n=8)
    score = {c.item_id: c.score for c in got}
    assert ids(got)[0] == "i7" and score["i7"] > score["i1"] + 0.5
    # A low rating counts as a dislike too.
    rated = History(["i0", "i2"], events=["rating", "rating"], values=[5.0, 1.0])
    np.testing.assert_allclose(away.profile(rated), away.profile(h), atol=1e-6)


def test_recency_weights_recent_items_more() -> None:
    h = History(["i0", "i2"])  # i2 is the newest
    w = history_weights(h, recency_half_life=1.0)
    assert w.tolist() == [0.5, 1.0]
    r = Retriever(FakeEncoder(), IDS, VECS, recency_half_life=1.0)
    p = r.profile(h)
    assert p @ VECS[2] > p @ VECS[0]
    skip = history_weights(History(["i0"], events=["skip"], values=[-0.5]))
    assert skip.tolist() == [0.0]


def test_histories_from_typed_interactions_and_logs(retriever: Retriever) -> None:
    rows = [Interaction(user_id="u", item_id="i1", timestamp=20, event="play"),
            Interaction(user_id="u", item_id="i0", timestamp=10, event="rating", value=2)]
    h = History.from_interactions(rows)
    assert h.item_ids == ["i0", "i1"] and h.events == ["rating", "play"]
    assert ids(retriever.retrieve(history=rows, n=1)) == ["i2"]  # i0 was rated 2: a dislike
    log = Interactions.from_records(rows + [Interaction(user_id="v", item_id="i5", timestamp=1)])
    hs = histories_from_log(log)
    assert hs["u"].item_ids == ["i0", "i1"] and hs["v"].item_ids == ["i5"]
    many = retriever.retrieve_many(hs, n=2)
    for user, hist in hs.items():
        assert many[user][0] == ids(retriever.retrieve(history=hist, n=2))


def test_n_allowed_and_the_default_size() -> None:
    r = Retriever(FakeEncoder(), IDS, VECS, n_candidates=5)
    assert len(r.retrieve("like i0")) == 5
    assert ids(r.retrieve("like i0", n=10, allowed={"i4", "i5"})) == ["i5", "i4"]


def test_bad_input_is_a_clear_error(retriever: Retriever) -> None:
    with pytest.raises(ValueError, match="nothing to retrieve from"):
        retriever.retrieve()
    with pytest.raises(ValueError, match="nothing to retrieve from"):
        retriever.retrieve(history=History(["not-in-catalog"]))
    with pytest.raises(ValueError, match="empty or whitespace"):
        retriever.retrieve("   ")
    bad = VECS.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values \(rows 3\)"):
        Retriever(FakeEncoder(), IDS, bad)
    with pytest.raises(ValueError, match="8 item ids but 7"):
        Retriever(FakeEncoder(), IDS, VECS[:7])
    with pytest.raises(ValueError, match="request_weight"):
        Retriever(FakeEncoder(), IDS, VECS, request_weight=1.5)
    with pytest.raises(ValueError, match="NaN or infinite"):
        retriever.search(np.array([[np.inf, 0.0]]))
    with pytest.raises(ValueError, match="one event and value per item"):
        History(["a", "b"], events=["play"])


def test_from_catalog_with_a_real_tiny_model_and_cache(
    catalog: Catalog, log: Interactions, tiny_model_path: Path, tmp_path: Path
) -> None:
    enc = load_encoder(tiny_model_path)
    cache = EmbeddingCache(tmp_path / "cache")
    r = Retriever.from_catalog(catalog, enc, cache=cache, history_text_weight=0.3)
    assert cache.misses == len(catalog)
    Retriever.from_catalog(catalog, enc, cache=cache)
    assert cache.hits == len(catalog)  # a rebuild re-encodes nothing
    h = histories_from_log(log)["u0"]
    got = r.retrieve("space films", h, n=4)
    assert len(got) == 4 and not set(ids(got)) & set(h.item_ids)
    both = r.retrieve(history=h, n=len(catalog))
    assert len(both) == len(catalog) - len(set(h.item_ids))


def test_popularity_prior_is_exact_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    n_items, dim = 300, 8
    vecs = rng.normal(size=(n_items, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    item_ids = [f"x{k}" for k in range(n_items)]
    counts = rng.zipf(1.5, size=n_items).clip(max=10_000).astype(float)

    class VecEncoder:
        dim = 8

        def encode(self, texts):
            return np.zeros((len(texts), 8), np.float32)

    r = Retriever(VecEncoder(), item_ids, vecs, item_popularity=counts, popularity_weight=0.3)
    queries = rng.normal(size=(20, dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exclude = [set(rng.choice(item_ids, size=15, replace=False)) for _ in range(20)]
    got_ids, got_scores = r.search(queries, n=10, exclude=exclude)
    brute = queries @ vecs.T + 0.3 * np.log1p(counts)
    for qi in range(20):
        allowed = [k for k in range(n_items) if item_ids[k] not in exclude[qi]]
        best = sorted(allowed, key=lambda k: -brute[qi, k])[:10]
        np.testing.assert_allclose(got_scores[qi], brute[qi, best], atol=1e-5)
        assert not set(got_ids[qi]) & exclude[qi]
    with pytest.raises(ValueError, match="needs item_popularity"):
        Retriever(VecEncoder(), item_ids, vecs, popularity_weight=0.1)


def test_popularity_counts_and_trending() -> None:
    from retrieval.retriever import popularity_counts

    day = 86_400
    log = Interactions.from_records([
        Interaction(user_id="u", item_id="old", timestamp=0, event="play"),
        Interaction(user_id="v", item_id="old", timestamp=day, event="play"),
        Interaction(user_id="w", item_id="new", timestamp=10 * day, event="like"),
        Interaction(user_id="w", item_id="bad", timestamp=10 * day, event="rating", value=1),
    ])
    assert popularity_counts(log) == {"old": 2.0, "new": 1.0}
    trend = popularity_counts(log, half_life_days=1.0)
    assert trend["new"] == 1.0 and trend["old"] == pytest.approx(2 ** -10 + 2 ** -9)
