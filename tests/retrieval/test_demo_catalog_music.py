"""The demo catalog's music is deep enough for real requests: enough tracks and albums in
every genre, across decades and languages, with plausible lengths, so that ordinary
playlists (a 2-hour indie-rock road trip, an hour of jazz, a danceable pop party...) can be
filled from distinct artists."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest

from assistant.playlist import fill
from retrieval.demo import load_demo_catalog
from retrieval.models import Item

MUSIC_GENRES = ("alternative ambient blues classical country electronic folk funk indie jazz "
                "latin metal pop punk reggae rock soul soundtrack").split() + ["hip hop", "r&b"]
LONG_WORKS = {"al-sleep-2015"}  # Max Richter's Sleep really runs 8.5 hours
MAX_PER_ARTIST = 2  # a playlist of one artist's songs is not a playlist


def _music(media_type: str) -> list[Item]:
    return [it for it in load_demo_catalog() if it.media_type.value == media_type]


def test_enough_tracks_and_albums() -> None:
    assert len(_music("music_track")) >= 270
    assert len(_music("album")) >= 160


@pytest.mark.parametrize("media_type", ["album", "music_track"])
def test_every_music_genre_holds_at_least_eight_titles(media_type: str) -> None:
    counts = Counter(g for it in _music(media_type) for g in it.genres)
    thin = {g: counts[g] for g in MUSIC_GENRES if counts[g] < 8}
    assert not thin, f"{media_type}: genres under 8 titles: {thin}"


def test_ids_are_unique_and_follow_the_vocabulary() -> None:
    ids = [it.id for it in load_demo_catalog()]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    prefix = {"album": "al", "music_track": "tr"}
    for media_type, p in prefix.items():
        for it in _music(media_type):
            assert re.fullmatch(rf"{p}-[a-z0-9]+(?:-[a-z0-9]+)*-{it.year}", it.id), it.id


def test_music_titles_are_not_repeated() -> None:
    keys = Counter((re.sub(r"[^a-z0-9]+", " ", it.title.lower()).strip())
                   for kind in ("album", "music_track") for it in _music(kind))
    assert not [k for k, n in keys.items() if n > 1]


@pytest.mark.parametrize("media_type, lo, hi", [("music_track", 1.0, 20.0),
                                                ("album", 15.0, 150.0)])
def test_durations_are_plausible(media_type: str, lo: float, hi: float) -> None:
    odd = [(it.id, it.duration_min) for it in _music(media_type)
           if it.id not in LONG_WORKS and not (lo <= (it.duration_min or 0) <= hi)]
    assert not odd


def test_rows_are_complete() -> None:
    for it in _music("album") + _music("music_track"):
        assert 0 < len(it.description) <= 300, it.id
        assert 1 <= len(it.genres) <= 3 and set(it.genres) <= set(MUSIC_GENRES), it.id
        assert 3 <= len(it.tags) <= 7 and all(t == t.lower() for t in it.tags), it.id
        assert it.creators and it.year and re.fullmatch(r"[a-z]{2}", it.language or ""), it.id


def test_music_spans_decades_and_languages() -> None:
    tracks = _music("music_track")
    decades = Counter(it.year // 10 * 10 for it in tracks if it.year and it.year >= 1950)
    assert all(decades[d] >= 10 for d in range(1950, 2030, 10)), decades
    languages = Counter(it.language for it in tracks + _music("album"))
    for code in ("es", "pt", "fr", "ja", "ko", "de", "it"):
        assert languages[code] >= 3, (code, languages)
    assert languages["xh"] + languages["wo"] + languages["zu"] + languages["bm"] >= 4


def _playlist(genres: set[str], minutes: float, tags: set[str] | None = None) -> float:
    """Total length of a playlist of ``minutes`` (within 5%) filled from the tracks of any of
    ``genres`` (and, when given, any of ``tags``), at most two per artist; 0 when none fits."""
    per_artist: dict[str, int] = defaultdict(int)
    pool = []
    for it in sorted(_music("music_track"), key=lambda it: it.id):
        if not genres & set(it.genres) or (tags and not tags & set(it.tags)):
            continue
        artist = it.creators[0]
        if per_artist[artist] < MAX_PER_ARTIST:
            per_artist[artist] += 1
            pool.append(it.duration_min or 0.0)
    total = sum(pool[i] for i in fill(pool, minutes, minutes * 0.95, minutes * 1.05))
    return total if minutes * 0.95 <= total <= minutes * 1.05 else 0.0


@pytest.mark.parametrize("genres, minutes, tags", [
    ({"indie", "rock"}, 120, None),
    ({"jazz"}, 60, None),
    ({"pop"}, 45, {"danceable"}),
    ({"electronic", "ambient"}, 60, {"chill", "focus", "study"}),
    ({"rock", "pop", "indie", "folk", "soul", "alternative"}, 60, {"melancholic"}),
    ({"hip hop", "electronic", "rock", "metal", "pop"}, 45, {"workout"}),
    ({"latin"}, 45, {"danceable"}),
])
def test_ordinary_playlists_can_be_filled(genres: set[str], minutes: int,
                                          tags: set[str] | None) -> None:
    assert _playlist(genres, minutes, tags) > 0, (genres, minutes, tags)


def test_a_two_hour_indie_rock_playlist_needs_many_tracks() -> None:
    # the example: with 25 tracks in all, a 2-hour indie-rock playlist could not exist
    indie = [it for it in _music("music_track") if {"indie", "rock"} & set(it.genres)]
    assert sum(it.duration_min or 0 for it in indie) >= 240
    assert len({it.creators[0] for it in indie}) >= 40
