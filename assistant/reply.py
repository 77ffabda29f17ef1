"""The typed results the assistant hands to its front ends (API, CLI, chat page).

- :class:`Grounds`: everything an explanation may cite about one pick, and nothing else.
- :class:`Recommendation`: one pick, with its item facts, explanation and grounds.
- :class:`TurnMeta`: which backend answered each stage, every fallback and why, timings.
- :class:`Reply`: one turn's answer.
- :class:`PlaylistReply`: an ordered playlist (:class:`PlaylistEntry` items) with its total
  and target, exported as extended M3U (:meth:`PlaylistReply.to_m3u`) or JSON
  (:meth:`PlaylistReply.to_json`).

Example:
    >>> g = Grounds(matched_genres=["science fiction"], constraints=["under 120 minutes"])
    >>> rec = Recommendation(item_id="mv-arrival-2016", title="Arrival", media_type="movie",
    ...                      rank=1, explanation="Science fiction, under 120 minutes.", grounds=g)
    >>> rec.grounds.matched_genres
    ['science fiction']
    >>> TurnMeta().parser, TurnMeta().explainer
    ('rules', 'template')
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from retrieval.request import Request

__all__ = ["Fallback", "FeedbackKind", "Grounds", "HistoryEntry", "HistoryReason",
           "PlaylistEntry", "PlaylistReply", "Recommendation", "Reply", "TurnMeta"]


class FeedbackKind(StrEnum):
    """What a person can say about an item they were shown."""

    like = "like"
    dislike = "dislike"
    seen = "seen"


class HistoryReason(BaseModel):
    """A history item a pick is close to, with its title (so an explanation can name it)."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    title: str
    kind: Literal["content", "collaborative"] = Field(
        description="content: close in text embedding; collaborative: watched by the same people.")
    similarity: float
    cosine: float | None = Field(default=None,
                                 description="Cosine of the two items' vectors (None: unknown).")
    shared: list[str] = Field(default_factory=list,
                              description="Genres and themes the pick shares with it.")
    note: str = Field(default="", description="Why it was not cited (empty when it is).")


class Grounds(BaseModel):
    """The only facts an explanation may state about one pick.

    Built by :func:`assistant.explain.grounds_for` from the item, the request it answers,
    and the ranker's evidence.
    """

    model_config = ConfigDict(frozen=True)

    title: str = ""
    """The pick's own title."""
    year: int | None = None
    duration_min: float | None = None
    media_type: str = ""
    matched_genres: list[str] = Field(default_factory=list)
    """Genres of the pick that the request asked for."""
    matched_tags: list[str] = Field(default_factory=list)
    """Tags of the pick that the request asked for (themes and moods)."""
    history: list[HistoryReason] = Field(default_factory=list)
    """History items genuinely close to the pick (same media family, a shared genre or theme,
    similar content: :mod:`assistant.explain.relevance`), strongest first: the only history
    an explanation may name."""
    uncited_history: list[HistoryReason] = Field(default_factory=list)
    """The ranker's other closest history items, each with why it is not cited (for
    developers; never named to the person)."""
    creators: list[str] = Field(default_factory=list)
    """The pick's creators (directors, artists, hosts), as the catalog names them."""
    constraints: list[str] = Field(default_factory=list)
    """Hard constraints of the request the pick satisfies, in words ("under 120 minutes")."""
    asked: bool = False
    """Whether the request asked for anything (a list from history alone does not)."""
    signals: list[str] = Field(default_factory=list)
    """Ranker signals that raised the pick, in words ("popular lately")."""
    sources: list[str] = Field(default_factory=list)
    """Candidate sources that proposed it (dense, collaborative, popular, similar...): for
    developers, never shown as such."""
    evidence_text: list[str] = Field(default_factory=list)
    """Why this pick, in plain sentences for the page's evidence view ("You liked Kind of
    Blue, also jazz."; "Matches what you asked for: jazz, from 1960 to 1969."): no source
    names, no scores."""


