"""The tool registry: each tool once, with its name, argument model and ``run``.

- :class:`ToolCall`: what a tool is asked to do, whoever asks (the chat's planner builds it
  from the merged request; an agent's arguments build it through :meth:`ToolArgs.to_call`).
- :class:`ToolResult`: what it did, as data (items, playlist figures, feedback recorded,
  notes); the English lead is written later, from the cards (:mod:`assistant.turn.lead`).
- :class:`Tool` and :class:`Registry`: the chat dispatches through the registry, and
  :func:`assistant.tools.make_tools` builds the LangChain tools from the same entries.

Example:
    >>> from assistant.turn.toolbox import TOOLS
    >>> TOOLS.names()
    ['recommend', 'similar', 'playlist', 'trending', 'details', 'feedback', 'chitchat', 'history']
    >>> TOOLS.names(agents_only=True)[-1], TOOLS["similar"].args.__name__
    ('feedback', 'SimilarArgs')
    >>> TOOLS["search"]
    Traceback (most recent call last):
    ...
    KeyError: "unknown tool 'search'; valid: recommend, similar, playlist, trending, details, ..."
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from assistant.validation import DEFAULT_K
from retrieval.request import Request

if TYPE_CHECKING:
    from assistant.turn.context import Services, ToolContext
    from retrieval.diversify import RankedItem

__all__ = ["PlaylistInfo", "Recorded", "Registry", "Tool", "ToolArgs", "ToolCall",
           "ToolResult"]


@dataclass(frozen=True)
class ToolCall:
    """One call of a tool.

    Attributes:
        request: The (merged) request it answers; its hard constraints always hold.
        k: How many items (list tools).
        item_ids: The items it is about: the seeds of ``similar``, the item of ``details``.
        exclude: Ids never to show (shown before, rejected, ruled out).
        feedback: ``(item_id, kind)`` pairs for ``feedback`` to store.
        keep_ids: ``playlist``: the previous playlist, in order, to keep (cut from its end
            or extended with the next best items to reach the new target).
    """

    request: Request = field(default_factory=Request)
    k: int = DEFAULT_K
    item_ids: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    feedback: tuple[tuple[str, str], ...] = ()
    keep_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaylistInfo:
    """How long a playlist came out against the length asked for, and in words
    (``summary``: the lead), a name for it (``title``), which items are close matches
    (``levels``, ``notes``) and how many at the start were kept from the previous
    playlist."""

    target_minutes: int
    total_minutes: float
    within_tolerance: bool
    tolerance: float = 0.05
    summary: str = ""
    title: str = ""
    levels: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    kept: int = 0


@dataclass(frozen=True)
class Recorded:
    """One feedback event a tool stored."""

    item_id: str
    title: str
    kind: str


@dataclass(frozen=True)
class ToolResult:
    """What a tool did, as data.

    Attributes:
        items: The picks, in display order.
        source: The candidate source to credit on the cards ('similar', 'playlist'...;
            empty: the ranker's own evidence).
        subjects: Titles the answer is about (the seeds of ``similar``, the item of
            ``details``), for the lead.
        playlist: A playlist's length against its target.
        recorded: Feedback stored by the call.
        facts: The catalog facts of the item a ``details`` call is about.
        notes: Problems to tell the person when nothing came back.
        relaxed: Constraints carried from earlier turns that were dropped (set by the turn).
        lead: The sentence above the cards, written after them (set by the turn).
    """

    items: list[RankedItem] = field(default_factory=list)
    source: str = ""
    subjects: list[str] = field(default_factory=list)
    playlist: PlaylistInfo | None = None
    recorded: list[Recorded] = field(default_factory=list)
    facts: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    relaxed: list[str] = field(default_factory=list)
    lead: str = ""


class ToolArgs(BaseModel):
    """An agent's arguments to a tool (the JSON schema the calling LLM sees)."""

    def to_call(self, services: Services) -> ToolCall:
        """The :class:`ToolCall` these arguments ask for (``services`` parse text and
        check ids).

        Raises:
            UnknownItem: an item id is not in the catalog.
        """
        raise NotImplementedError


@dataclass(frozen=True)
class Tool:
    """One registered tool.

    Attributes:
        name: How the chat's planner and agents call it.
        description: One line for the calling LLM.
        args: The argument model agents fill in.
        run: Does the work; the chat and the agents both call it.
        for_agents: Whether agents get it as a LangChain tool (``chitchat`` has nothing to
            offer them).
    """

    name: str
    description: str
    args: type[ToolArgs]
    run: Callable[[ToolContext, ToolCall], ToolResult]
    for_agents: bool = True


class Registry:
    """Tools by name, in the order they were registered."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> Tool:
        """Add ``tool``.

        Raises:
            ValueError: a tool of that name is registered already.
        """
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is registered already")
        self._tools[tool.name] = tool
        return tool

    def names(self, *, agents_only: bool = False) -> list[str]:
        """Registered names (only those offered to agents with ``agents_only``)."""
        return [t.name for t in self if t.for_agents or not agents_only]

    def __getitem__(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise KeyError(f"unknown tool {name!r}; valid: {', '.join(self._tools)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)
