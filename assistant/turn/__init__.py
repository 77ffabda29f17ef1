"""One chat turn in explicit stages, and the tool registry the chat and agents share.

| module | stage or part |
|---|---|
| :mod:`~assistant.turn.backends` | parser, explainer, LLM deadline and breaker (parse) |
| :mod:`~assistant.turn.plan` | intent -> tool calls, and the relax policy (plan) |
| :mod:`~assistant.turn.registry` | calls, results, :class:`Tool` and the :class:`Registry` |
| :mod:`~assistant.turn.toolbox` | the tools themselves, registered in :data:`TOOLS` (run tools) |
| :mod:`~assistant.turn.cards` | picks -> cards with their grounds (cards) |
| :mod:`~assistant.turn.lead` | the English above the cards and the notices (lead) |
| :mod:`~assistant.turn.explain` | one reason per card (explain) |
| :mod:`~assistant.turn.stages` | :class:`Turn`, the stages in order, and :func:`answer` |

The merge stage is :func:`assistant.session.merge`; sessions and their locks live in
:mod:`assistant.sessions_cache`, input checks in :mod:`assistant.validation`.
"""

from assistant.turn.backends import Backends, LLMTurn, Parsed
from assistant.turn.context import Services, ToolContext
from assistant.turn.plan import Plan, Step, plan_turn, relax
from assistant.turn.registry import (
           PlaylistInfo,
           Recorded,
           Registry,
           Tool,
           ToolArgs,
           ToolCall,
           ToolResult,
)
from assistant.turn.stages import Turn, answer
from assistant.turn.toolbox import TOOLS

__all__ = ["TOOLS", "Backends", "LLMTurn", "Parsed", "Plan", "PlaylistInfo", "Recorded", "Registry",
           "Services", "Step", "Tool", "ToolArgs", "ToolCall", "ToolContext", "ToolResult", "Turn",
           "answer", "plan_turn", "relax"]
