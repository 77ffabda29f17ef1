"""The steps of :func:`assistant.session.merge` that build the merged request, rule by rule.

:mod:`assistant.session` documents the rules and runs these steps in order; each step reads
the new request and the previous one from a :class:`MergeState` and writes the merged slots
into its ``upd``. Nothing here reads a message's text: what the words did is in the parsed
request (``topic``, ``moods``, the relative slots).

Example:
    >>> from retrieval.catalog import Catalog
    >>> prev = Request(query="jazz albums", genres=["jazz"], media_types=["album"], topic="new")
    >>> new = Request(query="something more upbeat", moods=["upbeat"],
    ...               tags=["upbeat", "danceable"], exclude_tags=["melancholic"], topic="refine")
    >>> is_mood_shift(new)
    True
    >>> st = MergeState(new=new, prev=prev, last_ids=[], catalog=Catalog([]))
    >>> _ = topic(st, keeps_topic=True, similar_ids=[], mood_shift=True)
    >>> st.upd["genres"], st.upd["moods"], st.upd["tags"], st.upd["query"]
    (['jazz'], [<Mood.upbeat: 'upbeat'>], ['upbeat', 'danceable'], 'jazz albums, upbeat')
    >>> _retype_query("90s crime films, no horror", ["series"])
    '90s crime series, no horror'
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from assistant.parsers.vocabulary import MEDIA_WORDS, MOOD_WORDS, MOODS
from retrieval.catalog import Catalog
from retrieval.request import (
    Intent,
    Mood,
    RelativeDuration,
    RelativeYear,
    Request,
    TitleRef,
    TitleRole,
    Topic,
)

__all__ = ["TOPIC_INTENTS", "TOPIC_SLOTS", "MergeState", "constraints", "exclusions", "intent",
           "length_bound",
           "is_mood_shift", "like_titles", "names_topic", "relative", "tail", "topic",
           "type_words"]

TOPIC_SLOTS: tuple[str, ...] = ("query", "genres", "tags", "moods", "titles")
"""What the request is about; replaced as a whole (``titles``: the "like" titles)."""
TOPIC_INTENTS = (Intent.recommend, Intent.similar, Intent.search, Intent.playlist,
                 Intent.trending)
"""Intents that act on a topic: a refinement keeps them."""
_TYPE_WORDS = {"movie": "films", "series": "series", "episode": "episodes",
               "music_track": "tracks", "album": "albums", "podcast": "podcasts",
               "audiobook": "audiobooks"}
# Words that only name a kind of item ("films", not "k-drama" nor "watch")
_MEDIA_WORD = re.compile(r"\b(?:" + "|".join(sorted(
    (re.escape(w) for w, senses in MEDIA_WORDS.items()
     if " " not in w and len(senses) == 1 and senses[0].startswith("media:")
     and w not in ("binge", "binge-watch", "record", "cinema")),
    key=len, reverse=True)) + r")s?\b", re.IGNORECASE)


@dataclass
class MergeState:
    """What one merge works on: the new request, what it inherits from, and what it builds."""

    new: Request
    prev: Request | None
    last_ids: list[str]
    catalog: Catalog
    upd: dict[str, Any] = field(default_factory=dict)
    """The merged request's slots, as far as they differ from ``new``'s."""
    carried: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def inherit(self, slot: str) -> None:
        """Take ``slot`` from the previous request, when it was set there."""
        value = getattr(self.prev, slot) if self.prev is not None else None
        if value not in (None, []):
            self.upd[slot] = value
            self.carried.append(slot)

    def drop(self, slot: str) -> None:
        """Forget an inherited ``slot`` (a slot set this turn stays)."""
        if slot in self.carried:
            self.upd[slot] = [] if isinstance(self.upd.get(slot), list) else None
            self.carried.remove(slot)


def type_words(media: Iterable[object]) -> str:
    """Media types as a person says them ("films or podcasts"); "items" when none."""
    return " or ".join(sorted(_TYPE_WORDS.get(str(m), str(m)) for m in media)) or "items"


def tail(values: list[Any], n: int) -> list[Any]:
    """The last ``n`` of ``values`` without repeats, in order."""
    values = list(dict.fromkeys(values))
    return values[-n:] if len(values) > n else values


def like_titles(req: Request) -> list[TitleRef]:
    return [t for t in req.titles if t.role is TitleRole.like]


def _mood_tags(moods: Iterable[Mood]) -> set[str]:
    return {t for m in moods for t in MOODS[Mood(m)][0]}


def _mood_exclusions(moods: Iterable[Mood]) -> set[str]:
    return {t for m in moods for t in MOODS[Mood(m)][1]}


def is_mood_shift(req: Request) -> bool:
    """Whether ``req`` only shifts the mood of the topic in force ("darker", "more upbeat"):
    the parser read moods but no new topic (``topic="refine"``), and no genres, like-titles
    or tags other than its moods' own."""
    return (req.topic is Topic.refine and bool(req.moods) and not req.genres
            and not like_titles(req) and set(req.tags) <= _mood_tags(req.moods))


