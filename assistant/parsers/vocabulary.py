"""Words people use for media types, genres, tags, moods and languages; the catalog's own
vocabulary that every parser output is held to; and the matcher of the catalog's titles.

Synonyms point at *senses* written ``kind:value``: ``media:movie``, ``genre:science fiction``,
``tag:kids``, ``mood:light``, ``lang:ko``, ``reldur:shorter``, ``relyear:newer``, and
``weakmedia:`` (a media type used only when no other is named: "something to watch"). A
``genre:`` or ``tag:`` sense is only used when the catalog has that label: a parser never
invents a genre or a tag.

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.models import Item
    >>> vocab = Vocabulary.from_catalog(Catalog([Item(id="a", title="Alien", media_type="movie",
    ...                                                genres=["horror"],
    ...                                                tags=["scary", "space"])]))
    >>> vocab.keep_genres(["horror", "western"]), vocab.mood_tags("scary")
    (['horror'], (['scary'], []))
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass

from retrieval.catalog import Catalog
from retrieval.models import Item  # noqa: F401  (used by the docstring examples)
from retrieval.request import Mood, Request

__all__ = ["LANGUAGE_WORDS", "MEDIA_WORDS", "MOOD_GENRES", "MOODS", "MOOD_WORDS", "OCCASION_WORDS",
           "RECENT_SHARE", "SYNONYMS", "TitleMatch", "TitleMatcher", "Vocabulary", "recent_from",
           "title_key"]

# Mood -> (tags it asks for, tags it rules out). Only the tags the catalog has are used.
MOODS: dict[Mood, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Mood.light: (("light", "feel-good", "funny"), ("dark", "bleak", "scary")),
    Mood.dark: (("dark", "bleak"), ("light",)),
    Mood.funny: (("funny",), ()),
    Mood.scary: (("scary",), ()),
    Mood.relaxing: (("relaxing", "chill"), ("intense",)),
    Mood.upbeat: (("upbeat", "danceable"), ("melancholic",)),
    Mood.energetic: (("energetic", "workout"), ()),
    Mood.sad: (("melancholic", "emotional"), ()),
    Mood.uplifting: (("uplifting", "feel-good", "heartwarming"), ("bleak",)),
    Mood.romantic: (("romantic",), ()),
    Mood.cozy: (("cozy", "heartwarming", "feel-good"), ()),
    Mood.thought_provoking: (("thought-provoking", "mind-bending"), ()),
    Mood.tense: (("tense", "intense"), ()),
    Mood.epic: (("epic",), ()),
    Mood.nostalgic: (("nostalgic",), ()),
    Mood.quirky: (("quirky",), ()),
    Mood.emotional: (("emotional",), ()),
    Mood.atmospheric: (("atmospheric",), ()),
    Mood.focus: (("study", "focus", "instrumental"), ()),
    Mood.sleep: (("sleep", "relaxing"), ("energetic",)),
}

# Genres that carry a mood through and through: ruling the mood out rules them out too
# ("a comedy, nothing scary" is no horror comedy).
MOOD_GENRES: dict[Mood, tuple[str, ...]] = {Mood.scary: ("horror",)}

# Words (and comparatives) that name a mood or an activity with a mood.
MOOD_WORDS: dict[str, Mood] = {
    **dict.fromkeys(["light", "lighter", "lighthearted", "light-hearted", "fun", "easygoing",
                     "easy-going", "not too heavy"], Mood.light),
    **dict.fromkeys(["dark", "darker", "gritty", "grittier", "grim"], Mood.dark),
    **dict.fromkeys(["funny", "funnier", "hilarious", "comedic", "laugh out loud"], Mood.funny),
    **dict.fromkeys(["scary", "scarier", "creepy", "spooky", "frightening", "terrifying"],
                    Mood.scary),
    **dict.fromkeys(["relaxing", "relaxed", "relax", "chill", "chilled", "chill-out", "chillout",
                     "calm", "calmer", "calming", "mellow", "soothing", "laid-back", "laid back",
                     "peaceful", "unwind"], Mood.relaxing),
    **dict.fromkeys(["upbeat", "happy", "happier", "cheerful", "catchy", "groovy", "party"],
                    Mood.upbeat),
    **dict.fromkeys(["energetic", "high-energy", "high energy", "pumped", "hype", "workout",
                     "working out", "gym", "running", "exercise", "exercising"], Mood.energetic),
    **dict.fromkeys(["sad", "sadder", "melancholy", "melancholic", "tearjerker", "heartbreaking"],
                    Mood.sad),
    **dict.fromkeys(["uplifting", "inspiring", "inspirational", "hopeful", "feel-good", "feel good",
                     "feelgood", "wholesome", "heartwarming", "heart-warming"], Mood.uplifting),
    **dict.fromkeys(["romantic", "date night"], Mood.romantic),
    **dict.fromkeys(["cozy", "cosy", "cozier", "comforting"], Mood.cozy),
    **dict.fromkeys(["thought-provoking", "thought provoking", "smart", "cerebral", "philosophical",
                     "mind-bending", "mind bending", "mind-blowing", "trippy"],
                    Mood.thought_provoking),
    **dict.fromkeys(["tense", "suspenseful", "gripping", "nail-biting", "edge of my seat",
                     "thrilling"], Mood.tense),
    **dict.fromkeys(["epic", "sweeping"], Mood.epic),
    **dict.fromkeys(["nostalgic", "nostalgia", "throwback"], Mood.nostalgic),
    **dict.fromkeys(["quirky", "weird", "offbeat", "whimsical", "quirkier", "weirder"],
                    Mood.quirky),
    **dict.fromkeys(["emotional", "moving", "touching"], Mood.emotional),
    **dict.fromkeys(["atmospheric", "moody", "dreamy"], Mood.atmospheric),
    **dict.fromkeys(["study", "studying", "focus", "focusing", "concentrate", "concentrating",
                     "concentration", "coding", "homework"], Mood.focus),
    **dict.fromkeys(["sleep", "sleeping", "asleep", "fall asleep", "falling asleep", "bedtime",
                     "insomnia"], Mood.sleep),
}

# How people name media types. "music" means tracks or albums; a playlist keeps the tracks.
MEDIA_WORDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(["movie", "film", "flick", "cinema", "feature film", "motion picture"],
                    ("media:movie",)),
    **dict.fromkeys(["series", "show", "tv", "tv show", "tv series", "television", "tv shows",
                     "binge", "binge-watch", "box set"], ("media:series",)),
    "sitcom": ("media:series", "tag:sitcom"),
    "miniseries": ("media:series", "tag:miniseries"),
    "mini-series": ("media:series", "tag:miniseries"),
    "docuseries": ("media:series", "genre:documentary"),
    "docu-series": ("media:series", "genre:documentary"),
    "k-drama": ("media:series", "lang:ko", "genre:drama"),
    "kdrama": ("media:series", "lang:ko", "genre:drama"),
    "episode": ("media:episode",),
    **dict.fromkeys(["song", "track", "tune"], ("media:music_track",)),
    **dict.fromkeys(["album", "record", "lp"], ("media:album",)),
    **dict.fromkeys(["music", "listen to music"], ("media:music_track", "media:album")),
    **dict.fromkeys(["podcast", "podcast episode", "pod"], ("media:podcast",)),
    **dict.fromkeys(["audiobook", "audio book", "audio-book", "book to listen to", "book", "novel"],
                    ("media:audiobook",)),
    # Weak senses: used only when no other media word is present ("a film to watch").
    **dict.fromkeys(["watch", "to watch", "watching"], ("weakmedia:movie", "weakmedia:series")),
    # "A musical" as a noun is a film unless a media word says otherwise ("a musical series").
    **dict.fromkeys(["a musical", "musicals"], ("weakmedia:movie", "genre:musical")),
    # So is "a western" ("western audiobooks" names its own kind).
    # A sitcom is a comedy series (the catalog's "sitcom" tag marks only some of them).
    **dict.fromkeys(["sitcom", "sitcoms"], ("weakmedia:series", "genre:comedy")),
    **dict.fromkeys(["a western", "westerns"],
                    ("weakmedia:movie", "weakmedia:series", "genre:western")),
    **dict.fromkeys(["listen to", "to listen to", "listening"],
                    ("weakmedia:music_track", "weakmedia:album", "weakmedia:podcast",
                     "weakmedia:audiobook")),
}

# Genre and tag synonyms (the catalog's own labels match themselves without an entry).
SYNONYMS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(["sci-fi", "scifi", "sci fi", "science-fiction"], ("genre:science fiction",)),
    **dict.fromkeys(["rom-com", "romcom", "romantic comedy"], ("genre:romance", "genre:comedy",
                                                               "mode:allgenres")),
    **dict.fromkeys(["hip-hop", "hiphop", "rap"], ("genre:hip hop",)),
    **dict.fromkeys(["rnb", "r'n'b", "r and b", "rhythm and blues"], ("genre:r&b",)),
    **dict.fromkeys(["edm", "dance music", "techno", "house music"], ("genre:electronic",)),
    **dict.fromkeys(["doc", "documentary", "docu"], ("genre:documentary",)),
    **dict.fromkeys(["nature documentary", "wildlife documentary"],
                    ("genre:documentary", "tag:nature")),
    **dict.fromkeys(["animated", "cartoon", "animation"], ("genre:animation",)),
    "anime": ("genre:animation", "lang:ja"),
    # films and series say "sport", podcasts "sports": a person means both
    **dict.fromkeys(["sport", "sports"], ("genre:sport", "genre:sports", "tag:sports")),
    "k-pop": ("genre:pop", "lang:ko"),
    "kpop": ("genre:pop", "lang:ko"),
    "j-pop": ("genre:pop", "lang:ja"),
    "bollywood": ("media:movie", "lang:hi", "genre:musical"),
    **dict.fromkeys(["kids", "kid", "children", "child", "toddler", "little ones", "kid-friendly",
                     "family-friendly", "family friendly", "for the family"],
                    ("genre:family", "genre:animation", "tag:kids", "notmood:scary")),
    "superhero": ("tag:superheroes",),
    **dict.fromkeys(["ai", "a.i.", "artificial intelligence"], ("tag:artificial intelligence",)),
    **dict.fromkeys(["alien", "extraterrestrial", "extraterrestrials", "ufo"], ("tag:aliens",)),
    **dict.fromkeys(["time-travel", "time travel"], ("tag:time travel",)),
    **dict.fromkeys(["post apocalyptic", "apocalypse", "apocalyptic"], ("tag:post-apocalyptic",)),
    **dict.fromkeys(["dystopian"], ("tag:dystopia",)),
    **dict.fromkeys(["magical", "wizard", "wizards"], ("tag:magic",)),
    **dict.fromkeys(["true story", "true stories", "real events", "real story"],
                    ("tag:based on a true story",)),
    **dict.fromkeys(["heists", "caper"], ("tag:heist",)),
    **dict.fromkeys(["detectives", "whodunit", "whodunnit"], ("tag:detective",)),
    **dict.fromkeys(["serial killers"], ("tag:serial killer",)),
    **dict.fromkeys(["courtroom drama", "legal"], ("tag:courtroom",)),
    **dict.fromkeys(["coming-of-age"], ("tag:coming of age",)),
    **dict.fromkeys(["road-trip", "road trip", "roadtrip"], ("tag:road trip",)),
    **dict.fromkeys(["dance", "dancing", "danceable", "dancey"], ("tag:danceable",)),
    **dict.fromkeys(["live album", "live record", "concert album"], ("tag:live", "media:album")),
    **dict.fromkeys(["live recording", "live music", "live performance"], ("tag:live",)),
    **dict.fromkeys(["instrumentals", "no lyrics", "without lyrics"], ("tag:instrumental",)),
    **dict.fromkeys(["space exploration", "outer space", "astronomy", "the universe"],
                    ("tag:space",)),
    **dict.fromkeys(["cooking", "cuisine"], ("tag:food",)),
    **dict.fromkeys(["tech"], ("tag:technology",)),
    **dict.fromkeys(["newer", "more recent", "newer stuff"], ("relyear:newer",)),
    **dict.fromkeys(["older", "older stuff"], ("relyear:older",)),
    **dict.fromkeys(["shorter", "less long", "quicker"], ("reldur:shorter",)),
    **dict.fromkeys(["longer"], ("reldur:longer",)),
}

# Labels that name nothing on their own: "live" only as in "live album" (see SYNONYMS).
BARE_LABELS_IGNORED: frozenset[str] = frozenset({"live", "night", "summer", "debut", "narrative"})

# Holidays, seasons and days: an occasion, not a title, unless the message names it as one
# ("scary films for Halloween" vs "something like Halloween").
OCCASION_WORDS: frozenset[str] = frozenset(
    "halloween christmas xmas christmastime thanksgiving easter hanukkah chanukah diwali ramadan "
    "eid passover valentines valentine's valentine nye holidays holiday "
    "spring summer autumn fall winter weekend weekends monday tuesday wednesday thursday "
    "friday saturday sunday tonight birthday anniversary".split())

# Language names (and a few adjectives) -> ISO 639-1 code.
LANGUAGE_WORDS: dict[str, str] = {
    "english": "en", "french": "fr", "spanish": "es", "german": "de", "italian": "it",
    "japanese": "ja", "korean": "ko", "chinese": "zh", "mandarin": "zh", "cantonese": "zh",
    "portuguese": "pt", "brazilian": "pt", "hindi": "hi", "russian": "ru", "swedish": "sv",
    "danish": "da", "norwegian": "no", "finnish": "fi", "icelandic": "is", "dutch": "nl",
    "polish": "pl", "turkish": "tr", "arabic": "ar", "persian": "fa", "farsi": "fa",
    "iranian": "fa", "greek": "el", "hebrew": "he", "thai": "th", "vietnamese": "vi",
    "indonesian": "id", "czech": "cs", "hungarian": "hu", "romanian": "ro", "ukrainian": "uk",
    "tamil": "ta", "telugu": "te", "bengali": "bn", "urdu": "ur", "tagalog": "tl",
}


@dataclass(frozen=True)
class Vocabulary:
    """The genres, tags and years of one catalog: what parsers may put in a :class:`Request`."""

    genres: frozenset[str]
    tags: frozenset[str]
    newest_year: int | None = None
    recent_from: int | None = None
    """The first year "recent" covers: where the catalog's newest tenth of dated items begins,
    within 2 to 9 years before its newest year. Relative to the catalog, not to today (a
    catalog of 1998 has its own "recent"), and to how its items spread over the years rather
    than a fixed span: "recent" always leaves about a tenth of the catalog to choose from."""
    media: frozenset[str] = frozenset()
    """The media types the catalog holds."""

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Vocabulary:
        years = sorted(it.year for it in catalog if it.year is not None)
        return cls(genres=frozenset(catalog.genre_counts()), tags=frozenset(catalog.tag_counts()),
                   newest_year=years[-1] if years else None, recent_from=recent_from(years),
                   media=frozenset(str(getattr(it.media_type, "value", it.media_type))
                                   for it in catalog))

    def keep_genres(self, labels: list[str]) -> list[str]:
        """The labels that are genres of the catalog, in order, without repeats."""
        cleaned = (x.strip().lower() for x in labels)
        return list(dict.fromkeys(g for g in cleaned if g in self.genres))

    def keep_tags(self, labels: list[str]) -> list[str]:
        """The labels that are tags of the catalog, in order, without repeats."""
        return list(dict.fromkeys(t for t in (x.strip().lower() for x in labels) if t in self.tags))

    def mood_tags(self, mood: Mood | str) -> tuple[list[str], list[str]]:
        """(tags asked for, tags ruled out) by a mood, limited to the catalog's tags."""
        include, exclude = MOODS[Mood(mood)]
        return self.keep_tags(list(include)), self.keep_tags(list(exclude))

    def clamp(self, request: Request) -> Request:
        """The same request without genres and tags the catalog does not have.

        For parsers whose output is not built from the vocabulary (an LLM).
        """
        return request.model_copy(update={
            "genres": self.keep_genres(request.genres),
            "exclude_genres": self.keep_genres(request.exclude_genres),
            "tags": self.keep_tags(request.tags),
            "exclude_tags": self.keep_tags(request.exclude_tags),
        })