class Recommendation(BaseModel):
    """One recommended item, as every front end shows it.

    Example:
        >>> Recommendation(item_id="x", title="X", media_type="podcast", rank=2).genres
        []
    """

    model_config = ConfigDict(frozen=True)

    item_id: str
    title: str
    media_type: str
    year: int | None = None
    duration_min: float | None = None
    genres: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    creators: list[str] = Field(default_factory=list)
    description: str = ""
    rank: int = Field(ge=1, description="1-based position in the list shown.")
    score: float | None = None
    explanation: str = ""
    grounds: Grounds = Field(default_factory=Grounds)
    match: Literal["exact", "close"] = "exact"
    """exact: it has everything the request asked for; close: a close match, shown because
    fewer than the list's length have everything (``match_note`` says what it lacks)."""
    match_note: str | None = None
    """For a close match, what it is and lacks, in words ("close match: rock, not jazz")."""


class Fallback(BaseModel):
    """A stage that could not use its configured backend and used the offline one."""

    model_config = ConfigDict(frozen=True)

    stage: Literal["parser", "explainer"]
    wanted: str = Field(description="The configured backend (e.g. 'llm').")
    used: str = Field(description="The backend that answered (e.g. 'rules').")
    reason: str = Field(description="Why, in a short phrase: 'timeout', 'connection refused', "
                                    "'invalid JSON', 'schema violation', 'unknown title'...; "
                                    "'deadline spent' (an earlier stage used the turn's LLM "
                                    "deadline up: no call was made), 'circuit open' (the LLM "
                                    "failed repeatedly and is skipped for now: no call was "
                                    "made).")


class TurnMeta(BaseModel):
    """How a turn was answered: for the page's backend note and for debugging."""

    parser: str = "rules"
    """The parser that produced the request ('rules' or 'llm')."""
    explainer: str = "template"
    """The explainer that wrote the explanations ('template' or 'llm')."""
    llm_model: str | None = None
    """The LLM's model name, when an LLM answered any stage."""
    fallbacks: list[Fallback] = Field(default_factory=list)
    explanation_sentences: int = 0
    """Sentences the explainer wrote this turn."""
    replaced_sentences: int = 0
    """Of those, sentences that failed the grounding check and were replaced by the template."""
    ranker: str = ""
    """The ranker that ordered the list ('lightgbm', 'blend', 'popularity'...)."""
    timings_ms: dict[str, float] = Field(default_factory=dict)
    """Milliseconds per stage (parse, merge, retrieve, rank, explain, total)."""
    relaxed: list[str] = Field(default_factory=list)
    """Constraints carried over from earlier turns that were dropped because nothing matched."""

    @property
    def used_llm(self) -> bool:
        return "llm" in (self.parser, self.explainer)


class Reply(BaseModel):
    """The assistant's answer to one message.

    Example:
        >>> r = Reply(session_id="s1", user_id="u1", text="Nothing to suggest yet.")
        >>> r.recommendations, r.meta.parser
        ([], 'rules')
    """

    session_id: str
    user_id: str
    turn: int = Field(default=1, ge=1)
    text: str = Field(description="What the assistant says, above the cards.")
    intent: str = "recommend"
    recommendations: list[Recommendation] = Field(default_factory=list)
    request: Request = Field(default_factory=Request,
                             description="The request after merging with the session.")
    notice: str | None = Field(default=None, description="A problem handled this turn, in "
                                                         "words (no match, unknown title...).")
    meta: TurnMeta = Field(default_factory=TurnMeta)
    playlist: PlaylistReply | None = Field(
        default=None, description="The whole playlist in play order, with its total and "
                                  "target, when the turn made one.")


