"""The demo catalog's podcasts and audiobooks are deep enough to answer ordinary requests.

Issue 15: at least 150 podcasts and 60 audiobooks (this part aims at 170 and 75), every
(media type, genre) pair of VOCABULARY.md that exists in the world holding at least 8 titles,
several languages, and plausible facts.

Audiobooks may carry the 14 talk genres and the 20 screen genres of VOCABULARY.md. Each genre
that exists on the audiobook shelves of the world is named in ``AUDIOBOOK_GENRES`` (so that
deleting titles below 8 fails here); the others are deliberately absent and must stay unused
(``AUDIOBOOK_GENRES_ABSENT``):

- news: news goes stale within days and is published as podcasts, radio and papers, not as
  unabridged audiobooks; books about journalism or current affairs read as politics,
  society & culture or history.
- animation, documentary, musical: forms of film and stage, not of a text read aloud; a
  book about such a film or show is arts, biography or history.
- sport: the screen spelling; audiobooks use the talk genre "sports" (a request for "sport"
  reaches it through the parser's plural/singular forms).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from retrieval.demo import load_demo_catalog
from retrieval.models import Item

PODCAST_GENRES = {"arts", "business", "comedy", "education", "fiction", "health", "history",
                  "news", "politics", "science", "society & culture", "sports", "technology",
                  "true crime"}
# Audiobook genres that exist in the world: the talk genres books are sold under (all but
# news) plus the story genres of the screen list (all but the film and stage forms).
AUDIOBOOK_GENRES = frozenset({
    "arts", "business", "comedy", "education", "fiction", "health", "history", "politics",
    "science", "society & culture", "sports", "technology", "true crime",
    "action", "adventure", "biography", "crime", "drama", "family", "fantasy", "horror",
    "mystery", "romance", "science fiction", "thriller", "war", "western"})
# Vocabulary genres deliberately absent from audiobooks (why: the module docstring).
AUDIOBOOK_GENRES_ABSENT = frozenset({"news", "animation", "documentary", "musical", "sport"})
VOCABULARY = Path(__file__).resolve().parents[2] / "retrieval" / "demo" / "VOCABULARY.md"
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


def _vocabulary_genres(heading: str) -> set[str]:
    """The genres VOCABULARY.md lists after the bullet that starts with ``heading``."""
    text = VOCABULARY.read_text(encoding="utf-8").split("## Genres", 1)[1].split("\n## ", 1)[0]
    bullet = re.search(rf"^- {re.escape(heading)}:(.*?)(?=^- |\Z)", text, re.M | re.S)
    assert bullet, heading
    listed = bullet.group(1).split("(", 1)[0]  # drop the "(audiobooks may also use ...)" note
    return {g.strip() for g in listed.replace("\n", " ").split(",") if g.strip()}


def test_audiobook_genres_split_the_vocabulary() -> None:
    """Every genre VOCABULARY.md allows for audiobooks (the talk genres and, by its note, the
    screen genres) is either covered or declared absent, never both."""
    allowed = _vocabulary_genres("podcast, audiobook") | _vocabulary_genres("movie, series")
    assert len(allowed) == 32, sorted(allowed)  # 14 + 20, comedy and history in both
    assert AUDIOBOOK_GENRES | AUDIOBOOK_GENRES_ABSENT == allowed
    assert not AUDIOBOOK_GENRES & AUDIOBOOK_GENRES_ABSENT


def test_every_audiobook_genre_holds_at_least_8(audiobooks: list[Item]) -> None:
    counts = Counter(g for item in audiobooks for g in item.genres)
    # a genre in use must be one of the covered ones, so that none is left with one title
    assert set(counts) <= AUDIOBOOK_GENRES, set(counts) - AUDIOBOOK_GENRES
    thin = {g: counts[g] for g in sorted(AUDIOBOOK_GENRES) if counts[g] < 8}
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
