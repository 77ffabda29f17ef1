"""The plan stage: which tools a turn calls, with which arguments, and the relax policy.

- :func:`plan_turn`: a feedback message first stores what it says (``feedback``: the titles
  it liked or disliked, and the items of the last list it liked: "I loved the first one"),
  then every turn calls one main tool chosen by its intent: ``chitchat``, ``details``,
  ``similar`` (when it has items to start from), ``trending``, ``playlist``, else
  ``recommend``; a message in a language the parser cannot read (issue
  ``unsupported_language``) and naming no title calls ``chitchat``, whose lead says so.
- Follow-ups (:class:`~assistant.session.FollowUp`): "not the second one" (``swap``) asks
  the main tool for as many items as the last list held, with the rest of that list allowed
  again, and :func:`splice` puts the next best into each turned-down place; a playlist
  changed in place ("make it an hour") hands the previous playlist to the tool as
  ``ToolCall.keep_ids`` (``Merged.playlist_ids``, from ``Session.last_playlist_ids``).
- :func:`relax`: when the main tool found nothing, the constraints carried over from earlier
  turns are dropped (what the person said in this message stays; a follow-up keeps the kind
  of item it refines) and the main tool runs again; never for chit-chat or details.

Example:
    >>> from assistant.session import FollowUp, Merged
    >>> req = Request(intent=Intent.playlist, playlist_minutes=90, max_minutes=5)
    >>> plan = plan_turn(req, Merged(request=req, carried=["max_minutes"]), catalog=set())
    >>> [s.tool for s in plan.steps], plan.main.call.request.playlist_minutes
    (['playlist'], 90)
    >>> relaxed, dropped = relax(Merged(request=req, carried=["max_minutes"]))
    >>> relaxed.request.max_minutes, dropped
    (None, ['max_minutes'])
    >>> m = Merged(request=Request(), followup="swap", in_place=["a", "b", "c"],
    ...            rejected_ids=["b"], exclude_ids=["a", "b", "c"])
    >>> call = plan_main(m, catalog=set()).call
    >>> call.k, call.exclude
    (3, ('b',))
    >>> ranked = [RankedItem(item_id=i, rank=n, score=1.0) for n, i in enumerate("cxa", 1)]
    >>> [r.item_id for r in splice(m, ranked)]
    ['a', 'x', 'c']
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass

from assistant import session as sessions
from assistant.session import FollowUp, Merged
from assistant.turn.registry import ToolCall
from assistant.validation import DEFAULT_K, MAX_K
from retrieval.diversify import RankedItem
from retrieval.request import InputIssue, Intent, Request

__all__ = ["Plan", "Step", "plan_main", "plan_turn", "relax", "splice", "swap_notice"]

_NOT_RELAXED = (Intent.chitchat, Intent.details, Intent.history)
_LIST_TOOLS = ("recommend", "similar", "trending")
_KIND_SLOTS = ("media_types", "exclude_media_types")
_TOOL_OF_INTENT = {Intent.chitchat: "chitchat", Intent.details: "details",
                   Intent.history: "history",
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
        # "I loved the first one" points into the last list: the merge resolved it
        liked = [*parsed.like_ids, *(i for i in merged.reference_ids if i in catalog)]
        said = [*((i, "like") for i in dict.fromkeys(liked)),
                *((i, "dislike") for i in parsed.not_ids)]
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
    if merged.in_place and tool in _LIST_TOOLS:
        # the rest of the last list is allowed again; k leaves room for every replacement
        kept = set(merged.in_place) - set(merged.rejected_ids)
        exclude = tuple(i for i in exclude if i not in kept)
        k = min(MAX_K, len(merged.in_place))
    keep = tuple(merged.playlist_ids) if tool == "playlist" else ()
    return Step(tool, ToolCall(request=req, k=k, item_ids=about, exclude=exclude,
                               keep_ids=keep))


def splice(merged: Merged, ranked: Sequence[RankedItem]) -> list[RankedItem]:
    """The last list again, each item turned down swapped for the best of ``ranked`` not in
    it, the rest in their places (with their ranking evidence when ``ranked`` has it). A
    place nothing is left for is closed up. Without ``merged.in_place``: ``ranked``."""
    if not merged.in_place:
        return list(ranked)
    rejected, found = set(merged.rejected_ids), {r.item_id: r for r in ranked}
    fresh = iter([r for r in ranked if r.item_id not in merged.in_place])
    out: list[RankedItem] = []
    for item_id in merged.in_place:
        pick = next(fresh, None) if item_id in rejected else (
            found.get(item_id) or RankedItem(item_id=item_id, rank=1, score=float("nan")))
        if pick is not None:
            out.append(pick)
    # A close match taken in place of an exact one goes after the exact ones: matches
    # always come first, whatever place the turned-down item had.
    out.sort(key=lambda r: r.match == "close")
    return [r.model_copy(update={"rank": k}) for k, r in enumerate(out, 1)]


def swap_notice(merged: Merged, before: Sequence[str], after: Sequence[str],
                titles: Callable[[str], str]) -> str | None:
    """What :func:`splice` did, in words ("in place of Dune: Arrival; the rest as before")."""
    if not merged.in_place:
        return None
    gone = [titles(i) for i in before if i in merged.rejected_ids]
    new = [titles(i) for i in after if i not in before]
    if not new:
        return f"nothing else fits in place of {', '.join(gone)}; the rest is as before"
    return f"in place of {', '.join(gone)}: {', '.join(new)}; the rest is as before"


def relax(merged: Merged) -> tuple[Merged, list[str]]:
    """``merged`` without the constraints carried over from earlier turns, and the names of
    those dropped (empty: nothing may be relaxed, and ``merged`` comes back unchanged).

    A follow-up keeps the kind of item it refines ("shorter" after films means shorter
    films, never podcasts); only a fresh request drops a carried kind.
    """
    if not merged.carried or merged.request.intent in _NOT_RELAXED:
        return merged, []
    slots = None
    if merged.followup is not FollowUp.fresh:
        slots = [s for s in sessions.RELAXABLE if s not in _KIND_SLOTS]
    request, dropped = sessions.relax(merged, slots)
    if not dropped:
        return merged, []
    return merged.model_copy(update={"request": request}), list(dropped)
