"""The OpenAI-compatible protocol of a real vLLM server, as Encore's LLM backends use it.

The served model is tiny and random (see ``tiny_llm.py``), so these tests check formats,
structured output, streaming, time-outs and the LLM parser's failure contract; never the
meaning of an answer.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Literal

import httpx
import openai
import pytest
from langchain_core.messages import AIMessageChunk
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from retrieval.request import Request

pytestmark = pytest.mark.integration

# Bounded in every direction, so even a random model must close the JSON within max_tokens:
# strings have maxLength, lists maxItems, numbers ranges, and there are no free floats.
PICK_MAX_TOKENS = 300


class Pick(BaseModel):
    """A small strict schema: every property required, no extra ones."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=40)
    media_type: Literal["movie", "series", "podcast", "album"]
    year: int = Field(ge=1900, le=2030)
    genres: list[Literal["drama", "comedy", "horror", "documentary"]] = Field(max_length=3)
    note: str | None = Field(max_length=20)


def chat(server, **kwargs) -> ChatOpenAI:
    """A ChatOpenAI pointed at the test server, with no retries (a failure shows at once)."""
    options = {"base_url": server.base_url, "api_key": "EMPTY", "model": server.model,
               "max_retries": 0, "timeout": 60, "use_responses_api": False, **kwargs}
    return ChatOpenAI(**options)


def test_models_lists_the_served_model(vllm_server) -> None:
    r = httpx.get(f"{vllm_server.base_url}/models", timeout=10)
    assert r.status_code == 200, r.text
    models = r.json()["data"]
    assert [m["id"] for m in models] == [vllm_server.model]
    assert models[0]["root"] == str(vllm_server.model_dir)
    assert models[0]["max_model_len"] == vllm_server.max_model_len


def test_json_schema_response_format_returns_valid_json(vllm_server) -> None:
    client = openai.OpenAI(base_url=vllm_server.base_url, api_key="EMPTY", max_retries=0,
                           timeout=60)
    schema = Pick.model_json_schema()
    assert set(schema["required"]) == set(schema["properties"])  # strict: all required
    messages = [{"role": "user", "content": "Pick one film for tonight, as JSON."}]
    for seed in range(5):
        completion = client.chat.completions.create(
            model=vllm_server.model, messages=messages, max_tokens=PICK_MAX_TOKENS,
            temperature=1.0, seed=seed,
            response_format={"type": "json_schema",
                             "json_schema": {"name": "Pick", "schema": schema, "strict": True}})
        choice = completion.choices[0]
        assert choice.finish_reason == "stop", (seed, choice.message.content)
        data = json.loads(choice.message.content)  # strict: no control characters in strings
        assert set(data) == set(schema["properties"]), data
        Pick.model_validate(data)

    # Control: without a response format the same random model writes no such JSON, so the
    # valid replies above are the server's constrained decoding at work.
    free = client.chat.completions.create(model=vllm_server.model, messages=messages,
                                          max_tokens=40, temperature=0)
    with pytest.raises((ValueError, ValidationError)):
        Pick.model_validate_json(free.choices[0].message.content or "")


def test_langchain_structured_output_strict(vllm_server) -> None:
    model = chat(vllm_server, max_tokens=PICK_MAX_TOKENS, temperature=1.0)
    runnable = model.with_structured_output(Pick, method="json_schema", strict=True)
    for message in ["a film for tonight", "something funny", "a podcast about history"]:
        start = time.monotonic()
        pick = runnable.invoke(message)
        assert isinstance(pick, Pick), pick
        assert time.monotonic() - start < 30


# Request's validators that a JSON schema cannot express: positions are never 0, and
# year_min <= year_max, min_minutes <= max_minutes (pydantic type "value_error"); a label of
# spaces only is empty once stripped ("string_too_short").
def _outside_json_schema(error: dict) -> bool:
    if error["type"] == "value_error":
        return True
    return (error["type"] == "string_too_short" and isinstance(error.get("input"), str)
            and not error["input"].strip())


def test_request_schema_is_enforced_by_the_server(vllm_server) -> None:
    """Request's strict schema is accepted, and the server keeps replies inside it; only
    rules a JSON schema cannot express may fail (which is why the LLM parser fills its own
    ``ParsedRequest`` and checks the result)."""
    client = openai.OpenAI(base_url=vllm_server.base_url, api_key="EMPTY", max_retries=0,
                           timeout=60)
    schema = openai.pydantic_function_tool(Request)["function"]["parameters"]
    outcomes = []
    for seed in range(4):
        completion = client.chat.completions.create(
            model=vllm_server.model, max_tokens=600, temperature=1.0, seed=seed,
            messages=[{"role": "user", "content": "90s sci-fi films under 2 hours"}],
            response_format={"type": "json_schema",
                             "json_schema": {"name": "Request", "schema": schema,
                                             "strict": True}})
        choice = completion.choices[0]
        if choice.finish_reason == "length":  # Request's bounds allow ~10k characters
            outcomes.append("length")
            continue
        assert choice.finish_reason == "stop"
        data = json.loads(choice.message.content)
        assert set(data) == set(schema["properties"]), data
        try:
            Request.model_validate(data)
            outcomes.append("valid")
        except ValidationError as exc:
            bad = [e for e in exc.errors() if not _outside_json_schema(e)]
            assert not bad, f"the server let a schema violation through: {bad}"
            outcomes.append("validator")
    print("Request via response_format:", outcomes)


