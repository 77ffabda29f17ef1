"""Follow-ups refine, they do not reset (issue 13, item 4).

Each kind of follow-up twice: at the merge level (the real rules parser and the demo
catalog; the lists "shown" between turns picked by hand, every bound written as the formula
of its rule), and through :meth:`Assistant.chat` on the test bundle (a real index, ranker
and SQLite store), where what matters is what the person sees.
"""

from __future__ import annotations

import dataclasses
import math
import re
import statistics

import pytest

from assistant.core import Assistant
from assistant.merge_rules import length_bound
from assistant.parsers import make_parser
from assistant.session import FollowUp, Merged, Session, merge, record, relaxed_words
from assistant.settings import Settings
from assistant.store import open_store
from assistant.turn.toolbox import TOOLS
from retrieval.demo import load_demo_catalog
from retrieval.request import Intent, ParseContext, Request, Topic

FILMS = ["mv-interstellar-2014", "mv-the-martian-2015", "mv-dune-2021", "mv-contact-1997"]
FILMS_2 = ["mv-moon-2009", "mv-ex-machina-2014", "mv-gravity-2013"]
FILMS_3 = ["mv-arrival-2016", "mv-alien-1979", "mv-blade-runner-1982"]
PODCASTS = ["pc-startalk-radio-2009", "pc-the-infinite-monkey-cage-2009", "pc-wolf-359-2014"]
SLOT_NAMES = re.compile(r"\b(?:media_types|exclude_\w+|year_(?:min|max)|(?:min|max)_minutes"
                        r"|playlist_minutes|relative_\w+)\b")


@pytest.fixture(scope="module")
def catalog():
    return load_demo_catalog()


@pytest.fixture(scope="module")
def parser(catalog):
    return make_parser("rules", catalog)


@pytest.fixture
def talk(catalog, parser):
    """say(message, shown=()) -> Merged: parse with the session's context, merge, record."""
    session = Session(session_id="s1", user_id="u1")

    def say(message: str, shown: list[str] | tuple[str, ...] = ()) -> Merged:
        merged = merge(session, parser.parse(message, session.context()), catalog)
        assert not [n for n in merged.notes if SLOT_NAMES.search(n)], merged.notes
        record(session, list(shown), merged)
        return merged

    say.session = session  # type: ignore[attr-defined]
    return say


def _median(catalog, ids, attr):
    return statistics.median(getattr(catalog[i], attr) for i in ids)


# -- the merge ------------------------------------------------------------------------------


def test_demo_ids_exist(catalog):
    for i in [*FILMS, *FILMS_2, *FILMS_3, *PODCASTS]:
        assert i in catalog, i


@pytest.mark.parametrize("message", ["shorter", "somthing shorter pls", "too long",
                                     "a bit long", "make it shorter"])
def test_shorter_keeps_the_topic(talk, catalog, message):
    talk("sci-fi films, no horror", FILMS)
    m = talk(message)
    assert m.request.genres == ["science fiction"] and m.request.media_types == ["movie"]
    assert m.request.exclude_genres == ["horror"] and m.followup is FollowUp.refine
    assert m.request.max_minutes == length_bound(_median(catalog, FILMS, "duration_min"),
                                                 shorter=True)
    assert m.exclude_ids == []  # a refinement may show what fits again


def test_longer_newer_older(talk, catalog):
    talk("sci-fi films", FILMS)
    m = talk("longer")
    assert m.request.min_minutes == length_bound(_median(catalog, FILMS, "duration_min"),
                                                 shorter=False)
    m = talk("anything older?", FILMS_2)
    assert m.request.year_max == math.ceil(_median(catalog, FILMS, "year")) - 1
    assert m.request.genres == ["science fiction"] and m.followup is FollowUp.refine
    m = talk("way too old")  # -> newer than the list just shown
    assert m.request.year_min == math.floor(_median(catalog, FILMS_2, "year")) + 1
    assert m.request.year_max is None and m.request.genres == ["science fiction"]


@pytest.mark.parametrize("message", ["something more upbeat", "more upbeat", "a bit happier",
                                     "could you do something a bit more cheerful"])
def test_a_mood_shift_keeps_genres_and_media(talk, message):
    talk("jazz albums", [])
    m = talk(message)
    assert m.request.genres == ["jazz"] and m.request.media_types == ["album"]
    assert m.request.moods == ["upbeat"] and "upbeat" in m.request.tags
    assert m.followup is FollowUp.mood and "jazz" in m.request.query
    assert any("different mood" in n for n in m.notes)


