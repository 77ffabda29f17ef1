"""The rules parser on real human text: typos, other languages, amounts that are not about
the request, titles in chat, and the sentiment of the clause a title is named in."""

from __future__ import annotations

import doctest
import importlib

import pytest

from assistant.core import Assistant
from assistant.parsers.rules import RulesParser
from assistant.parsers.rules.language import language_of
from assistant.parsers.rules.spelling import Speller
from assistant.settings import Settings
from assistant.store import open_store
from assistant.turn.stages import OTHER_LANGUAGE
from retrieval.catalog import Catalog
from retrieval.demo import load_demo_catalog
from retrieval.models import Item
from retrieval.request import InputIssue, Intent, TitleRole


@pytest.fixture(scope="module")
def parser() -> RulesParser:
    return RulesParser(load_demo_catalog())


@pytest.fixture(scope="module")
def films() -> RulesParser:
    """Same-named films of several years, and titles made of common words."""
    rows = [("c85", "Cocoon", 1985), ("c88", "Cocoon: The Return", 1988), ("c13", "Cocoon", 2013),
            ("g84", "Ghostbusters (a.k.a. Ghost Busters)", 1984), ("g16", "Ghostbusters", 2016),
            ("to", "To: Gerard", 2020), ("cool", "Cool!", 1990), ("bye", "Goodbye", 2011),
            ("nope", "Nope", 2022), ("bit", "A Bit", 2005), ("an", "Another", 2014),
            ("aiw", "Avengers: Infinity War - Part I", 2018), ("arr", "Arrival", 2016),
            ("fro", "Frozen", 2013), ("it17", "It", 2017), ("it90", "It", 1990)]
    genres = {"aiw": ["action"], "arr": ["science fiction"]}
    items = [Item(id=i, title=t, media_type="movie", year=y, genres=genres.get(i, ["war"]))
             for i, t, y in rows]
    items.append(Item(id="rom", title="Love Story", media_type="movie", year=1970,
                      genres=["romance", "comedy", "horror", "drama"]))
    return RulesParser(Catalog(items))


@pytest.mark.parametrize("module", ["assistant.parsers.rules.english",
                                    "assistant.parsers.rules.language",
                                    "assistant.parsers.rules.spelling"])
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


# --- typos ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "slot", "value"),
    [
        ("no horor", "exclude_genres", ["horror"]),
        ("sciense fiction moveis", "genres", ["science fiction"]),
        ("sciense fiction moveis", "media_types", ["movie"]),
        ("any good podcats about history", "media_types", ["podcast"]),
        ("a documentry about space", "genres", ["documentary"]),
        ("a thriler from the 90s", "genres", ["thriller"]),
    ],
)
def test_misspelt_vocabulary_words_are_understood(parser: RulesParser, message: str, slot: str,
                                                  value: list[str]) -> None:
    assert getattr(parser.parse(message), slot) == value


def test_words_that_are_english_names_or_short_are_never_corrected() -> None:
    fix = Speller(["drama", "dramas", "horror", "thai", "thais", "lighter", "podcast"])
    for text in ("karma police", "thats fine", "Moana is great", "I saw Horor yesterday",
                 "'horor'", "the docs", "recommending it", "lighten up", "jumanji"):
        assert fix(text) == (text, []), text
    assert fix("Horor films")[0] == "Horror films"  # a sentence's first word may be a typo


# --- other languages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("je cherche une série policière", "fr"),
        ("Ich möchte einen lustigen Podcast hören", "de"),
        ("busco una serie de crimen", "es"),
        ("un film da vedere stasera", "it"),
        ("quero um filme de terror", "pt"),
        ("ik wil een grappige film", "nl"),
        ("jag vill se en rolig film", "sv"),
    ],
)
def test_other_languages_are_recognised_and_nothing_is_guessed(
        parser: RulesParser, message: str, language: str) -> None:
    assert language_of(message) == language
    r = parser.parse(message)
    assert r.issues == [InputIssue.unsupported_language]
    assert r.hard_constraints() == {} and r.genres == [] and r.tags == []


@pytest.mark.parametrize("message", [
    "I love Robert De Niro movies", "La La Land was great, anything like it",
    "I want to die laughing, a comedy please", "any French films? something like Amélie",
    "Hello, I am looking for some movie recommendations", "lol ok",
])
def test_english_chat_with_foreign_names_stays_english(parser: RulesParser, message: str) -> None:
    assert InputIssue.unsupported_language not in parser.parse(message).issues


