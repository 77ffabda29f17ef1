"""Request first, honest short lists and the caller's list length, through whole chat turns on
the demo test bundle (a real FAISS index, LightGBM ranker and SQLite store)."""

from __future__ import annotations

from collections import Counter

import pytest

from assistant.core import Assistant
from assistant.engine import Engine
from assistant.errors import EncoreError
from assistant.settings import Settings
from assistant.store import open_store
from retrieval.catalog import Catalog


@pytest.fixture()
def bot(demo_bundle_path, tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    with Assistant.from_bundle(demo_bundle_path, Settings(), store=store) as a:
        yield a


def _crime_fan(bot: Assistant) -> str:
    """The demo user whose history leans most to crime."""
    def share(user: str) -> float:
        ids = [i for i in bot.engine.base_history(user).item_ids if i in bot.catalog]
        return sum("crime" in bot.catalog[i].genres for i in ids) / max(len(ids), 1)

    return max(bot.engine.known_users(), key=share)


def _jazz_albums(catalog: Catalog, lo: int = 0, hi: int = 3000) -> set[str]:
    return {it.id for it in catalog if it.media_type.value == "album" and "jazz" in it.genres
            and lo <= (it.year or 0) <= hi}


def test_a_crime_fan_asking_for_jazz_albums_gets_only_jazz_albums(bot) -> None:
    user = _crime_fan(bot)
    top = Counter(g for i in bot.engine.base_history(user).item_ids for g in bot.catalog[i].genres)
    assert top.most_common(1)[0][0] in {"crime", "true crime"} and "jazz" not in top
    jazz = _jazz_albums(bot.catalog)
    assert len(jazz) >= 10
    reply = bot.chat("s", user, "jazz albums")
    shown = [r.item_id for r in reply.recommendations]
    assert len(shown) == 10 and set(shown) <= jazz
    assert all(r.match == "exact" and r.match_note is None for r in reply.recommendations)
    assert reply.text == "Here are 10 jazz albums:"


def test_a_short_list_shows_exact_matches_then_labelled_close_ones_counted_in_the_lead(
        bot) -> None:
    user = _crime_fan(bot)
    jazz_60s = _jazz_albums(bot.catalog, 1960, 1969)
    assert 0 < len(jazz_60s) < 10
    reply = bot.chat("s", user, "jazz albums from the 60s")
    recs = reply.recommendations
    n = len(jazz_60s)
    assert len(recs) == 10
    assert {r.item_id for r in recs[:n]} == jazz_60s
    assert all(r.match == "exact" for r in recs[:n])
    assert all(r.match == "close" and r.media_type == "album" and 1960 <= r.year <= 1969
               and r.match_note == f"close match: {r.genres[0]}, not jazz" for r in recs[n:])
    assert reply.text == (f"Only {n} jazz albums from the 1960s here; {10 - n} close matches "
                          "follow:")


def test_the_lead_never_claims_more_than_it_shows_nor_shows_slot_names(bot) -> None:
    user = _crime_fan(bot)
    for msg in ("funny space podcasts", "something for my kids, under an hour",
                "a comedy series for the weekend", "dark jazz albums from the 50s"):
        reply = bot.chat(msg, user, msg)
        n_exact = sum(r.match == "exact" for r in reply.recommendations)
        said = reply.text + (reply.notice or "")
        assert "media_types" not in said and "max_minutes" not in said
        if n_exact < len(reply.recommendations):
            assert reply.text.startswith((f"Only {n_exact} ", "No ")), reply.text
            # exact matches first, then close ones
            matches = [r.match for r in reply.recommendations]
            assert matches == sorted(matches, key=lambda m: m != "exact")
        else:
            assert reply.text.startswith(f"Here are {n_exact} ")


def test_a_length_the_catalog_cannot_check_keeps_the_list_and_says_so(demo_bundle,
                                                                       tmp_path) -> None:
    no_runtimes = Catalog([it.model_copy(update={"duration_min": None})
                           for it in demo_bundle.catalog])
    vectors = demo_bundle.item_vectors
    row = {i: k for k, i in enumerate(demo_bundle.item_ids)}
    vectors = vectors[[row[i] for i in no_runtimes.ids]]
    engine = Engine(no_runtimes, vectors, demo_bundle.encoder, demo_bundle.interactions,
                    Settings(), ranker=demo_bundle.ranker, stats=demo_bundle.stats,
                    config=demo_bundle.pipeline_config)
    bot = Assistant(engine, Settings(), open_store(f"sqlite:///{tmp_path / 'h.sqlite3'}"))
    reply = bot.chat("s", "new-person", "a comedy film under an hour")
    assert reply.request.max_minutes == 60
    assert len(reply.recommendations) == 10
    assert "could not check the length" in (reply.notice or "")
    assert "60 minutes" not in reply.text


def test_chat_takes_its_list_length_from_the_caller(bot) -> None:
    user = _crime_fan(bot)
    assert len(bot.chat("a", user, "jazz albums", k=3).recommendations) == 3
    assert len(bot.chat("a", user, "something funny", k=3).recommendations) == 3
    assert len(bot.chat("b", user, "three comedy series", k=7).recommendations) == 3
    # a number said earlier in the conversation does not size later lists
    assert len(bot.chat("b", user, "more", k=7).recommendations) == 7
    with pytest.raises(EncoreError):
        bot.chat("c", user, "jazz", k=0)
