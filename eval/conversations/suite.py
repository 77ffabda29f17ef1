"""The conversation suite's file format: scripted conversations, each turn with what to check.

A suite is a JSONL file, one conversation per line (blank lines and lines starting with
``#`` are skipped). Everything a turn expects is said in the catalog's metadata (media
types, minutes, years, genres and tags), never in item ids, so that one suite runs on any
bundle of the demo catalog. See ``eval/conversations/README.md`` for the full format.

Example:
    >>> conv = Conversation.model_validate({
    ...     "id": "jazz-upbeat", "user": "fan:true crime",
    ...     "turns": [{"say": "jazz albums",
    ...                "expect": {"media_types": ["album"], "want": ["jazz"]}},
    ...               {"say": "more upbeat", "follow": ["type_kept", "topic_kept"],
    ...                "expect": {"want": [["jazz"], ["upbeat", "danceable"]]}}]})
    >>> effective_expects(conv)[1].want
    [['jazz'], ['upbeat', 'danceable']]
    >>> effective_expects(conv)[1].media_types
    ['album']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["Conversation", "Expect", "Relation", "SuiteTurn", "effective_expects", "load_suite"]

# Relations a follow-up can state about the list before it, without an argument.
SIMPLE_RELATIONS = ("shorter", "longer", "newer", "older", "type_kept", "topic_kept",
                    "same_playlist")
# A user is "new" (no history), a bundle user id, or "fan:LABEL": the bundle user whose
# history holds the largest share of items labelled LABEL (a genre or a tag).
USER_FORMS = "'new', a user id such as 'demo-0004', or 'fan:LABEL' such as 'fan:true crime'"


def _labels(values: list[str] | None) -> list[str] | None:
    return None if values is None else [v.strip().lower() for v in values if v.strip()]


class Expect(BaseModel):
    """What every item shown this turn must satisfy, and what the person asked for.

    Hard constraints (checked on every shown item): ``media_types``,
    ``exclude_media_types``, ``min_minutes``/``max_minutes``, ``year_min``/``year_max``,
    ``exclude_labels`` (genres or tags none may carry) and, for playlists,
    ``playlist_minutes`` (the total within ``playlist_tolerance`` when the catalog allows).

    The soft request ``want`` is a list of groups of labels: an item matches when, for
    every group, it carries at least one of the group's labels (as a genre or a tag).
    """

    model_config = ConfigDict(extra="forbid")

    media_types: list[str] | None = None
    exclude_media_types: list[str] | None = None
    min_minutes: float | None = Field(default=None, gt=0)
    max_minutes: float | None = Field(default=None, gt=0)
    year_min: int | None = None
    year_max: int | None = None
    exclude_labels: list[str] | None = None
    want: list[list[str]] | None = None
    playlist_minutes: float | None = Field(default=None, gt=0)
    playlist_tolerance: float = Field(default=0.05, ge=0, le=1)

    @field_validator("want", mode="before")
    @classmethod
    def _groups(cls, v: Any) -> Any:
        # "want": ["jazz", "blues"] is one group (jazz or blues).
        if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
            return [v]
        return v

    @field_validator("want")
    @classmethod
    def _lower_groups(cls, v: list[list[str]] | None) -> list[list[str]] | None:
        if v is None:
            return None
        groups = [g for g in (_labels(group) for group in v) if g]
        return groups or None

    @field_validator("media_types", "exclude_media_types", "exclude_labels")
    @classmethod
    def _lower(cls, v: list[str] | None) -> list[str] | None:
        return _labels(v)

    @property
    def hard(self) -> bool:
        """Whether any hard constraint is stated."""
        return any(getattr(self, name) is not None for name in (
            "media_types", "exclude_media_types", "min_minutes", "max_minutes", "year_min",
            "year_max", "exclude_labels", "playlist_minutes"))


class Relation(BaseModel):
    """What a follow-up means for the list before it (one of the fields is set).

    - ``simple``: shorter, longer, newer, older (the mean length or year of the list moves
      that way), type_kept (no media type the previous list did not have), topic_kept (the
      previous turn's ``want`` still answered), same_playlist (at least half the smaller
      playlist kept: trimmed or extended, not rebuilt).
    - ``replaced``: "not the Nth one": the previous list's Nth item is gone, the rest kept.
    - ``similar_to``: "more like the Nth one" (a position in the previous list) or
      ``"liked"`` (the item the person last said they liked): that item is not shown and
      most shown items share a genre with it.
    """

    model_config = ConfigDict(extra="forbid")

    simple: Literal["shorter", "longer", "newer", "older", "type_kept", "topic_kept",
                    "same_playlist"] | None = None
    replaced: int | None = Field(default=None, ge=1)
    similar_to: int | Literal["liked"] | None = None

    @property
    def name(self) -> str:
        if self.simple is not None:
            return self.simple
        return "replaced" if self.replaced is not None else "similar_to"


class SuiteTurn(BaseModel):
    """One message of a scripted conversation and what to check about its reply."""

    model_config = ConfigDict(extra="forbid")

    say: str = Field(min_length=1)
    """What the person types."""
    expect: dict[str, Any] = Field(default_factory=dict)
    """:class:`Expect` fields, merged over the previous turn's (a null value removes one)."""
    fresh: bool = False
    """A new topic: nothing is inherited from earlier turns' expectations."""
    follow: list[Relation] = Field(default_factory=list)
    """What this follow-up means for the previous list."""
    likes: int | None = Field(default=None, ge=1)
    """This message says the person liked the previous list's item at this position."""
    unreadable: bool = False
    """The offline parser cannot read this message (another language): the reply must say
    so and show no unrelated list."""
    kinds: list[str] = Field(default_factory=list)
    """Labels for the report (e.g. 'typo', 'not_nth'); pass rates are also given per kind."""

    @field_validator("expect")
    @classmethod
    def _valid_expect(cls, v: dict[str, Any]) -> dict[str, Any]:
        try:  # errors early, naming the field
            Expect.model_validate({k: x for k, x in v.items() if x is not None})
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err.get("loc", ()))
            raise ValueError(f"{loc}: {err.get('msg')}") from None
        return v

    @field_validator("follow", mode="before")
    @classmethod
    def _relations(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        return [{"simple": x} if isinstance(x, str) else x for x in v]


class Conversation(BaseModel):
    """One scripted conversation: who speaks and the turns."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    user: str = "new"
    """'new' (no history), a bundle user id, or 'fan:LABEL' (see :data:`USER_FORMS`)."""
    note: str = ""
    """Why this conversation is in the suite (e.g. "a crime fan asks for jazz")."""
    kinds: list[str] = Field(default_factory=list)
    """Labels for the report applied to every turn (e.g. 'conflict')."""
    turns: list[SuiteTurn] = Field(min_length=1)


def effective_expects(conv: Conversation) -> list[Expect]:
    """Each turn's expectations after inheriting from the turns before it.

    A turn inherits every expectation of the previous turn unless it is ``fresh``; the keys
    it writes replace the inherited ones, and a key written as null removes one.
    """
    out: list[Expect] = []
    current: dict[str, Any] = {}
    for turn in conv.turns:
        current = dict(turn.expect) if turn.fresh or not out else {**current, **turn.expect}
        out.append(Expect.model_validate({k: v for k, v in current.items() if v is not None}))
    return out


def load_suite(path: str | Path) -> list[Conversation]:
    """Read a suite file (JSONL, one conversation per line).

    Raises:
        ValueError: a line is not JSON or not a valid conversation (the message names the
            file, the line and the field), or two conversations share an id.
    """
    path = Path(path)
    conversations: list[Conversation] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not JSON ({exc.msg}). Fix: one conversation object "
                             "per line") from None
        try:
            conv = Conversation.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err.get("loc", ())) or "conversation"
            raise ValueError(f"{where}: {loc}: {err.get('msg')}. Fix: see "
                             "eval/conversations/README.md for the format") from None
        if conv.id in seen:
            raise ValueError(f"{where}: the id {conv.id!r} is used twice. Fix: make ids unique")
        _check_user_form(conv.user, where)
        seen.add(conv.id)
        conversations.append(conv)
    if not conversations:
        raise ValueError(f"{path}: no conversations. Fix: write one JSON object per line")
    return conversations


def _check_user_form(user: str, where: str) -> None:
    if user.startswith("fan:") and not user[4:].strip():
        raise ValueError(f"{where}: user {user!r} names no label. Fix: use {USER_FORMS}")