RECENT_SHARE = 0.1
"""The share of a catalog's dated items that "recent" covers (see :func:`recent_from`)."""


def recent_from(years: list[int]) -> int | None:
    """The first year "recent" covers for a catalog whose items' years are ``years`` (sorted):
    the year where its newest :data:`RECENT_SHARE` of items begins, kept within 2 to 9 years
    before the newest year.

    >>> recent_from([1990] * 50 + [2015] * 40 + [2020] * 8 + [2022] * 2)
    2020
    >>> recent_from([2010, 2022]), recent_from([])
    (2020, None)
    """
    if not years:
        return None
    newest = years[-1]
    quantile = years[min(len(years) - 1, int(len(years) * (1 - RECENT_SHARE)))]
    return max(newest - 9, min(newest - 2, quantile))


# --- Titles ---------------------------------------------------------------------------

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_ARTICLE = re.compile(r"^(?:the|a|an) ")
_SPLIT_SUB = re.compile(r"\s*(?::| - | – | — )\s*")
_PAREN = re.compile(r"\(([^)]*)\)")
_SUBTITLE_MARKS = ("(", ":", " - ", "\u2013", "\u2014")
_WEAK_SUBTITLE = re.compile(r"^(?:part|episode|chapter|volume|vol|season|book)\b")
MAX_IDS_PER_TITLE = 5
"""Ids a look-up without a year returns for one key (the catalog's first ones)."""
_MAX_IDS_KEPT = 200  # ids kept per key, so that a year can pick among many ("Hamlet")


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def title_key(text: str) -> str:
    """Normalised form of a title: lower case ASCII letters and digits separated by spaces.

    >>> title_key("Amélie"), title_key("Sgt. Pepper's Lonely Hearts Club Band"), title_key("R&B")
    ('amelie', 'sgt peppers lonely hearts club band', 'r and b')
    """
    folded = _fold(text).replace("&", " and ").replace("'", "").replace("\u2019", "")
    return _NON_ALNUM.sub(" ", folded).strip()