def test_langchain_request_fails_only_in_known_ways(vllm_server) -> None:
    """with_structured_output(Request, strict=True): a Request, or the two errors the LLM
    parser has to turn into a fallback (the OpenAI client validates before LangChain)."""
    runnable = chat(vllm_server, max_tokens=600, temperature=1.0).with_structured_output(
        Request, method="json_schema", strict=True)
    outcomes = []
    for message in ["90s sci-fi films under 2 hours", "something like Arrival, no horror",
                    "a podcast for a 40-minute drive"]:
        try:
            outcomes.append(type(runnable.invoke(message)).__name__)
        except (ValidationError, openai.LengthFinishReasonError) as exc:
            outcomes.append(type(exc).__name__)
    assert set(outcomes) <= {"Request", "ValidationError", "LengthFinishReasonError"}
    print("Request via LangChain:", outcomes)


def test_llm_parser_returns_a_request_or_a_reasoned_failure(vllm_server) -> None:
    from assistant.llm import LLMFailure
    from assistant.parsers import make_parser
    from assistant.settings import LLMSettings
    from retrieval.demo import load_demo_catalog

    settings = LLMSettings(parser="llm", base_url=vllm_server.base_url, model=vllm_server.model,
                           max_tokens=512, timeout_s=60)
    parser = make_parser("llm", load_demo_catalog(), settings=settings)
    outcomes = []
    for message in ["90s sci-fi films under 2 hours", "something like Arrival but shorter",
                    "a podcast for a 40-minute drive", "not the second one", "hello"]:
        try:
            request = parser.parse(message)
        except LLMFailure as exc:
            # A failure of the model's output; never of the transport or the protocol (an
            # HTTP 400 here meant a prompt longer than the server's context).
            assert exc.reason and not exc.reason.startswith("error"), exc
            assert exc.reason not in {"timeout", "connection refused", "connection error"}, exc
            outcomes.append(exc.reason)
        else:
            assert isinstance(request, Request)
            outcomes.append("Request")
    print("LLM parser:", outcomes)


def test_llm_parser_time_out_is_a_reasoned_failure(vllm_server) -> None:
    from assistant.llm import LLMFailure
    from assistant.parsers import make_parser
    from assistant.settings import LLMSettings
    from retrieval.demo import load_demo_catalog

    settings = LLMSettings(parser="llm", base_url=vllm_server.base_url, model=vllm_server.model,
                           max_tokens=512, timeout_s=0.001)  # no HTTP round trip fits in 1 ms
    parser = make_parser("llm", load_demo_catalog(), settings=settings)
    with pytest.raises(LLMFailure) as info:
        parser.parse("90s sci-fi films under 2 hours")
    assert info.value.reason == "timeout", info.value


def test_streaming_yields_the_same_text_in_chunks(vllm_server) -> None:
    # Greedy decoding and a fixed length (ignore_eos), so streamed and whole replies match.
    model = chat(vllm_server, max_tokens=16, temperature=0, extra_body={"ignore_eos": True})
    chunks = list(model.stream("Tell me about Dune."))
    assert len(chunks) > 1 and all(isinstance(c, AIMessageChunk) for c in chunks)
    merged = chunks[0]
    for c in chunks[1:]:
        merged += c
    assert merged.response_metadata.get("finish_reason") == "length"
    whole = model.invoke("Tell me about Dune.")
    # (A random model may emit only special tokens, which decode to "": equal is the check.)
    assert merged.content == whole.content


def test_abandoned_requests_do_not_break_the_server(vllm_server) -> None:
    # Clients that give up (Encore's time-outs) hang up mid-generation: ~900 forced tokens,
    # and the socket closed before any answer. The server must go on serving.
    # (Whether an HTTP client's own time-out fires is not tested here: in full runs of this
    # folder a raw request sometimes got its whole answer at once, so a 50 ms client
    # time-out was not reliably shorter than the answer. Encore does not rely on it:
    # llm.timeout_s is a wall-clock deadline around each call, assistant.llm.
    # call_with_deadline and the explainer's own, tested offline with slow models and here
    # in test_llm_parser_time_out_is_a_reasoned_failure and test_vllm_turns.py.)
    body = json.dumps({"model": vllm_server.model, "max_tokens": 900, "ignore_eos": True,
                       "messages": [{"role": "user", "content": "Tell me a long story."}]})
    url = httpx.URL(vllm_server.base_url)
    head = (f"POST {url.path}/chat/completions HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    for _ in range(3):
        with socket.create_connection((url.host, url.port), timeout=10) as sock:
            sock.sendall(head.encode() + body.encode())
    # The abandoned request does not break the server.
    assert httpx.get(f"{vllm_server.root_url}/health", timeout=10).status_code == 200
    assert chat(vllm_server, max_tokens=4).invoke("hi").response_metadata["finish_reason"]