def names_topic(req: Request) -> bool:
    """Whether ``req`` says what it is about: genres or like-titles; moods and tags unless the
    parser read a mood shift; a subject in words of its own (``topic``)."""
    if req.genres or like_titles(req):
        return True
    if req.topic is Topic.refine:  # "darker", "more upbeat": the mood of the topic in force
        return False
    if req.tags or req.moods:
        return True
    if req.topic is Topic.reset:  # the parser left in the query only what names a subject
        return bool(req.query)
    return req.topic is Topic.new


def _retype_query(query: str, media: Iterable[object]) -> str:
    """The topic's query for another kind of item: "crime films" -> "crime series"."""
    found = list(_MEDIA_WORD.finditer(query))
    if not found:
        return query
    out, last = [], 0
    for n, m in enumerate(found):
        out.append(query[last:m.start()] + (type_words(media).replace(" or ", "/") if n == 0
                                            else ""))
        last = m.end()
    return " ".join(("".join(out) + query[last:]).split())[:500]


def _shift_query(query: str, old: Iterable[Mood], new: Iterable[Mood]) -> str:
    """The topic's query with the old moods' words out and the new moods' names in."""
    old_moods = set(old)
    kept = [w for w in query.split()
            if MOOD_WORDS.get(w.lower().strip(",.!?")) not in old_moods
            and w.lower().strip(",.!?") not in old_moods]
    base = " ".join(kept).rstrip(",;: ")
    return ", ".join(x for x in (base, ", ".join(str(m) for m in new)) if x)[:500]


def topic(st: MergeState, keeps_topic: bool, similar_ids: list[str],
          mood_shift: bool) -> tuple[list[TitleRef], set[str]]:
    """Rule 2: keep the previous topic, shift its mood, or replace it whole. Returns the
    like-titles in force and the tags a replaced mood ruled out (they go with it)."""
    new, prev, upd = st.new, st.prev, st.upd
    if prev is not None and keeps_topic:
        upd.update(query=prev.query, genres=list(prev.genres), all_genres=prev.all_genres,
                   tags=list(prev.tags), moods=list(prev.moods), topic=prev.topic)
        st.carried.extend(s for s in TOPIC_SLOTS if getattr(prev, s))
        if new.media_types and set(new.media_types) != set(prev.media_types):
            upd["query"] = _retype_query(prev.query, new.media_types)
        if not mood_shift:
            return like_titles(prev), set()
        old_tags = _mood_tags(prev.moods) - set(new.tags)
        upd.update(moods=list(new.moods),
                   tags=[*(t for t in prev.tags if t not in old_tags), *new.tags][:20],
                   query=_shift_query(prev.query, prev.moods, new.moods))
        if "moods" in st.carried:
            st.carried.remove("moods")
        words = ", ".join(str(m) for m in new.moods)
        st.notes.append(f"same request, in a different mood: {words}")
        return like_titles(prev), _mood_exclusions(prev.moods) - set(new.exclude_tags)
    titles = like_titles(new)
    for item_id in similar_ids:
        item = st.catalog.get(item_id)
        if item is not None and item_id not in {t.item_id for t in titles}:
            titles.append(TitleRef(text=item.title[:200], item_id=item_id, score=100))
    query, topic_ = new.query, new.topic
    if similar_ids and new.topic is not Topic.new:  # "more like the first one": no words of its own
        query, topic_ = "like " + " and ".join(t.text for t in titles), Topic.new
    upd.update(query=query[:500], genres=list(new.genres), all_genres=new.all_genres,
               tags=list(new.tags), moods=list(new.moods), topic=topic_)
    if prev is None:
        return titles, set()
    if names_topic(prev) and not similar_ids:  # "more like the first one" says so itself
        st.notes.append("new topic: the previous one is set aside (what you ruled out still is)")
    # the tags a previous mood ruled out belong to that topic, and go with it
    return titles, _mood_exclusions(prev.moods) - set(new.exclude_tags)