class PlaylistEntry(BaseModel):
    """One item of a playlist, at its position."""

    model_config = ConfigDict(frozen=True)

    position: int = Field(ge=1, description="1-based play order.")
    item_id: str
    title: str
    media_type: str = ""
    creators: list[str] = Field(default_factory=list)
    duration_min: float | None = None
    genres: list[str] = Field(default_factory=list)
    match: Literal["match", "close"] = "match"
    """``close``: not what was asked but near it; ``note`` says how."""
    note: str = ""
    """The close-match label in words ("close match: alternative, not indie rock")."""
    kept: bool = False
    """Kept from the previous playlist (a trim or an extension of it)."""

    @property
    def uri(self) -> str:
        """A stable location for players (the demo has no files): ``encore:item/<id>``."""
        return f"encore:item/{self.item_id}"


class PlaylistReply(BaseModel):
    """An ordered playlist: every item in play order, each length, the total and the target.

    Example:
        >>> pl = PlaylistReply(target_minutes=8, total_minutes=7.9, within_tolerance=True,
        ...                    items=[PlaylistEntry(position=1, item_id="tr-a", title="A",
        ...                                         creators=["X"], duration_min=3.9),
        ...                           PlaylistEntry(position=2, item_id="tr-b", title="B",
        ...                                         duration_min=4.0)])
        >>> print(pl.to_m3u())
        #EXTM3U
        #PLAYLIST:Encore playlist
        #EXTINF:234,X - A
        encore:item/tr-a
        #EXTINF:240,B
        encore:item/tr-b
        <BLANKLINE>
        >>> json.loads(pl.to_json())["items"][1]["id"], pl.ids
        ('tr-b', ['tr-a', 'tr-b'])
    """

    user_id: str | None = None
    title: str = "Encore playlist"
    """A name for players ("Encore: indie rock, 2 h")."""
    query: str = ""
    """What was asked, in words."""
    summary: str = ""
    """The lead in words: the length against the target and, when it falls short, why."""
    target_minutes: int = Field(ge=1)
    total_minutes: float = Field(ge=0)
    tolerance: float = 0.05
    within_tolerance: bool
    items: list[PlaylistEntry] = Field(default_factory=list)
    recommendations: list[Recommendation] = Field(
        default_factory=list, description="The same items as explained cards (empty inside a "
                                          "chat Reply, whose own recommendations they are).")

    @property
    def ids(self) -> list[str]:
        """Item ids in play order (pass them as ``keep_ids`` to trim or extend it)."""
        return [e.item_id for e in self.items]

    def to_m3u(self) -> str:
        """Extended M3U: ``#EXTM3U``, then per item ``#EXTINF:<seconds>,<creators> - <title>``
        and its URI (``encore:item/<id>``); seconds are -1 when the length is unknown."""
        lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(self.title)}"]
        for e in self.items:
            secs = -1 if e.duration_min is None else round(e.duration_min * 60)
            who = ", ".join(e.creators)
            name = f"{who} - {e.title}" if who else e.title
            lines += [f"#EXTINF:{secs},{_one_line(name)}", e.uri]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """The JSON export as data: the ordered items (id, title, creators, duration_min,
        match, note), the total and the target, in minutes."""
        return {
            "title": self.title, "query": self.query, "summary": self.summary,
            "target_minutes": self.target_minutes, "total_minutes": self.total_minutes,
            "within_tolerance": self.within_tolerance, "tolerance": self.tolerance,
            "items": [{"position": e.position, "id": e.item_id, "title": e.title,
                       "creators": list(e.creators), "duration_min": e.duration_min,
                       "media_type": e.media_type, "match": e.match, "note": e.note,
                       "uri": e.uri} for e in self.items],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as a JSON document (UTF-8 text, not ASCII-escaped)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


def _one_line(text: str) -> str:
    """M3U is line based: a title never breaks a line."""
    return " ".join(str(text).split())


class HistoryEntry(BaseModel):
    """One event of a user's history (the bundle's log, then feedback given in Encore)."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    title: str
    media_type: str
    event: str
    value: float | None = None
    timestamp: int | None = None
    source: Literal["log", "feedback"] = "log"
