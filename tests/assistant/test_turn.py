"""The turn's parts: the tool registry (and the LangChain tools built from it), the plan
and relax policy, the lead text, the sessions cache, and the stages end to end on the real
demo bundle (a real FAISS index, LightGBM ranker and SQLite store)."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import threading

import pytest
from pydantic import BaseModel, ValidationError

from assistant.core import Assistant
from assistant.errors import EncoreError, UnknownItem
from assistant.session import FollowUp, Merged, Session
from assistant.sessions_cache import SessionCache
from assistant.settings import Settings
from assistant.store import open_store
from assistant.turn import TOOLS, Registry, Tool, ToolArgs, ToolCall, ToolResult, plan_turn, relax
from assistant.turn.lead import lead_text
from assistant.turn.registry import PlaylistInfo, Recorded
from retrieval.request import Intent, Request, TitleRef, TitleRole

# One valid and one invalid argument set per tool an agent can call.
_ARGS = {
    "recommend": ({"query": "a podcast about space", "media_types": ["podcast"],
                   "max_minutes": 40, "k": 3}, {"k": 0}),
    "similar": ({"item_id": "mv-arrival-2016", "k": 5}, {"item_id": ""}),
    "playlist": ({"minutes": 90, "query": "albums"}, {"query": "albums", "minutes": 0}),
    "trending": ({"media_types": ["album"], "k": 4}, {"media_types": ["vinyl"]}),
    "details": ({"item_id": "mv-arrival-2016"}, {}),
    "feedback": ({"item_id": "mv-arrival-2016", "kind": "seen"},
                 {"item_id": "mv-arrival-2016", "kind": "love"}),
    "chitchat": ({}, None),
    "history": ({}, None),
}


@pytest.fixture()
def bot(demo_bundle_path, tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    with Assistant.from_bundle(demo_bundle_path, Settings(), store=store) as a:
        yield a


# -- the registry ---------------------------------------------------------------------------


def test_every_tool_is_registered_once_with_an_argument_model_that_validates() -> None:
    assert TOOLS.names() == list(_ARGS)
    for tool in TOOLS:
        assert issubclass(tool.args, ToolArgs) and callable(tool.run) and tool.description
        good, bad = _ARGS[tool.name]
        assert isinstance(tool.args.model_validate(good), BaseModel)
        assert tool.args.model_json_schema()["type"] == "object"
        if bad is not None:
            with pytest.raises(ValidationError):
                tool.args.model_validate(bad)


def test_the_registry_refuses_duplicates_and_names_the_valid_tools() -> None:
    reg = Registry([TOOLS["details"]])
    with pytest.raises(ValueError, match="registered already"):
        reg.register(TOOLS["details"])
    with pytest.raises(KeyError, match="valid: details"):
        reg["nope"]
    assert "details" in reg and len(reg) == 1


def test_the_langchain_tools_are_the_registry(bot) -> None:
    from assistant.tools import TOOL_NAMES, make_tools

    tools = make_tools(bot, "u1")
    agents = [t for t in TOOLS if t.for_agents]
    assert [t.name for t in tools] == [t.name for t in agents] == list(TOOL_NAMES)
    assert TOOL_NAMES == ("recommend", "similar", "playlist", "trending", "details", "feedback")
    for lc, tool in zip(tools, agents, strict=True):
        assert lc.args_schema is tool.args and lc.description == tool.description


def test_run_tool_checks_its_arguments(bot) -> None:
    user = bot.users(1)[0]
    with pytest.raises(EncoreError, match="unknown tool 'search'. Fix: use one of recommend"):
        bot.run_tool("search", user, {})
    with pytest.raises(EncoreError, match="invalid argument k of tool 'recommend'"):
        bot.run_tool("recommend", user, {"k": 99})
    with pytest.raises(UnknownItem):
        bot.run_tool("details", user, {"item_id": "nope"})
    result, cards = bot.run_tool("details", user, {"item_id": "mv-arrival-2016"})
    assert result.facts and result.facts["title"] == "Arrival"
    assert [c.item_id for c in cards] == ["mv-arrival-2016"] and cards[0].explanation == ""
    result, cards = bot.run_tool("feedback", user, {"item_id": "mv-arrival-2016",
                                                    "kind": "like"})
    assert result.recorded == [Recorded("mv-arrival-2016", "Arrival", "like")] and not cards
    assert bot.history(user)[-1].item_id == "mv-arrival-2016"
    result, cards = bot.run_tool("trending", user, {"media_types": ["podcast"], "k": 3})
    assert len(cards) == 3 and all(c.media_type == "podcast" and c.explanation for c in cards)


# -- plan and relax -------------------------------------------------------------------------


def _like(item_id: str, role: TitleRole = TitleRole.like) -> TitleRef:
    return TitleRef(text=item_id, item_id=item_id, role=role)


@pytest.mark.parametrize(("intent", "refs", "tool"), [
    (Intent.recommend, [], "recommend"), (Intent.search, [], "recommend"),
    (Intent.similar, ["a"], "similar"), (Intent.similar, [], "recommend"),
    (Intent.similar, ["not-in-catalog"], "recommend"), (Intent.trending, [], "trending"),
    (Intent.playlist, [], "playlist"), (Intent.details, ["a"], "details"),
    (Intent.chitchat, [], "chitchat")])
def test_the_intent_picks_the_tool(intent, refs, tool) -> None:
    req = Request(intent=intent, count=7, exclude_ids=["x"])
    merged = Merged(request=req, reference_ids=refs, exclude_ids=["y", "x"])
    plan = plan_turn(req, merged, catalog={"a", "b"})
    assert [s.tool for s in plan.steps] == [tool]
    call = plan.main.call
    assert call.k == 7 and call.exclude == ("y", "x") and call.request is req
    if tool in ("similar", "details"):
        assert call.item_ids == ("a",)


def test_a_feedback_message_stores_first_then_recommends() -> None:
    parsed = Request(intent=Intent.feedback,
                     titles=[_like("a"), _like("b", TitleRole.not_), _like("c")])
    plan = plan_turn(parsed, Merged(request=parsed), catalog={"a", "b", "c"})
    assert [s.tool for s in plan.steps] == ["feedback", "recommend"]
    assert plan.steps[0].call.feedback == (("a", "like"), ("c", "like"), ("b", "dislike"))


def test_relax_drops_only_carried_constraints_and_never_for_details_or_chitchat() -> None:
    req = Request(genres=["drama"], max_minutes=90, year_min=1990)
    relaxed, dropped = relax(Merged(request=req, carried=["max_minutes"]))
    assert dropped == ["max_minutes"]
    assert relaxed.request.max_minutes is None and relaxed.request.year_min == 1990
    for intent in (Intent.details, Intent.chitchat):
        m = Merged(request=req.model_copy(update={"intent": intent}), carried=["max_minutes"])
        assert relax(m) == (m, [])
    m = Merged(request=req)
    assert relax(m) == (m, [])
    # a follow-up keeps the kind of item it refines; a fresh request may lose it
    m = Merged(request=req.model_copy(update={"media_types": ["movie"]}),
               carried=["media_types", "max_minutes"], followup=FollowUp.refine)
    assert relax(m)[1] == ["max_minutes"]
    assert relax(m.model_copy(update={"followup": FollowUp.fresh}))[1] == [
        "media_types", "max_minutes"]


# -- lead -----------------------------------------------------------------------------------


def test_leads_are_written_from_what_is_shown() -> None:
    req = Request(media_types=["album"], genres=["jazz"])
    assert lead_text("recommend", req, ToolResult(), 0) == "I found nothing that fits."
    assert lead_text("recommend", req, ToolResult(), 3) == "Here are 3 jazz albums:"
    assert lead_text("trending", req, ToolResult(), 4) == "Popular lately in albums:"
    assert lead_text("similar", req, ToolResult(subjects=["Arrival", "Dune"]), 2) == \
        "Like Arrival, Dune:"
    assert lead_text("details", req, ToolResult(), 0).startswith("Which title")
    short = PlaylistInfo(target_minutes=120, total_minutes=80.4, within_tolerance=False)
    assert lead_text("playlist", req, ToolResult(playlist=short), 5) == \
        "The closest I could get to 120 minutes is 80 minutes (5 items):"
    noted = ToolResult(recorded=[Recorded("a", "Parasite", "like"),
                                 Recorded("b", "Get Out", "dislike")])
    assert lead_text("feedback", req, noted, 0) == \
        "Noted: you liked Parasite; you did not like Get Out. "
    assert lead_text("feedback", req, ToolResult(), 0) == ""


# -- sessions cache -------------------------------------------------------------------------


def test_sessions_cache_restores_bounds_and_locks(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    cache = SessionCache(store, max_sessions=2)
    for sid in ("s1", "s2", "s3"):
        s = cache.load(sid, "u1")
        s.turn = 4
        cache.save(s)
    assert list(cache._sessions) == [("u1", "s2"), ("u1", "s3")]  # least recently used went first
    assert cache.load("s1", "u1").turn == 4  # but the store still has it
    assert SessionCache(store).load("s2", "u1").turn == 4  # another worker sees it
    assert cache.load("s2", "u2").turn == 0  # another user's session is not theirs
    store.save_session("bad", "u1", {"turn": "many"})
    assert cache.load("bad", "u1") == Session(session_id="bad", user_id="u1")
    assert cache.lock("s1") is cache.lock("s1") and cache.lock("s1") is not cache.lock("s2")
    cache.forget("s1", "u1")
    assert cache.load("s1", "u1").turn == 0 and store.load_session("s1", "u1") is None


# -- the stages end to end ------------------------------------------------------------------


def test_relax_runs_the_main_tool_again_without_carried_constraints(bot, monkeypatch) -> None:
    user = bot.users(1)[0]
    first = bot.chat("r", user, "sci-fi films under 2 hours")
    assert first.request.max_minutes == 120 and first.recommendations
    real = TOOLS["recommend"]
    calls: list[Request] = []

    def picky(ctx, call: ToolCall) -> ToolResult:
        calls.append(call.request)  # nothing fits while the carried length limit holds
        return ToolResult() if call.request.max_minutes else real.run(ctx, call)

    monkeypatch.setitem(TOOLS._tools, "recommend", dataclasses.replace(real, run=picky))
    second = bot.chat("r", user, "something darker")
    assert [r.max_minutes for r in calls] == [120, None]
    # the carried length goes; a follow-up keeps the kind of item it refines
    assert second.meta.relaxed == ["max_minutes"] and second.recommendations
    # in words a person understands, never the slots' names
    assert "so I dropped: at most 120 minutes" in second.notice
    assert "max_minutes" not in second.notice + second.text
    assert second.request.genres == ["science fiction"]  # "darker" shifted the mood only
    assert second.request.max_minutes is None and second.request.media_types == ["movie"]
    assert second.text.startswith((f"Here are {len(second.recommendations)} ", "Only "))
    third = bot.chat("r", user, "more")  # the session kept the relaxed request
    assert third.request.max_minutes is None


def test_each_stage_is_timed_and_the_session_is_saved_before_the_first_snapshot(bot) -> None:
    user = bot.users(1)[0]
    stream = bot.chat_stream("t", user, "jazz albums")
    first = next(stream)
    assert first.recommendations and bot.store.load_session("t", user)["turn"] == 1
    last = list(stream)[-1]
    assert set(last.meta.timings_ms) == {"parse", "merge", "rank", "explain", "total"}
    assert last.meta.explainer == "template"


def test_chitchat_and_details_are_not_explained(bot) -> None:
    user = bot.users(1)[0]
    hello = bot.chat("c", user, "hi")
    assert hello.intent == "chitchat" and hello.text.startswith("Tell me what")
    assert hello.recommendations == [] and hello.meta.explainer == "none"
    bot.chat("c", user, "podcasts")
    about = bot.chat("c", user, "tell me about the first one")
    assert about.intent == "details" and about.meta.explainer == "none"
    assert about.recommendations[0].explanation == about.recommendations[0].description


def test_a_session_lock_serialises_turns_of_one_conversation(bot) -> None:
    user = bot.users(1)[0]
    turns: list[int] = []

    def talk() -> None:
        turns.append(bot.chat("same", user, "films").turn)

    threads = [threading.Thread(target=talk) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(turns) == [1, 2, 3]


def test_a_registry_tool_without_a_user_is_refused() -> None:
    from assistant.turn.context import ToolContext

    ctx = ToolContext(services=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a user"):
        TOOLS["feedback"].run(ctx, ToolCall(feedback=(("a", "like"),)))
    assert isinstance(TOOLS["chitchat"], Tool)


# -- one deadline per turn and the circuit breaker ------------------------------------------


def _llm_backends(clock):
    import socket

    from assistant.settings import LLMSettings
    from assistant.turn.backends import Backends
    from retrieval.demo import load_demo_catalog

    with socket.socket() as s:  # a port nobody listens on: no call may get anywhere
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    llm = LLMSettings(parser="llm", explainer="llm", model="m", timeout_s=5,
                      base_url=f"http://127.0.0.1:{port}/v1", breaker_failures=2,
                      breaker_cooldown_s=10)
    return Backends(llm, load_demo_catalog(), clock=clock)


def test_the_breaker_sends_turns_offline_and_the_deadline_is_shared() -> None:
    from assistant.deadline import TurnDeadline
    from assistant.reply import Fallback
    from assistant.turn.backends import CIRCUIT_OPEN, DEADLINE_SPENT, LLMTurn

    now = [100.0]
    b = _llm_backends(lambda: now[0])
    try:
        turn = b.begin()
        assert turn.admitted and turn.deadline.left() == 5.0 and b.skip_reason(turn) is None
        now[0] += 5.0  # the parser used the whole deadline: the explainer makes no call
        explainer, skipped = b.explainer_for(turn)
        assert explainer is b.template and skipped.reason == DEADLINE_SPENT
        b.record(skipped)  # a stage that made no call does not count
        assert b.breaker.consecutive_failures == 0
        b.record(Fallback(stage="parser", wanted="llm", used="rules", reason="timeout"))
        b.record(Fallback(stage="parser", wanted="llm", used="rules", reason="unknown title"))
        assert b.breaker.consecutive_failures == 0  # the server answered: it is healthy
        b.record(Fallback(stage="parser", wanted="llm", used="rules", reason="timeout"))
        b.record(Fallback(stage="explainer", wanted="llm", used="template", reason="bad output"))
        assert b.breaker.consecutive_failures == 0  # a weak model does not open the circuit
        for _ in range(2):
            b.record(Fallback(stage="parser", wanted="llm", used="rules", reason="timeout"))
        offline = b.begin()
        assert not offline.admitted and b.breaker.state == "open"
        parsed = b.parse("90s sci-fi films", turn=offline)
        assert parsed.parser == "rules" and parsed.fallback.reason == CIRCUIT_OPEN
        assert parsed.request.year_min == 1990
        assert b.explainer_for(offline)[1].reason == CIRCUIT_OPEN
        assert "skipped for now" in b.skipped_notice() and "10 s" in b.skipped_notice()
        now[0] += 11.0
        probe = b.begin()
        assert probe.admitted and b.breaker.state == "half-open" and not b.begin().admitted
        stale = LLMTurn(TurnDeadline(1.0, clock=lambda: now[0]), admitted=True)
        b.record(None)  # the probe answered
        assert b.breaker.state == "closed" and b.skip_reason(stale) is None
    finally:
        b.close()


# -- docstring examples of the new modules --------------------------------------------------


@pytest.mark.parametrize("name", [
    "assistant.validation", "assistant.sessions_cache", "assistant.user_history",
    "assistant.turn.backends", "assistant.turn.registry", "assistant.turn.toolbox",
    "assistant.turn.plan", "assistant.turn.lead", "assistant.turn.cards", "assistant.breaker"])
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
