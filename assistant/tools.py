"""Encore's tools as LangChain tools, for other agents: recommend, similar, playlist,
trending, details and feedback. Each takes typed arguments (a pydantic schema the calling
LLM sees) and returns plain JSON data; each calls the same :class:`~assistant.core.Assistant`
methods the chat uses, for one user.

Example (``bot`` is an :class:`~assistant.core.Assistant`; the tests run this on the demo
bundle):
    >>> tools = make_tools(bot, user_id="u1")
    >>> [t.name for t in tools]
    ['recommend', 'similar', 'playlist', 'trending', 'details', 'feedback']
    >>> picks = tools[0].invoke({"query": "a podcast about space", "k": 3})
    >>> len(picks), {p["media_type"] for p in picks}
    (3, {'podcast'})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from assistant.reply import Recommendation
from retrieval.request import Intent, Request

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from assistant.core import Assistant

__all__ = ["TOOL_NAMES", "make_tools"]

TOOL_NAMES = ("recommend", "similar", "playlist", "trending", "details", "feedback")


class RecommendArgs(BaseModel):
    query: str = Field(default="", max_length=500,
                       description="What the person wants, in words ('a podcast about space').")
    media_types: list[Literal["movie", "series", "episode", "music_track", "album", "podcast",
                              "audiobook"]] = Field(default_factory=list, max_length=7,
                                                    description="Only these media types.")
    max_minutes: int | None = Field(default=None, ge=1, le=100_000,
                                    description="Longest duration (per episode for series).")
    k: int = Field(default=10, ge=1, le=50, description="How many.")


class SimilarArgs(BaseModel):
    item_id: str = Field(min_length=1, max_length=200, description="A catalog item id.")
    k: int = Field(default=10, ge=1, le=50)


class PlaylistArgs(BaseModel):
    query: str = Field(default="", max_length=500, description="What it should sound like.")
    minutes: int = Field(ge=1, le=1440, description="Target total length in minutes.")


class TrendingArgs(BaseModel):
    media_types: list[Literal["movie", "series", "episode", "music_track", "album", "podcast",
                              "audiobook"]] = Field(default_factory=list, max_length=7)
    k: int = Field(default=10, ge=1, le=50)


class DetailsArgs(BaseModel):
    item_id: str = Field(min_length=1, max_length=200, description="A catalog item id.")


class FeedbackArgs(BaseModel):
    item_id: str = Field(min_length=1, max_length=200, description="A catalog item id.")
    kind: Literal["like", "dislike", "seen"]


def _cards(recs: list[Recommendation]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json", exclude={"description"}) for r in recs]


def make_tools(assistant: Assistant, user_id: str) -> list[BaseTool]:
    """The six tools, bound to ``assistant`` and ``user_id``."""
    from langchain_core.tools import StructuredTool

    def recommend(query: str = "", media_types: list[str] | None = None,
                  max_minutes: int | None = None, k: int = 10) -> list[dict[str, Any]]:
        filters: dict[str, Any] = {}
        if media_types:
            filters["media_types"] = media_types
        if max_minutes is not None:
            filters["max_minutes"] = max_minutes
        return _cards(assistant.recommend(user_id, query or None, k=k, filters=filters or None))

    def similar(item_id: str, k: int = 10) -> list[dict[str, Any]]:
        return _cards(assistant.similar(item_id, k=k, user_id=user_id))

    def playlist(minutes: int, query: str = "") -> dict[str, Any]:
        base = assistant._parse(query, None)[0] if query else Request()
        req = base.model_copy(update={"intent": Intent.playlist, "playlist_minutes": minutes})
        history = assistant._history(user_id)
        pl = assistant.engine.playlist(history, req, target_minutes=minutes)
        recs = assistant._cards(list(pl.items), req, history, source="playlist")
        return {"target_minutes": minutes, "total_minutes": round(pl.total_minutes, 1),
                "within_tolerance": pl.within_tolerance, "items": _cards(recs)}

    def trending(media_types: list[str] | None = None, k: int = 10) -> list[dict[str, Any]]:
        req = Request(intent=Intent.trending, media_types=media_types or [])
        got = assistant.engine.trending(request=req, k=k)
        return _cards(assistant._cards(got, req, None, source="trending"))

    def details(item_id: str) -> dict[str, Any]:
        return assistant.item(item_id).model_dump(mode="json")

    def feedback(item_id: str, kind: str) -> dict[str, Any]:
        assistant.feedback(user_id, item_id, kind)
        return {"recorded": True, "item_id": item_id, "kind": kind}

    specs = [
        (recommend, RecommendArgs, "Recommend films, series, music or podcasts for the user, "
                                   "optionally for a request in words and filters."),
        (similar, SimilarArgs, "Items like a given catalog item, ranked for the user."),
        (playlist, PlaylistArgs, "An ordered playlist whose total length is within 5% of "
                                 "the target minutes."),
        (trending, TrendingArgs, "What is popular lately, optionally of some media types."),
        (details, DetailsArgs, "The catalog facts of one item."),
        (feedback, FeedbackArgs, "Record that the user liked, disliked or has seen an item."),
    ]
    return [StructuredTool.from_function(func=f, name=f.__name__, description=d,
                                         args_schema=a) for f, a, d in specs]
