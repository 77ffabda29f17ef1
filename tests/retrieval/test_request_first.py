"""Request first: what a request states (genres, tags, moods) decides the list, history
orders it; short lists show exact matches first, then close ones; constraints the catalog
cannot judge are skipped and reported; an item listed twice is shown once."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.catalog import Catalog
from retrieval.config import PipelineConfig
from retrieval.filter import wanted_groups
from retrieval.interactions import Interactions
from retrieval.models import Interaction, Item
from retrieval.pipeline import Pipeline
from retrieval.request import Request
from retrieval.retriever import History
from retrieval.stats import InteractionStats


class RandomEncoder:
    """Request texts get vectors unrelated to what they say (as a weak encoder would)."""

    dim = 16

    def encode(self, texts):
        out = []
        for t in texts:
            rng = np.random.default_rng(sum(map(ord, t)))
            v = rng.normal(size=self.dim).astype(np.float32)
            out.append(v / np.linalg.norm(v))
        return np.stack(out)


def _world(n_jazz: int = 12, durations: bool = True):
    items = [Item(id=f"crime{k}", title=f"Crime {k}", media_type="movie", year=1990 + k,
                  genres=["crime"], duration_min=100.0 if durations else None)
             for k in range(20)]
    items += [Item(id=f"rock{k}", title=f"Rock {k}", media_type="album", year=1960 + k % 10,
                   genres=["rock"], tags=["upbeat"], duration_min=40.0 if durations else None)
              for k in range(15)]
    items += [Item(id=f"jazz{k}", title=f"Jazz {k}", media_type="album", year=1950 + 2 * k,
                   genres=["jazz"], tags=["relaxing"] if k % 2 else [],
                   duration_min=40.0 if durations else None)
              for k in range(n_jazz)]
    cat = Catalog(items)
    rows = []
    for u in range(40):  # crime fans who also play rock albums, never jazz
        for t in range(8):
            item = f"crime{(u + t) % 20}" if t % 2 else f"rock{(u + t) % 15}"
            rows.append(Interaction(user_id=f"u{u}", item_id=item, timestamp=100 * u + t))
    log = Interactions.from_records(rows)
    vecs = np.random.default_rng(1).normal(size=(len(cat), RandomEncoder.dim)).astype("float32")
    return cat, log, vecs


def _pipe(config: PipelineConfig | None = None, **world) -> Pipeline:
    cat, log, vecs = _world(**world)
    config = config or PipelineConfig(retrieval={"n_candidates": 20, "collaborative": 15})
    return Pipeline(cat, vecs, RandomEncoder(), InteractionStats.build(log, cat), config=config,
                    mood_tags={"relaxing": ["relaxing", "chill"]})


CRIME_FAN = History([f"crime{k}" for k in range(10)] + ["rock1", "rock2"])
JAZZ = Request(query="jazz albums", media_types=["album"], genres=["jazz"])


def test_a_history_that_conflicts_with_the_request_orders_it_and_never_replaces_it() -> None:
    pipe = _pipe()
    picks = pipe.recommend(CRIME_FAN, JAZZ, k=10)
    assert len(picks) == 10
    assert all(pipe.catalog[p.item_id].genres == ["jazz"] for p in picks)
    assert {p.match for p in picks} == {"exact"} and not any(p.missing for p in picks)


def test_without_request_first_the_history_wins() -> None:
    """The control: the ranker alone, with no exact lookup, lets the rock albums the crime
    fan's neighbours play take places from jazz."""
    config = PipelineConfig(retrieval={"n_candidates": 20, "collaborative": 15,
                                       "stated_candidates": 0},
                            ranker={"request_first": False})
    pipe = _pipe(config)
    picks = pipe.recommend(CRIME_FAN, JAZZ, k=10)
    assert any(pipe.catalog[p.item_id].genres != ["jazz"] for p in picks)


def test_a_short_list_shows_the_exact_matches_first_then_close_ones_labelled() -> None:
    pipe = _pipe()
    req = JAZZ.model_copy(update={"year_min": 1960, "year_max": 1969})  # jazz2..jazz6
    picks = pipe.recommend(CRIME_FAN, req, k=8)
    matches = [p.match for p in picks]
    assert matches == ["exact"] * 5 + ["close"] * 3
    assert all(pipe.catalog[p.item_id].genres == ["jazz"] for p in picks[:5])
    assert all(p.missing == ["jazz"] for p in picks[5:])
    assert all(1960 <= (pipe.catalog[p.item_id].year or 0) <= 1969 for p in picks)