@dataclass(frozen=True)
class TitleMatch:
    """Catalog ids sharing the matched key, the key, and the score (100 = exact)."""

    ids: tuple[str, ...]
    key: str
    score: float


class TitleMatcher:
    """Exact and fuzzy look-up of catalog titles, built once per catalog.

    Every title is indexed under normalised keys (see :func:`title_key`): the full title,
    the title without a leading article, the part before a colon ("Mad Max" for "Mad Max:
    Fury Road"), a subtitle of two words or more, and a form without spaces ("mash" for
    "M*A*S*H"). A full title beats an alias: "Dune" is the 2021 film, not "Dune: Part Two".
    Fuzzy matching (``fuzz.ratio`` with a cut-off) only scores keys with the same first
    letter and a length that can reach the cut-off, so a look-up stays well under a
    millisecond on a 100k-item catalog.

    Example:
        >>> m = TitleMatcher(Catalog([Item(id="mv-1", title="Interstellar", media_type="movie"),
        ...                           Item(id="mv-2", title="Mad Max: Fury Road",
        ...                                media_type="movie")]))
        >>> m.exact("mad max").ids, m.fuzzy("Interstelar").ids, round(m.fuzzy("Interstelar").score)
        (('mv-2',), ('mv-1',), 96)
    """

    def __init__(self, catalog: Catalog) -> None:
        every: dict[str, dict[str, int]] = defaultdict(dict)  # key -> {id: best priority}

        def add(key: str, priority: int, item_id: str) -> None:
            if len(key) < 2:
                return
            ids = every[key]
            if item_id in ids:
                ids[item_id] = min(ids[item_id], priority)
            elif len(ids) < _MAX_IDS_KEPT:
                ids[item_id] = priority

        self._years: dict[str, int] = {}
        for item in catalog:
            if item.year is not None:
                self._years[item.id] = item.year
            full = title_key(item.title)
            add(full, 0, item.id)
            if full.startswith(("the ", "a ", "an ")):
                add(_ARTICLE.sub("", full), 0, item.id)
            if " " in full and any(len(w) == 1 for w in full.split()):
                add(full.replace(" ", ""), 1, item.id)  # "mash" for "M*A*S*H", "walle"
            title = item.title
            if not any(mark in title for mark in _SUBTITLE_MARKS):
                continue
            plain = _PAREN.sub(" ", title)
            parts = [p for p in _SPLIT_SUB.split(plain) if p.strip()]
            if len(parts) > 1:
                main = title_key(parts[0])
                add(main, 1, item.id)
                add(_ARTICLE.sub("", main), 1, item.id)
                for n in range(2, len(parts)):  # "Avengers: Infinity War" of "... - Part I"
                    add(title_key(" ".join(parts[:n])), 1, item.id)
                sub = title_key(parts[-1])
                if len(sub.split()) >= 2 and not _WEAK_SUBTITLE.match(sub):
                    add(sub, 2, item.id)
                    add(_ARTICLE.sub("", sub), 2, item.id)
            elif plain != item.title:
                add(title_key(plain), 1, item.id)
            for inner in _PAREN.findall(item.title):
                add(title_key(inner), 2, item.id)
        # without a year a key names the items of its best priority (a full title beats an
        # alias); with one, every item under the key may be the one meant
        self._all: dict[str, tuple[str, ...]] = {}
        self._keys: dict[str, tuple[str, ...]] = {}
        for k, ids in every.items():
            ranked = sorted(ids, key=ids.__getitem__)  # stable: catalog order within a priority
            self._all[k] = tuple(ranked)
            top = ids[ranked[0]]
            self._keys[k] = tuple(i for i in ranked if ids[i] == top)
        buckets: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for key in self._keys:
            buckets[key[0]].append((len(key), key))
        self._buckets: dict[str, tuple[list[int], list[str]]] = {}
        for first, pairs in buckets.items():
            pairs.sort()
            self._buckets[first] = ([n for n, _ in pairs], [k for _, k in pairs])
        self._words: dict[str, set[str]] | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def exact(self, text: str, year: int | None = None) -> TitleMatch | None:
        """The titles whose key equals ``text`` normalised (with or without an article); with
        ``year``, only those of that year (or one year off: release dates differ by country),
        else None."""
        key = title_key(text)
        for candidate in (key, _ARTICLE.sub("", key), key.replace(" ", "")):
            ids = self._keys.get(candidate)
            if ids:
                return self._pick(TitleMatch(ids, candidate, 100.0), year)
        return None

    def _pick(self, match: TitleMatch, year: int | None) -> TitleMatch | None:
        """``match`` limited to the items of ``year`` (exact first, else one year off), or
        to its first :data:`MAX_IDS_PER_TITLE` ids without a year."""
        if year is None:
            return TitleMatch(match.ids[:MAX_IDS_PER_TITLE], match.key, match.score)
        for off in (0, 1):
            ids = tuple(i for i in self._all.get(match.key, match.ids)
                        if (y := self._years.get(i)) is not None
                        and abs(y - year) <= off)
            if ids:
                return TitleMatch(ids[:MAX_IDS_PER_TITLE], match.key, match.score)
        return None

    def year_of(self, item_id: str) -> int | None:
        """The release year of ``item_id``, if the catalog has it."""
        return self._years.get(item_id)

    def fuzzy(self, text: str, cutoff: float = 88.0, year: int | None = None) -> TitleMatch | None:
        """The closest title by ``fuzz.ratio`` at or above ``cutoff`` (0-100), or None (with
        ``year``: among the titles of that year, see :meth:`exact`)."""
        from rapidfuzz import fuzz, process

        key = title_key(text)
        if len(key) < 4 or key[0] not in self._buckets:
            return None
        lengths, keys = self._buckets[key[0]]
        n = len(key)
        # ratio = 2*matches/(len_a+len_b)*100 can only reach the cut-off within this band.
        lo = bisect_left(lengths, int(n * cutoff / (200 - cutoff)))
        hi = bisect_right(lengths, int(n * (200 - cutoff) / cutoff) + 1)
        if lo >= hi:
            return None
        if year is not None:
            for near in process.extract(key, keys[lo:hi], scorer=fuzz.ratio, score_cutoff=cutoff,
                                        limit=5):
                match = self._pick(TitleMatch(self._keys[near[0]], near[0], float(near[1])), year)
                if match is not None:
                    return match
            return None
        found = process.extractOne(key, keys[lo:hi], scorer=fuzz.ratio, score_cutoff=cutoff)
        if found is None:
            return None
        return self._pick(TitleMatch(self._keys[found[0]], found[0], float(found[1])), None)

    def warm(self) -> dict[str, set[str]]:
        """Build the word index of :meth:`unique_word` now (made on first use otherwise:
        seconds on a million titles, which a server spends before its first turn)."""
        if self._words is None:
            index: dict[str, set[str]] = defaultdict(set)
            for key in self._keys:
                for w in key.split():
                    if len(w) >= 4:
                        index[w].add(key)
            self._words = dict(index)
        return self._words

    def unique_word(self, text: str) -> TitleMatch | None:
        """The one title containing every word of ``text`` (each at least 4 letters), if only
        one does: "Totoro" -> "My Neighbor Totoro". Used for cued, capitalised spans only."""
        words = title_key(text).split()
        if not words or any(len(w) < 4 for w in words):
            return None
        index = self.warm()
        found: set[str] | None = None
        for w in words:
            keys = index.get(w, set())
            found = set(keys) if found is None else found & keys
            if not found:
                return None
        ids = {self._keys[k] for k in found or ()}
        if len(ids) != 1:
            return None
        key = min(found or (), key=len)
        return self._pick(TitleMatch(self._keys[key], key, 85.0), None)
