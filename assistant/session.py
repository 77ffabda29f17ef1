"""Multi-turn sessions: what one conversation remembers, and how a new request is merged into it.

A :class:`Session` holds the merged request of the last turn, the list shown last, everything
shown so far, the items rejected, and the item in focus. :func:`merge` combines it with the
:class:`~retrieval.request.Request` parsed from a new message; :func:`record` stores what the
turn showed; :func:`relax` drops what was inherited when nothing matches.

The merge rules, in the order they are applied:

1. **Reset.** A request whose ``topic`` is ``reset`` (the parser read "start over",
   "something completely different") ignores the previous turn: nothing is inherited, the
   last list is forgotten. What was shown and rejected stays excluded: the person has seen it.
2. **Topic** = ``query``, ``genres``, ``tags``, ``moods`` (with the tags a mood rules out:
   "lighter" -> not dark), and titles meant as "like". When the new request names a topic
   (it sets genres, tags, moods or like-titles, or its parser says ``topic="new"``: a subject
   in words of its own, such as "stories about lighthouse keepers"), or "more like the first
   one" points at an item, it replaces the previous topic *as a whole*; otherwise the
   previous topic is kept. "shorter", "only podcasts now" and "films from the 90s" are
   constraints, not a new topic (``topic="refine"``). (A tag ruled out both by a mood and by
   name goes with the mood.) The merge never reads the message's text: ``topic`` is how the
   parser tells it what the words did. The merged request's ``topic`` goes with the topic
   slots (kept: the earlier turn's; "more like the first one": ``new``).
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
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.parsers.vocabulary import MOODS
from retrieval.catalog import Catalog
from retrieval.request import (
    Intent,
    Mood,
    ParseContext,
    RelativeDuration,
    RelativeYear,
    Request,
    TitleRef,
    TitleRole,
    Topic,
)

__all__ = ["CONSTRAINT_SLOTS", "MAX_REJECTED", "MAX_SHOWN", "Merged", "Session", "TOPIC_SLOTS",
           "merge", "record", "relax"]

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


@dataclass
class _Turn:
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
            self.upd[slot] = None
            self.carried.remove(slot)


def _mood_exclusions(moods: Iterable[Mood]) -> set[str]:
    return {t for m in moods for t in MOODS[Mood(m)][1]}


def _like_titles(req: Request) -> list[TitleRef]:
    return [t for t in req.titles if t.role is TitleRole.like]


def _names_topic(req: Request) -> bool:
    """Whether ``req`` says what it is about (rule 2): it sets genres, tags, moods or
    like-titles, or its parser read a subject in its words (``topic``)."""
    if req.genres or req.tags or req.moods or _like_titles(req):
        return True
    if req.topic is Topic.reset:  # the parser left in the query only what names a subject
        return bool(req.query)
    return req.topic is Topic.new


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

    The rules are in the module docstring. Pure: ``session`` is not changed. Only the
    request's fields are read, never the message's text: what the message does to the topic
    is the parser's ``topic``.

    Args:
        session: The conversation so far.
        new: The request parsed from this turn's message (with ``session.context()``).
        catalog: Where the durations and years of the last list come from.

    Returns:
        The merged request, what was inherited, what to exclude, what the message pointed at,
        and notes.
    """
    reset = new.topic is Topic.reset
    turn = _Turn(new=new, prev=None if reset else session.last_request,
                 last_ids=[] if reset else list(session.last_ids), catalog=catalog)
    if reset:
        turn.notes.append("started over: nothing from the earlier turns is kept, except that "
                          "what you have seen or turned down is not shown again")
    # 6. references (first: a similar request's references are its topic)
    ref_ids = _resolve(new.reference_positions, turn.last_ids, "reference to", turn.notes)
    rejected = _resolve(new.exclude_positions, turn.last_ids, "rejection of", turn.notes)
    rejected = list(dict.fromkeys([*rejected, *new.exclude_ids]))
    similar_refs = new.intent is Intent.similar and bool(ref_ids)
    keeps_topic = new.intent in (Intent.chitchat, Intent.feedback, Intent.details) or not (
        _names_topic(new) or similar_refs)
    like_titles, mood_excl = _topic(turn, keeps_topic, ref_ids if similar_refs else [])
    not_ids = _exclusions(turn, mood_excl, rejected, like_titles)
    _constraints(turn)
    _relative(turn)
    rejection_only = bool(new.exclude_positions or new.exclude_ids) and not (
        new.reference_positions or new.titles or _names_topic(new))
    refinement = rejection_only or (keeps_topic and new.intent is Intent.recommend)
    intent = _intent(turn, refinement, like_titles)
    request = new.model_copy(update=turn.upd)
    request = Request.model_validate(request.model_dump())  # re-check ranges and limits
    exclude_ids = _never_twice(session, request, intent, ref_ids, rejected, not_ids, turn)
    return Merged(request=request, carried=list(dict.fromkeys(turn.carried)),
                  exclude_ids=exclude_ids, reference_ids=ref_ids, rejected_ids=rejected,
                  notes=turn.notes, reset=reset)


