"""Issue 14, defect 5 and the LLM part of item 8: every way an LLM server can fail, through
a fake OpenAI-compatible server on 127.0.0.1 (:mod:`tests.reliability.fake_llm`).

Each turn is answered, shows only checked text, says in its metadata what fell back and
why, and takes at most one deadline. Before the fix a stalled server cost two deadlines a
turn (the parser's and the explainer's), there was no circuit breaker, and every abandoned
call left a thread and a socket behind (10 turns: 1 -> 22 threads, 0 -> 20 sockets).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.settings import Settings
from assistant.store import open_store
from tests.reliability.fake_llm import FORBIDDEN, MODES, FakeLLM, open_sockets

# The fallback reason of (parser, explainer) in each fault mode; None: that stage answered.
EXPECTED: dict[str, tuple[str | None, str | None]] = {
    "ok": (None, None),
    "stall": ("timeout", "deadline spent"),
    "slow": ("timeout", "deadline spent"),
    "http500": ("error: HTTP 500", "error: HTTP 500"),
    "http429": ("error: HTTP 429", "error: HTTP 429"),
    "malformed": ("invalid JSON", "invalid JSON"),
    "empty": ("empty answer", "bad output"),
    "reset": ("connection error", "connection error"),
    "truncated": ("connection error", "connection error"),
    "invented": (None, None),
    "wrong_schema": ("schema violation", "bad output"),
}
DEADLINE_S = 0.6
SLACK_S = 0.6  # a turn's own work (retrieval, ranking) on a loaded two-core machine


def settle(baseline: tuple[int, int], limit_s: float = 3.0) -> tuple[int, int]:
    """Threads and sockets, once they are back to ``baseline`` or ``limit_s`` has passed
    (the fake server's per-connection threads end a moment after the client hangs up)."""
    end = time.monotonic() + limit_s
    while True:
        now = (threading.active_count(), open_sockets())
        if (now[0] <= baseline[0] and now[1] <= baseline[1]) or time.monotonic() > end:
            return now
        time.sleep(0.05)


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM("ok", slow_gap_s=0.05) as server:
        yield server


def _bot(bundle: Path, fake: FakeLLM, **llm: object) -> Assistant:
    settings = Settings(llm=fake.llm_settings(**{"timeout_s": DEADLINE_S, **llm}))
    return Assistant.from_bundle(bundle, settings, store=open_store("sqlite://:memory:"))


def _turn(bot: Assistant, session: str = "s", message: str = "sci-fi films"):
    start = time.monotonic()
    reply = bot.chat(session, bot.users(1)[0], message)
    return reply, time.monotonic() - start


def _reasons(reply) -> tuple[str | None, str | None]:
    by_stage = {f.stage: f.reason for f in reply.meta.fallbacks}
    return by_stage.get("parser"), by_stage.get("explainer")


@pytest.mark.parametrize("mode", MODES)
def test_every_fault_mode_is_answered_with_checked_text_in_one_deadline(
        demo_bundle_path, fake, mode: str) -> None:
    fake.mode = mode
    # The modes that answer at once get a long deadline, so that a loaded machine never
    # turns their fault into a time-out; the stalled and slow ones get the short deadline
    # that they must be cut off at.
    deadline = DEADLINE_S if mode in ("stall", "slow") else 5.0
    with _bot(demo_bundle_path, fake, timeout_s=deadline) as bot:
        reply, took = _turn(bot)
    assert reply.recommendations and all(r.explanation for r in reply.recommendations)
    for rec in reply.recommendations:
        assert not FORBIDDEN.search(rec.explanation), (mode, rec.explanation)
    assert _reasons(reply) == EXPECTED[mode]
    parser, explainer = EXPECTED[mode]
    assert reply.meta.parser == ("llm" if parser is None else "rules")
    assert reply.meta.explainer == ("llm" if explainer is None else "template")
    if mode == "invented":
        assert reply.meta.replaced_sentences > 0
    assert took < deadline + SLACK_S, (mode, took)
    if explainer == "deadline spent":  # the parser used the turn's time: no second call
        assert [c["kind"] for c in fake.calls] == ["parser"]


def test_the_parser_and_the_explainer_share_one_deadline(demo_bundle_path, fake) -> None:
    fake.by_kind = {"explainer": "stall"}
    with _bot(demo_bundle_path, fake, timeout_s=1.0) as bot:
        reply, took = _turn(bot)
    assert _reasons(reply) == (None, "timeout") and reply.meta.parser == "llm"
    assert 0.9 < took < 1.0 + SLACK_S  # one deadline for the whole turn, not one per stage


def test_a_stalled_server_costs_one_deadline_then_the_breaker_skips_it(demo_bundle_path,
                                                                       fake) -> None:
    fake.mode = "stall"
    with _bot(demo_bundle_path, fake, breaker_failures=2, breaker_cooldown_s=60) as bot:
        first, t1 = _turn(bot, "s1")
        second, t2 = _turn(bot, "s2")  # the second failure in a row opens the circuit
        third, t3 = _turn(bot, "s3")
        calls = len(fake.calls)
        fourth, t4 = _turn(bot, "s4")
    assert DEADLINE_S - 0.05 < t1 < DEADLINE_S + SLACK_S  # one deadline, not two
    assert _reasons(first) == ("timeout", "deadline spent")
    assert _reasons(second) == ("timeout", "circuit open")
    assert "skipped for now" in (second.notice or "")
    for reply, took in ((third, t3), (fourth, t4)):
        assert took < SLACK_S  # straight to the offline path
        assert _reasons(reply) == ("circuit open", "circuit open")
        assert "skipped for now" in (reply.notice or "") and reply.recommendations
    assert len(fake.calls) == calls == 2  # an open circuit sends nothing to the server


def test_the_breaker_probes_after_the_cool_down(demo_bundle_path, fake) -> None:
    now = [1000.0]
    fake.mode = "http500"
    # A long turn deadline: this test is about the breaker, and a cold first turn on a busy
    # machine once spent the short one before the explainer's call (CI: "deadline spent").
    with _bot(demo_bundle_path, fake, breaker_failures=2, breaker_cooldown_s=30,
              timeout_s=30.0) as bot:
        bot.services.backends.breaker.clock = lambda: now[0]  # the injectable clock
        assert _reasons(_turn(bot, "a")[0]) == ("error: HTTP 500", "error: HTTP 500")
        assert _reasons(_turn(bot, "b")[0]) == ("circuit open", "circuit open")
        now[0] += 29.0
        assert _reasons(_turn(bot, "c")[0]) == ("circuit open", "circuit open")
        now[0] += 2.0  # the cool-down is over: one probe, which fails and reopens it
        assert _reasons(_turn(bot, "d")[0]) == ("error: HTTP 500", "circuit open")
        assert _reasons(_turn(bot, "e")[0]) == ("circuit open", "circuit open")
        now[0] += 31.0
        fake.mode = "ok"  # the server is back: the probe succeeds and closes the circuit
        reply = _turn(bot, "f")[0]
        assert _reasons(reply) == (None, None) and not reply.notice
        assert (reply.meta.parser, reply.meta.explainer) == ("llm", "llm")
        assert bot.services.backends.breaker.state == "closed"


def test_twenty_stalled_turns_leave_no_threads_or_sockets(demo_bundle_path, fake) -> None:
    deadline = 0.2
    with _bot(demo_bundle_path, fake, timeout_s=deadline, breaker_failures=1000) as bot:
        _turn(bot, "warm-up")  # lazily built parts (the HTTP pool, the sessions) exist now
        fake.mode = "stall"
        before = settle((threading.active_count(), open_sockets()))
        times = []
        for i in range(20):
            reply, took = _turn(bot, f"stalled-{i}")
            assert _reasons(reply) == ("timeout", "deadline spent")
            times.append(took)
        after = settle(before)
    assert after[0] - before[0] <= 2, (before, after)  # threads
    assert after[1] - before[1] <= 2, (before, after)  # sockets
    # Each turn waited for the stalled server; how long at most is the timing tests' concern
    # (above), not this leak count's, which must hold on a machine however busy.
    assert min(times) >= deadline - 0.02
    # The turns really went to the stalled server (no breaker, no shortcut); on a busy
    # machine a turn's 0.2 s can be spent before its request reaches it (CI saw 19 of 20),
    # and that turn still ended on "deadline spent" (asserted above).
    assert len([c for c in fake.calls if c["mode"] == "stall"]) >= 15
