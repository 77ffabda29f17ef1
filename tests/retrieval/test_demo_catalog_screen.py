"""The films and series of the demo catalog: deep enough to answer ordinary requests.

Issue 15 asks for a catalog in which every (media type, genre) pair of
retrieval/demo/VOCABULARY.md that exists in the world holds at least 8 titles; for films and
series all 20 genres exist (western series, musical series, war films ...).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter

import pytest

from assistant.parsers.rules import RulesParser
from assistant.parsers.vocabulary import MOODS
from retrieval.demo import load_demo_catalog
from retrieval.filter import wanted_groups
from retrieval.models import Item
from retrieval.request import Mood

SCREEN_GENRES = frozenset(
    "action adventure animation biography comedy crime documentary drama family fantasy history "
    "horror musical mystery romance sport thriller war western".split()) | {"science fiction"}
MIN_PER_GENRE = 8
MIN_COUNT = {"movie": 350, "series": 210}
PREFIX = {"movie": "mv", "series": "tv"}
# A theatrical feature runs 60-240 minutes (Lagaan, the longest here, 224); a series episode
# 5 minutes (Peppa Pig) to 2 hours (a feature-length mystery or miniseries episode).
MINUTES = {"movie": (60, 240), "series": (5, 120)}
# Rows older than this test whose id is not the plain slug of the title.
OLDER_IDS = frozenset({"tv-mash-1972", "tv-the-bridge-bron-broen-2011"})


def _screen_items() -> dict[str, list[Item]]:
    by_type: dict[str, list[Item]] = {"movie": [], "series": []}
    for item in load_demo_catalog():
        if item.media_type.value in by_type:
            by_type[item.media_type.value].append(item)
    return by_type


@pytest.fixture(scope="module")
def screen() -> dict[str, list[Item]]:
    return _screen_items()


def _slug(title: str) -> str:
    text = title.replace("½", " and a half").replace("&", " and ")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text.replace("'", "").replace("’", "")).strip("-")


def test_enough_films_and_series(screen: dict[str, list[Item]]) -> None:
    for media, least in MIN_COUNT.items():
        assert len(screen[media]) >= least, (media, len(screen[media]))


@pytest.mark.parametrize("media", ["movie", "series"])
def test_every_genre_holds_at_least_eight_titles(screen: dict[str, list[Item]],
                                                 media: str) -> None:
    counts = Counter(g for item in screen[media] for g in item.genres)
    thin = {g: counts[g] for g in SCREEN_GENRES if counts[g] < MIN_PER_GENRE}
    assert not thin, f"{media} genres with fewer than {MIN_PER_GENRE} titles: {thin}"
    assert set(counts) <= SCREEN_GENRES, set(counts) - SCREEN_GENRES


def test_ids_and_titles_are_unique_across_the_whole_catalog() -> None:
    items = list(load_demo_catalog())
    ids = Counter(item.id for item in items)
    assert not [i for i, n in ids.items() if n > 1]
    screen_titles = Counter((item.title.casefold(), item.media_type.value) for item in items
                            if item.media_type.value in MIN_COUNT)
    assert not [t for t, n in screen_titles.items() if n > 1]


@pytest.mark.parametrize("media", ["movie", "series"])
def test_rows_follow_the_vocabulary(screen: dict[str, list[Item]], media: str) -> None:
    low, high = MINUTES[media]
    for item in screen[media]:
        assert item.id == f"{PREFIX[media]}-{_slug(item.title)}-{item.year}" or (
            item.id in OLDER_IDS), item.id
        assert item.year is not None and 1900 <= item.year <= 2026, item.id
        assert item.duration_min is not None and low <= item.duration_min <= high, (
            item.id, item.duration_min)
        assert 0 < len(item.description) <= 300, item.id
        assert 1 <= len(item.genres) <= 3 and 3 <= len(item.tags) <= 7, item.id
        assert all(tag == tag.lower() for tag in item.tags), item.id
        assert item.creators and re.fullmatch(r"[a-z]{2}", item.language or ""), item.id


def test_films_and_series_span_languages_and_decades(screen: dict[str, list[Item]]) -> None:
    for media in ("movie", "series"):
        items = screen[media]
        languages = Counter(item.language for item in items)
        assert len(languages) >= 8 and sum(n for lang, n in languages.items()
                                           if lang != "en") >= 25, (media, languages)
        decades = {item.year // 10 * 10 for item in items if item.year}
        assert len(decades) >= (10 if media == "movie" else 8), (media, sorted(decades))


# "A dark crime series" then "lighter", "a funny murder mystery film", "a cozy mystery series":
# among the commonest requests. "Light" is read as the request parser reads the mood: any of
# its tags (light, feel-good, funny) and none of the tags it rules out (dark, bleak, scary).
LIGHT_TAGS, NOT_LIGHT_TAGS = (frozenset(tags) for tags in MOODS[Mood.light])
MIN_LIGHT_CRIME = 8


@functools.cache
def _parser() -> RulesParser:
    return RulesParser(load_demo_catalog())


def _light_crime(items: list[Item]) -> list[str]:
    return [item.title for item in items
            if {"crime", "mystery"} & set(item.genres) and LIGHT_TAGS & set(item.tags)
            and not NOT_LIGHT_TAGS & set(item.tags)]


@pytest.mark.parametrize("media", ["movie", "series"])
def test_light_or_funny_crime_and_mystery_hold_at_least_eight_titles(
        screen: dict[str, list[Item]], media: str) -> None:
    found = _light_crime(screen[media])
    assert len(found) >= MIN_LIGHT_CRIME, (media, found)


@pytest.mark.parametrize(("message", "media"), [
    ("a light crime series", "series"), ("a funny detective show", "series"),
    ("a cozy mystery series", "series"), ("a light crime film", "movie"),
    ("a funny murder mystery film", "movie")])
def test_parsed_light_crime_requests_have_eight_exact_matches(
        screen: dict[str, list[Item]], message: str, media: str) -> None:
    """Every stated wish of the parsed request is met by at least 8 titles (no relaxing)."""
    request = _parser().parse(message)
    assert [m.value for m in request.media_types] == [media] and request.moods, request
    groups = wanted_groups(request, {m.value: MOODS[m][0] for m in request.moods})
    exact = [item.title for item in screen[media]
             if all(set(g.genres) & set(item.genres) or set(g.tags) & set(item.tags)
                    for g in groups) and not set(request.exclude_tags) & set(item.tags)]
    assert len(exact) >= MIN_LIGHT_CRIME, (message, [g.words for g in groups], exact)