def _topic(turn: _Turn, keeps_topic: bool,
           similar_ids: list[str]) -> tuple[list[TitleRef], set[str]]:
    """Rule 2: keep the previous topic or replace it whole. Returns the like-titles in force
    and the tags a replaced topic's moods ruled out (they go with it)."""
    new, prev, upd = turn.new, turn.prev, turn.upd
    if prev is not None and keeps_topic:
        upd.update(query=prev.query, genres=list(prev.genres), tags=list(prev.tags),
                   moods=list(prev.moods), topic=prev.topic)
        turn.carried.extend(s for s in TOPIC_SLOTS if getattr(prev, s))
        return _like_titles(prev), set()
    like_titles = _like_titles(new)
    for item_id in similar_ids:
        item = turn.catalog.get(item_id)
        if item is not None and item_id not in {t.item_id for t in like_titles}:
            like_titles.append(TitleRef(text=item.title[:200], item_id=item_id, score=100))
    query, topic = new.query, new.topic
    if similar_ids and new.topic is not Topic.new:  # "more like the first one": no words of its own
        query, topic = "like " + " and ".join(t.text for t in like_titles), Topic.new
    upd.update(query=query[:500], genres=list(new.genres), tags=list(new.tags),
               moods=list(new.moods), topic=topic)
    if prev is None:
        return like_titles, set()
    if _names_topic(prev):
        turn.notes.append("new topic: the previous one is replaced (what you ruled out still is)")
    # the tags a previous mood ruled out belong to that topic, and go with it
    return like_titles, _mood_exclusions(prev.moods) - set(new.exclude_tags)


def _exclusions(turn: _Turn, mood_excl: set[str], rejected: list[str],
                like_titles: list[TitleRef]) -> list[str]:
    """Rule 4: exclusions accumulate; the latest word wins. Returns the "not" titles' ids."""
    new, prev, upd = turn.new, turn.prev, turn.upd
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
        turn.notes.append("no longer ruled out: " + ", ".join(dict.fromkeys(lifted)))
    turn.carried.extend(slot for slot, old, now in (
        ("exclude_genres", prev_excl_genres, exclude_genres),
        ("exclude_tags", prev_excl_tags, exclude_tags),
        ("exclude_ids", prev_excl_ids, prev_excl_ids),
    ) if set(old) & set(now))
    upd["genres"] = [g for g in upd["genres"] if g not in new.exclude_genres]
    upd["tags"] = [t for t in upd["tags"] if t not in new.exclude_tags]
    upd["exclude_genres"] = _tail(exclude_genres, 10)
    upd["exclude_tags"] = _tail(exclude_tags, 20)
    upd["exclude_ids"] = _tail([*prev_excl_ids, *rejected], 50)
    titles = [*like_titles, *_tail([*prev_not_titles, *new_not_titles], 10), *about_titles]
    upd["titles"] = titles[:10]
    return [t.item_id for t in (*prev_not_titles, *new_not_titles) if t.item_id]


def _constraints(turn: _Turn) -> None:
    """Rule 3: constraints slot by slot, a range as one slot; durations dropped when the
    media types change; ``playlist_minutes`` while the intent is playlist."""
    new, upd = turn.new, turn.upd
    for slot in ("media_types", "exclude_media_types", "language", "count"):
        if getattr(new, slot) not in (None, []):
            upd[slot] = getattr(new, slot)
        else:
            turn.inherit(slot)
    for low, high in (("year_min", "year_max"), ("min_minutes", "max_minutes")):
        if getattr(new, low) is not None or getattr(new, high) is not None:
            upd[low], upd[high] = getattr(new, low), getattr(new, high)
        else:
            turn.inherit(low)
            turn.inherit(high)
    if new.media_types:  # asked for a kind of item: it is no longer excluded
        kept = [m for m in upd.get("exclude_media_types", []) if m not in new.media_types]
        upd["exclude_media_types"] = kept
    if new.exclude_media_types and upd.get("media_types"):
        upd["media_types"] = [m for m in upd["media_types"] if m not in new.exclude_media_types]
    prev = turn.prev
    if prev is not None and new.media_types and set(new.media_types) != set(prev.media_types):
        dropped = [s for s in ("min_minutes", "max_minutes") if s in turn.carried]
        for s in dropped:
            turn.drop(s)
        if dropped:
            old = ", ".join(f"{s.split('_')[0]} {getattr(prev, s)} minutes" for s in dropped)
            turn.notes.append(f"dropped the earlier length limit ({old}): minutes mean "
                              "something else for the new kind of item")
    if new.intent is Intent.playlist:
        if new.playlist_minutes is not None:
            upd["playlist_minutes"] = new.playlist_minutes
        else:
            turn.inherit("playlist_minutes")