def test_a_mood_shift_replaces_the_old_mood(talk):
    first = talk("dark crime films", FILMS)
    assert first.request.moods == ["dark"] and "light" in first.request.exclude_tags
    m = talk("lighter")
    assert m.request.genres == ["crime"] and m.request.moods == ["light"]
    assert "dark" not in m.request.tags and "dark" in m.request.exclude_tags
    assert "light" not in m.request.exclude_tags  # the dark mood's exclusion went with it
    assert "dark" not in m.request.query.split() and m.request.query.endswith("light")
    m = talk("darker")
    assert m.request.moods == ["dark"] and "light" not in m.request.tags
    assert m.request.genres == ["crime"]


def test_a_mood_said_plainly_is_a_new_topic(talk):
    talk("comedy films", FILMS)
    m = talk("something scary")
    assert m.request.genres == [] and m.request.moods == ["scary"]
    assert m.followup is FollowUp.fresh and m.request.media_types == ["movie"]


def test_not_the_nth_one_replaces_it_in_place(talk):
    first = talk("sci-fi films under 2 hours", FILMS)
    m = talk("not the second one")
    assert m.followup is FollowUp.swap and m.in_place == FILMS
    assert m.rejected_ids == [FILMS[1]]
    same = {"query", "genres", "media_types", "max_minutes", "intent"}
    assert m.request.model_dump(include=same) == first.request.model_dump(include=same)
    assert set(FILMS) <= set(m.exclude_ids)  # the replacement is one not shown yet
    m = talk("I didn't like the last one", FILMS)
    assert m.followup is FollowUp.swap and m.rejected_ids == [FILMS[-1]]


def test_more_like_the_nth_one(talk):
    talk("sci-fi films", FILMS)
    m = talk("more like the third one", FILMS_2)
    assert m.followup is FollowUp.similar and m.request.like_ids == [FILMS[2]]
    assert m.request.intent is Intent.similar and set(FILMS) <= set(m.exclude_ids)
    assert not any("new topic" in n for n in m.notes)


def test_more_like_that_is_the_item_just_liked_never_one_disliked(talk, parser):
    talk("sci-fi films", FILMS)
    m = talk("I liked the first one", FILMS_2)  # a fresh list follows a like
    assert m.focus_id == FILMS[0] and talk.session.focus_id == FILMS[0]
    m = talk("I didn't like the first one", FILMS_3)
    assert m.rejected_ids == [FILMS_2[0]] and talk.session.focus_id == FILMS[0]
    ctx = talk.session.context()
    assert parser.parse("more like that", ctx).reference_positions == []  # not in the list
    m = talk("more like that")
    assert m.reference_ids == [FILMS[0]] and m.request.like_ids == [FILMS[0]]
    assert m.followup is FollowUp.similar


def test_more_like_that_points_at_the_item_named(talk):
    talk("sci-fi films", FILMS)
    talk("tell me about the third one", [FILMS[2]])
    m = talk("more like that")
    assert m.reference_ids == [FILMS[2]]
    talk("not that one", FILMS_2)  # turned down: never in focus again
    assert talk.session.focus_id is None


def test_a_like_said_by_title_is_the_focus(talk):
    talk("I loved Arrival", FILMS)
    assert talk.session.focus_id == "mv-arrival-2016"
    m = talk("more like that")
    assert m.reference_ids == ["mv-arrival-2016"]


@pytest.mark.parametrize(("message", "media"), [("as a series instead", "series"),
                                                ("only podcasts now", "podcast"),
                                                ("what about podcasts?", "podcast")])
def test_a_type_change_keeps_the_topic_and_drops_the_length(talk, message, media):
    talk("crime films under 2 hours, no horror", FILMS)
    m = talk(message)
    assert m.request.media_types == [media] and m.request.genres == ["crime"]
    assert m.request.exclude_genres == ["horror"] and m.request.max_minutes is None
    assert any("length limit (at most 120 minutes)" in n for n in m.notes)
    assert m.followup is FollowUp.refine


@pytest.mark.parametrize(("message", "minutes"), [
    ("make it an hour", 60), ("make it 1 hour", 60), ("90 minutes instead", 90),
    ("make it shorter", 90), ("make it longer", 150)])
