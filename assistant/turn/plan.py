"""The plan stage: which tools a turn calls, with which arguments, and the relax policy.

- :func:`plan_turn`: a feedback message first stores what it says (``feedback``), then every
  turn calls one main tool chosen by its intent: ``chitchat``, ``details``, ``similar``
  (when it has items to start from), ``trending``, ``playlist``, else ``recommend``; a
  message in a language the parser cannot read (issue ``unsupported_language``) and naming no
  title calls ``chitchat``, whose lead says so.
- :func:`relax`: when the main tool found nothing, the constraints carried over from earlier
  turns are dropped (what the person said in this message stays) and the main tool runs
  again; never for chit-chat or details.

Example:
    >>> from assistant.session import Merged
    >>> req = Request(intent=Intent.playlist, playlist_minutes=90, max_minutes=5)
    >>> plan = plan_turn(req, Merged(request=req, carried=["max_minutes"]), catalog=set())
    >>> [s.tool for s in plan.steps], plan.main.call.request.playlist_minutes
    (['playlist'], 90)
    >>> relaxed, dropped = relax(Merged(request=req, carried=["max_minutes"]))
    >>> relaxed.request.max_minutes, dropped
    (None, ['max_minutes'])
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from assistant import session as sessions
from assistant.session import Merged
from assistant.turn.registry import ToolCall
from assistant.validation import DEFAULT_K
from retrieval.request import InputIssue, Intent, Request

__all__ = ["Plan", "Step", "plan_main", "plan_turn", "relax"]

_NOT_RELAXED = (Intent.chitchat, Intent.details)
_TOOL_OF_INTENT = {Intent.chitchat: "chitchat", Intent.details: "details",
                   Intent.trending: "trending", Intent.playlist: "playlist"}


@dataclass(frozen=True)
class Step:
    """One tool call of a plan."""

    tool: str
    call: ToolCall


@dataclass(frozen=True)
class Plan:
    """The calls of one turn, in order; the last one's items are what the reply shows."""

    steps: tuple[Step, ...]

    @property
    def main(self) -> Step:
        return self.steps[-1]

    @property
    def before(self) -> tuple[Step, ...]:
        return self.steps[:-1]


def plan_turn(parsed: Request, merged: Merged, catalog: Container[str]) -> Plan:
    """The plan for a message whose request is ``parsed`` (as the parser read it) and
    ``merged`` (with the session).

    Args:
        parsed: The message's own request (its feedback is stored as said).
        merged: The request merged with the session, with what to exclude and point at.
        catalog: Item ids that exist (anything else is ignored).
    """
    steps = []
    if parsed.intent == Intent.feedback:
        said = [*((i, "like") for i in parsed.like_ids), *((i, "dislike") for i in parsed.not_ids)]
        steps.append(Step("feedback", ToolCall(request=parsed, feedback=tuple(said))))
    steps.append(plan_main(merged, catalog))
    return Plan(tuple(steps))


def plan_main(merged: Merged, catalog: Container[str]) -> Step:
    """The main call for ``merged``: the tool its intent names, over its request."""
    req = merged.request
    exclude = tuple(dict.fromkeys([*merged.exclude_ids, *req.exclude_ids]))
    refs = tuple(i for i in dict.fromkeys([*merged.reference_ids, *req.like_ids])
                 if i in catalog)
    k = req.count or DEFAULT_K
    tool = _TOOL_OF_INTENT.get(req.intent, "recommend")
    if req.intent == Intent.similar and refs:
        tool = "similar"
    elif InputIssue.unsupported_language in req.issues and not refs:
        tool = "chitchat"  # nothing was read: the turn says so instead of an unrelated list
    about: tuple[str, ...] = refs
    if tool == "details":
        about = tuple(i for i in (*req.about_ids, *refs) if i in catalog)
    return Step(tool, ToolCall(request=req, k=k, item_ids=about, exclude=exclude))


def relax(merged: Merged) -> tuple[Merged, list[str]]:
    """``merged`` without the constraints carried over from earlier turns, and the names of
    those dropped (empty: nothing may be relaxed, and ``merged`` comes back unchanged)."""
    if not merged.carried or merged.request.intent in _NOT_RELAXED:
        return merged, []
    request, dropped = sessions.relax(merged)
    if not dropped:
        return merged, []
    return merged.model_copy(update={"request": request}), list(dropped)
