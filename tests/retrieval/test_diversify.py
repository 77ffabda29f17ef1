"""After ranking: MMR, the hard constraints checked again, and the evidence of each pick."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.catalog import Catalog
from retrieval.diversify import RankedItem, constraint_violations, mmr_order, satisfies
from retrieval.features import FeatureBuilder, ItemTable, QueryContext
from retrieval.interactions import Interactions
from retrieval.models import Interaction, Item
from retrieval.ranker import make_ranker
from retrieval.request import Request
from retrieval.rerank import Reranker
from retrieval.retriever import Candidate, History
from retrieval.stats import InteractionStats


def test_mmr_lambda_one_keeps_the_ranker_order() -> None:
    rel = np.array([0.2, 0.9, 0.5, 0.7])
    v = np.eye(4, dtype=np.float32)
    assert mmr_order(rel, v, k=4, lambda_=1.0).tolist() == [1, 3, 2, 0]
    assert mmr_order(rel, None, k=2, lambda_=0.3).tolist() == [1, 3]


def test_mmr_pushes_near_duplicates_down() -> None:
    # Items 0 and 1 are twins; 2 is different and a little less relevant.
    v = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    rel = np.array([1.0, 0.95, 0.9])
    assert mmr_order(rel, v, k=3, lambda_=0.9).tolist() == [0, 1, 2]
    assert mmr_order(rel, v, k=3, lambda_=0.6).tolist() == [0, 2, 1]
    # By hand at lambda 0.6, step 2: twin 0.6*0.5 - 0.4*1 = -0.1 < other 0.6*0 - 0.4*0 = 0.


def test_mmr_edges() -> None:
    assert mmr_order(np.zeros(0), None, k=3, lambda_=0.5).tolist() == []
    assert len(mmr_order(np.ones(3), np.eye(3, dtype=np.float32), k=10, lambda_=0.5)) == 3
    with pytest.raises(ValueError, match=r"lambda must lie in \[0, 1\]"):
        mmr_order(np.ones(3), None, k=3, lambda_=1.5)
    with pytest.raises(ValueError, match="3 candidates but 2 vectors"):
        mmr_order(np.ones(3), np.eye(2, dtype=np.float32), k=3, lambda_=0.5)


ITEMS = [
    Item(id="m1", title="Alien", media_type="movie", year=1979, duration_min=117,
         genres=["horror", "science fiction"], language="en"),
    Item(id="m2", title="Arrival", media_type="movie", year=2016, duration_min=116,
         genres=["science fiction"], tags=["slow"], language="en"),
    Item(id="p1", title="Radiolab", media_type="podcast", duration_min=50, genres=["science"]),
    Item(id="s1", title="Dark", media_type="series", year=2017, duration_min=55,
         genres=["science fiction"], tags=["dark"], language="de"),
]


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (Request(media_types=["movie"]), [True, True, False, False]),
        (Request(exclude_media_types=["movie"]), [False, False, True, True]),
        (Request(exclude_genres=["horror"]), [False, True, True, True]),
        (Request(exclude_tags=["dark"]), [True, True, True, False]),
        (Request(year_min=2000), [False, True, False, True]),  # p1's year is unknown
        (Request(year_max=2000), [True, False, False, False]),
        (Request(max_minutes=60), [False, False, True, True]),
        (Request(min_minutes=100), [True, True, False, False]),
        (Request(language="en"), [True, True, False, False]),
        (Request(exclude_ids=["m2"]), [True, False, True, True]),
        (Request(genres=["horror"]), [True, True, True, True]),  # wanted genres are soft
        (None, [True, True, True, True]),
    ],
)
def test_every_hard_constraint_is_checked(request_, expected) -> None:
    assert satisfies(ITEMS, request_).tolist() == expected


def test_violations_say_what_is_wrong() -> None:
    got = constraint_violations(ITEMS[2], Request(media_types=["movie"], year_min=2000))
    assert got == ["media type 'podcast' was not asked for",
                   "its year is unknown and a year range was asked for"]


@pytest.fixture()
def reranker() -> Reranker:
    cat = Catalog(ITEMS)
    log = Interactions.from_records(Interaction(user_id=u, item_id=i) for u, i in
                                    [("a", "m1"), ("a", "m2"), ("b", "m1"), ("b", "s1"),
                                     ("c", "m2"), ("c", "s1"), ("d", "p1")])
    vecs = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 0, 1], [0.7, 0.7, 0]], dtype=np.float32)
    builder = FeatureBuilder(ItemTable(cat, vecs), InteractionStats.build(log, cat, ease_l2=1.0))
    return Reranker(builder, make_ranker("blend"), mmr_lambda=1.0)


def test_rerank_rechecks_constraints_and_drops_the_history(reranker: Reranker) -> None:
    cands = [Candidate(item_id=i, score=0.5) for i in ("m1", "m2", "p1", "s1")]
    ctx = QueryContext(History(["m1"]), request=Request(exclude_media_types=["podcast"]))
    picks = reranker.rank(ctx, cands, k=10)
    assert {p.item_id for p in picks} == {"m2", "s1"}
    assert [p.rank for p in picks] == [1, 2] and picks[0].score >= picks[1].score
    strict = QueryContext(History([]), request=Request(year_min=2030))
    assert reranker.rank(strict, cands, k=3) == []


def test_each_pick_carries_its_evidence(reranker: Reranker) -> None:
    cands = [Candidate(item_id=i, score=0.5, source="dense+collaborative") for i in ("m2", "s1")]
    picks = reranker.rank(QueryContext(History(["m1"])), cands, k=2)
    ev = picks[0].evidence
    assert ev.sources == ["dense", "collaborative"]
    assert 1 <= len(ev.features) <= 3 and all(f.contribution > 0 for f in ev.features)
    assert all(f.group for f in ev.features)
    assert ev.history and ev.history[0].item_id == "m1"
    assert ev.history[0].kind in ("content", "collaborative") and ev.history[0].similarity > 0
    # Every link carries the items' vector cosine, whatever its kind (explanations need it).
    vecs = reranker.builder.items.vectors
    rows = reranker.builder.items.rows([picks[0].item_id, ev.history[0].item_id])
    assert ev.history[0].cosine == pytest.approx(float(vecs[rows[0]] @ vecs[rows[1]]), abs=1e-5)
    RankedItem.model_validate(picks[0].model_dump())  # plain data, ready for the explainer
    bare = reranker.rank(QueryContext(History(["m1"])), cands, k=2, evidence=False)
    assert [p.item_id for p in bare] == [p.item_id for p in picks] and not bare[0].evidence.features


def test_mmr_in_the_reranker_spreads_the_list(reranker: Reranker) -> None:
    cands = [Candidate(item_id=i, score=0.5) for i in ("m2", "s1", "p1")]
    plain = [p.item_id for p in reranker.rank(QueryContext(History(["m1"])), cands, k=3)]
    reranker.mmr_lambda = 0.0  # pure diversity after the first pick
    spread = [p.item_id for p in reranker.rank(QueryContext(History(["m1"])), cands, k=3)]
    assert spread[0] == plain[0]
    assert spread[1] == "p1"  # orthogonal to m2, the first pick