def test_make_it_an_hour_keeps_the_playlist(talk, message, minutes):
    songs = ["mu-bohemian-rhapsody-1975", "mu-hound-dog-1956"]
    first = talk("a 2-hour playlist of rock", songs)
    assert first.request.intent is Intent.playlist and first.request.playlist_minutes == 120
    assert talk.session.last_playlist_ids == songs
    m = talk(message)
    assert m.request.intent is Intent.playlist and m.request.playlist_minutes == minutes
    assert m.request.genres == ["rock"] and m.request.media_types == ["music_track"]
    assert m.request.max_minutes is None and m.request.min_minutes is None
    assert m.followup is FollowUp.playlist and m.playlist_ids == songs
    assert m.exclude_ids == []  # the same playlist, trimmed or extended


def test_a_length_of_songs_after_a_playlist_stays_a_length_of_songs(talk):
    talk("a 2-hour playlist of rock", ["mu-bohemian-rhapsody-1975"])
    m = talk("only songs under 4 minutes")
    assert m.request.max_minutes == 4 and m.request.playlist_minutes == 120
    assert m.request.intent is Intent.playlist


@pytest.mark.parametrize("message", ["can you think of anything else?", "anything else?",
                                     "more please", "another one", "nah, something else"])
def test_content_free_follow_ups_keep_the_topic_and_show_fresh_items(talk, message):
    talk("sci-fi films", FILMS)
    m = talk(message)
    assert m.request.genres == ["science fiction"] and m.followup is FollowUp.more
    assert set(FILMS) <= set(m.exclude_ids)


def test_no_horror_refines_whatever_word_the_parser_read(talk, catalog):
    talk("comedy films", FILMS)
    m = talk("no horror")
    assert m.request.genres == ["comedy"] and m.request.exclude_genres == ["horror"]
    # "no horor": once the parser reads the misspelt genre, the merge does the same
    s = talk.session
    m = merge(s, Request(query="no", exclude_genres=["horror"], topic=Topic.refine), catalog)
    assert m.request.genres == ["comedy"] and m.followup is FollowUp.refine


def test_only_a_new_topic_changes_the_topic(talk):
    talk("sci-fi films", FILMS)
    for message in ("shorter", "older", "not the first one", "thanks!", "I didn't like it",
                    "only podcasts now", "darker", "can you think of anything else?"):
        assert talk(message).request.genres == ["science fiction"], message
    m = talk("a podcast about the Roman empire")
    assert m.request.genres == [] and m.followup is FollowUp.fresh


def test_relaxed_words_never_name_slots():
    words = relaxed_words(["media_types", "year_min", "year_max", "max_minutes", "language"])
    assert words == "the kind of item, the years, the length limit and the language"
    assert not SLOT_NAMES.search(words)


def test_context_carries_the_focus():
    ctx = Session(session_id="s", user_id="u", last_ids=["a"], focus_id="b").context()
    assert ctx == ParseContext(last_ids=["a"], focus_id="b")


# -- through the assistant ------------------------------------------------------------------


