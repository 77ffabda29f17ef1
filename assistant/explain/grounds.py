"""What an explanation may cite about one pick: :func:`grounds_for` builds its
:class:`~assistant.reply.Grounds` from the item, the request and the ranker's evidence.

Everything in the grounds is a checked fact: the item's own title, year, duration, media
type and creators; the genres, tags and moods it shares with the request; the request's hard
constraints it satisfies, in words; the liked history items of **this** user that the ranker
found closest **and** that are genuinely close to it (:mod:`assistant.explain.relevance`: a
shared genre or theme, the same media family, similar content), with their catalog titles;
the ranker's positive signals, in words from a fixed table; and the candidate sources. The
other closest history items are kept apart (``uncited_history``, with why), for developers.
Descriptions never enter the grounds (they are free text a catalog may fill with anything).
``evidence_text`` says all this in plain sentences for the page
(:func:`assistant.explain.evidence.evidence_sentences`).

Example:
    >>> from retrieval.request import Request
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.diversify import Evidence, HistoryLink, RankedItem
    >>> from retrieval.models import Item
    >>> cat = Catalog([
    ...     Item(id="a", title="Arrival", media_type="movie", year=2016, duration_min=116,
    ...          genres=["science fiction", "drama"], tags=["slow-burn"]),
    ...     Item(id="c", title="Contact", media_type="movie", year=1997,
    ...          genres=["science fiction"]),
    ...     Item(id="o", title="OK Computer", media_type="album", genres=["rock"])])
    >>> ranked = RankedItem(item_id="a", rank=1, score=1.0, evidence=Evidence(
    ...     history=[HistoryLink(item_id="c", similarity=0.8, kind="content"),
    ...              HistoryLink(item_id="o", similarity=0.7, kind="content")]))
    >>> g = grounds_for(cat["a"], Request(genres=["science fiction"], exclude_genres=["horror"],
    ...                 max_minutes=120), ranked, cat)
    >>> g.matched_genres, g.constraints, [h.title for h in g.history]
    (['science fiction'], ['under 120 minutes', 'no horror'], ['Contact'])
    >>> [(h.title, h.note) for h in g.uncited_history]
    [('OK Computer', 'an album, not video')]
    >>> for line in g.evidence_text[:2]: print(line)
    Matches what you asked for: science fiction, under 120 minutes and no horror.
    You liked Contact, also science fiction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.explain.relevance import CITE_MIN_COSINE, cite_verdict
from assistant.explain.words import with_article
from assistant.reply import Grounds, HistoryReason
from retrieval.models import Item, MediaType

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.diversify import FeatureContribution, RankedItem
    from retrieval.request import Request

__all__ = ["ASKED_PHRASES", "GROUP_PHRASES", "LANGUAGE_NAMES", "MEDIA_NOUNS", "SIGNAL_PHRASES",
           "constraint_phrases", "grounds_for", "media_noun", "signal_phrases"]

MEDIA_NOUNS: dict[str, tuple[str, str]] = {
    MediaType.movie: ("film", "films"),
    MediaType.series: ("series", "series"),
    MediaType.episode: ("episode", "episodes"),
    MediaType.music_track: ("track", "tracks"),
    MediaType.album: ("album", "albums"),
    MediaType.podcast: ("podcast", "podcasts"),
    MediaType.audiobook: ("audiobook", "audiobooks"),
}
"""Media type -> (singular, plural) noun as a person says it."""

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "fr": "French", "es": "Spanish", "de": "German", "it": "Italian",
    "ja": "Japanese", "ko": "Korean", "zh": "Chinese", "pt": "Portuguese", "hi": "Hindi",
    "ru": "Russian", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish",
    "is": "Icelandic", "nl": "Dutch", "pl": "Polish", "tr": "Turkish", "ar": "Arabic",
    "fa": "Persian", "el": "Greek", "he": "Hebrew", "th": "Thai", "vi": "Vietnamese",
    "id": "Indonesian", "cs": "Czech", "hu": "Hungarian", "ro": "Romanian", "uk": "Ukrainian",
    "ta": "Tamil", "te": "Telugu", "bn": "Bengali", "ur": "Urdu", "tl": "Tagalog",
}
"""ISO 639-1 code -> English name (codes not listed are written as they are)."""

# Feature name -> (phrase, the smallest value for which the phrase is true, or None for any).
# A positive contribution only says that the feature raised the score; the threshold keeps a
# phrase such as "in the genres you asked for" from being said of an item with none of them.
# Features with no phrase here (history_length, dislike_max_cosine, ...) are never cited.
SIGNAL_PHRASES: dict[str, tuple[str, float | None]] = {
    "retrieval_score": ("close to what you asked for", None),
    "retrieval_rank": ("close to what you asked for", None),
    "from_dense": ("close to what you asked for", 0.5),
    "request_cosine": ("close to what you asked for", 1e-6),
    "profile_cosine": ("close to your overall taste", 1e-6),
    "year_gap_history": ("from the years you usually choose", None),
    "recent_max_cosine": ("close to what you chose recently", 1e-6),
    "recent_mean_cosine": ("close to what you chose recently", 1e-6),
    "popularity": ("popular overall", None),
    "recent_popularity": ("popular lately", None),
    "ease_score": ("popular with people whose taste is like yours", None),
    "ease_relative": ("popular with people whose taste is like yours", None),
    "knn_score": ("popular with people whose taste is like yours", 1e-6),
    "knn_recent_max": ("liked by people who chose what you chose recently", 1e-6),
    "knn_recent_mean": ("liked by people who chose what you chose recently", 1e-6),
    "genre_request": ("in the genres you asked for", 1e-6),
    "tag_request": ("with the themes you asked for", 1e-6),
    "genre_profile": ("in genres you often choose", 1e-6),
    "tag_profile": ("with themes you often choose", 1e-6),
    "year_fit": ("from the years you asked for", 0.999),
    "duration_fit": ("the length you asked for", 0.999),
    "media_match": ("the kind of item you asked for", 0.5),
    "media_history_share": ("the kind of item you usually choose", 1e-6),
}

# Group -> phrase, for a feature of a known group that the table above does not name (a
# feature added later). Only groups whose every member supports the phrase are listed.
GROUP_PHRASES: dict[str, str] = {
    "popularity": "popular overall",
    "collaborative": "popular with people whose taste is like yours",
    "recent": "close to what you chose recently",
}

ASKED_PHRASES = frozenset({
    "close to what you asked for", "in the genres you asked for",
    "with the themes you asked for", "from the years you asked for",
    "the length you asked for", "the kind of item you asked for"})
"""Signal phrases about the request: said only when the request asked for something, and
left out where the request match is already worded."""


def media_noun(media_type: str, *, plural: bool = False) -> str:
    """The everyday noun for a media type: ``media_noun("movie")`` is ``"film"``."""
    singular, many = MEDIA_NOUNS.get(media_type, (str(media_type).replace("_", " "),) * 2)
    return many if plural else singular


def constraint_phrases(item: Item | None, request: Request | None) -> list[str]:
    """The request's hard constraints that ``item`` satisfies, in short words.

    A constraint the item breaks, or cannot be shown to meet (unknown year or duration), is
    left out. With ``item=None`` every hard constraint of the request is worded (the
    request's summary). ``exclude_ids`` is never worded.

    Example:
        >>> from retrieval.request import Request
        >>> it = Item(id="p", title="P", media_type="podcast", duration_min=35, language="ko")
        >>> req = Request(media_types=["podcast", "series"], max_minutes=40, language="ko",
        ...               exclude_genres=["horror"])
        >>> constraint_phrases(it, req)
        ['a podcast', 'episodes under 40 minutes', 'no horror', 'in Korean']
        >>> constraint_phrases(None, req)
        ['podcasts or series', 'under 40 minutes', 'no horror', 'in Korean']
        >>> constraint_phrases(None, Request(year_min=1960, year_max=1969, media_types=["album"]))
        ['albums', 'from the 1960s']
    """
    if request is None:
        return []
    out: list[str] = []
    media = item.media_type if item is not None else None
    if request.media_types and item is None:
        out.append(" or ".join(media_noun(m, plural=True) for m in request.media_types))
    elif request.media_types and media in request.media_types:
        out.append(with_article(media_noun(media)))
    excluded = [m for m in request.exclude_media_types if m != media]
    if excluded:
        out.append("no " + " or ".join(media_noun(m, plural=True) for m in excluded))
    year = item.year if item is not None else None
    lo, hi = request.year_min, request.year_max
    if (lo is not None or hi is not None) and (item is None or (
            year is not None and (lo is None or year >= lo) and (hi is None or year <= hi))):
        if lo is not None and hi is not None:
            if lo == hi:
                out.append(f"from {lo}")
            elif lo % 10 == 0 and hi == lo + 9:
                out.append(f"from the {lo}s")  # a decade, as people say it
            else:
                out.append(f"from {lo} to {hi}")
        elif lo is not None:
            out.append(f"from {lo} or later")
        else:
            out.append(f"from {hi} or earlier")
    d = item.duration_min if item is not None else None
    lo_m, hi_m = request.min_minutes, request.max_minutes
    if (lo_m is not None or hi_m is not None) and (item is None or (
            d is not None and (lo_m is None or d >= lo_m) and (hi_m is None or d <= hi_m))):
        if lo_m is not None and hi_m is not None:
            words = f"between {lo_m} and {hi_m} minutes"
        elif hi_m is not None:
            words = f"under {hi_m} minutes"
        else:
            words = f"at least {lo_m} minutes"
        per_episode = media in (MediaType.series, MediaType.podcast)
        out.append(f"episodes {words}" if per_episode else words)
    genres = item.genres if item is not None else []
    tags = item.tags if item is not None else []
    out += [f"no {g}" for g in request.exclude_genres if g not in genres]
    # A mood's own exclusions go unsaid: "dark" already means "not light".
    from assistant.parsers.vocabulary import MOODS

    implied = {t for m in request.moods for t in MOODS.get(m, ((), ()))[1]}
    out += [f"not {t}" for t in request.exclude_tags if t not in tags and t not in implied]
    if request.language is not None and (item is None or (
            item.language is not None and item.language.lower() == request.language)):
        out.append(f"in {LANGUAGE_NAMES.get(request.language, request.language)}")
    return out


def signal_phrases(features: Sequence[FeatureContribution], *, limit: int = 3) -> list[str]:
    """Plain words for the features that raised a pick's score (positive contributions only,
    strongest first, each phrase once). Unknown features are skipped, never guessed.

    Example:
        >>> from retrieval.diversify import FeatureContribution as F
        >>> signal_phrases([F(name="recent_popularity", group="popularity", value=3.2,
        ...                   contribution=0.4),
        ...                 F(name="genre_request", group="genre_tag", value=0.0,
        ...                   contribution=0.3),
        ...                 F(name="mystery_feature", group="new", value=1.0, contribution=0.2)])
        ['popular lately']
    """
    out: list[str] = []
    for f in sorted(features, key=lambda f: -f.contribution):
        if not f.contribution > 0 or f.value is None or f.value != f.value:
            continue
        if f.name in SIGNAL_PHRASES:
            phrase, minimum = SIGNAL_PHRASES[f.name]
            if minimum is not None and f.value < minimum:
                continue
        elif f.group in GROUP_PHRASES and f.name not in _KNOWN_UNWORDED:
            phrase = GROUP_PHRASES[f.group]
        else:
            continue
        if phrase not in out:
            out.append(phrase)
        if len(out) >= limit:
            break
    return out


# Known features that say nothing about the item itself.
_KNOWN_UNWORDED = frozenset({"history_length", "dislike_max_cosine"})


def asks_anything(request: Request | None) -> bool:
    """Whether ``request`` states anything a pick can answer (a list from history alone,
    a bare "more", does not).

    Example:
        >>> from retrieval.request import Request
        >>> asks_anything(None), asks_anything(Request()), asks_anything(Request(moods=["dark"]))
        (False, False, True)
    """
    if request is None:
        return False
    # Not ``query`` (whatever was typed, "more" included) nor ``exclude_ids`` ("never twice").
    hard = {k for k in request.hard_constraints() if k != "exclude_ids"}
    return bool(request.genres or request.tags or request.moods or request.titles or hard)


def _history(item: Item, ranked: RankedItem | None, catalog: Catalog,
             min_cosine: float = CITE_MIN_COSINE
             ) -> tuple[list[HistoryReason], list[HistoryReason]]:
    """The ranker's closest history items, split into those an explanation may cite and the
    rest (each with why not)."""
    cited: list[HistoryReason] = []
    uncited: list[HistoryReason] = []
    seen: set[str] = set()
    for link in ranked.evidence.history if ranked is not None else ():
        hist_item = catalog.get(link.item_id)
        if hist_item is None or link.item_id == item.id or link.item_id in seen:
            continue
        seen.add(link.item_id)
        # A content link's similarity is the cosine itself; a collaborative one's is not.
        cosine = link.cosine if link.cosine is not None else (
            link.similarity if link.kind == "content" else None)
        shared, why_not = cite_verdict(item, hist_item, cosine, min_cosine=min_cosine)
        reason = HistoryReason(item_id=link.item_id, title=hist_item.title, kind=link.kind,
                               similarity=float(link.similarity),
                               cosine=None if cosine is None else float(cosine),
                               shared=shared, note=why_not)
        (uncited if why_not else cited).append(reason)
    return cited, uncited


def grounds_for(item: Item, request: Request | None, ranked: RankedItem | None,
                catalog: Catalog, *, source: str | None = None,
                min_cosine: float = CITE_MIN_COSINE) -> Grounds:
    """Everything an explanation of ``item`` may cite, and nothing else.

    Args:
        item: The pick.
        request: The request it answers (``None``: a history-only list).
        ranked: The ranker's result for the pick, with its evidence (``None``: no evidence,
            e.g. a list from popularity alone).
        catalog: Resolves the history items' titles; ids it lacks are skipped.
        source: A candidate source to record when ``ranked`` carries none (e.g. "popular"
            for a cold-start list).

    Returns:
        The pick's :class:`~assistant.reply.Grounds`, its ``evidence_text`` included.
    """
    from assistant.explain.evidence import evidence_sentences

    asked = asks_anything(request)
    genres = list(request.genres) if request is not None else []
    tags = list(request.tags) if request is not None else []
    tags += [m.value for m in request.moods] if request is not None else []
    cited, uncited = _history(item, ranked, catalog, min_cosine)
    signals: list[str] = []
    sources: list[str] = []
    if ranked is not None:
        signals = [p for p in signal_phrases(ranked.evidence.features)
                   if asked or p not in ASKED_PHRASES]
        sources = [s for s in ranked.evidence.sources if s]
    if not sources and source:
        sources = [source]
    grounds = Grounds(
        title=item.title,
        year=item.year,
        duration_min=item.duration_min,
        media_type=item.media_type.value,
        matched_genres=[g for g in item.genres if g in genres],
        matched_tags=[t for t in dict.fromkeys(item.tags) if t in tags],
        history=cited,
        uncited_history=uncited,
        creators=[c for c in item.creators if c],
        constraints=constraint_phrases(item, request),
        signals=signals,
        sources=list(dict.fromkeys(sources)),
        asked=asked,
    )
    return grounds.model_copy(update={"evidence_text": evidence_sentences(grounds)})
