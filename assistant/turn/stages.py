"""One chat turn in explicit stages, and the one-shot path the API and the agents share.

A turn (:class:`Turn`) runs::

    parse -> merge -> plan -> run tools -> cards -> lead -> explain

- **parse**: the message as a :class:`~retrieval.request.Request` (LLM, else rules).
- **merge**: with the session (:func:`assistant.session.merge`): carried constraints, what
  not to show again, what "the second one" means.
- **plan**: which registered tools to call (:mod:`assistant.turn.plan`).
- **run tools**: through the registry; "not the second one" puts the next best in the
  turned-down place and keeps the rest of the list (:func:`~assistant.turn.plan.splice`);
  otherwise, when the main tool finds nothing, the relax policy drops constraints carried
  from earlier turns and runs it again.
- **cards**: picks -> :class:`~assistant.reply.Recommendation` with their grounds.
- **lead**: the sentence above the cards, from what is shown (:mod:`assistant.turn.lead`).
- **explain**: one reason per card, streamed into the reply (checked text only).

The turn has one LLM deadline (``llm.timeout_s``), shared by the parse and explain stages
(:meth:`Backends.begin <assistant.turn.backends.Backends.begin>`); while the circuit breaker
is open no stage calls the LLM, and the reply's notice says so.

Each stage's milliseconds go to ``Reply.meta.timings_ms`` (parse, merge, rank, explain,
total); which parser and explainer answered, and every fallback, to ``Reply.meta``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from assistant import session as sessions
from assistant.reply import PlaylistReply, Recommendation, Reply, TurnMeta
from assistant.turn import lead as words
from assistant.turn.backends import CIRCUIT_OPEN
from assistant.turn.cards import details_cards, make_cards
from assistant.turn.context import ToolContext
from assistant.turn.explain import explain_cards, explain_stream
from assistant.turn.plan import Plan, Step, plan_main, plan_turn, relax, splice, swap_notice
from assistant.turn.toolbox import TOOLS
from assistant.validation import DEFAULT_K
from retrieval.request import InputIssue

if TYPE_CHECKING:
    from assistant.session import Merged, Session
    from assistant.sessions_cache import SessionCache
    from assistant.turn.backends import LLMTurn, Parsed
    from assistant.turn.context import Services
    from assistant.turn.registry import ToolCall, ToolResult
    from retrieval.request import Request

__all__ = ["OTHER_LANGUAGE", "Ran", "Turn", "answer"]

OTHER_LANGUAGE = ("Sorry, the offline parser reads English only, so I did not understand "
                  "that message. Please ask in English, or switch to the LLM parser "
                  "(ENCORE_LLM__PARSER=llm), which reads more languages.")
"""The reply to a message the parser could not read (issue ``unsupported_language``)."""

_SIZED = ("recommend", "similar", "trending")  # tools whose list length is the turn's k
_CHECKED = ("recommend", "similar", "trending", "playlist")  # tools that apply the filter
_FIELDS: dict[str, dict[str, Any]] = {  # a catalog field -> the request slots it judges
    "duration": {"min_minutes": None, "max_minutes": None},
    "year": {"year_min": None, "year_max": None},
    "language": {"language": None}}


def answer(ctx: ToolContext, tool: str, call: ToolCall, *, explain: bool = True
           ) -> tuple[ToolResult, list[Recommendation]]:
    """Run one registered tool outside a conversation and make its cards (explained unless
    ``explain`` is False, and never for ``details``)."""
    services = ctx.services
    result = TOOLS[tool].run(ctx, call)
    cards = make_cards(result.items, call.request, services.catalog, source=result.source,
                       min_cosine=services.engine.cite_min_cosine)
    if explain and tool != "details":
        cards = explain_cards(services.backends, services.catalog, cards, call.request)
    return result, cards


@dataclass(frozen=True)
class Ran:
    """What the run-tools stage did: each step's result, and the merge it ran against
    (relaxed when the relax policy dropped constraints)."""

    results: list[tuple[str, ToolResult]]
    merged: Merged

    @property
    def tool(self) -> str:
        return self.results[-1][0]

    @property
    def main(self) -> ToolResult:
        return self.results[-1][1]


class Turn:
    """One message of one conversation, answered stage by stage.

    Args:
        services: The assistant's engine, catalog, store and backends.
        cache: The sessions (the caller holds this session's lock for the whole turn).
        session_id: The conversation.
        user_id: Who speaks.
        message: What they said (anything not a string is read as its text).
        k: How many items a list shows, unless the message names a number.
    """

    def __init__(self, services: Services, cache: SessionCache, session_id: str,
                 user_id: str, message: Any, *, k: int = DEFAULT_K) -> None:
        self.services = services
        self.cache = cache
        self.session_id = session_id
        self.user_id = user_id
        self.text = message if isinstance(message, str) else "" if message is None else str(message)
        self.meta = TurnMeta(ranker=services.engine.ranker_name)
        self.timings: dict[str, float] = {}
        self.notices: list[str] = []
        self.k = k
        self.count: int | None = None  # the number the message itself says

    def run(self) -> Iterator[Reply]:
        """Yield the reply with its cards, then as its explanations are written; the last
        snapshot is complete (with the timings)."""
        t0 = time.perf_counter()
        llm = self.services.backends.begin()
        session = self.cache.load(self.session_id, self.user_id)
        parsed = self.parse(session, llm)
        self.count = parsed.request.count
        self.timings["parse"] = _ms(t0)
        t = time.perf_counter()
        merged = sessions.merge(session, parsed.request, self.services.catalog)
        self.timings["merge"] = _ms(t)
        t = time.perf_counter()
        ctx = ToolContext(self.services, self.user_id, self.session_id)
        self.notices = self.opening_notices(parsed.request, merged)
        ran = self.run_tools(plan_turn(parsed.request, merged, self.services.catalog), merged,
                             ctx)
        self.timings["rank"] = _ms(t)
        reply, cards = self.compose(session, ran)
        self.note_llm_skipped(reply, llm)
        yield reply
        t = time.perf_counter()
        if cards and ran.tool != "details":
            yield from explain_stream(self.services.backends, self.services.catalog, reply,
                                      cards, ran.merged.request, llm,
                                      llm_model=self.services.settings.llm.model)
        else:
            reply.meta.explainer = "none"
        self.note_llm_skipped(reply, llm)
        self.timings["explain"] = _ms(t)
        self.timings["total"] = _ms(t0)
        reply.meta.timings_ms = self.timings
        yield reply

    # -- stages ---------------------------------------------------------------------------

    def parse(self, session: Session, llm: LLMTurn | None = None) -> Parsed:
        """The parse stage; records the parser that answered (and any fallback)."""
        parsed = self.services.backends.parse(self.text, session.context(), llm)
        self.meta.parser = parsed.parser
        if parsed.fallback is not None:
            self.meta.fallbacks.append(parsed.fallback)
        elif parsed.parser == "llm":
            self.meta.llm_model = self.services.settings.llm.model
        return parsed

    def note_llm_skipped(self, reply: Reply, llm: LLMTurn) -> None:
        """Say in the reply's notice that the LLM is skipped for now (circuit open)."""
        backends = self.services.backends
        skipped = (not llm.admitted and backends.uses_llm) or any(
            fb.reason == CIRCUIT_OPEN for fb in reply.meta.fallbacks)
        if not skipped or (reply.notice and "skipped for now" in reply.notice):
            return
        notice = backends.skipped_notice()
        reply.notice = f"{reply.notice}; {notice}" if reply.notice else notice

    def opening_notices(self, parsed: Request, merged: Merged) -> list[str]:
        """What the merge noted, a new user, titles the catalog does not hold."""
        notices = list(merged.notes)
        if not self.services.is_known(self.user_id):
            notices.append(words.new_user_notice())
        unresolved = [tr.text for tr in parsed.titles if tr.item_id is None]
        if unresolved:
            notices.append(words.unresolved_notice(unresolved))
        return notices

    def run_tools(self, plan: Plan, merged: Merged, ctx: ToolContext) -> Ran:
        """Run the plan through the registry; relax the main call when it found nothing."""
        results = [(step.tool, TOOLS[step.tool].run(ctx, step.call)) for step in plan.before]
        main = self.sized(plan.main)
        result = TOOLS[main.tool].run(ctx, main.call)
        if merged.in_place and main.tool != "playlist":  # "not the second one": swap in place
            items = splice(merged, result.items)
            catalog = self.services.catalog
            notice = swap_notice(merged, merged.in_place, [r.item_id for r in items],
                                 lambda i: catalog[i].title if i in catalog else i)
            self.notices.extend([notice] if notice else [])
            result = replace(result, items=items)
        elif not result.items:
            relaxed, dropped = relax(merged)
            if dropped:
                before, merged = merged.request, relaxed
                main = self.sized(plan_main(merged, self.services.catalog))
                result = replace(TOOLS[main.tool].run(ctx, main.call), relaxed=dropped)
                self.meta.relaxed = list(dropped)
                if result.items:
                    self.notices.append(words.relaxed_notice(dropped, before))
        return Ran([*results, (main.tool, result)], merged)

    def sized(self, step: Step) -> Step:
        """A list tool's step with the list length of this turn: the number the message
        itself says ("five thrillers"), else the caller's ``k`` (never a count carried
        over from an earlier message)."""
        if step.tool not in _SIZED:
            return step
        return Step(step.tool, replace(step.call, k=self.count or self.k))

    def checked(self, request: Request, tool: str) -> Request:
        """The request as the list honours it: constraints the catalog cannot judge (no
        durations, no languages) are left out, and a notice says they were not checked."""
        unchecked = self.services.engine.unchecked(request) if tool in _CHECKED else ()
        notice = words.unchecked_notice(unchecked)
        if notice is None:
            return request
        self.notices.append(notice)
        cleared: dict[str, Any] = {}
        for name in unchecked:
            cleared.update(_FIELDS.get(name, {}))
        return request.model_copy(update=cleared)

    def compose(self, session: Session, ran: Ran) -> tuple[Reply, list[Recommendation]]:
        """Cards, lead and notices; the session records what is shown and is saved."""
        catalog, request, result = self.services.catalog, ran.merged.request, ran.main
        said = self.checked(request, ran.tool)
        if not result.items and ran.tool not in ("chitchat", "history"):
            notice = words.no_match_notice(said, result)
            if notice:
                self.notices.append(notice)
        cards = make_cards(result.items, request, catalog, source=result.source,
                           min_cosine=self.services.engine.cite_min_cosine)
        if ran.tool == "details":
            cards = details_cards(cards)
        lead = "".join(words.lead_text(tool, said, res, len(cards) if res is result else 0)
                       for tool, res in ran.results)
        if ran.tool == "chitchat" and InputIssue.unsupported_language in request.issues:
            lead = OTHER_LANGUAGE
        sessions.record(session, [c.item_id for c in cards], ran.merged)
        self.cache.save(session)
        reply = Reply(session_id=self.session_id, user_id=self.user_id, turn=session.turn,
                      text=lead, intent=request.intent.value, recommendations=cards,
                      request=request, notice="; ".join(self.notices) or None, meta=self.meta,
                      playlist=_playlist(result, cards, self.text, self.user_id))
        return reply, cards


def _playlist(result: ToolResult, cards: list[Recommendation], text: str, user_id: str
              ) -> PlaylistReply | None:
    """The whole playlist of a playlist turn (its cards are the reply's own)."""
    if result.playlist is None:
        return None
    from assistant.playlist import playlist_reply

    return playlist_reply(result.playlist, cards, query=text, user_id=user_id,
                          with_cards=False)


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000.0, 2)