@pytest.fixture()
def bot(demo_bundle_path, tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    with Assistant.from_bundle(demo_bundle_path, Settings(), store=store) as a:
        yield a


@pytest.fixture()
def user(bot) -> str:
    return bot.users(5)[0]


def _ids(reply):
    return [r.item_id for r in reply.recommendations]


def test_chat_shorter_keeps_films_and_the_genre(bot, user):
    first = bot.chat("a", user, "sci-fi films")
    second = bot.chat("a", user, "somthing shorter pls")
    assert second.request.genres == ["science fiction"]
    bound = length_bound(statistics.median(r.duration_min for r in first.recommendations),
                         shorter=True)
    assert second.request.max_minutes == bound and second.recommendations
    for card in second.recommendations:
        assert card.media_type == "movie" and card.duration_min <= bound


def test_chat_not_the_second_one_swaps_it_in_place(bot, user):
    first = bot.chat("b", user, "podcasts about history")
    second = bot.chat("b", user, "not the second one")
    before, after = _ids(first), _ids(second)
    assert len(after) == len(before) and before[1] not in after
    assert [i for i in after if i in before] == before[:1] + before[2:]  # the rest in place
    (fresh,) = [r for r in second.recommendations if r.item_id not in before]
    # in the second place when it matches exactly; a close match goes after the exact ones
    place = 1 if fresh.match == "exact" else next(
        k for k, r in enumerate(second.recommendations) if r.match == "close")
    assert after.index(fresh.item_id) == place and fresh.media_type == "podcast"
    assert second.notice and "in place of" in second.notice
    assert not second.meta.relaxed and not SLOT_NAMES.search(second.notice)


def test_chat_mood_shift_keeps_jazz_albums(bot, user):
    bot.chat("c", user, "jazz albums")
    reply = bot.chat("c", user, "something more upbeat")
    assert reply.request.genres == ["jazz"] and reply.request.moods == ["upbeat"]
    assert {r.media_type for r in reply.recommendations} == {"album"}


def test_chat_more_like_that_follows_the_like_not_the_dislike(bot, user):
    first = bot.chat("d", user, "sci-fi films")
    liked = first.recommendations[0]
    bot.chat("d", user, "I liked the first one")
    assert bot.history(user)[-1].item_id == liked.item_id  # stored as a like
    bot.chat("d", user, "I didn't like the first one")
    reply = bot.chat("d", user, "more like that")
    assert reply.intent == "similar" and reply.text == f"Like {liked.title}:"
    assert liked.item_id not in _ids(reply)


def test_chat_as_a_series_instead(bot, user):
    bot.chat("e", user, "crime films under 2 hours")
    reply = bot.chat("e", user, "as a series instead")
    assert reply.request.genres == ["crime"] and reply.request.max_minutes is None
    assert reply.recommendations and {r.media_type for r in reply.recommendations} == {"series"}


def test_chat_make_it_an_hour_hands_the_playlist_to_the_tool(bot, user, monkeypatch):
    first = bot.chat("f", user, "a 2-hour playlist of rock")
    assert first.intent == "playlist" and first.recommendations
    real, calls = TOOLS["playlist"], []

    def spy(ctx, call):
        calls.append(call)
        return real.run(ctx, call)

    monkeypatch.setitem(TOOLS._tools, "playlist", dataclasses.replace(real, run=spy))
    reply = bot.chat("f", user, "make it an hour")
    assert reply.intent == "playlist" and reply.request.playlist_minutes == 60
    assert reply.request.genres == ["rock"]
    assert list(calls[0].keep_ids) == _ids(first)
    total = sum(r.duration_min for r in reply.recommendations)
    assert total <= 60 * 1.05


def test_chat_anything_older(bot, user):
    first = bot.chat("g", user, "crime films")
    reply = bot.chat("g", user, "anything older?")
    bound = math.ceil(statistics.median(r.year for r in first.recommendations)) - 1
    assert reply.request.year_max == bound and reply.request.genres == ["crime"]
    assert all(r.year <= bound for r in reply.recommendations)


def test_a_type_change_rewrites_the_kind_in_the_query(talk):
    talk("90s crime films for tonight", FILMS)
    m = talk("as a series instead")
    assert m.request.query == "90s crime series for tonight"
    talk("stories about lighthouse keepers", FILMS)
    assert talk("only podcasts now").request.query == "stories about lighthouse keepers"


def test_the_last_playlist_lasts_while_it_is_the_last_list(talk):
    talk("a 2-hour playlist of rock", ["mu-bohemian-rhapsody-1975"])
    talk("thanks!")  # nothing shown: the playlist is still the last list
    assert talk.session.last_playlist_ids == ["mu-bohemian-rhapsody-1975"]
    talk("jazz albums", ["al-kind-of-blue-1959"])
    assert talk.session.last_playlist_ids == []
    restored = Session.from_state({"session_id": "s", "user_id": "u"})  # older states
    assert restored.last_playlist_ids == [] and restored.focus_id is None


def test_a_cards_dislike_is_never_that_and_a_like_is(bot, user) -> None:
    """The card buttons are part of the conversation: after disliking the first card,
    "more like that" must not answer "Like <the disliked item>" (it did, on the page); after
    liking a card, "more like that" means the liked one."""
    first = bot.chat("fb", user, "a dark crime series").recommendations
    assert len(first) >= 3
    bot.feedback(user, first[0].item_id, "dislike", session_id="fb")
    r = bot.chat("fb", user, "more like that")
    assert first[0].title not in r.text
    assert first[0].item_id not in [x.item_id for x in r.recommendations]
    liked = r.recommendations[1]
    bot.feedback(user, liked.item_id, "like", session_id="fb")
    r = bot.chat("fb", user, "more like that")
    assert r.text.startswith(f"Like {liked.title}")


def test_length_bounds_round_towards_keeping_items() -> None:
    """"longer" after tracks whose median is 5.8 minutes keeps a 6.7-minute track: the
    bound is a tenth past the median (6.4) rounded down to 6, not up to 7, yet still past the
    median; "shorter" after 22-minute episodes allows 20 minutes (19.8 rounded up)."""
    assert length_bound(5.785, shorter=False) == 6
    assert length_bound(22.0, shorter=True) == 20
    assert length_bound(5.785, shorter=True) == 5  # 6 would not be shorter than 5.8
    assert length_bound(100.0, shorter=False) == 110
