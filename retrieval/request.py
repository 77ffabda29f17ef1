"""What a person asked for, as data: the :class:`Request` every parser produces.

The same schema is the target of the ``rules`` parser and of LLM structured output, so
every list has a maximum length, every string a maximum length and every number a range
(an unbounded list in a JSON schema lets a model generate forever).

Meaning of the slots, for the stages that read them:

- *Hard constraints* (:data:`HARD_CONSTRAINTS`) filter candidates: ``media_types``,
  ``exclude_media_types``, ``exclude_genres``, ``exclude_tags``, the year range, the
  duration range, ``language`` and ``exclude_ids``.
- ``genres``, ``tags`` and ``moods`` say what the person would like; an item should match
  at least one wanted genre, and wanted tags raise its score.
- Durations are in minutes and mean what ``Item.duration_min`` means: the running time of
  a film, the length of a track, the total length of an album or an audiobook, and the
  length of **one episode** for series and podcasts ("a podcast for a 40-minute drive"
  asks for episodes of at most 40 minutes).
- Relative slots (``relative_duration``, ``relative_year``, ``reference_positions``,
  ``exclude_positions``) refer to the previous turn; the session merge applies them.
  Positions are 1-based in the last list shown; -1 is its last item.
- ``topic`` says what the message does to the conversation's topic (:class:`Topic`): the
  parser reads it from the words, so that the session merge never reads the text again.

Example:
    >>> r = Request(intent="similar", media_types=["movie"], exclude_genres=["Horror"],
    ...             max_minutes=120, titles=[TitleRef(text="Arrival", item_id="mv-arrival-2016")])
    >>> r.exclude_genres, r.like_ids
    (['horror'], ['mv-arrival-2016'])
    >>> r.hard_constraints()
    {'media_types': ['movie'], 'exclude_genres': ['horror'], 'max_minutes': 120}
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from retrieval.models import MediaType

__all__ = ["HARD_CONSTRAINTS", "InputIssue", "Intent", "Mood", "ParseContext", "RelativeDuration",
           "RelativeYear", "Request", "TitleRef", "TitleRole", "Topic"]


class Intent(StrEnum):
    """What the person wants Encore to do with this message."""

    recommend = "recommend"
    """Suggest items that fit the constraints."""
    search = "search"
    """Find a particular item or items by what they are."""
    similar = "similar"
    """Suggest items like one or more referenced titles."""
    playlist = "playlist"
    """Build an ordered list filling a target length."""
    trending = "trending"
    """Show what is popular now."""
    details = "details"
    """Tell about one referenced item."""
    feedback = "feedback"
    """The person says what they thought of an item ("I loved Parasite", "not that one")."""
    chitchat = "chitchat"
    """Greetings, thanks, and messages with nothing to act on."""
    history = "history"
    """The person asks to see their own history ("show me my history", "what have I liked")."""


class Mood(StrEnum):
    """A closed list of moods; parsers map them onto the catalog's own tags."""

    light = "light"
    dark = "dark"
    funny = "funny"
    scary = "scary"
    relaxing = "relaxing"
    upbeat = "upbeat"
    energetic = "energetic"
    sad = "sad"
    uplifting = "uplifting"
    romantic = "romantic"
    cozy = "cozy"
    thought_provoking = "thought-provoking"
    tense = "tense"
    epic = "epic"
    nostalgic = "nostalgic"
    quirky = "quirky"
    emotional = "emotional"
    atmospheric = "atmospheric"
    focus = "focus"
    sleep = "sleep"


class TitleRole(StrEnum):
    """How a referenced title is meant."""

    like = "like"
    """More like this one ("like Arrival", "I loved Parasite")."""
    not_ = "not"
    """Not this one, nor things like it ("not like Dune", "I hated Get Out")."""
    about = "about"
    """The subject of a details or search request ("tell me about Dune")."""


class RelativeDuration(StrEnum):
    shorter = "shorter"
    longer = "longer"


class RelativeYear(StrEnum):
    newer = "newer"
    older = "older"


