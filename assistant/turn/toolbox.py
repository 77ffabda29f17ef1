"""Encore's tools, each registered once in :data:`TOOLS`: its argument model (what an agent
fills in) and its ``run`` (what the chat and the agents both call).

| tool | does |
|---|---|
| recommend | the best items for the user and the request |
| similar | items like the given ones, ranked for the user |
| playlist | an ordered list filling a target length |
| trending | what is popular lately |
| details | the catalog facts of one item |
| feedback | store likes, dislikes and "seen" |
| chitchat | nothing to run (the lead asks what the person is in the mood for) |
| history | the user's own likes, dislikes and "seen", newest first |

Example:
    >>> from retrieval.request import Intent
    >>> args = TOOLS["trending"].args(media_types=["album"], k=4)
    >>> call = args.to_call(None)  # trending needs no services
    >>> call.k, call.request.intent is Intent.trending, [str(m) for m in call.request.media_types]
    (4, True, ['album'])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from assistant.turn.registry import (
    PlaylistInfo,
    Recorded,
    Registry,
    Tool,
    ToolArgs,
    ToolCall,
    ToolResult,
)
from assistant.validation import DEFAULT_K, MAX_K, apply_filters
from retrieval.models import MediaType
from retrieval.request import Intent, Request

if TYPE_CHECKING:
    from assistant.turn.context import Services, ToolContext
    from retrieval.retriever import History

__all__ = ["DEFAULT_PLAYLIST_MINUTES", "TOOLS", "recommend_call"]

DEFAULT_PLAYLIST_MINUTES = 60
"""Playlist length when the person names none."""

_MediaType = Literal["movie", "series", "episode", "music_track", "album", "podcast", "audiobook"]
_ItemId = Field(min_length=1, max_length=200, description="A catalog item id.")


def recommend_call(services: Services, query: str | None, k: int,
                   filters: dict[str, Any] | Request | None = None) -> ToolCall:
    """The ``recommend`` call for a request in words and filters over it (filters win).

    Raises:
        EncoreError: an invalid filter (the message names it).
    """
    request = services.backends.parse(query).request if query else Request()
    request = apply_filters(request, filters)
    return ToolCall(request=request, k=k, exclude=tuple(request.exclude_ids))


# -- arguments ------------------------------------------------------------------------------


class RecommendArgs(ToolArgs):
    query: str = Field(default="", max_length=500,
                       description="What the person wants, in words ('a podcast about space').")
    media_types: list[_MediaType] = Field(default_factory=list, max_length=7,
                                          description="Only these media types.")
    max_minutes: int | None = Field(default=None, ge=1, le=100_000,
                                    description="Longest duration (per episode for series).")
    k: int = Field(default=DEFAULT_K, ge=1, le=MAX_K, description="How many.")

    def to_call(self, services: Services) -> ToolCall:
        filters: dict[str, Any] = {}
        if self.media_types:
            filters["media_types"] = self.media_types
        if self.max_minutes is not None:
            filters["max_minutes"] = self.max_minutes
        return recommend_call(services, self.query or None, self.k, filters or None)


class SimilarArgs(ToolArgs):
    item_id: str = _ItemId
    k: int = Field(default=DEFAULT_K, ge=1, le=MAX_K)

    def to_call(self, services: Services) -> ToolCall:
        services.item(self.item_id)
        return ToolCall(request=Request(intent=Intent.similar), k=self.k,
                        item_ids=(self.item_id,))


class PlaylistArgs(ToolArgs):
    query: str = Field(default="", max_length=500,
                       description="What it should sound like ('indie rock for a road trip').")
    minutes: int | None = Field(default=None, ge=1, le=1440,
                                description="Target total length in minutes (default: the "
                                            "length the query names, else 60).")
    media_types: list[_MediaType] = Field(default_factory=list, max_length=7,
                                          description="Only these media types (default: "
                                                      "what the query names, else tracks).")
    keep_ids: list[str] = Field(default_factory=list, max_length=500,
                                description="A previous playlist's item ids, in order: kept, "
                                            "cut from the end or extended to the new length.")

    def to_call(self, services: Services) -> ToolCall:
        """The call: the query parsed as a playlist request (tracks unless it names another
        media type), ``minutes`` and ``media_types`` over it.

        Raises:
            UnknownItem: a ``keep_ids`` entry is not in the catalog.
        """
        for item_id in self.keep_ids:
            services.item(item_id)
        base = services.backends.parse(self.query).request if self.query else Request()
        media = [MediaType(m) for m in self.media_types] or list(base.media_types) or \
            [MediaType.music_track]
        request = base.model_copy(update={"intent": Intent.playlist, "media_types": media,
                                          "playlist_minutes": self.minutes or
                                          base.playlist_minutes})
        return ToolCall(request=request, keep_ids=tuple(self.keep_ids))


class TrendingArgs(ToolArgs):
    media_types: list[_MediaType] = Field(default_factory=list, max_length=7)
    k: int = Field(default=DEFAULT_K, ge=1, le=MAX_K)

    def to_call(self, services: Services) -> ToolCall:
        request = Request.model_validate({"intent": Intent.trending,
                                          "media_types": list(self.media_types)})
        return ToolCall(request=request, k=self.k)


class DetailsArgs(ToolArgs):
    item_id: str = _ItemId

    def to_call(self, services: Services) -> ToolCall:
        services.item(self.item_id)
        return ToolCall(request=Request(intent=Intent.details), item_ids=(self.item_id,))


class FeedbackArgs(ToolArgs):
    item_id: str = _ItemId
    kind: Literal["like", "dislike", "seen"]

    def to_call(self, services: Services) -> ToolCall:
        services.item(self.item_id)
        return ToolCall(request=Request(intent=Intent.feedback),
                        feedback=((self.item_id, self.kind),))


class ChitchatArgs(ToolArgs):
    def to_call(self, services: Services) -> ToolCall:
        return ToolCall(request=Request(intent=Intent.chitchat))


# -- runs -----------------------------------------------------------------------------------


def _history(ctx: ToolContext) -> History:
    from retrieval.retriever import History

    return ctx.history() or History([])


def run_recommend(ctx: ToolContext, call: ToolCall) -> ToolResult:
    got = ctx.services.engine.recommend(_history(ctx), call.request, k=call.k,
                                        exclude=call.exclude)
    return ToolResult(items=got)


def run_similar(ctx: ToolContext, call: ToolCall) -> ToolResult:
    catalog = ctx.services.catalog
    got = ctx.services.engine.similar(list(call.item_ids), history=ctx.history(),
                                      request=call.request, k=call.k, exclude=call.exclude)
    return ToolResult(items=got, source="similar",
                      subjects=[catalog[i].title for i in call.item_ids[:2] if i in catalog])


def run_playlist(ctx: ToolContext, call: ToolCall) -> ToolResult:
    """The whole playlist (never cut to ``call.k``), keeping ``call.keep_ids`` in order."""
    from assistant.playlist import describe, title

    target = call.request.playlist_minutes or DEFAULT_PLAYLIST_MINUTES
    pl = ctx.services.engine.playlist(_history(ctx), call.request, target_minutes=target,
                                      exclude=call.exclude, keep_ids=call.keep_ids)
    info = PlaylistInfo(target_minutes=target, total_minutes=pl.total_minutes,
                        within_tolerance=pl.within_tolerance, tolerance=pl.tolerance,
                        summary=describe(pl, call.request), title=title(call.request, target),
                        levels=dict(pl.levels),
                        notes=dict(pl.notes), kept=pl.kept)
    return ToolResult(items=list(pl.items), source="playlist", playlist=info)


def run_trending(ctx: ToolContext, call: ToolCall) -> ToolResult:
    got = ctx.services.engine.trending(request=call.request, k=call.k, exclude=call.exclude,
                                       history=ctx.history())
    return ToolResult(items=got, source="trending")


def run_details(ctx: ToolContext, call: ToolCall) -> ToolResult:
    from retrieval.diversify import RankedItem

    catalog = ctx.services.catalog
    about = [i for i in call.item_ids if i in catalog]
    if not about:
        return ToolResult(notes=['name a title from the catalog, or point into the list '
                                 '("the second one")'])
    item = catalog[about[0]]
    return ToolResult(items=[RankedItem(item_id=item.id, rank=1, score=1.0)], source="details",
                      subjects=[item.title], facts=item.model_dump(mode="json"))


def run_feedback(ctx: ToolContext, call: ToolCall) -> ToolResult:
    """Store each ``(item_id, kind)`` of the call for the context's user (ids that are not
    in the catalog are skipped: the chat's parser may pass unresolved ones)."""
    services, recorded = ctx.services, []
    if ctx.user_id is None:
        raise ValueError("feedback needs a user. Fix: run it in a ToolContext with a user_id")
    for item_id, kind in call.feedback:
        if item_id in services.catalog:
            services.store.add_event(ctx.user_id, item_id, kind, session_id=ctx.session_id)
            recorded.append(Recorded(item_id, services.catalog[item_id].title, kind))
    if recorded:
        ctx.forget_history()
    return ToolResult(recorded=recorded)


