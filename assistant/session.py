"""Multi-turn sessions: what one conversation remembers, and how a new request is merged into it.

A :class:`Session` holds the merged request of the last turn, the list shown last, everything
shown so far, the items rejected, the item in focus and the last playlist. :func:`merge`
combines it with the :class:`~retrieval.request.Request` parsed from a new message;
:func:`record` stores what the turn showed; :func:`relax` drops what was inherited when
nothing matches. The steps that build the merged request live in :mod:`assistant.merge_rules`.

Follow-ups refine, they do not reset: the topic changes only when the person names a new one.
The merge rules, in the order they are applied:

1. **Reset.** A request whose ``topic`` is ``reset`` (the parser read "start over",
   "something completely different") ignores the previous turn: nothing is inherited, the
   last list is forgotten. What was shown and rejected stays excluded: the person has seen it.
2. **Topic** = ``query``, ``genres``, ``tags``, ``moods`` (with the tags a mood rules out:
   "lighter" -> not dark), and titles meant as "like". When the new request names a topic
   (it sets genres or like-titles; tags or moods unless its parser says ``topic="refine"``;
   or its parser says ``topic="new"``: a subject in words of its own, such as "stories about
   lighthouse keepers"), or "more like the first one" points at an item, it replaces the
   previous topic *as a whole*; otherwise the previous topic is kept. "shorter", "only
   podcasts now" and "films from the 90s" are constraints, not a new topic
   (``topic="refine"``). **A mood shift** ("darker", "something more upbeat": moods with
   ``topic="refine"``) keeps the topic's query, genres, titles and other tags and replaces
   only its moods (their tags, the tags they ruled out, and their word in the query). (A tag
   ruled out both by a mood and by name goes with the mood.) The merge never reads the
   message's text: ``topic`` is how the parser tells it what the words did. The merged
   request's ``topic`` goes with the topic slots (kept: the earlier turn's; "more like the
   first one": ``new``).
3. **Constraints** (``media_types``, ``exclude_media_types``, year range, duration range,
   ``language``, ``count``) are overridden slot by slot; unset ones are inherited (and listed
   in ``Merged.carried``, so :func:`relax` can drop them). A range is one slot: a new bound
   replaces both bounds of the old range, so ``year_min`` from one turn is never paired with
   ``year_max`` from another. **Durations are dropped when the media types change**: minutes
   mean a film's length, one podcast episode or a whole audiobook, so "under 2 hours" said of
   films says nothing about podcasts ("as a series instead", "only podcasts now" keep the
   topic and drop the length limit, with a note). **Years are dropped when a new topic comes
   with a new kind of item** ("older" after sitcoms, then "interview podcasts about
   business": the podcasts are not held to the sitcoms' years); a kept topic keeps them.
4. **Exclusions** (``exclude_genres``, ``exclude_tags``, ``exclude_ids``, titles meant as
   "not") accumulate. The latest word wins: asking for a genre or tag that an earlier turn
   ruled out lifts that exclusion, and ruling one out removes it from the topic.
5. **Relative slots** refer to the last list, to its items of the media types in force (all
   of them when none is): "shorter" sets ``max_minutes`` to 90% of the median duration (a
   tenth shorter than a typical item of the list; the median is not pulled down by one odd
   short item the way the minimum would be) and drops the inherited ``min_minutes``;
   "longer" sets ``min_minutes`` to 110% of the median and drops the inherited
   ``max_minutes``. "newer" sets ``year_min`` to the year after the median year and drops
   the inherited ``year_max``; "older" sets ``year_max`` to the year before it and drops the
   inherited ``year_min``. A bound said in the same message wins over the relative word.
   With no last list (or no durations/years in it) the word is ignored, with a note. On a
   playlist, "shorter" and "longer" change the playlist's length by a quarter instead.
6. **References.** Positions resolve against the last list (1-based, -1 the last; a position
   beyond it gives a note). ``reference_positions`` become ``reference_ids``; with intent
   ``similar`` they are the new topic's like-titles. A ``similar`` request with nothing to
   start from ("more like that" when the item in focus is no longer in the list) starts from
   the item in focus (rule 9), never from one turned down. ``exclude_positions`` ("not the
   second one", "not that one") become rejected ids, excluded from then on; a message that
   only rejects items of the last list replaces them **in place**: ``Merged.in_place`` is the
   last list, and the turn shows it again with each rejected item swapped for the next best
   one not shown before (:func:`assistant.turn.plan.splice`).
7. **Intent.** ``chitchat``, ``feedback`` and ``details`` never change the topic. A
   refinement (intent ``recommend`` with no new topic, a mood shift, or a rejection) keeps
   the previous intent when it was ``recommend``, ``similar``, ``search``, ``playlist`` or
   ``trending``; after ``details``, ``feedback`` or ``chitchat`` it is ``similar`` when the
   topic has like-titles, else ``recommend``. ``playlist_minutes`` lasts while the intent is
   ``playlist``; "make it an hour" on a playlist (the parser reads a new
   ``playlist_minutes``) keeps the playlist, its topic and constraints, and
   ``Merged.playlist_ids`` hands the previous playlist to the tool to trim or extend.
8. **Never twice, for fresh suggestions.** What a turn may show depends on its
   :class:`FollowUp` kind: a new topic, "more"/"anything else?", "more like the third one"
   and a feedback turn show only items not shown before; a refinement of the topic in force
   (``refine``: shorter, older, only podcasts, no horror; ``mood``; ``playlist``) answers the
   refined request and may show items already shown (the short films of the last list are
   the right answer to "shorter"); ``swap`` keeps the rest of the last list and fills the
   rejected places with items not shown before. ``Merged.exclude_ids`` always holds the
   rejected ids, the "not" titles and the request's own ``exclude_ids``, and, unless the kind
   is a refinement, everything shown this session. A details question ("tell me about the
   second one") exempts the items it is about. The items a ``similar`` request starts from
   stay excluded: they are its seeds, not its answers.
9. **Focus.** The item in focus is the most recent one the person liked or named ("tell me
   about the second one", "I loved the first one", "more like Arrival"); it lasts while the
   topic does, and an item turned down ("not that one", "I hated it") is never in focus.
   "that one" points at it while it is in the last list.

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.models import Item
    >>> cat = Catalog([Item(id="m1", title="Long", media_type="movie", duration_min=160),
    ...                Item(id="m2", title="Mid", media_type="movie", duration_min=120)])
    >>> s = Session(session_id="s1", user_id="u1")
    >>> m = merge(s, Request(genres=["drama"], exclude_genres=["horror"]), cat)
    >>> s = record(s, ["m1", "m2"], m)
    >>> m = merge(s, Request(relative_duration="shorter"), cat)
    >>> m.request.genres, m.request.exclude_genres, m.request.max_minutes, m.followup.value
    (['drama'], ['horror'], 126, 'refine')
    >>> m = merge(s, Request(exclude_positions=[1], topic="refine"), cat)
    >>> m.followup.value, m.in_place, m.rejected_ids
    ('swap', ['m1', 'm2'], ['m1'])
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant import merge_rules as rules
from assistant.merge_rules import TOPIC_SLOTS, MergeState, like_titles, tail
from retrieval.catalog import Catalog
from retrieval.request import Intent, ParseContext, Request, Topic

__all__ = ["CONSTRAINT_SLOTS", "MAX_REJECTED", "MAX_SHOWN", "RELAXABLE", "FollowUp", "Merged",
           "Session", "TOPIC_SLOTS", "merge", "record", "relax", "relaxed_words"]

MAX_SHOWN = 500
"""Ids of shown items a session remembers (the oldest are forgotten first)."""
MAX_REJECTED = 500
"""Ids of rejected items a session remembers."""

CONSTRAINT_SLOTS: tuple[str, ...] = (
    "media_types", "exclude_media_types", "year_min", "year_max", "min_minutes", "max_minutes",
    "language", "count", "playlist_minutes")
"""Overridden slot by slot; what is inherited can be relaxed."""
RELAXABLE: tuple[str, ...] = (
    "media_types", "exclude_media_types", "year_min", "year_max", "min_minutes",
    "max_minutes", "language")
"""The carried constraints :func:`relax` may drop."""
# What a dropped constraint was, in the words of a person (never the slot's name).
_RELAXED_WORDS = {"media_types": "the kind of item", "exclude_media_types":
                  "the kinds of item you ruled out", "year_min": "the years",
                  "year_max": "the years", "min_minutes": "the length limit",
                  "max_minutes": "the length limit", "language": "the language"}
_CHANGES = ("media_types", "exclude_media_types", "year_min", "year_max", "min_minutes",
            "max_minutes", "language", "exclude_genres", "exclude_tags", "relative_duration",
            "relative_year", "playlist_minutes")


class FollowUp(StrEnum):
    """What a turn does to the conversation, as the merge read it (rule 8 of the module)."""

    fresh = "fresh"
    """A first turn, a new topic or a reset: a list of items not shown before."""
    more = "more"
    """The same request, other items ("anything else?", "more please", "I liked the first
    one")."""
    refine = "refine"
    """The topic kept, a constraint changed ("shorter", "anything older?", "only podcasts
    now", "no horror"): may show items already shown."""
    mood = "mood"
    """The topic kept, its mood changed ("darker", "something more upbeat"): may show items
    already shown."""
    swap = "swap"
    """Items of the last list turned down ("not the second one"): the rest stay in place,
    the turned-down ones are swapped for the next best (``Merged.in_place``)."""
    similar = "similar"
    """More like an item ("more like the third one", "more like that")."""
    playlist = "playlist"
    """The same playlist changed ("make it an hour", "not the third song"):
    ``Merged.playlist_ids`` is the previous playlist."""
    details = "details"
    """A question about an item."""
    chitchat = "chitchat"
    """Nothing to act on."""


_RESHOW = (FollowUp.refine, FollowUp.mood, FollowUp.playlist)
"""Refinements: they answer the refined request and may show what was shown before."""

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
    """The item the conversation is about: the most recent one liked or named ("tell me about
    the second one", "I loved the first one"), never one turned down; it lasts while the topic
    does, also when a later list no longer shows it ("more like that" then means it)."""
    last_playlist_ids: _ItemIds = Field(default_factory=list, max_length=100)
    """The last playlist shown, in order, while it is the last list ("make it an hour" trims
    or extends it: :attr:`Merged.playlist_ids`)."""

    def context(self) -> ParseContext:
        """What the parser may know: the last request and list, with "that one" -> the focus."""
        previous = self.last_request
        if self.focus_id is not None and self.focus_id in self.last_ids:
            position = self.last_ids.index(self.focus_id) + 1
            previous = (Request(reference_positions=[position]) if previous is None
                        else previous.model_copy(update={"reference_positions": [position]}))
        return ParseContext(previous=previous, last_ids=self.last_ids[:100],
                            focus_id=self.focus_id)

    def reset(self) -> Session:
        """Forget the topic, the constraints, the last list, the focus and the last playlist
        (in place).

        What was shown and rejected is kept: the person has seen those items.
        """
        self.last_request = None
        self.last_ids = []
        self.focus_id = None
        self.last_playlist_ids = []
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
    followup: FollowUp = FollowUp.fresh
    """What the turn does to the conversation (what it may show again: module rule 8)."""
    in_place: list[str] = Field(default_factory=list)
    """``swap``: the last list, in order; the turn shows it again with each item turned
    down (``rejected_ids``) swapped for the next best one, the rest in their places."""
    playlist_ids: list[str] = Field(default_factory=list)
    """``playlist``: the previous playlist, in order, without the items turned down; the
    playlist tool trims or extends it to the new target (``ToolCall.keep_ids``)."""
    focus_id: str | None = None
    """The item this message liked or named (the session's next focus), if any."""


# --- merge -----------------------------------------------------------------------------------


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
        what kind of follow-up it is, and notes.
    """
    reset = new.topic is Topic.reset
    st = MergeState(new=new, prev=None if reset else session.last_request,
                    last_ids=[] if reset else list(session.last_ids), catalog=catalog)
    if reset:
        st.notes.append("started over: nothing from the earlier turns is kept, except that "
                        "what you have seen or turned down is not shown again")
    # 6. references (first: a similar request's references are its topic)
    ref_ids = _resolve(new.reference_positions, st.last_ids, "reference to", st.notes)
    # An item turned down (also with its card's Dislike) is never "that" of "more like that".
    ref_ids = [i for i in ref_ids if i not in session.rejected_ids]
    rejected = _resolve(new.exclude_positions, st.last_ids, "rejection of", st.notes)
    rejected = list(dict.fromkeys([*rejected, *new.exclude_ids]))
    if new.intent is Intent.similar and not ref_ids and not like_titles(new) and not reset:
        ref_ids = _focus_seed(session, rejected, catalog)  # "more like that": the focus
    similar_refs = new.intent is Intent.similar and bool(ref_ids)
    mood_shift = st.prev is not None and rules.is_mood_shift(new)
    keeps_topic = new.intent in (Intent.chitchat, Intent.feedback, Intent.details,
                                 Intent.history) or not (
        rules.names_topic(new) or similar_refs)
    titles, mood_excl = rules.topic(st, keeps_topic, ref_ids if similar_refs else [],
                                    mood_shift)
    not_ids = rules.exclusions(st, mood_excl, rejected, titles)
    rules.constraints(st)
    # "not the first one" alone swaps in place; "shorter, and not the first one" changes a
    # constraint too, so the whole list is answered again (the rest may no longer fit).
    rejection_only = bool(new.exclude_positions or new.exclude_ids) and not (
        new.reference_positions or new.titles or rules.names_topic(new)
        or any(getattr(new, s) not in (None, []) for s in _CHANGES))
    refinement = rejection_only or mood_shift or (keeps_topic and new.intent is Intent.recommend)
    intent = rules.intent(st, refinement, titles)
    rules.relative(st)
    request = new.model_copy(update=st.upd)
    request = Request.model_validate(request.model_dump())  # re-check ranges and limits
    kind = _kind(st, intent, keeps_topic, similar_refs, rejection_only, mood_shift, rejected)
    exclude_ids = _never_twice(session, request, kind, ref_ids, rejected, not_ids, st)
    in_place = list(st.last_ids) if kind is FollowUp.swap else []
    playlist_ids = ([i for i in session.last_playlist_ids
                     if i not in rejected and i not in session.rejected_ids]
                    if kind is FollowUp.playlist else [])
    focus = [i for i in (*ref_ids, *new.like_ids, *new.about_ids)
             if i not in rejected and i in catalog]
    return Merged(request=request, carried=list(dict.fromkeys(st.carried)),
                  exclude_ids=exclude_ids, reference_ids=ref_ids, rejected_ids=rejected,
                  notes=st.notes, reset=reset, followup=kind, in_place=in_place,
                  playlist_ids=playlist_ids, focus_id=focus[0] if focus else None)


def _focus_seed(session: Session, rejected: list[str], catalog: Catalog) -> list[str]:
    """The item a "more like that" with nothing in the list to point at starts from: the
    item in focus, unless it was turned down."""
    focus = session.focus_id
    prev = session.last_request
    turned_down = {*rejected, *session.rejected_ids, *(prev.not_ids if prev else [])}
    return [focus] if focus is not None and focus in catalog and focus not in turned_down \
        else []


def _kind(st: MergeState, intent: Intent, keeps_topic: bool, similar_refs: bool,
          rejection_only: bool, mood_shift: bool, rejected: list[str]) -> FollowUp:
    """What the turn does to the conversation (rule 8)."""
    new, prev = st.new, st.prev
    if intent is Intent.details:
        return FollowUp.details
    if intent in (Intent.chitchat, Intent.history):  # nothing shown: the topic stays
        return FollowUp.chitchat
    if prev is None or new.topic is Topic.reset:
        return FollowUp.fresh
    if similar_refs:
        return FollowUp.similar
    if not keeps_topic:
        return FollowUp.fresh
    playlist_again = intent is Intent.playlist and prev.intent is Intent.playlist
    if rejection_only:
        if playlist_again:
            return FollowUp.playlist
        in_list = any(i in st.last_ids for i in rejected)
        return FollowUp.swap if in_list else FollowUp.more
    if playlist_again and (new.playlist_minutes is not None
                           or new.relative_duration is not None):
        return FollowUp.playlist
    if mood_shift:
        return FollowUp.mood
    if any(getattr(new, s) not in (None, []) for s in _CHANGES):
        return FollowUp.refine
    return FollowUp.more


def _never_twice(session: Session, request: Request, kind: FollowUp, ref_ids: list[str],
                 rejected: list[str], not_ids: list[str], st: MergeState) -> list[str]:
    """Rule 8: what this turn must not show."""
    exempt = set(st.new.about_ids) | (set(ref_ids) if kind is FollowUp.details else set())
    shown = [] if kind in _RESHOW else [i for i in session.shown_ids if i not in exempt]
    rejected_all = [*session.rejected_ids, *rejected]
    exclude_ids = list(dict.fromkeys([*shown, *rejected_all, *not_ids, *request.exclude_ids]))
    if rejected:
        names = [st.catalog[i].title if i in st.catalog else i for i in rejected]
        st.notes.append("won't show again: " + ", ".join(names))
    return exclude_ids


# --- record and relax ------------------------------------------------------------------------


def record(session: Session, shown_ids: Iterable[str], merged: Merged) -> Session:
    """Remember what this turn showed (updates ``session`` in place and returns it).

    The shown list becomes the last list, except for a details answer (one item about which
    the person asked: "the third one" should still mean the third of the list they saw).
    A turn that showed nothing keeps the last list. The item the turn liked or named becomes
    the focus (rule 9: "not that one" next turn means it while it is in the last list, and
    "more like that" means it wherever it is); a new topic forgets the focus, and an item
    turned down is never in focus. A playlist shown is remembered as the last playlist.

    Args:
        session: The session the turn was merged with.
        shown_ids: Ids shown this turn, in display order.
        merged: What :func:`merge` returned for this turn.
    """
    shown = list(dict.fromkeys(str(i) for i in shown_ids))
    session.turn += 1
    session.last_request = merged.request
    if merged.reset:
        session.reset()
        session.last_request = merged.request
    if merged.followup is FollowUp.fresh:
        session.focus_id = None
    if shown and merged.request.intent is not Intent.details:
        session.last_ids = shown[:100]
        session.last_playlist_ids = (shown[:100] if merged.request.intent is Intent.playlist
                                     else [])
        # positions said this turn pointed into the list just replaced
        session.last_request = merged.request.model_copy(update={"reference_positions": []})
    if merged.focus_id is not None:
        session.focus_id = merged.focus_id
    elif merged.request.intent is Intent.details and shown:
        session.focus_id = shown[0]
    if session.focus_id in {*merged.rejected_ids, *merged.request.not_ids}:
        session.focus_id = None
    session.shown_ids = tail([*session.shown_ids, *shown], MAX_SHOWN)
    session.rejected_ids = tail([*session.rejected_ids, *merged.rejected_ids], MAX_REJECTED)
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
    wanted = set(RELAXABLE if slots is None else slots)
    unknown = wanted - set(RELAXABLE)
    if unknown:
        raise ValueError(f"cannot relax {sorted(unknown)}; relaxable slots: "
                         f"{', '.join(RELAXABLE)}")
    dropped = [s for s in merged.carried if s in wanted]
    empty: dict[str, Any] = {
        s: [] if isinstance(getattr(merged.request, s), list) else None for s in dropped}
    return merged.request.model_copy(update=empty), dropped


def relaxed_words(dropped: Iterable[str]) -> str:
    """What :func:`relax` dropped, in a person's words (never the slots' names).

    Example:
        >>> relaxed_words(["media_types", "min_minutes", "max_minutes"])
        'the kind of item and the length limit'
    """
    words = list(dict.fromkeys(_RELAXED_WORDS.get(s, "an earlier limit") for s in dropped))
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