def test_several_wants_rank_by_how_many_are_met_and_drop_items_that_meet_none() -> None:
    pipe = _pipe()
    req = Request(query="relaxing jazz", media_types=["album"], genres=["jazz"],
                  tags=["relaxing"], moods=["relaxing"])
    picks = pipe.recommend(CRIME_FAN, req, k=12)
    met = [len(pipe.filters.stated(req).wanted) - len(p.missing) for p in picks]
    assert met == sorted(met, reverse=True) and met[0] == 2 and min(met) >= 1
    assert [p.match for p in picks].count("exact") == 6  # the odd jazz albums


def test_moods_are_met_by_any_of_their_tags() -> None:
    groups = wanted_groups(Request(tags=["chill", "space"], moods=["relaxing"]),
                           {"relaxing": ["relaxing", "chill"]})
    assert [(g.kind, g.tags) for g in groups] == [("mood", ("chill",)), ("theme", ("space",))]


def test_a_compound_genre_wants_every_genre_and_alternatives_any() -> None:
    """"Jazz rock" (all_genres) is met only by albums with both genres; "jazz or rock" by
    either. The items with both come first in both cases."""
    both = wanted_groups(Request(genres=["jazz", "rock"], all_genres=True))
    either = wanted_groups(Request(genres=["jazz", "rock"]))
    assert [g.genres for g in both] == [("jazz",), ("rock",)]
    assert [g.genres for g in either] == [("jazz", "rock")]
    cat, log, vecs = _world()
    fusion = [Item(id=f"fusion{k}", title=f"Fusion {k}", media_type="album", year=1970 + k,
                   genres=["jazz", "rock"], duration_min=40.0) for k in range(3)]
    cat = Catalog([*cat, *fusion])
    vecs = np.vstack([vecs, np.random.default_rng(2).normal(size=(3, RandomEncoder.dim))
                      .astype("float32")])
    pipe = Pipeline(cat, vecs, RandomEncoder(), InteractionStats.build(log, cat),
                    config=PipelineConfig(retrieval={"n_candidates": 20, "collaborative": 15}))
    req = Request(query="jazz rock albums", media_types=["album"], genres=["jazz", "rock"],
                  all_genres=True)
    # asked "or" first: the cached match of those genres must not answer the compound
    assert pipe.recommend(CRIME_FAN, req.model_copy(update={"all_genres": False}), k=6)
    picks = pipe.recommend(CRIME_FAN, req, k=6)
    assert [p.match for p in picks] == ["exact"] * 3 + ["close"] * 3
    assert {p.item_id for p in picks[:3]} == {"fusion0", "fusion1", "fusion2"}


def test_a_constraint_the_catalog_cannot_judge_is_skipped_and_reported() -> None:
    pipe = _pipe(durations=False)
    req = JAZZ.model_copy(update={"max_minutes": 60})
    filt = pipe.filter(req)
    assert filt.unchecked == ("duration",)
    picks = pipe.recommend(CRIME_FAN, req, filt, k=5)
    assert len(picks) == 5
    # with durations, the same constraint is applied (and nothing is reported)
    judged = _pipe().filter(req.model_copy(update={"max_minutes": 30}))
    assert judged.unchecked == () and not judged.mask[judged.stated.exact].any()


def test_two_items_with_the_same_title_and_year_are_never_both_shown() -> None:
    cat = Catalog([Item(id="a1", title="Heat", media_type="movie", year=1995),
                   Item(id="a2", title="heat ", media_type="movie", year=1995),
                   Item(id="b", title="Heat", media_type="movie", year=1986),
                   Item(id="c", title="Ronin", media_type="movie", year=1998)])
    log = Interactions.from_records([Interaction(user_id="u", item_id="c")])
    vecs = np.eye(4, dtype="float32")
    pipe = Pipeline(cat, vecs, None, InteractionStats.build(log, cat))
    picks = [p.item_id for p in pipe.recommend(History([]), k=4)]
    assert len(picks) == 3 and {"a1", "a2"} & set(picks) != {"a1", "a2"} and "b" in picks


@pytest.mark.parametrize("k", [1, 3])
def test_rank_lists_and_recommend_agree_with_a_request(k: int) -> None:
    pipe = _pipe()
    ranked = pipe.rank_lists([CRIME_FAN], requests=[JAZZ], filters=[pipe.filter(JAZZ)])[0]
    picks = pipe.recommend(CRIME_FAN, JAZZ, k=k, evidence=False)
    assert [pipe.catalog.ids[r] for r in ranked[:k]] == [p.item_id for p in picks]


def test_of_two_close_matches_the_one_of_the_kind_asked_for_comes_first() -> None:
    """"Interview podcasts about business": a business podcast without interviews ranks
    above an interview podcast about health; both above one with neither."""
    from retrieval.filter import StatedMatch, Wanted

    stated = StatedMatch((Wanted("business", "genre", genres=("business",)),
                          Wanted("interview", "theme", tags=("interview",))),
                         np.array([0b01, 0b10, 0b11, 0b00]))
    assert stated.tier(stated.bits).tolist() == [3, 2, 5, 0]
