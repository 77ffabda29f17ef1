"""The last step: everything found in a message, as a :class:`~retrieval.request.Request`.

Senses become slots (a negated sense its exclusion); only labels the catalog has are kept; a
mood adds its tags and rules out its opposites, unless they are asked for; an explicit "no X"
always wins. The query is the message without its negated parts (and without the words that
start over); :mod:`~assistant.parsers.rules.topic` says what the message does to the topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.parsers.rules.intents import intent_of, own_history
from assistant.parsers.rules.state import Hit, State, round_minutes
from assistant.parsers.rules.topic import is_reset, strip_reset, topic_of
from assistant.parsers.vocabulary import MOOD_GENRES, Vocabulary
from retrieval.catalog import Catalog
from retrieval.models import MediaType
from retrieval.request import (
    Intent,
    Mood,
    ParseContext,
    RelativeDuration,
    RelativeYear,
    Request,
    TitleRef,
)

__all__ = ["assemble"]


@dataclass
class _Slots:
    """The senses of the words found, sorted into slots."""

    media: list[str] = field(default_factory=list)
    weak_media: list[str] = field(default_factory=list)
    excl_media: list[str] = field(default_factory=list)
    genres: list[str] = field(default_factory=list)
    all_genres: bool = False  # "a romantic comedy", "sci-fi horror": every genre at once
    excl_genres: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    excl_tags_explicit: list[str] = field(default_factory=list)
    excl_tags_mood: list[str] = field(default_factory=list)
    excl_genres_mood: list[str] = field(default_factory=list)  # "nothing scary": no horror
    excl_tags: list[str] = field(default_factory=list)
    moods: list[Mood] = field(default_factory=list)
    language: str | None = None
    rel_duration: RelativeDuration | None = None
    rel_year: RelativeYear | None = None

    def any(self) -> bool:
        return bool(self.media or self.genres or self.tags or self.moods or self.excl_genres
                    or self.excl_tags or self.excl_media or self.language or self.rel_duration
                    or self.rel_year)


def assemble(st: State, hits: list[Hit], context: ParseContext | None, vocab: Vocabulary,
             catalog: Catalog, foreign: bool = False) -> Request:
    """The request ``st`` and ``hits`` say, checked against ``vocab`` and ``catalog``."""
    slots = _slots(hits, vocab)
    if "history" in slots.genres and own_history(st):
        # "show me my history": the person's own history, not the genre (unless more is
        # asked for: "my history films" stays a request for history films)
        slots.genres.remove("history")
        if slots.any():
            slots.genres.append("history")
    intent = intent_of(st, foreign, slots.any())
    if intent is Intent.playlist:
        # A playlist of "music" (or of nothing said) is one of songs; "a playlist of
        # albums" keeps the albums. "Make it an hour" after a playlist of podcasts keeps
        # the podcasts: the kinds of item carry over from the playlist before.
        prev = context.previous if context is not None else None
        if not slots.media and prev is not None and prev.intent is Intent.playlist:
            slots.media = [m.value for m in prev.media_types]
        if not slots.media:
            slots.media = ["music_track"]
        elif {"music_track", "album"} <= set(slots.media):
            slots.media = [m for m in slots.media if m != "album"]
    exclude_ids: list[str] = []
    if context is not None:
        exclude_ids = [i for p in st.excl_positions if (i := context.id_at(p)) is not None]
    min_minutes = round_minutes(st.min_minutes)
    max_minutes = round_minutes(st.max_minutes)
    if min_minutes is not None and max_minutes is not None and min_minutes > max_minutes:
        min_minutes = None
    if slots.excl_genres_mood and not st.titles:
        # "a comedy, nothing scary" rules horror out; "a horror film that isn't too scary"
        # and "like Alien but less scary" keep what they name.
        slots.excl_genres.extend(g for g in vocab.keep_genres(slots.excl_genres_mood)
                                 if g not in slots.excl_genres and g not in slots.genres)
    if slots.media == ["episode"] and (slots.rel_duration is not None
                                       or "episode" not in vocab.media):
        # "shorter episodes", "episodes under 30 minutes" over a catalog of series and
        # podcasts: the episode is the unit of the list, not a kind of item to switch to.
        slots.media = []
    query = _query(st)
    reset = is_reset(query)
    request = Request(
        intent=intent,
        query=strip_reset(query) if reset else query,
        media_types=[MediaType(m) for m in slots.media][:7],
        exclude_media_types=[MediaType(m) for m in dict.fromkeys(slots.excl_media)][:7],
        genres=slots.genres[:10],
        all_genres=slots.all_genres and len(slots.genres) > 1,
        exclude_genres=vocab.keep_genres(slots.excl_genres)[:10],
        tags=slots.tags[:20],
        exclude_tags=slots.excl_tags[:20],
        moods=list(dict.fromkeys(slots.moods))[:5],
        year_min=st.year_min,
        year_max=st.year_max,
        relative_year=slots.rel_year,
        min_minutes=min_minutes,
        max_minutes=max_minutes,
        relative_duration=slots.rel_duration,
        language=slots.language,
        titles=_prefer_media(st.titles, slots.media, catalog)[:10],
        reference_positions=list(dict.fromkeys(st.ref_positions))[:10],
        exclude_positions=list(dict.fromkeys(st.excl_positions))[:10],
        exclude_ids=list(dict.fromkeys(exclude_ids))[:50],
        count=None if st.count is None else max(1, min(50, st.count)),
        playlist_minutes=(None if st.playlist_minutes is None
                          else min(1440, round_minutes(st.playlist_minutes) or 1)),
        issues=list(dict.fromkeys(st.issues))[:5],
    )
    return request.model_copy(update={"topic": topic_of(request, reset)})


def _slots(hits: list[Hit], vocab: Vocabulary) -> _Slots:
    """Sort the senses of ``hits`` into slots, then keep what the catalog has."""
    s = _Slots()
    for h in hits:
        for sense in h.senses:
            _add_sense(s, sense, h.negated, vocab)
    s.all_genres = _compound_genres(hits)
    if not s.media:
        s.media = s.weak_media
    s.genres = [g for g in vocab.keep_genres(s.genres) if g not in s.excl_genres]
    # an explicit "no X" always wins; a mood's opposite gives way to anything asked for
    excl_tags = list(dict.fromkeys(s.excl_tags_explicit
                                   + [t for t in s.excl_tags_mood if t not in s.tags]))
    s.tags = [t for t in vocab.keep_tags(s.tags) if t not in s.excl_tags_explicit]
    s.excl_tags = vocab.keep_tags(excl_tags)
    s.media = [m for m in dict.fromkeys(s.media) if m not in s.excl_media]
    if "episode" in s.media and {"series", "podcast"} & set(s.media):
        s.media.remove("episode")  # "a series with short episodes": the episode is the unit
    return s


def _compound_genres(hits: list[Hit]) -> bool:
    """Whether the wanted genres form one compound: a phrase that names several at once
    ("rom-com") or genre words side by side with nothing between them ("sci-fi horror",
    "indie rock", "crime drama"). Genres joined by "or", "and" or a comma ("comedy or
    drama") are alternatives."""
    genre_hits = [h for h in hits if not h.negated
                  and any(x.startswith("genre:") for x in h.senses)]
    if any("mode:allgenres" in h.senses for h in genre_hits):
        return True
    if len(genre_hits) < 2 or any(len([x for x in h.senses if x.startswith("genre:")]) > 1
                                  for h in genre_hits):
        return False  # a word with several senses ("kids", "sport") asks for any of them
    return all(b.start == a.end for a, b in zip(genre_hits, genre_hits[1:], strict=False))


def _add_sense(s: _Slots, sense: str, negated: bool, vocab: Vocabulary) -> None:
    kind, _, value = sense.partition(":")
    if kind == "media":
        (s.excl_media if negated else s.media).append(value)
    elif kind == "weakmedia" and not negated:
        s.weak_media.append(value)
    elif kind == "genre":
        (s.excl_genres if negated else s.genres).append(value)
    elif kind == "tag":
        (s.excl_tags_explicit if negated else s.tags).append(value)
    elif kind == "mood":
        include, exclude = vocab.mood_tags(value)
        if negated:
            s.excl_tags_explicit.extend(include)
            s.excl_genres_mood.extend(MOOD_GENRES.get(Mood(value), ()))
        else:
            s.moods.append(Mood(value))
            s.tags.extend(include)
            s.excl_tags_mood.extend(exclude)
    elif kind == "notmood" and not negated:  # "for my kids": nothing scary
        s.excl_tags_mood.extend(vocab.mood_tags(value)[0])
        s.excl_genres_mood.extend(MOOD_GENRES.get(Mood(value), ()))
    elif kind == "lang" and not negated and s.language is None:
        s.language = value
    elif kind == "reldur" and not negated:
        s.rel_duration = RelativeDuration(value)
    elif kind == "relyear" and not negated:
        s.rel_year = RelativeYear(value)


def _prefer_media(titles: list[TitleRef], media: list[str], catalog: Catalog) -> list[TitleRef]:
    """Of titles that matched several items ("Dune": film and audiobook), keep those of the
    media types asked for, when any is ("films like Dune")."""
    if not media or len(titles) < 2:
        return titles
    wanted = set(media)
    groups: dict[str, list[TitleRef]] = {}
    for t in titles:
        groups.setdefault(t.text, []).append(t)
    out = []
    for group in groups.values():
        kinds = [catalog.get(t.item_id) if t.item_id else None for t in group]
        keep = [t for t, item in zip(group, kinds, strict=True)
                if item is not None and str(item.media_type) in wanted]
        out.extend(keep if keep and len(group) > 1 else group)
    return out


def _query(st: State) -> str:
    """The message without its negated parts (they must not pull the embedding their way)."""
    text = st.text
    for start, end in sorted(st.negated_spans, reverse=True):
        text = text[:start] + " " * (end - start) + text[end:]
    return " ".join(text.split())[:500]
