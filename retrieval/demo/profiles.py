"""Taste profiles behind the demo's SYNTHETIC interactions.

Each profile weights media types, catalog labels (genres and tags) and, for some, decades;
a generated user mixes one or two profiles, and is shown with the ``persona`` of the one
their history follows most ("crime and mystery fan"). ``core`` names the genres a profile's
history is mostly made of (the persona promises them). The weights are hand-written to give
plausible, varied histories; they describe no real person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TasteProfile", "PROFILES"]


@dataclass(frozen=True)
class TasteProfile:
    """What one kind of person tends to play, like and avoid.

    Attributes:
        name: A short key ("crime and mystery").
        persona: How a user of this taste is shown ("crime and mystery fan").
        core: The genres such a user's history is mostly made of.
        media: Weight per media type (a type left out is almost never played).
        likes: Weight per genre or tag.
        dislikes: Weight per genre or tag pushed away.
        decades: Weight per decade ("1980s"), for tastes that lean to an era.
    """

    name: str
    persona: str
    core: frozenset[str]
    media: dict[str, float]
    likes: dict[str, float]
    dislikes: dict[str, float] = field(default_factory=dict)
    decades: dict[str, float] = field(default_factory=dict)


_VIDEO = {"movie": 1.0, "series": 0.9}
_MUSIC = {"album": 1.0, "music_track": 1.0}
_TALK = {"podcast": 1.0, "audiobook": 0.6}


def _p(name: str, persona: str, core: str, media: dict[str, float], likes: dict[str, float],
       dislikes: dict[str, float] | None = None, decades: dict[str, float] | None = None
       ) -> TasteProfile:
    return TasteProfile(name, persona, frozenset(core.split("|")), media, likes,
                        dislikes or {}, decades or {})


PROFILES: tuple[TasteProfile, ...] = (
    _p("sci-fi and space", "sci-fi films and space podcasts", "science fiction|science",
       {**_VIDEO, "podcast": 0.5, "audiobook": 0.5},
       {"science fiction": 4, "space": 3, "aliens": 2, "time travel": 2, "mind-bending": 2,
        "artificial intelligence": 2, "dystopia": 1.5, "robots": 1.5, "science": 1.5},
       {"romance": 1.5, "musical": 2, "sitcom": 1}),
    _p("horror", "horror and scary-stories fan", "horror",
       {"movie": 1.0, "series": 0.8, "podcast": 0.3, "audiobook": 0.3},
       {"horror": 4.5, "scary": 3, "tense": 1.5, "dark": 1.5, "serial killer": 1,
        "supernatural": 1},
       {"family": 2, "kids": 2, "feel-good": 1.5, "musical": 1.5}),
    _p("crime and mystery", "crime and mystery fan", "crime|mystery|thriller",
       {**_VIDEO, "audiobook": 0.5},
       {"crime": 3.5, "mystery": 3.5, "thriller": 2.5, "detective": 2.5, "heist": 1.5,
        "courtroom": 1.5, "tense": 1, "dark": 1},
       {"kids": 2, "musical": 2, "animation": 1.5}),
    _p("true crime", "true-crime listener", "true crime|crime|documentary",
       {"podcast": 1.0, "series": 0.7, "audiobook": 0.4},
       {"true crime": 4.5, "crime": 2.5, "investigative": 2.5, "based on a true story": 2,
        "serial killer": 1.5, "documentary": 1.5},
       {"kids": 2, "musical": 2, "animation": 1.5}),
    _p("feel-good comedy", "comedy and feel-good fan", "comedy",
       {"movie": 1.0, "series": 1.0, "podcast": 0.5},
       {"comedy": 4, "feel-good": 2.5, "funny": 2.5, "light": 2, "sitcom": 2, "heartwarming": 1.5,
        "friendship": 1},
       {"horror": 3, "scary": 2.5, "bleak": 2, "war": 1.5, "dark": 1.5}),
    _p("romance", "romance and love-story fan", "romance",
       {"movie": 1.0, "series": 0.8, "audiobook": 0.4},
       {"romance": 4.5, "romantic": 3, "heartwarming": 1.5, "emotional": 1.5, "feel-good": 1},
       {"horror": 3, "war": 2, "serial killer": 2}),
    _p("prestige drama", "prestige drama watcher", "drama",
       {"series": 1.0, "movie": 1.0, "audiobook": 0.3},
       {"drama": 4, "slow-burn": 2, "thought-provoking": 2, "award-winning": 1.5,
        "miniseries": 1.5, "emotional": 1, "based on a book": 1},
       {"kids": 2, "animated": 1, "superheroes": 1.5}),
    _p("family and animation", "family films and animation", "animation|family",
       {"movie": 1.0, "series": 0.9, "audiobook": 0.3},
       {"animation": 4, "family": 3.5, "kids": 2.5, "animated": 2.5, "heartwarming": 1.5,
        "magic": 1},
       {"horror": 3, "scary": 3, "serial killer": 3, "war": 2, "bleak": 2}),
    _p("documentary and nature", "documentary and nature watcher", "documentary|science",
       {"series": 1.0, "movie": 0.8, "podcast": 0.7},
       {"documentary": 4.5, "nature": 3, "science": 2, "investigative": 1.5,
        "thought-provoking": 1},
       {"superheroes": 1.5, "horror": 1.5}),
    _p("history and war", "history buff", "history|war|biography",
       {"podcast": 1.0, "series": 0.8, "movie": 0.8, "audiobook": 0.6},
       {"history": 4, "war": 2.5, "biography": 2.5, "based on a true story": 2, "epic": 1},
       {"sitcom": 1.5, "superheroes": 1.5}),
    _p("fantasy and epics", "fantasy and epics fan", "fantasy|adventure",
       {"series": 1.0, "movie": 1.0, "audiobook": 0.9},
       {"fantasy": 4.5, "magic": 2.5, "dragons": 2.5, "epic": 2, "adventure": 1.5,
        "mythology": 2},
       {"documentary": 1.5, "news": 2}),
    _p("action and adventure", "action and adventure fan", "action|adventure",
       {"movie": 1.0, "series": 0.7},
       {"action": 4, "adventure": 3, "fast-paced": 2, "superheroes": 2, "heist": 1.5,
        "intense": 1.5, "survival": 1},
       {"slow-burn": 1.5, "musical": 1.5, "romance": 1}),
    _p("westerns and classics", "westerns and classic films fan", "western|drama",
       {"movie": 1.0, "series": 0.6, "album": 0.2},
       {"western": 5, "revenge": 1.5, "survival": 1, "drama": 1, "epic": 1},
       {"superheroes": 2, "sitcom": 1.5},
       {"1950s": 1.5, "1960s": 1.5, "1970s": 1.0}),
    _p("musicals and soundtracks", "musicals and soundtracks fan", "musical|soundtrack",
       {"movie": 1.0, "album": 0.8, "music_track": 0.5},
       {"musical": 5, "soundtrack": 4, "music": 2, "feel-good": 1, "romantic": 1},
       {"horror": 2.5, "serial killer": 2}),
    _p("sports", "sports films and podcasts fan", "sport|sports",
       {"movie": 1.0, "series": 0.8, "podcast": 0.8},
       {"sport": 5, "sports": 5, "based on a true story": 1.5, "uplifting": 1},
       {"horror": 1.5, "fantasy": 1.5}),
    _p("jazz and soul", "jazz and soul listener", "jazz|soul|blues|funk",
       {**_MUSIC, "movie": 0.1},
       {"jazz": 4, "soul": 3.5, "blues": 3, "funk": 2.5, "live": 1, "instrumental": 1},
       {"metal": 3, "punk": 2.5}),
    _p("classical and ambient", "classical and ambient listener", "classical|ambient",
       {**_MUSIC, "podcast": 0.1},
       {"classical": 4.5, "ambient": 4, "instrumental": 2, "relaxing": 2, "sleep": 1.5,
        "focus": 1.5, "study": 1},
       {"metal": 3, "punk": 3, "hip hop": 1.5}),
    _p("indie and alternative", "indie and alternative fan", "indie|alternative",
       {**_MUSIC, "movie": 0.2},
       {"indie": 4.5, "alternative": 4.5, "melancholic": 1.5, "debut": 1, "concept album": 1},
       {"country": 1.5, "latin": 1}),
    _p("rock, metal and punk", "rock, metal and punk fan", "rock|metal|punk",
       _MUSIC,
       {"rock": 4, "metal": 4, "punk": 4, "energetic": 2, "intense": 1.5, "live": 1},
       {"ambient": 2, "classical": 1.5, "r&b": 1}),
    _p("hip hop and r&b", "hip hop and r&b listener", "hip hop|r&b",
       {**_MUSIC, "podcast": 0.1},
       {"hip hop": 4.5, "r&b": 4, "soul": 1.5, "energetic": 1, "danceable": 1, "workout": 1},
       {"country": 2, "classical": 1.5, "metal": 1.5}),
    _p("electronic and dance", "electronic and dance listener", "electronic",
       _MUSIC,
       {"electronic": 5, "danceable": 2, "chill": 1.5, "energetic": 1.5, "atmospheric": 1,
        "workout": 1},
       {"country": 2, "folk": 1.5}),
    _p("pop hits", "pop hits listener", "pop",
       {**_MUSIC, "movie": 0.2},
       {"pop": 5, "upbeat": 2, "danceable": 2, "feel-good": 1, "energetic": 1},
       {"metal": 2, "ambient": 1.5, "bleak": 1}),
    _p("country and folk", "country and folk listener", "country|folk",
       _MUSIC,
       {"country": 5, "folk": 4.5, "acoustic": 2, "storytelling": 1.5, "melancholic": 1},
       {"electronic": 2, "metal": 2, "hip hop": 1.5}),
    _p("reggae and latin", "reggae and latin music fan", "reggae|latin",
       _MUSIC,
       {"reggae": 5, "latin": 5, "danceable": 2, "upbeat": 1.5, "chill": 1},
       {"metal": 2, "classical": 1.5}),
    _p("tech and business", "tech and business listener", "technology|business",
       {"podcast": 1.0, "audiobook": 0.7},
       {"technology": 4, "business": 4, "economics": 2, "interview": 1.5,
        "artificial intelligence": 1.5, "self-improvement": 1},
       {"horror": 2, "true crime": 1}),
    _p("news and politics", "news and politics follower", "news|politics|society & culture",
       {"podcast": 1.0, "audiobook": 0.4, "series": 0.2},
       {"news": 4, "politics": 4, "society & culture": 2.5, "interview": 1,
        "investigative": 1.5},
       {"fantasy": 1.5, "kids": 1.5}),
    _p("science and ideas", "science and ideas listener", "science|education",
       {"podcast": 1.0, "audiobook": 0.8},
       {"science": 4.5, "education": 3.5, "thought-provoking": 2, "nature": 1,
        "storytelling": 1},
       {"horror": 1.5, "true crime": 1}),
    _p("health and self-improvement", "health and self-improvement listener",
       "health|education",
       {"podcast": 1.0, "audiobook": 0.8},
       {"health": 5, "self-improvement": 3, "education": 2, "relaxing": 1},
       {"horror": 2, "true crime": 1.5}),
    _p("comedy podcasts", "comedy podcast listener", "comedy|arts|society & culture",
       {"podcast": 1.0, "audiobook": 0.5},
       {"comedy": 4.5, "funny": 2.5, "interview": 1.5, "arts": 2, "society & culture": 1.5},
       {"true crime": 1.5, "news": 1}),
    _p("audiobook fiction", "audiobook fiction reader", "fiction|fantasy|science fiction|mystery",
       {"audiobook": 1.0, "podcast": 0.4},
       {"fiction": 4.5, "based on a book": 2, "storytelling": 2, "narrative": 2, "fantasy": 1.5,
        "science fiction": 1.5, "mystery": 1.5},
       {"news": 1.5}),
)
