"""Multi-turn sessions: what one conversation remembers, and how a new request is merged into it.

A :class:`Session` holds the merged request of the last turn, the list shown last, everything
shown so far, the items rejected, and the item in focus. :func:`merge` combines it with the
:class:`~retrieval.request.Request` parsed from a new message; :func:`record` stores what the
turn showed; :func:`relax` drops what was inherited when nothing matches.

The merge rules, in the order they are applied:

1. **Reset.** A message that starts over ("start over", "something completely different",
   see :func:`is_reset`) ignores the previous turn: nothing is inherited, the last list is
   forgotten. What was shown and rejected stays excluded: the person has seen it.
2. **Topic** = ``query``, ``genres``, ``tags``, ``moods`` (with the tags a mood rules out:
   "lighter" -> not dark), and titles meant as "like". When the new request sets any of them
   (or "more like the first one" points at an item), it replaces the previous topic *as a
   whole*; otherwise the previous topic is kept. (A tag ruled out both by a mood and by name
   goes with the mood.) The query counts only when it has a word of
   content: "shorter", "only podcasts now" and "films from the 90s" are constraints, not a
   new topic (see :func:`topical_words`).
3. **Constraints** (``media_types``, ``exclude_media_types``, year range, duration range,
   ``language``, ``count``) are overridden slot by slot; unset ones are inherited (and listed
   in ``Merged.carried``, so :func:`relax` can drop them). A range is one slot: a new bound
   replaces both bounds of the old range, so ``year_min`` from one turn is never paired with
   ``year_max`` from another. **Durations are dropped when the media types change**: minutes
   mean a film's length, one podcast episode or a whole audiobook, so "under 2 hours" said of
   films says nothing about podcasts ("something like Arrival, under 2 hours" -> "a podcast
   about space" keeps no duration bound). ``playlist_minutes`` lasts while the intent is
   ``playlist``.
4. **Exclusions** (``exclude_genres``, ``exclude_tags``, ``exclude_ids``, titles meant as
   "not") accumulate. The latest word wins: asking for a genre or tag that an earlier turn
   ruled out lifts that exclusion, and ruling one out removes it from the topic.
5. **Relative slots** refer to the last list, to its items of the media types in force (all
   of them when none is): "shorter" sets ``max_minutes`` to 75% of the median duration (a
   quarter shorter than a typical item of the list; the median is not pulled down by one odd
   short item the way the minimum would be) and drops the inherited ``min_minutes``;
   "longer" sets ``min_minutes`` to 125% of the median and drops the inherited
   ``max_minutes``. "newer" sets ``year_min`` to the year after the median year and drops
   the inherited ``year_max``; "older" sets ``year_max`` to the year before it and drops the
   inherited ``year_min``. A bound said in the same message wins over the relative word.
   With no last list (or no durations/years in it) the word is ignored, with a note.
6. **References.** Positions resolve against the last list (1-based, -1 the last; a position
   beyond it gives a note). ``reference_positions`` become ``reference_ids``; with intent
   ``similar`` they are the new topic's like-titles. ``exclude_positions`` ("not the second
   one", "not that one") become rejected ids, excluded from then on; the rest of the request
   is kept as before, so the turn re-runs the previous request without them.
7. **Intent.** ``chitchat``, ``feedback`` and ``details`` never change the topic. A
   refinement (intent ``recommend`` with no new topic, or a rejection) keeps the previous
   intent when it was ``recommend``, ``similar``, ``search``, ``playlist`` or ``trending``;
   after ``details``, ``feedback`` or ``chitchat`` it is ``similar`` when the topic has
   like-titles, else ``recommend``.
8. **Never twice.** ``Merged.exclude_ids`` = everything shown this session, the rejected ids,
   the "not" titles and the request's own ``exclude_ids``. A details question ("tell me about
   the second one") exempts the items it is about. The items a ``similar`` request starts
   from stay excluded: they are its seeds, not its answers. The rules parser has no signal
   for "show me that list again", so there is no such exemption.

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.models import Item
    >>> cat = Catalog([Item(id="m1", title="Long", media_type="movie", duration_min=160),
    ...                Item(id="m2", title="Mid", media_type="movie", duration_min=120)])
    >>> s = Session(session_id="s1", user_id="u1")
    >>> m = merge(s, Request(genres=["drama"], exclude_genres=["horror"]), cat)
    >>> s = record(s, ["m1", "m2"], m)
    >>> m = merge(s, Request(relative_duration="shorter"), cat)
    >>> m.request.genres, m.request.exclude_genres, m.request.max_minutes, m.exclude_ids
    (['drama'], ['horror'], 105, ['m1', 'm2'])
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.parsers.vocabulary import LANGUAGE_WORDS, MEDIA_WORDS, MOODS
from retrieval.request import (
    Intent,
    Mood,
    ParseContext,
    RelativeDuration,
    RelativeYear,
    Request,
    TitleRef,
    TitleRole,
)
from retrieval.catalog import Catalog

__all__ = ["CONSTRAINT_SLOTS", "MAX_REJECTED", "MAX_SHOWN", "Merged", "Session", "TOPIC_SLOTS",
           "is_reset", "merge", "record", "relax", "topical_words"]

MAX_SHOWN = 500
"""Ids of shown items a session remembers (the oldest are forgotten first)."""
MAX_REJECTED = 500
"""Ids of rejected items a session remembers."""

TOPIC_SLOTS: tuple[str, ...] = ("query", "genres", "tags", "moods", "titles")
"""What the request is about; replaced as a whole (``titles``: the "like" titles)."""
CONSTRAINT_SLOTS: tuple[str, ...] = (
    "media_types", "exclude_media_types", "year_min", "year_max", "min_minutes", "max_minutes",
    "language", "count", "playlist_minutes")
"""Overridden slot by slot; what is inherited can be relaxed."""
_RELAXABLE = ("media_types", "exclude_media_types", "year_min", "year_max", "min_minutes",
              "max_minutes", "language")
_TOPIC_INTENTS = (Intent.recommend, Intent.similar, Intent.search, Intent.playlist,
                  Intent.trending)

# --- reset -----------------------------------------------------------------------------------

_RESET = re.compile(
    r"\b(?:(?:let'?s\s+)?start(?:ing)?\s+(?:all\s+)?(?:over|again|afresh|anew|fresh|from\s+scratch)"
    r"|from\s+scratch|reset|clean\s+slate|fresh\s+start|new\s+search|begin\s+again"
    r"|forget\s+(?:about\s+)?(?:everything|all\s+(?:of\s+)?(?:that|this|those)"
    r"|what\s+i\s+(?:said|asked(?:\s+for)?))"
    r"|something\s+(?:completely|totally|entirely|utterly|altogether)\s+(?:different|else)"
    r"|(?:change|switch)\s+(?:the\s+)?(?:topic|subject))\b",
    re.IGNORECASE)


def is_reset(message: str | None) -> bool:
    """True when ``message`` asks to start over (the rules parser has no signal for it).

    Example:
        >>> is_reset("ok, start over"), is_reset("something completely different")
        (True, True)
        >>> is_reset("not that one"), is_reset("something different from Arrival?")
        (False, False)
    """
    return bool(message) and _RESET.search(str(message)) is not None


# --- topical words ---------------------------------------------------------------------------

# Words that say nothing about what the person wants to watch or hear: function words, the
# words the parser reads as constraints or references, and request phrasing.
_FILLER = frozenset("""
a an the and or but nor so yet if then than that this these those it its it's there here
i i'm i'd i've me my we us our you your he she they them their his her who what what's which
how when where why is are was were be been being am do does did doing done have has had
can could would should will shall may might must let let's lets
of in on at to for from by with without about into onto over under after before since until
between around near within up down out off again also too very really quite rather just only
even still now instead anymore any some something anything nothing everything stuff things
thing one ones other others another else more most less least much many few lot lots bit
little kind sort type like similar same different not no nope yes yeah yep ok okay oh ooh
hmm well please thanks thank cheers hi hello hey maybe perhaps actually honestly basically
give show find get got want wanted need needs needed looking look see try trying go going
recommend recommendation recommendations suggest suggestion suggestions pick picks option
options result results title titles list play put watch watching listen listening hear
good great nice best better cool fine sounds sound looks seems
shorter short longer long quicker quick newer new older old recent recently lately
minute minutes min mins hour hours hr hrs half quarter year years decade decades era max
maximum minimum least tops total roughly approximately about around exactly at
early mid late tonight today day days week weekend onwards onward later earlier
first second third fourth fifth sixth seventh eighth ninth tenth last final top number no.
episode episodes season seasons released made came out
start over afresh anew fresh scratch reset clean slate completely totally entirely
utterly altogether change switch topic subject begin search
""".split())
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve fifteen twenty "
    "thirty forty forty-five fifty sixty ninety hundred couple dozen".split())
_CONSTRAINT_WORDS = frozenset(
    w for phrase in (*MEDIA_WORDS, *LANGUAGE_WORDS) for w in re.split(r"[\s]+", phrase))
_WORD = re.compile(r"[a-z0-9][a-z0-9'.-]*")
_AMOUNT = re.compile(r"^(?:\d+(?:st|nd|rd|th|s|'s|m|h|min|mins|hr|hrs)?|'?\d\ds|\d+-\w+)$")


def _plain(word: str) -> str:
    word = word.strip(".'-")
    for suffix in ("'s", "s"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and (stem in _CONSTRAINT_WORDS or stem in _FILLER):
            return stem
    return word


def topical_words(query: str) -> list[str]:
    """The words of ``query`` that say what it is about (not how long, which kind, when...).

    A request whose query has none of them does not start a new topic.

    Example:
        >>> topical_words("only podcasts now"), topical_words("films from the 90s under 2 hours")
        ([], [])
        >>> topical_words("a long podcast about the Roman empire")
        ['roman', 'empire']
    """
    out = []
    for raw in _WORD.findall(query.lower()):
        word = _plain(raw)
        if (not word or word in _FILLER or word in _NUMBER_WORDS or word in _CONSTRAINT_WORDS
                or _AMOUNT.match(word)):
            continue
        out.append(word)
    return out


# --- session ---------------------------------------------------------------------------------

_ItemIds = list[str]


class Session(BaseModel):
    """What one conversation remembers between turns; stored as a JSON dict (:meth:`to_state`).

    ``record`` updates it in place after each turn; ``merge`` only reads it.

    Example:
        >>> s = Session(session_id="s1", user_id="u1", last_ids=["a", "b"], focus_id="b")
        >>> s.context().focus_position, s.context().id_at(2)
        (2, 'b')
        >>> Session.from_state(s.to_state()) == s
        True
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    session_id: str = Field(min_length=1, max_length=200)
    """Id of the conversation."""
    user_id: str = Field(min_length=1, max_length=200)
    """Whose conversation it is."""
    turn: int = Field(default=0, ge=0)
    """Turns recorded so far."""
    last_request: Request | None = None
    """The merged request of the last turn (what retrieval used)."""
    last_ids: _ItemIds = Field(default_factory=list, max_length=100)
    """Ids of the last list shown, in display order (what "the second one" points into)."""
    shown_ids: _ItemIds = Field(default_factory=list, max_length=MAX_SHOWN)
    """Everything shown this session, oldest first, without repeats."""
    rejected_ids: _ItemIds = Field(default_factory=list, max_length=MAX_REJECTED)
    """Items the person turned down ("not that one"), never shown again."""
    focus_id: str | None = None
    """The item the conversation is about ("tell me about the second one" -> its id)."""

    def context(self) -> ParseContext:
        """What the parser may know: the last request and list, with "that one" -> the focus."""
        previous = self.last_request
        if self.focus_id is not None and self.focus_id in self.last_ids:
            position = self.last_ids.index(self.focus_id) + 1
            previous = (Request(reference_positions=[position]) if previous is None
                        else previous.model_copy(update={"reference_positions": [position]}))
        return ParseContext(previous=previous, last_ids=self.last_ids[:100])

    def reset(self) -> Session:
        """Forget the topic, the constraints, the last list and the focus (in place).

        What was shown and rejected is kept: the person has seen those items.
        """
        self.last_request = None
        self.last_ids = []
        self.focus_id = None
        return self

    def to_state(self) -> dict[str, Any]:
        """A JSON-serialisable dict for a :class:`~assistant.store.HistoryStore`."""
        return self.model_dump(mode="json", exclude_defaults=False)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Session:
        """Rebuild a session from :meth:`to_state`'s dict.

        Raises:
            ValueError: ``state`` is not a dict or a field is invalid (the message names it).
        """
        if not isinstance(state, dict):
            raise ValueError(f"session state must be a dict (from Session.to_state), got "
                             f"{type(state).__name__}. Fix: pass the stored dict unchanged")
        try:
            return cls.model_validate(state)
        except ValidationError as exc:
            problems = "; ".join(
                f"field {'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                for e in exc.errors()[:5])
            raise ValueError(f"session state is not valid: {problems}. Fix: store what "
                             "Session.to_state() returns, or drop the session and start a new "
                             "one") from None


class Merged(BaseModel):
    """One turn's request merged with its session.

    Example:
        >>> Merged(request=Request(genres=["drama"]), carried=["max_minutes"]).carried
        ['max_minutes']
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    request: Request
    """What retrieval uses."""
    carried: list[str] = Field(default_factory=list)
    """Slot names inherited from the previous turn (constraints among them can be relaxed)."""
    exclude_ids: list[str] = Field(default_factory=list)
    """Never show these: shown before, rejected, or ruled out."""
    reference_ids: list[str] = Field(default_factory=list)
    """Ids the message points at ("the second one", "more like that")."""
    rejected_ids: list[str] = Field(default_factory=list)
    """Ids rejected by this message ("not the second one"); :func:`record` remembers them."""
    notes: list[str] = Field(default_factory=list)
    """What the merge did that the person may want to know (for the reply's notice)."""
    reset: bool = False
    """The message started over."""


# --- merge -----------------------------------------------------------------------------------


def _mood_exclusions(moods: Iterable[Mood]) -> set[str]:
    return {t for m in moods for t in MOODS[Mood(m)][1]}


def _has_topic(req: Request, similar_refs: bool) -> bool:
    return bool(req.genres or req.tags or req.moods or req.like_ids
                or any(t.role is TitleRole.like for t in req.titles)
                or similar_refs or topical_words(req.query))


def _resolve(positions: Iterable[int], last_ids: list[str], what: str,
             notes: list[str]) -> list[str]:
    ctx = ParseContext(last_ids=last_ids[:100])
    out = []
    for p in positions:
        item_id = ctx.id_at(p)
        if item_id is None:
            name = "the last one" if p == -1 else f"number {p}"
            size = f"had {len(last_ids)} items" if last_ids else "has not been shown yet"
            notes.append(f"{what} {name} ignored: the last list {size}")
        else:
            out.append(item_id)
    return list(dict.fromkeys(out))


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _tail(values: list[Any], n: int) -> list[Any]:
    values = list(dict.fromkeys(values))
    return values[-n:] if len(values) > n else values


def merge(session: Session, new: Request, catalog: Catalog) -> Merged:
    """Merge ``new`` (parsed from this turn's message) into what ``session`` remembers.

    The rules are in the module docstring. Pure: ``session`` is not changed.

    Args:
        session: The conversation so far.
        new: The request parsed from this turn's message (with ``session.context()``).
        catalog: Where the durations and years of the last list come from.

    Returns:
        The merged request, what was inherited, what to exclude, what the message pointed at,
        and notes.
    """
    notes: list[str] = []
    reset = is_reset(new.query)
    prev = None if reset else session.last_request
    last_ids = [] if reset else list(session.last_ids)
    if reset:
        notes.append("started over: nothing from the earlier turns is kept, except that what "
                     "you have seen or turned down is not shown again")
    upd: dict[str, Any] = {}
    carried: list[str] = []

    # 6. references (first: a similar request's references are its topic)
    ref_ids = _resolve(new.reference_positions, last_ids, "reference to", notes)
    rejected = _resolve(new.exclude_positions, last_ids, "rejection of", notes)
    rejected = list(dict.fromkeys([*rejected, *new.exclude_ids]))
    similar_refs = new.intent is Intent.similar and bool(ref_ids)
    rejection_only = bool(new.exclude_positions or new.exclude_ids) and not (
        new.reference_positions or new.titles or _has_topic(new, False))

    # 2. topic
    keeps_topic = new.intent in (Intent.chitchat, Intent.feedback, Intent.details) or not (
        _has_topic(new, similar_refs))
    prev_not_titles = [t for t in prev.titles if t.role is TitleRole.not_] if prev else []
    new_not_titles = [t for t in new.titles if t.role is TitleRole.not_]
    about_titles = [t for t in new.titles if t.role is TitleRole.about]
    mood_excl: set[str] = set()
    if prev is not None and keeps_topic:
        like_titles = [t for t in prev.titles if t.role is TitleRole.like]
        upd.update(query=prev.query, genres=list(prev.genres), tags=list(prev.tags),
                   moods=list(prev.moods))
        carried.extend(s for s in TOPIC_SLOTS if getattr(prev, s))
    else:
        like_titles = [t for t in new.titles if t.role is TitleRole.like]
        for item_id in ref_ids if similar_refs else []:
            item = catalog.get(item_id)
            if item is not None and item_id not in {t.item_id for t in like_titles}:
                like_titles.append(TitleRef(text=item.title[:200], item_id=item_id, score=100))
        query = new.query
        if reset:
            query = " ".join(_RESET.sub(" ", query).split())
            if not topical_words(query):
                query = ""
        if similar_refs and not topical_words(query):
            query = "like " + " and ".join(t.text for t in like_titles)
        upd.update(query=query[:500], genres=list(new.genres), tags=list(new.tags),
                   moods=list(new.moods))
        if prev is not None and _has_topic(prev, False):
            notes.append("new topic: the previous one is replaced (what you ruled out still is)")
        # the tags a previous mood ruled out belong to that topic, and go with it
        if prev is not None:
            mood_excl = _mood_exclusions(prev.moods) - set(new.exclude_tags)

    # 4. exclusions accumulate; the latest word wins
    prev_excl_genres = list(prev.exclude_genres) if prev else []
    prev_excl_tags = [t for t in (prev.exclude_tags if prev else []) if t not in mood_excl]
    exclude_genres = [g for g in prev_excl_genres if g not in new.genres] + list(new.exclude_genres)
    exclude_tags = [t for t in prev_excl_tags if t not in new.tags] + list(new.exclude_tags)
    lifted = [x for x in (*prev_excl_genres, *prev_excl_tags) if x in (*new.genres, *new.tags)]
    if lifted:
        notes.append("no longer ruled out: " + ", ".join(dict.fromkeys(lifted)))
    carried.extend(slot for slot, old, now in (
        ("exclude_genres", prev_excl_genres, exclude_genres),
        ("exclude_tags", prev_excl_tags, exclude_tags),
        ("exclude_ids", prev.exclude_ids if prev else [], prev.exclude_ids if prev else []),
    ) if set(old) & set(now))
    upd["genres"] = [g for g in upd["genres"] if g not in new.exclude_genres]
    upd["tags"] = [t for t in upd["tags"] if t not in new.exclude_tags]
    upd["exclude_genres"] = _tail(exclude_genres, 10)
    upd["exclude_tags"] = _tail(exclude_tags, 20)
    not_ids = [t.item_id for t in (*prev_not_titles, *new_not_titles) if t.item_id]
    request_excl = _tail([*(prev.exclude_ids if prev else []), *rejected], 50)
    upd["exclude_ids"] = request_excl
    titles = [*like_titles, *_tail([*prev_not_titles, *new_not_titles], 10), *about_titles]
    upd["titles"] = titles[:10]

    # 3. constraints, slot by slot; ranges as one slot
    def inherit(slot: str) -> None:
        value = getattr(prev, slot) if prev is not None else None
        if value not in (None, []):
            upd[slot] = value
            carried.append(slot)

    for slot in ("media_types", "exclude_media_types", "language", "count"):
        if getattr(new, slot) not in (None, []):
            upd[slot] = getattr(new, slot)
        else:
            inherit(slot)
    for low, high in (("year_min", "year_max"), ("min_minutes", "max_minutes")):
        if getattr(new, low) is not None or getattr(new, high) is not None:
            upd[low], upd[high] = getattr(new, low), getattr(new, high)
        else:
            inherit(low)
            inherit(high)
    if new.media_types:  # asked for a kind of item: it is no longer excluded
        kept = [m for m in upd.get("exclude_media_types", []) if m not in new.media_types]
        upd["exclude_media_types"] = kept
    if new.exclude_media_types and upd.get("media_types"):
        upd["media_types"] = [m for m in upd["media_types"] if m not in new.exclude_media_types]
    media_changed = prev is not None and bool(new.media_types) and (
        set(new.media_types) != set(prev.media_types))
    if media_changed:
        dropped = [s for s in ("min_minutes", "max_minutes") if s in carried]
        for s in dropped:
            upd[s] = None
            carried.remove(s)
        if dropped:
            old = ", ".join(f"{s.split('_')[0]} {getattr(prev, s)} minutes" for s in dropped)
            notes.append(f"dropped the earlier length limit ({old}): minutes mean something "
                         "else for the new kind of item")
    intent = new.intent
    if intent is Intent.playlist:
        if new.playlist_minutes is not None:
            upd["playlist_minutes"] = new.playlist_minutes
        else:
            inherit("playlist_minutes")

    # 5. relative slots, against the last list
    _relative(new, upd, carried, last_ids, catalog, notes)

    # 7. intent
    if prev is not None and (rejection_only or (intent is Intent.recommend and keeps_topic)):
        if prev.intent in _TOPIC_INTENTS:
            intent = prev.intent
        else:
            intent = Intent.similar if any(
                t.role is TitleRole.like for t in like_titles) else Intent.recommend
    if intent is not Intent.playlist:
        upd["playlist_minutes"] = None
    upd["intent"] = intent

    request = new.model_copy(update=upd)
    request = Request.model_validate(request.model_dump())  # re-check ranges and limits

    # 8. never twice
    exempt = set(new.about_ids) | (set(ref_ids) if intent is Intent.details else set())
    shown = [i for i in session.shown_ids if i not in exempt]
    rejected_all = [*session.rejected_ids, *rejected]
    exclude_ids = list(dict.fromkeys([*shown, *rejected_all, *not_ids, *request.exclude_ids]))
    if rejected:
        names = [catalog[i].title if i in catalog else i for i in rejected]
        notes.append("won't show again: " + ", ".join(names))
    return Merged(request=request, carried=list(dict.fromkeys(carried)),
                  exclude_ids=exclude_ids, reference_ids=ref_ids, rejected_ids=rejected,
                  notes=notes, reset=reset)


def _relative(new: Request, upd: dict[str, Any], carried: list[str], last_ids: list[str],
              catalog: Catalog, notes: list[str]) -> None:
    """Turn "shorter", "longer", "newer" and "older" into bounds (rule 5)."""
    if new.relative_duration is None and new.relative_year is None:
        return
    media = set(upd.get("media_types") or [])
    items = [catalog.get(i) for i in last_ids]
    items = [it for it in items if it is not None and (not media or it.media_type in media)]
    kinds = " or ".join(sorted(str(m) for m in media)) or "item"

    def drop(slot: str) -> None:
        if slot in carried:
            upd[slot] = None
            carried.remove(slot)

    if new.relative_duration is not None:
        word = new.relative_duration.value
        mid = _median([it.duration_min for it in items if it.duration_min is not None])
        if new.min_minutes is not None or new.max_minutes is not None:
            notes.append(f"'{word}' ignored: the length you gave wins")
        elif mid is None:
            notes.append(f"'{word}' ignored: the last list has no {kinds} with a length")
        elif new.relative_duration is RelativeDuration.shorter:
            bound = max(1, math.floor(0.75 * mid))
            if upd.get("max_minutes") is not None:
                bound = min(bound, upd["max_minutes"])
            drop("min_minutes")
            drop("max_minutes")
            upd["max_minutes"] = bound
            notes.append(f"shorter: at most {bound} minutes (the last list's median is "
                         f"{mid:g})")
        else:
            bound = min(100_000, math.ceil(1.25 * mid))
            if upd.get("min_minutes") is not None:
                bound = max(bound, upd["min_minutes"])
            drop("min_minutes")
            drop("max_minutes")
            upd["min_minutes"] = bound
            notes.append(f"longer: at least {bound} minutes (the last list's median is "
                         f"{mid:g})")
    if new.relative_year is not None:
        word = new.relative_year.value
        mid = _median([float(it.year) for it in items if it.year is not None])
        if new.year_min is not None or new.year_max is not None:
            notes.append(f"'{word}' ignored: the years you gave win")
        elif mid is None:
            notes.append(f"'{word}' ignored: the last list has no {kinds} with a year")
        elif new.relative_year is RelativeYear.newer:
            bound = min(2100, math.floor(mid) + 1)
            if upd.get("year_min") is not None:
                bound = max(bound, upd["year_min"])
            drop("year_min")
            drop("year_max")
            upd["year_min"] = bound
            notes.append(f"newer: from {bound} on (the last list's median year is {mid:g})")
        else:
            bound = max(1800, math.ceil(mid) - 1)
            if upd.get("year_max") is not None:
                bound = min(bound, upd["year_max"])
            drop("year_min")
            drop("year_max")
            upd["year_max"] = bound
            notes.append(f"older: up to {bound} (the last list's median year is {mid:g})")


# --- record and relax ------------------------------------------------------------------------


def record(session: Session, shown_ids: Iterable[str], merged: Merged) -> Session:
    """Remember what this turn showed (updates ``session`` in place and returns it).

    The shown list becomes the last list, except for a details answer (one item about which
    the person asked: "the third one" should still mean the third of the list they saw).
    A turn that showed nothing keeps the last list. The item the turn pointed at becomes the
    focus ("not that one" next turn means it) while it is in the last list.

    Args:
        session: The session the turn was merged with.
        shown_ids: Ids shown this turn, in display order.
        merged: What :func:`merge` returned for this turn.
    """
    shown = list(dict.fromkeys(str(i) for i in shown_ids))
    session.turn += 1
    session.last_request = merged.request
    if merged.reset:
        session.last_ids = []
        session.focus_id = None
    if shown and merged.request.intent is not Intent.details:
        session.last_ids = shown[:100]
        session.focus_id = None
        # positions said this turn pointed into the list just replaced
        session.last_request = merged.request.model_copy(update={"reference_positions": []})
    if merged.reference_ids:
        session.focus_id = merged.reference_ids[0]
    elif merged.request.intent is Intent.details and shown:
        session.focus_id = shown[0]
    session.shown_ids = _tail([*session.shown_ids, *shown], MAX_SHOWN)
    session.rejected_ids = _tail([*session.rejected_ids, *merged.rejected_ids], MAX_REJECTED)
    return session


def relax(merged: Merged, slots: Iterable[str] | None = None) -> tuple[Request, list[str]]:
    """The request without the constraints inherited from earlier turns.

    For when nothing matches: what the person said this turn stays, and so do the topic and
    what they ruled out; the media types, years, durations and language carried over from
    before are dropped.

    Args:
        merged: What :func:`merge` returned.
        slots: Only these carried slots (default: every carried constraint).

    Returns:
        The relaxed request and the names of the slots dropped (empty: nothing to drop).

    Example:
        >>> m = Merged(request=Request(genres=["drama"], max_minutes=90), carried=["max_minutes"])
        >>> r, dropped = relax(m)
        >>> r.genres, r.max_minutes, dropped
        (['drama'], None, ['max_minutes'])
    """
    wanted = set(_RELAXABLE if slots is None else slots)
    unknown = wanted - set(_RELAXABLE)
    if unknown:
        raise ValueError(f"cannot relax {sorted(unknown)}; relaxable slots: "
                         f"{', '.join(_RELAXABLE)}")
    dropped = [s for s in merged.carried if s in wanted]
    empty = {s: [] if isinstance(getattr(merged.request, s), list) else None for s in dropped}
    return merged.request.model_copy(update=empty), dropped