def exclusions(st: MergeState, mood_excl: set[str], rejected: list[str],
               titles: list[TitleRef]) -> list[str]:
    """Rule 4: exclusions accumulate; the latest word wins. Returns the "not" titles' ids."""
    new, prev, upd = st.new, st.prev, st.upd
    prev_not_titles = [t for t in prev.titles if t.role is TitleRole.not_] if prev else []
    new_not_titles = [t for t in new.titles if t.role is TitleRole.not_]
    about_titles = [t for t in new.titles if t.role is TitleRole.about]
    prev_excl_genres = list(prev.exclude_genres) if prev else []
    prev_excl_tags = [t for t in (prev.exclude_tags if prev else []) if t not in mood_excl]
    prev_excl_ids = list(prev.exclude_ids) if prev else []
    exclude_genres = [g for g in prev_excl_genres if g not in new.genres] + list(new.exclude_genres)
    exclude_tags = [t for t in prev_excl_tags if t not in new.tags] + list(new.exclude_tags)
    lifted = [x for x in (*prev_excl_genres, *prev_excl_tags) if x in (*new.genres, *new.tags)]
    if lifted:
        st.notes.append("no longer ruled out: " + ", ".join(dict.fromkeys(lifted)))
    st.carried.extend(slot for slot, old, now in (
        ("exclude_genres", prev_excl_genres, exclude_genres),
        ("exclude_tags", prev_excl_tags, exclude_tags),
        ("exclude_ids", prev_excl_ids, prev_excl_ids),
    ) if set(old) & set(now))
    upd["genres"] = [g for g in upd["genres"] if g not in new.exclude_genres]
    upd["tags"] = [t for t in upd["tags"] if t not in new.exclude_tags]
    # a mood whose own tag is now ruled out ("less dark" after "dark") is no longer wanted
    upd["moods"] = [m for m in upd["moods"] if MOODS[Mood(m)][0][0] not in exclude_tags]
    upd["exclude_genres"] = tail(exclude_genres, 10)
    upd["exclude_tags"] = tail(exclude_tags, 20)
    upd["exclude_ids"] = tail([*prev_excl_ids, *rejected], 50)
    upd["titles"] = [*titles, *tail([*prev_not_titles, *new_not_titles], 10), *about_titles][:10]
    return [t.item_id for t in (*prev_not_titles, *new_not_titles) if t.item_id]


