"""Encore's tools as LangChain tools, for other agents: recommend, similar, playlist,
trending, details and feedback. They are built from the registry the chat dispatches
through (:data:`assistant.turn.TOOLS`): each takes that tool's argument model (the pydantic
schema the calling LLM sees), runs it with :meth:`~assistant.core.Assistant.run_tool` for
one user, and returns plain JSON data.

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

from typing import TYPE_CHECKING, Any

from assistant.reply import Recommendation
from assistant.turn.toolbox import TOOLS

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from assistant.core import Assistant
    from assistant.turn import Tool, ToolResult

__all__ = ["TOOL_NAMES", "agent_answer", "make_tools"]

TOOL_NAMES = tuple(TOOLS.names(agents_only=True))
"""The tools agents get, in order."""


def agent_answer(result: ToolResult, cards: list[Recommendation]) -> Any:
    """A tool's result as JSON data for an agent: a playlist's figures and items, the
    feedback recorded, an item's facts, else the list of cards."""
    shown = [c.model_dump(mode="json", exclude={"description"}) for c in cards]
    if result.playlist is not None:
        pl = result.playlist
        return {"target_minutes": pl.target_minutes,
                "total_minutes": round(pl.total_minutes, 1),
                "within_tolerance": pl.within_tolerance, "items": shown}
    if result.recorded:
        first = result.recorded[0]
        return {"recorded": True, "item_id": first.item_id, "kind": first.kind}
    if result.facts is not None:
        return result.facts
    return shown


def make_tools(assistant: Assistant, user_id: str) -> list[BaseTool]:
    """The registry's agent tools, bound to ``assistant`` and ``user_id``."""
    from langchain_core.tools import StructuredTool

    return [StructuredTool.from_function(func=_runner(assistant, user_id, tool), name=tool.name,
                                         description=tool.description, args_schema=tool.args)
            for tool in TOOLS if tool.for_agents]


def _runner(assistant: Assistant, user_id: str, tool: Tool) -> Any:
    def run(**arguments: Any) -> Any:
        return agent_answer(*assistant.run_tool(tool.name, user_id, arguments))

    run.__name__ = tool.name
    return run
