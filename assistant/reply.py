"""The typed results the assistant hands to its front ends (API, CLI, chat page).

- :class:`Grounds`: everything an explanation may cite about one pick, and nothing else.
- :class:`Recommendation`: one pick, with its item facts, explanation and grounds.
- :class:`TurnMeta`: which backend answered each stage, every fallback and why, timings.
- :class:`Reply`: one turn's answer.

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

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from retrieval.request import Request

__all__ = ["Fallback", "FeedbackKind", "Grounds", "HistoryEntry", "HistoryReason",
           "Recommendation", "Reply", "TurnMeta"]


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
    """History items behind the pick, strongest first."""
    constraints: list[str] = Field(default_factory=list)
    """Hard constraints of the request the pick satisfies, in words ("under 120 minutes")."""
    signals: list[str] = Field(default_factory=list)
    """Ranker signals that raised the pick, in words ("popular lately")."""
    sources: list[str] = Field(default_factory=list)
    """Candidate sources that proposed it (dense, collaborative, popular, similar...)."""


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
                                    "'invalid JSON', 'schema violation', 'unknown title'...")


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