def constraints(st: MergeState) -> None:
    """Rule 3: constraints slot by slot, a range as one slot; durations dropped when the
    media types change, and years too when a new topic comes with them."""
    new, upd = st.new, st.upd
    for slot in ("media_types", "exclude_media_types", "language", "count"):
        if getattr(new, slot) not in (None, []):
            upd[slot] = getattr(new, slot)
        else:
            st.inherit(slot)
    for low, high in (("year_min", "year_max"), ("min_minutes", "max_minutes")):
        if getattr(new, low) is not None or getattr(new, high) is not None:
            upd[low], upd[high] = getattr(new, low), getattr(new, high)
        else:
            st.inherit(low)
            st.inherit(high)
    if new.media_types:  # asked for a kind of item: it is no longer excluded
        kept = [m for m in upd.get("exclude_media_types", []) if m not in new.media_types]
        upd["exclude_media_types"] = kept
    if new.exclude_media_types and upd.get("media_types"):
        upd["media_types"] = [m for m in upd["media_types"] if m not in new.exclude_media_types]
    prev = st.prev
    if prev is not None and _kind_without_genre(st):
        # "crime dramas" after a playlist of tracks: no track here is a crime drama, so
        # the new topic is not about tracks (the catalog says where its genres live)
        st.drop("media_types")
        st.notes.append(f"I left out the earlier kind of item ({type_words(prev.media_types)}):"
                        f" there is no {_genre_words(new)} among them here")
    # the kind of item changed: named anew, or the carried kind dropped or ruled out
    if prev is not None and (
            (bool(new.media_types) and set(new.media_types) != set(prev.media_types))
            or (bool(prev.media_types) and not st.upd.get("media_types"))):
        dropped = [s for s in ("min_minutes", "max_minutes") if s in st.carried]
        for s in dropped:
            st.drop(s)
        if dropped:
            old = " and ".join(f"{'at least' if s == 'min_minutes' else 'at most'} "
                               f"{getattr(prev, s)} minutes" for s in dropped)
            st.notes.append(f"I dropped the earlier length limit ({old}): minutes mean "
                            "something else for the new kind of item")
        # A new topic for a new kind of item starts with no years of its own: "older" after
        # sitcoms meant older than those sitcoms, not business podcasts up to that year.
        years = [y for y in ("year_min", "year_max") if y in st.carried] if names_topic(new) \
            else []
        for y in years:
            st.drop(y)
        if years:
            # here, not at the top: assistant.turn imports the session, which imports this
            from assistant.turn.lead import era_words

            era = era_words(prev.year_min, prev.year_max)
            st.notes.append(f"I dropped the earlier years ({era}): they were for the last topic")


def _kind_without_genre(st: MergeState) -> bool:
    """Whether the new request names genres that no item of the media types it carries
    over has (and some item of another type has): all of them together when it wants
    every genre at once."""
    new = st.new
    if not new.genres or new.media_types or "media_types" not in st.carried:
        return False
    homes = [st.catalog.media_of_genre(g) for g in new.genres]
    where = frozenset.intersection(*homes) if new.all_genres else frozenset().union(*homes)
    carried = {str(getattr(m, "value", m)) for m in st.upd.get("media_types") or ()}
    return bool(where) and not (where & carried)


def _genre_words(req: Request) -> str:
    """The request's genres as a person says them: "crime drama", "jazz or blues"."""
    return (" " if req.all_genres else " or ").join(req.genres)


def intent(st: MergeState, refinement: bool, titles: list[TitleRef]) -> Intent:
    """Rule 7: a refinement keeps the previous intent when it had a topic to act on; a
    playlist keeps its length while the intent stays ``playlist``."""
    new, prev = st.new, st.prev
    result = new.intent
    if prev is not None and refinement:
        if prev.intent in TOPIC_INTENTS:
            result = prev.intent
        else:
            result = Intent.similar if titles else Intent.recommend
    if result is not Intent.playlist:
        st.upd["playlist_minutes"] = None
    elif new.playlist_minutes is not None:
        st.upd["playlist_minutes"] = new.playlist_minutes
    elif prev is not None and prev.intent is Intent.playlist:
        st.inherit("playlist_minutes")
    st.upd["intent"] = result
    return result


def relative(st: MergeState) -> None:
    """Rule 5: turn "shorter", "longer", "newer" and "older" into bounds (on a playlist,
    "shorter" and "longer" change its length)."""
    new = st.new
    if new.relative_duration is None and new.relative_year is None:
        return
    media = set(st.upd.get("media_types") or [])
    items = [st.catalog.get(i) for i in st.last_ids]
    listed = [it for it in items if it is not None and (not media or it.media_type in media)]
    kinds = type_words(media)
    if new.relative_duration is not None:
        if st.upd.get("intent") is Intent.playlist:
            _playlist_length(st, new.relative_duration)
        else:
            mid = _median([it.duration_min for it in listed if it.duration_min is not None])
            _relative_duration(st, new.relative_duration, mid, kinds)
    if new.relative_year is not None:
        mid = _median([float(it.year) for it in listed if it.year is not None])
        _relative_year(st, new.relative_year, mid, kinds)


