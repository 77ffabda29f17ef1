"""Taste profiles behind the demo's SYNTHETIC interactions.

Each profile weights media types and catalog labels (genres and tags); a generated user
mixes one or two profiles. The weights are hand-written to give plausible, varied
histories; they describe no real person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TasteProfile", "PROFILES"]


@dataclass(frozen=True)
class TasteProfile:
    """What one kind of person tends to play, like and avoid."""

    name: str
    media: dict[str, float]
    likes: dict[str, float]
    dislikes: dict[str, float] = field(default_factory=dict)


PROFILES: tuple[TasteProfile, ...] = (
    TasteProfile(
        "sci-fi and space",
        {"movie": 1.0, "series": 0.9, "podcast": 0.5, "audiobook": 0.5, "album": 0.2},
        {"science fiction": 3, "space": 3, "aliens": 2, "time travel": 2, "mind-bending": 2,
         "artificial intelligence": 2, "dystopia": 1.5, "robots": 1.5, "science": 1.5,
         "ambient": 0.5},
        {"romance": 1.5, "musical": 2, "sitcom": 1},
    ),
    TasteProfile(
        "horror and thrillers",
        {"movie": 1.0, "series": 0.8, "podcast": 0.4, "audiobook": 0.3},
        {"horror": 3, "scary": 3, "thriller": 2, "tense": 2, "dark": 2, "serial killer": 1.5,
         "mystery": 1, "supernatural": 1},
        {"family": 2, "kids": 2, "feel-good": 1.5, "musical": 1.5},
    ),
    TasteProfile(
        "feel-good comedy",
        {"movie": 1.0, "series": 1.0, "podcast": 0.5, "album": 0.3},
        {"comedy": 3, "feel-good": 3, "funny": 2.5, "light": 2, "heartwarming": 2, "sitcom": 2,
         "uplifting": 1.5, "romance": 1, "friendship": 1},
        {"horror": 3, "scary": 2.5, "bleak": 2, "war": 1.5, "dark": 1.5},
    ),
    TasteProfile(
        "prestige drama",
        {"series": 1.0, "movie": 1.0, "audiobook": 0.3},
        {"drama": 2.5, "crime": 2, "slow-burn": 2, "thought-provoking": 2, "award-winning": 1.5,
         "politics": 1, "based on a book": 1, "miniseries": 1.5, "emotional": 1},
        {"kids": 2, "animated": 1, "superheroes": 1.5},
    ),
    TasteProfile(
        "family and animation",
        {"movie": 1.0, "series": 0.9, "audiobook": 0.5, "album": 0.3, "podcast": 0.3},
        {"animation": 3, "family": 3, "kids": 2.5, "animated": 2.5, "heartwarming": 2, "magic": 1.5,
         "adventure": 1.5, "funny": 1},
        {"horror": 3, "scary": 3, "serial killer": 3, "war": 2, "bleak": 2},
    ),
    TasteProfile(
        "documentary and nature",
        {"series": 1.0, "movie": 0.8, "podcast": 0.9},
        {"documentary": 3, "nature": 3, "science": 2, "history": 1.5, "investigative": 1.5,
         "thought-provoking": 1, "education": 1.5},
        {"superheroes": 1.5, "horror": 1.5},
    ),
    TasteProfile(
        "true crime",
        {"podcast": 1.0, "series": 0.9, "movie": 0.6, "audiobook": 0.4},
        {"true crime": 3.5, "crime": 2.5, "investigative": 2.5, "detective": 2, "serial killer": 2,
         "based on a true story": 2, "courtroom": 1.5, "mystery": 1.5, "dark": 1},
        {"kids": 2, "musical": 2, "animation": 1.5},
    ),
    TasteProfile(
        "history buff",
        {"podcast": 1.0, "series": 0.8, "movie": 0.8, "audiobook": 0.6},
        {"history": 3.5, "war": 2, "biography": 2, "based on a true story": 2, "politics": 1.5,
         "epic": 1, "mythology": 1},
        {"sitcom": 1.5, "superheroes": 1.5},
    ),
    TasteProfile(
        "jazz and classical",
        {"album": 1.0, "music_track": 0.8, "podcast": 0.2, "movie": 0.2},
        {"jazz": 3.5, "classical": 3.5, "instrumental": 2, "relaxing": 1.5, "soul": 1, "live": 1,
         "blues": 1.5, "atmospheric": 1},
        {"metal": 3, "punk": 2.5, "hip hop": 1.5, "danceable": 1},
    ),
    TasteProfile(
        "indie and alternative rock",
        {"album": 1.0, "music_track": 0.9, "movie": 0.3, "podcast": 0.2},
        {"indie": 3, "alternative": 3, "rock": 2.5, "melancholic": 1.5, "folk": 1.5, "punk": 1,
         "concept album": 1.5, "nostalgic": 1},
        {"country": 1.5, "latin": 1, "r&b": 1},
    ),
    TasteProfile(
        "hip hop and r&b",
        {"album": 1.0, "music_track": 1.0, "movie": 0.2, "podcast": 0.3},
        {"hip hop": 3.5, "r&b": 3, "soul": 2, "funk": 1.5, "energetic": 1.5, "danceable": 1,
         "workout": 1},
        {"country": 2, "classical": 1.5, "metal": 1.5},
    ),
    TasteProfile(
        "electronic, chill and focus",
        {"album": 1.0, "music_track": 1.0, "podcast": 0.2},
        {"electronic": 3, "ambient": 3, "chill": 2.5, "focus": 2.5, "study": 2, "relaxing": 2,
         "instrumental": 1.5, "atmospheric": 1.5, "danceable": 1, "sleep": 1.5},
        {"metal": 2, "country": 2, "punk": 1.5},
    ),
    TasteProfile(
        "pop and dance",
        {"music_track": 1.0, "album": 1.0, "movie": 0.3, "series": 0.3},
        {"pop": 3.5, "danceable": 2.5, "upbeat": 2.5, "energetic": 2, "workout": 1.5, "r&b": 1,
         "feel-good": 1, "latin": 1},
        {"ambient": 1.5, "classical": 1.5, "metal": 2, "bleak": 1},
    ),
    TasteProfile(
        "tech and business talk",
        {"podcast": 1.0, "audiobook": 0.7, "series": 0.3, "movie": 0.3},
        {"technology": 3.5, "business": 3, "economics": 2.5, "interview": 2,
         "self-improvement": 1.5, "science": 1, "artificial intelligence": 1.5},
        {"horror": 2, "true crime": 1},
    ),
    TasteProfile(
        "news and politics",
        {"podcast": 1.0, "series": 0.5, "movie": 0.3, "audiobook": 0.3},
        {"news": 3.5, "politics": 3, "society & culture": 2, "interview": 1.5, "investigative": 1.5,
         "economics": 1},
        {"fantasy": 1.5, "kids": 1.5, "horror": 1.5},
    ),
    TasteProfile(
        "fantasy and epics",
        {"series": 1.0, "movie": 1.0, "audiobook": 0.9, "album": 0.2},
        {"fantasy": 3.5, "magic": 2.5, "dragons": 2.5, "epic": 2.5, "adventure": 2, "mythology": 2,
         "based on a book": 1.5},
        {"documentary": 1.5, "news": 2},
    ),
)