def test_a_foreign_message_gets_a_plain_reply_not_a_list(demo_bundle_path, tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    with Assistant.from_bundle(demo_bundle_path, Settings(), store=store) as bot:
        user = bot.users(1)[0]
        reply = bot.chat("fr", user, "je cherche une série policière, s'il vous plaît")
        assert reply.text == OTHER_LANGUAGE and reply.recommendations == []
        assert "LLM" in reply.text and "English" in reply.text
        # a title named in it is still read and answered
        named = bot.chat("fr2", user, "quelque chose comme Arrival")
        assert named.recommendations and named.text != OTHER_LANGUAGE


# --- amounts that are not about the request ------------------------------------------------


@pytest.mark.parametrize("message", [
    "I am looking for a comedy", "Ah, I love comedies", "Hmm, I am not sure",
    "wait a minute, a comedy", "we got back two hours ago, something funny",
])
def test_words_that_look_like_units_set_no_duration(parser: RulesParser, message: str) -> None:
    r = parser.parse(message)
    assert (r.min_minutes, r.max_minutes) == (None, None)


def test_units_after_numbers_still_count(parser: RulesParser) -> None:
    assert parser.parse("something under 2 h").max_minutes == 120
    assert parser.parse("a film under an hr").max_minutes == 60
    assert parser.parse("90m or less").max_minutes == 90


@pytest.mark.parametrize(("message", "count"), [
    ("I'd like to get a couple more movies in my marathon", None),
    ("something for my 12 yr olds", None),
    ("a film for a 5-year-old", None),
    ("Those are two very funny movies.", None),
    ("In fact, I like all the 007 movies", None),
    ("give me a couple of thrillers", 2),
    ("give me 3 more", 3),
    ("five comedies", 5),
])
def test_counts_only_when_they_are_about_the_request(parser: RulesParser, message: str,
                                                     count: int | None) -> None:
    assert parser.parse(message).count == count


def test_a_decade_after_a_possessive_is_an_age(parser: RulesParser) -> None:
    for message in ("she was in her 90s", "my parents are in their late 60s"):
        r = parser.parse(message)
        assert (r.year_min, r.year_max) == (None, None), message
    assert parser.parse("films from the 90s").year_min == 1990


# --- titles in human chat ------------------------------------------------------------------


@pytest.mark.parametrize("message", [
    "I like to watch comedies", "Cool!", "Goodbye", "Nope", "it was a bit long",
    "Another", "Well, thanks!", "Good bye",
])
def test_common_words_are_not_titles(films: RulesParser, message: str) -> None:
    assert films.parse(message).titles == []


def test_titles_that_look_like_titles_are_read(films: RulesParser) -> None:
    assert films.parse("I loved Frozen").like_ids == ["fro"]  # capitalised mid-sentence
    assert films.parse('"Goodbye" was lovely').like_ids == ["bye"]  # quoted
    assert films.parse("Goodbye (2011) was lovely").like_ids == ["bye"]  # dated


def test_the_year_picks_the_title(films: RulesParser) -> None:
    assert films.parse("Cocoon (1985)").like_ids == ["c85"]
    assert films.parse("I loved Ghostbusters (1984)").like_ids == ["g84"]
    assert films.parse("i also watched It (2017)").titles[0].item_id == "it17"
    assert films.parse("i also watched It (1990) the old one").titles[0].item_id == "it90"


def test_genre_words_inside_titles_are_not_genres(films: RulesParser) -> None:
    r = films.parse("i liked Avengers: Infinity War (2018)")
    assert r.like_ids == ["aiw"] and r.genres == []
    unknown = RulesParser(load_demo_catalog()).parse("Avengers: Infinity War (2018)")
    assert unknown.genres == [] and [t.text for t in unknown.titles] == ["Avengers: Infinity War"]


def test_sentiment_is_read_from_the_clause(films: RulesParser) -> None:
    assert films.parse("My favorite movie right now is Arrival").like_ids == ["arr"]
    assert films.parse("I don't mind romance").exclude_genres == []
    assert films.parse("I don't mind romance").genres == ["romance"]
    assert films.parse("I don't hate horror, but no drama").exclude_genres == ["drama"]
    unseen = films.parse("I haven't seen Arrival")
    assert [t.role for t in unseen.titles] == [TitleRole.about]
    assert unseen.like_ids == [] and unseen.not_ids == []
    assert films.parse("i also watched Arrival").not_ids == []
    assert films.parse("I've already seen Arrival").not_ids == ["arr"]
    assert films.parse("Arrival was awful").intent is Intent.feedback