class Topic(StrEnum):
    """What a message does to the conversation's topic (what the person wants it to be about).

    The topic is the request's ``query``, ``genres``, ``tags``, ``moods`` and titles meant as
    "like"; the session merge replaces it as a whole or keeps it as a whole.
    """

    new = "new"
    """It says what it is about: a subject in words of its own ("stories about lighthouse
    keepers"), genres, tags, moods or titles to be like. The previous topic is replaced."""
    refine = "refine"
    """It names no subject: it changes constraints ("shorter", "only podcasts now", "from the
    90s"), points at or rejects items of the last list, gives feedback or chats. The previous
    topic is kept."""
    reset = "reset"
    """It starts over ("start over", "something completely different"): nothing from earlier
    turns is kept; what else the message says (if anything) is the new topic."""


class InputIssue(StrEnum):
    """Something about the message itself that the parser noticed and handled."""

    empty = "empty"
    """Nothing but white space (or nothing left after removing the rest)."""
    truncated = "truncated"
    """Longer than the parser reads; only the beginning was parsed."""
    control_characters = "control_characters"
    """Control or invisible characters were removed."""
    unsupported_language = "unsupported_language"
    """Not written in English; only titles were taken from it."""
    instructions_ignored = "instructions_ignored"
    """Text addressed to the system ("ignore previous instructions...") was dropped."""


Label = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1,
                                         max_length=60)]
ItemId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Position = Annotated[int, Field(ge=-1, le=100)]

# The slots that filter candidates (the rest only rank them).
HARD_CONSTRAINTS: tuple[str, ...] = (
    "media_types", "exclude_media_types", "exclude_genres", "exclude_tags", "year_min", "year_max",
    "min_minutes", "max_minutes", "language", "exclude_ids",
)


