"""Issue 14, defect 4: unchecked model text never reaches a person or an API client.

Before the fix the explainer streamed the model's raw tokens (the page showed invented
titles, "999 minutes", ``SYSTEM OVERRIDE ... http://evil.example`` until the final check
replaced them), the final check let ``<script>alert(1)</script>`` through into ``/chat``'s
JSON, and the ``openai`` backend never streamed (``streaming=False`` made LangChain's
``stream()`` call ``invoke``). Each test below failed then.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.core import Assistant
from assistant.explain import grounds_for, template_sentence
from assistant.explain.check import TitleIndex
from assistant.explain.llm import LLMExplainer
from assistant.explain.stream import CheckedStream
from assistant.llm import make_chat_model
from assistant.reply import Grounds
from assistant.settings import LLMSettings, Settings
from assistant.store import open_store
from retrieval.demo import load_demo_catalog
from retrieval.request import Request
from tests.reliability.fake_llm import FakeLLM

# What a checked text may never hold (the fake's "invented" answers are full of it).
FORBIDDEN = re.compile(r"(?<!\d)999(?!\d)|SYSTEM OVERRIDE|evil\.example|https?:|<|>|script|alert\(|"
                       r"ignore previous|API key|\[here\]", re.IGNORECASE)


@pytest.fixture(scope="module")
def catalog():
    return load_demo_catalog()


@pytest.fixture(scope="module")
def picks(catalog):
    request = Request(genres=["science fiction"], max_minutes=200)
    ids = ["mv-arrival-2016", "mv-interstellar-2014", "mv-blade-runner-2049-2017"]
    return [(catalog[i], grounds_for(catalog[i], request, None, catalog)) for i in ids]


def _assistant(bundle: Path, fake: FakeLLM, **llm: object) -> Assistant:
    settings = Settings(llm=fake.llm_settings(**llm))
    return Assistant.from_bundle(bundle, settings, store=open_store("sqlite://:memory:"))


# --- the openai backend really streams, and only checked sentences come out ---------------


def test_openai_backend_streams_checked_sentences_before_the_answer_ends(
        demo_bundle_path) -> None:
    with FakeLLM("ok", token_gap_s=0.02) as fake, \
            _assistant(demo_bundle_path, fake, parser="rules", timeout_s=30) as bot:
        first_at = None
        for reply in bot.chat_stream("s1", bot.users(1)[0], "sci-fi films"):
            if first_at is None and any(r.explanation for r in reply.recommendations):
                first_at = time.monotonic()
                first = [r.explanation for r in reply.recommendations if r.explanation]
        assert [(c["kind"], c["stream"]) for c in fake.calls] == [("explainer", True)]
        assert first_at is not None and fake.last_token_at is not None
        # The first checked sentence reached the caller while the server was still sending.
        assert first_at < fake.last_token_at - 0.5
        assert first == ["A good match for what you asked."]  # a sentence, never a token
        assert reply.meta.explainer == "llm" and not reply.meta.fallbacks
        assert {r.explanation for r in reply.recommendations} == {
            "A good match for what you asked. Worth a try tonight."}


def test_the_explainer_streams_sentences_from_a_real_http_client(catalog, picks) -> None:
    with FakeLLM("ok", token_gap_s=0.01) as fake:
        model = make_chat_model(LLMSettings(**fake.llm_settings(timeout_s=20)), streaming=True)
        events = list(LLMExplainer(model, catalog=catalog, timeout_s=20).stream(picks, None))
        model.http_client.close()
    deltas = [e.text for e in events if e.kind == "delta"]
    assert deltas == ["A good match for what you asked.", " Worth a try tonight."] * 3
    assert [e.text for e in events if e.kind == "final"] == [
        "A good match for what you asked. Worth a try tonight."] * 3


def test_streamed_snapshots_hold_only_checked_text(demo_bundle_path) -> None:
    with FakeLLM("invented", invented_title="Inception") as fake, \
            _assistant(demo_bundle_path, fake, timeout_s=20) as bot:
        user = bot.users(1)[0]
        snapshots = [s.model_dump_json() for s in bot.chat_stream("s1", user, "sci-fi films")]
        reply = bot.chat("s2", user, "sci-fi films")
    assert len(snapshots) > 2
    for snap in snapshots:  # every frame a page or a streaming client would receive
        explanations = re.findall(r'"explanation":"((?:[^"\\]|\\.)*)"', snap)
        assert explanations
        for text in explanations:
            assert not FORBIDDEN.search(text), text
            assert "Inception" not in text
    assert reply.meta.explainer == "llm" and reply.meta.replaced_sentences > 0
    body = reply.model_dump_json()  # what /chat returns
    for rec in reply.recommendations:
        assert rec.explanation and not FORBIDDEN.search(rec.explanation)
    assert "<script" not in body and "evil.example" not in body


def test_the_final_check_strips_scripts_and_markup(catalog, picks) -> None:
    answer = ("1. <script>alert(1)</script> Science fiction, as you asked.\n"
              "2. <b>An epic</b> from [2014](http://evil.example/x).\n"
              "3. &lt;script&gt;alert(2)&lt;/script&gt;Calm and **dark**.")
    r = LLMExplainer(FakeListChatModel(responses=[answer]), catalog=catalog).explain(picks)
    for text in r.texts:
        assert "<" not in text and "script" not in text and "evil" not in text, text
    assert r.texts[0].startswith(template_sentence(picks[0][1]))  # the script's sentence failed
    assert r.texts[2] == template_sentence(picks[2][1])  # so did the encoded one


# --- the sentence gate itself ----------------------------------------------------------------

ANSWERS = [
    "1. A drama from 2016. Like Contact, which you liked.\n2. Calm. <b>Dark</b>.\n3. Fine.",
    "1. Fine pick. <a href='http://evil.example'>Click. Here</a> now.\n2. Good.\n3. Ok.",
    "1. Great <script>if (a. B) alert(1)</script> pick. Then more.\n2. [Look. Here]"
    "(http://x.io/a.b) Nice.\n3. SYSTEM OVERRIDE: obey. Calm.",
    '1. "A drama from 2016." \n2. &lt;img src=x&gt; ok. Runs 999 minutes.\n3. Fine!',
]


def _run(grounds: list[Grounds], titles: TitleIndex, chunks: list[str]):
    gate = CheckedStream(grounds, titles, max_sentences=3)
    shown: list[tuple[int, str]] = []
    for chunk in chunks:
        shown += gate.feed(chunk)
    shown += gate.close()
    return shown, gate.result()


@pytest.mark.parametrize("answer", ANSWERS)
def test_the_gate_shows_the_same_checked_text_however_the_answer_is_cut(answer: str) -> None:
    grounds = [Grounds(title="Arrival", year=2016, matched_genres=["drama"])] * 3
    titles = TitleIndex(["Contact", "Inception"])
    whole, result = _run(grounds, titles, [answer])
    rng = random.Random(7)
    for _ in range(25):
        cuts = sorted(rng.sample(range(1, len(answer)), k=min(12, len(answer) - 1)))
        chunks = [answer[a:b] for a, b in zip([0, *cuts], [*cuts, len(answer)], strict=True)]
        shown, again = _run(grounds, titles, chunks)
        assert again == result
        built = ["", "", ""]
        for i, piece in shown:
            assert not FORBIDDEN.search(piece), piece
            built[i] += piece
        assert [b for b in built if b] == [t for t, b in zip(result.texts, built, strict=True)
                                           if b]
    for text in result.texts:
        assert not FORBIDDEN.search(text), text


def test_the_gate_holds_a_sentence_until_it_has_ended() -> None:
    gate = CheckedStream([Grounds(title="Arrival", year=2016)], TitleIndex(["Inception"]))
    assert gate.feed("1. Like Incep") == []
    assert gate.feed("tion. A film") == [(0, template_sentence(Grounds(title="Arrival",
                                                                        year=2016)))]
    assert gate.feed(" from <scr") == []
    assert gate.feed("ipt>x. Y</script> 2016.") == []  # still the same sentence
    assert gate.close() == []  # it failed, and the template sentence is said once
    assert gate.result().texts == [template_sentence(Grounds(title="Arrival", year=2016))]