# "shorter" / "longer" move the bound a tenth below / above the last list's median length:
# shorter than a typical item of the list, while enough items on the topic remain (a
# quarter left too few: "shorter" after sci-fi films found 9 in a catalog of 30).
SHORTER, LONGER = 0.9, 1.1


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def length_bound(mid: float, shorter: bool) -> int:
    """The whole-minute bound of "shorter" (``shorter``) or "longer" after a list whose
    median length is ``mid``: a tenth below or above it, rounded towards keeping more items
    while still past ``mid`` (else rounded the other way), so that rounding drops no item
    the rule allows: "longer" after tracks whose median is 5.8 minutes means at least 6
    minutes (6.4 rounded down), not 7.

    Example:
        >>> length_bound(22.0, shorter=True), length_bound(5.785, shorter=False)
        (20, 6)
        >>> length_bound(5.785, shorter=True)   # 6 would not be shorter
        5
    """
    value = (SHORTER if shorter else LONGER) * mid
    lenient = math.ceil(value - 1e-9) if shorter else math.floor(value + 1e-9)
    if (shorter and lenient < mid) or (not shorter and lenient > mid):
        return lenient
    return math.floor(value) if shorter else math.ceil(value)


def _playlist_length(st: MergeState, word: RelativeDuration) -> None:
    """ "make it shorter" on a playlist: a quarter shorter (or longer), to 5 minutes."""
    current = st.upd.get("playlist_minutes")
    if st.new.playlist_minutes is not None or current is None:
        return
    factor = 0.75 if word is RelativeDuration.shorter else 1.25
    target = max(5, min(1440, 5 * round(factor * current / 5)))
    st.upd["playlist_minutes"] = target
    st.notes.append(f"{word.value}: the playlist now aims at {target} minutes "
                    f"(it aimed at {current})")


def _relative_duration(st: MergeState, word: RelativeDuration, mid: float | None,
                       kinds: str) -> None:
    new, upd = st.new, st.upd
    if new.min_minutes is not None or new.max_minutes is not None:
        st.notes.append(f"'{word.value}' ignored: the length you gave wins")
    elif mid is None:
        st.notes.append(f"'{word.value}' ignored: the last list has no {kinds} with a length")
    elif word is RelativeDuration.shorter:
        bound = max(1, length_bound(mid, shorter=True))
        if upd.get("max_minutes") is not None:
            bound = min(bound, upd["max_minutes"])
        st.drop("min_minutes")
        st.drop("max_minutes")
        upd["max_minutes"] = bound
        st.notes.append(f"shorter: at most {bound} minutes (the last list's median is "
                        f"{mid:g})")
    else:
        bound = min(100_000, length_bound(mid, shorter=False))
        if upd.get("min_minutes") is not None:
            bound = max(bound, upd["min_minutes"])
        st.drop("min_minutes")
        st.drop("max_minutes")
        upd["min_minutes"] = bound
        st.notes.append(f"longer: at least {bound} minutes (the last list's median is "
                        f"{mid:g})")


def _relative_year(st: MergeState, word: RelativeYear, mid: float | None, kinds: str) -> None:
    new, upd = st.new, st.upd
    if new.year_min is not None or new.year_max is not None:
        st.notes.append(f"'{word.value}' ignored: the years you gave win")
    elif mid is None:
        st.notes.append(f"'{word.value}' ignored: the last list has no {kinds} with a year")
    elif word is RelativeYear.newer:
        bound = min(2100, math.floor(mid) + 1)
        if upd.get("year_min") is not None:
            bound = max(bound, upd["year_min"])
        st.drop("year_min")
        st.drop("year_max")
        upd["year_min"] = bound
        st.notes.append(f"newer: from {bound} on (the last list's median year is {mid:g})")
    else:
        bound = max(1800, math.ceil(mid) - 1)
        if upd.get("year_max") is not None:
            bound = min(bound, upd["year_max"])
        st.drop("year_min")
        st.drop("year_max")
        upd["year_max"] = bound
        st.notes.append(f"older: up to {bound} (the last list's median year is {mid:g})")