def run_chitchat(ctx: ToolContext, call: ToolCall) -> ToolResult:
    return ToolResult()


def run_history(ctx: ToolContext, call: ToolCall) -> ToolResult:
    """The user's standing feedback given here (the latest event per item, newest first) as
    ``recorded``; ``facts["logged"]``: how many events the bundle's own log holds."""
    from assistant.store import latest_per_item

    if ctx.user_id is None:
        return ToolResult()
    services = ctx.services
    latest = reversed(latest_per_item(services.store.events(ctx.user_id)))
    shown = [Recorded(e.item_id, services.catalog[e.item_id].title
                      if e.item_id in services.catalog else e.item_id, e.kind.value)
             for e in latest]
    logged = len(services.engine.base_history(ctx.user_id))
    return ToolResult(recorded=shown, facts={"logged": logged})


class HistoryArgs(ToolArgs):
    def to_call(self, services: Services) -> ToolCall:
        return ToolCall(request=Request(intent=Intent.history))


TOOLS = Registry([
    Tool("recommend", "Recommend films, series, music or podcasts for the user, optionally "
                      "for a request in words and filters.", RecommendArgs, run_recommend),
    Tool("similar", "Items like a given catalog item, ranked for the user.", SimilarArgs,
         run_similar),
    Tool("playlist", "An ordered playlist of items that match the request, whose total "
                     "length is within 5% of the target minutes where the catalog allows it; "
                     "pass a previous playlist's ids as keep_ids to trim or extend it.",
         PlaylistArgs, run_playlist),
    Tool("trending", "What is popular lately, optionally of some media types.", TrendingArgs,
         run_trending),
    Tool("details", "The catalog facts of one item.", DetailsArgs, run_details),
    Tool("feedback", "Record that the user liked, disliked or has seen an item.", FeedbackArgs,
         run_feedback),
    Tool("chitchat", "Nothing to look up: greetings, thanks, messages with no request.",
         ChitchatArgs, run_chitchat, for_agents=False),
    Tool("history", "The user's own likes, dislikes and items marked seen, newest first.",
         HistoryArgs, run_history, for_agents=False),  # agents read Assistant.history
])
"""Every tool, in the order agents see them."""