def _intent(turn: _Turn, refinement: bool, like_titles: list[TitleRef]) -> Intent:
    """Rule 7: a refinement keeps the previous intent when it had a topic to act on."""
    prev, intent = turn.prev, turn.new.intent
    if prev is not None and refinement:
        if prev.intent in _TOPIC_INTENTS:
            intent = prev.intent
        else:
            intent = Intent.similar if like_titles else Intent.recommend
    if intent is not Intent.playlist:
        turn.upd["playlist_minutes"] = None
    turn.upd["intent"] = intent
    return intent


def _never_twice(session: Session, request: Request, intent: Intent, ref_ids: list[str],
                 rejected: list[str], not_ids: list[str], turn: _Turn) -> list[str]:
    """Rule 8: what this turn must not show."""
    exempt = set(turn.new.about_ids) | (set(ref_ids) if intent is Intent.details else set())
    shown = [i for i in session.shown_ids if i not in exempt]
    rejected_all = [*session.rejected_ids, *rejected]
    exclude_ids = list(dict.fromkeys([*shown, *rejected_all, *not_ids, *request.exclude_ids]))
    if rejected:
        names = [turn.catalog[i].title if i in turn.catalog else i for i in rejected]
        turn.notes.append("won't show again: " + ", ".join(names))
    return exclude_ids


def _relative(turn: _Turn) -> None:
    """Rule 5: turn "shorter", "longer", "newer" and "older" into bounds."""
    new = turn.new
    if new.relative_duration is None and new.relative_year is None:
        return
    media = set(turn.upd.get("media_types") or [])
    items = [turn.catalog.get(i) for i in turn.last_ids]
    listed = [it for it in items if it is not None and (not media or it.media_type in media)]
    kinds = " or ".join(sorted(str(m) for m in media)) or "item"
    if new.relative_duration is not None:
        mid = _median([it.duration_min for it in listed if it.duration_min is not None])
        _relative_duration(turn, new.relative_duration, mid, kinds)
    if new.relative_year is not None:
        mid = _median([float(it.year) for it in listed if it.year is not None])
        _relative_year(turn, new.relative_year, mid, kinds)


def _relative_duration(turn: _Turn, word: RelativeDuration, mid: float | None,
                       kinds: str) -> None:
    new, upd = turn.new, turn.upd
    if new.min_minutes is not None or new.max_minutes is not None:
        turn.notes.append(f"'{word.value}' ignored: the length you gave wins")
    elif mid is None:
        turn.notes.append(f"'{word.value}' ignored: the last list has no {kinds} with a length")
    elif word is RelativeDuration.shorter:
        bound = max(1, math.floor(0.75 * mid))
        if upd.get("max_minutes") is not None:
            bound = min(bound, upd["max_minutes"])
        turn.drop("min_minutes")
        turn.drop("max_minutes")
        upd["max_minutes"] = bound
        turn.notes.append(f"shorter: at most {bound} minutes (the last list's median is "
                          f"{mid:g})")
    else:
        bound = min(100_000, math.ceil(1.25 * mid))
        if upd.get("min_minutes") is not None:
            bound = max(bound, upd["min_minutes"])
        turn.drop("min_minutes")
        turn.drop("max_minutes")
        upd["min_minutes"] = bound
        turn.notes.append(f"longer: at least {bound} minutes (the last list's median is "
                          f"{mid:g})")


def _relative_year(turn: _Turn, word: RelativeYear, mid: float | None, kinds: str) -> None:
    new, upd = turn.new, turn.upd
    if new.year_min is not None or new.year_max is not None:
        turn.notes.append(f"'{word.value}' ignored: the years you gave win")
    elif mid is None:
        turn.notes.append(f"'{word.value}' ignored: the last list has no {kinds} with a year")
    elif word is RelativeYear.newer:
        bound = min(2100, math.floor(mid) + 1)
        if upd.get("year_min") is not None:
            bound = max(bound, upd["year_min"])
        turn.drop("year_min")
        turn.drop("year_max")
        upd["year_min"] = bound
        turn.notes.append(f"newer: from {bound} on (the last list's median year is {mid:g})")
    else:
        bound = max(1800, math.ceil(mid) - 1)
        if upd.get("year_max") is not None:
            bound = min(bound, upd["year_max"])
        turn.drop("year_min")
        turn.drop("year_max")
        upd["year_max"] = bound
        turn.notes.append(f"older: up to {bound} (the last list's median year is {mid:g})")


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
    empty: dict[str, Any] = {
        s: [] if isinstance(getattr(merged.request, s), list) else None for s in dropped}
    return merged.request.model_copy(update=empty), dropped