def _dedupe(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


class TitleRef(BaseModel):
    """A title the message mentions, resolved to a catalog id when one matches.

    Example:
        >>> TitleRef(text="Arival", item_id="mv-arrival-2016", score=92.3).role
        <TitleRole.like: 'like'>
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=200,
                      description="The title as written in the message.")
    item_id: ItemId | None = Field(default=None,
                                   description="Catalog id it resolved to; None when unresolved.")
    role: TitleRole = Field(default=TitleRole.like,
                            description="like: more like it; not: not it; about: the subject.")
    score: float | None = Field(default=None, ge=0, le=100,
                                description="Match score (100 = exact).")


class Request(BaseModel):
    """One parsed message. Every field is optional; empty means "not said".

    See the module docstring for what the slots mean to retrieval and the session merge.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    intent: Intent = Intent.recommend
    """What to do: recommend, search, similar, playlist, trending, details, feedback or chitchat."""
    query: str = Field(default="", max_length=500)
    """Free text for the encoder: the message without its negated parts."""
    media_types: list[MediaType] = Field(default_factory=list, max_length=7)
    """Only these kinds of item (empty: any)."""
    exclude_media_types: list[MediaType] = Field(default_factory=list, max_length=7)
    """Never these kinds of item."""
    genres: list[Label] = Field(default_factory=list, max_length=10)
    """Wanted genres, from the catalog's vocabulary."""
    all_genres: bool = False
    """Every wanted genre at once (a romantic comedy, a sci-fi horror film, indie rock), not
    any one of them ("comedy or drama")."""
    exclude_genres: list[Label] = Field(default_factory=list, max_length=10)
    """Genres to leave out ("no horror")."""
    tags: list[Label] = Field(default_factory=list, max_length=20)
    """Wanted themes and moods, from the catalog's tags."""
    exclude_tags: list[Label] = Field(default_factory=list, max_length=20)
    """Tags to leave out ("nothing scary", and the opposite of a mood: lighter -> not dark)."""
    moods: list[Mood] = Field(default_factory=list, max_length=5)
    """Moods named in the message (already mapped onto tags and exclude_tags)."""
    year_min: int | None = Field(default=None, ge=1800, le=2100)
    """Earliest release year, inclusive."""
    year_max: int | None = Field(default=None, ge=1800, le=2100)
    """Latest release year, inclusive."""
    relative_year: RelativeYear | None = None
    """"newer" or "older" than what was shown last."""
    min_minutes: int | None = Field(default=None, ge=1, le=100_000)
    """Shortest duration in minutes (per episode for series and podcasts)."""
    max_minutes: int | None = Field(default=None, ge=1, le=100_000)
    """Longest duration in minutes (per episode for series and podcasts)."""
    relative_duration: RelativeDuration | None = None
    """"shorter" or "longer" than what was shown last."""
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    """Original language of the items, ISO 639-1 (ko, fr, ja...)."""
    titles: list[TitleRef] = Field(default_factory=list, max_length=10)
    """Titles mentioned, with how they are meant and their catalog ids."""
    reference_positions: list[Position] = Field(default_factory=list, max_length=10)
    """Items of the last list the message points at ("the second one" -> [2], "more like that")."""
    exclude_positions: list[Position] = Field(default_factory=list, max_length=10)
    """Items of the last list the message rejects ("not the second one" -> [2])."""
    exclude_ids: list[ItemId] = Field(default_factory=list, max_length=50)
    """Catalog ids never to show again ("not that one", resolved against the last list)."""
    count: int | None = Field(default=None, ge=1, le=50)
    """How many items were asked for ("five Korean thrillers" -> 5)."""
    playlist_minutes: int | None = Field(default=None, ge=1, le=1440)
    """Target length of a playlist in minutes ("a 2-hour playlist" -> 120)."""
    issues: list[InputIssue] = Field(default_factory=list, max_length=5)
    """What was wrong with the message itself and was handled (empty, truncated...)."""
    topic: Topic | None = None
    """What the message does to the topic: new, refine or reset (see :class:`Topic`). None:
    not said (a request built by hand); the session merge then starts a new topic only when
    genres, tags, moods or like-titles are set. On a merged request the value travels with
    the topic slots: it says how the topic in force was set."""

    @field_validator("media_types", "exclude_media_types", "genres", "exclude_genres", "tags",
                     "exclude_tags", "moods", "reference_positions", "exclude_positions",
                     "exclude_ids", "issues")
    @classmethod
    def _unique(cls, v: list[Any]) -> list[Any]:
        return _dedupe(v)

    @field_validator("reference_positions", "exclude_positions")
    @classmethod
    def _no_zero(cls, v: list[int]) -> list[int]:
        if 0 in v:
            raise ValueError(
                "positions are 1-based (1 is the first item shown, -1 the last); got 0")
        return v

    @model_validator(mode="after")
    def _ranges(self) -> Request:
        if (self.year_min is not None and self.year_max is not None
                and self.year_min > self.year_max):
            raise ValueError(f"year_min ({self.year_min}) is after year_max ({self.year_max}); "
                             "swap them or leave one empty")
        if (self.min_minutes is not None and self.max_minutes is not None
                and self.min_minutes > self.max_minutes):
            raise ValueError(f"min_minutes ({self.min_minutes}) is above max_minutes "
                             f"({self.max_minutes}); swap them or leave one empty")
        return self

    def _ids(self, role: TitleRole) -> list[str]:
        return _dedupe([t.item_id for t in self.titles if t.role == role and t.item_id])

    @property
    def like_ids(self) -> list[str]:
        """Catalog ids of the titles meant as "more like this"."""
        return self._ids(TitleRole.like)

    @property
    def not_ids(self) -> list[str]:
        """Catalog ids of the titles meant as "not this"."""
        return self._ids(TitleRole.not_)

    @property
    def about_ids(self) -> list[str]:
        """Catalog ids of the titles a details or search request is about."""
        return self._ids(TitleRole.about)

    def hard_constraints(self) -> dict[str, Any]:
        """The hard constraints this request sets (unset ones are left out), as JSON values."""
        data = self.model_dump(mode="json", include=set(HARD_CONSTRAINTS))
        return {k: data[k] for k in HARD_CONSTRAINTS if data[k] not in (None, [])}


class ParseContext(BaseModel):
    """What a parser may know about the conversation so far.

    Example:
        >>> ctx = ParseContext(last_ids=["mv-arrival-2016", "mv-contact-1997"])
        >>> ctx.focus_position
        1
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    previous: Request | None = Field(default=None, description="The request of the previous turn.")
    last_ids: list[ItemId] = Field(default_factory=list, max_length=100,
                                   description="Ids of the last list shown, in display order.")
    focus_id: ItemId | None = Field(
        default=None, description="The item the conversation is about (the one last liked or "
        "named), also when the last list no longer shows it: \"more like that\" means it.")

    @property
    def focus_position(self) -> int:
        """The item "that one" points at: the one the previous turn pointed at, else the first."""
        if self.previous is not None and self.previous.reference_positions:
            return self.previous.reference_positions[0]
        return 1

    def id_at(self, position: int) -> str | None:
        """The id at a 1-based position of the last list (-1: the last), or None."""
        n = len(self.last_ids)
        if position == -1 and n:
            return self.last_ids[-1]
        if 1 <= position <= n:
            return self.last_ids[position - 1]
        return None
