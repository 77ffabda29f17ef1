"""The demo catalog's podcasts and audiobooks are deep enough to answer ordinary requests.

Issue 15: at least 150 podcasts and 60 audiobooks (this part aims at 170 and 75), every
podcast genre of VOCABULARY.md holding at least 8 titles, every audiobook genre in use
holding at least 8, several languages, and plausible facts.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from retrieval.demo import load_demo_catalog
from retrieval.models import Item

PODCAST_GENRES = {"arts", "business", "comedy", "education", "fiction", "health", "history",
                  "news", "politics", "science", "society & culture", "sports", "technology",
                  "true crime"}
# Audiobook genres covered: the talk genres books are sold under plus the story genres.
AUDIOBOOK_GENRES = {"fiction", "history", "science", "business", "health", "politics",
                    "society & culture", "true crime", "biography", "comedy", "science fiction",
                    "fantasy", "mystery", "thriller", "romance", "horror", "crime", "drama",
                    "adventure", "family"}
ID = re.compile(r"^(?P<prefix>pc|ab)-[a-z0-9]+(?:-[a-z0-9]+)*-(?P<year>\d{4})$")


def _items(media_type: str) -> list[Item]:
    return [i for i in load_demo_catalog() if i.media_type.value == media_type]


@pytest.fixture(scope="module")
def podcasts() -> list[Item]:
    return _items("podcast")


@pytest.fixture(scope="module")
def audiobooks() -> list[Item]:
    return _items("audiobook")


def test_counts(podcasts: list[Item], audiobooks: list[Item]) -> None:
    assert len(podcasts) >= 170
    assert len(audiobooks) >= 75


def test_every_podcast_genre_holds_at_least_8(podcasts: list[Item]) -> None:
    counts = Counter(g for item in podcasts for g in item.genres)
    assert set(counts) <= PODCAST_GENRES, set(counts) - PODCAST_GENRES
    thin = {g: counts[g] for g in PODCAST_GENRES if counts[g] < 8}
    assert not thin, thin


def test_every_audiobook_genre_holds_at_least_8(audiobooks: list[Item]) -> None:
    counts = Counter(g for item in audiobooks for g in item.genres)
    # a genre in use must be one of the covered ones, so that none is left with one title
    assert set(counts) <= AUDIOBOOK_GENRES, set(counts) - AUDIOBOOK_GENRES
    thin = {g: counts[g] for g in AUDIOBOOK_GENRES if counts[g] < 8}
    assert not thin, thin


def test_ids_are_unique_and_well_formed(podcasts: list[Item], audiobooks: list[Item]) -> None:
    ids = [i.id for i in load_demo_catalog()]
    assert len(ids) == len(set(ids))
    for item in podcasts + audiobooks:
        m = ID.match(item.id)
        assert m, item.id
        assert m["prefix"] == {"podcast": "pc", "audiobook": "ab"}[item.media_type.value], item.id
        assert int(m["year"]) == item.year, item.id


def test_no_title_twice_within_a_media_type(podcasts: list[Item], audiobooks: list[Item]) -> None:
    for items in (podcasts, audiobooks):
        titles = Counter(i.title.casefold() for i in items)
        assert not [t for t, n in titles.items() if n > 1]


def test_durations_years_and_descriptions_are_plausible(podcasts: list[Item],
                                                        audiobooks: list[Item]) -> None:
    for item in podcasts:
        assert item.duration_min is not None and 5 <= item.duration_min <= 240, item.id
    for item in audiobooks:
        assert item.duration_min is not None and 60 <= item.duration_min <= 3000, item.id
    for item in podcasts + audiobooks:
        assert item.year is not None and 1900 <= item.year <= 2026, item.id
        assert 0 < len(item.description) <= 300, item.id
        assert 1 <= len(item.genres) <= 3 and 3 <= len(item.tags) <= 7, item.id
        assert item.creators and item.language, item.id
        assert all(t == t.lower() for t in item.tags), item.id


def test_podcasts_span_languages(podcasts: list[Item]) -> None:
    langs = Counter(i.language for i in podcasts)
    assert {"en", "fr", "de", "es", "ja"} <= set(langs), langs
    assert len(langs) >= 6, langs
    assert all(langs[lang] >= 3 for lang in ("fr", "de", "es", "ja")), langs


@pytest.mark.parametrize("tag", ["funny", "kids", "interview", "storytelling", "investigative",
                                 "self-improvement", "relaxing", "sleep", "road trip", "scary"])
def test_everyday_listening_requests_have_titles(tag: str, podcasts: list[Item],
                                                 audiobooks: list[Item]) -> None:
    """"A funny podcast for my commute", "something for my kids' road trip": each tag of
    such a request is on at least 5 podcasts or audiobooks."""
    assert sum(tag in i.tags for i in podcasts + audiobooks) >= 5
