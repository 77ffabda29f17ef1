"""LLM backends: failure reasons, chat model construction, the in-process vLLM model (with a
fake ``vllm`` module here; the real one under the ``gpu`` marker) and the server command.

ChatOpenAI against an HTTP server is exercised in test_parser_llm.py."""

from __future__ import annotations

import doctest
import importlib.util
import json
import os
import socket
import sys
import threading
import time
import types
from types import SimpleNamespace
from typing import Any

import httpx
import openai
import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field, ValidationError

import assistant.llm as llm_module
from assistant.llm import (
    STRUCTURED_OUTPUTS_CONFIG,
    LLMFailure,
    VLLMChatModel,
    failure_reason,
    make_chat_model,
    structured,
    vllm_command,
    vllm_env,
)
from assistant.settings import LLMSettings
from retrieval.request import Request

try:
    import httpx2
except ImportError:  # older openai releases use httpx itself
    httpx2 = httpx


def _raised(exc: BaseException, cause: BaseException | None = None) -> BaseException:
    """``exc`` as it is after ``raise exc from cause`` (with a traceback and a cause)."""
    try:
        raise exc from cause
    except BaseException as caught:  # noqa: BLE001
        return caught


def _validation_error(fn) -> ValidationError:
    try:
        fn()
    except ValidationError as exc:
        return exc
    raise AssertionError("expected a ValidationError")


_REQ = httpx2.Request("POST", "http://127.0.0.1:1/v1/chat/completions")


def _completion() -> Any:
    from openai.types.chat import ChatCompletion

    return ChatCompletion.model_construct(id="c", choices=[], created=0, model="m",
                                          object="chat.completion", usage=None)


@pytest.mark.parametrize(("exc", "reason"), [
    (openai.APITimeoutError(request=_REQ), "timeout"),
    (_raised(RuntimeError("wrapped"), TimeoutError("timed out")), "timeout"),
    (_raised(openai.APIConnectionError(request=_REQ),
             httpx2.ConnectError("[Errno 111] Connection refused")), "connection refused"),
    (_raised(openai.APIConnectionError(request=_REQ),
             httpx2.ConnectError("[Errno -2] Name or service not known")), "connection error"),
    (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
    (_validation_error(lambda: Request.model_validate_json('{"intent": "rec')), "invalid JSON"),
    (_validation_error(lambda: Request(year_min=5)), "schema violation"),
    (OutputParserException("Invalid json output: Sure!"), "invalid JSON"),
    (json.JSONDecodeError("Expecting value", "x", 0), "invalid JSON"),
    (_raised(RuntimeError("outer"), LLMFailure("unknown title", "Zorblax")), "unknown title"),
    (openai.LengthFinishReasonError(completion=_completion()), "max tokens reached"),
    (openai.InternalServerError("boom", response=httpx2.Response(500, request=_REQ), body=None),
     "error: HTTP 500"),
    (KeyError("x"), "error: KeyError"),
])
def test_failure_reason(exc: BaseException, reason: str) -> None:
    assert failure_reason(exc) == reason


def test_failure_reason_refusal() -> None:
    from langchain_openai.chat_models.base import OpenAIRefusalError

    assert failure_reason(OpenAIRefusalError("I can't help with that")) == "refused"


def test_llm_failure_carries_reason_and_detail() -> None:
    err = LLMFailure("timeout", "no answer in 20 s")
    assert (err.reason, err.detail, str(err)) == ("timeout", "no answer in 20 s",
                                                  "timeout: no answer in 20 s")
    assert str(LLMFailure("refused")) == "refused"


def test_make_chat_model_openai_uses_every_setting() -> None:
    s = LLMSettings(base_url="http://10.0.0.5:8001/v1", model="org/m", api_key="k",
                    timeout_s=7.5, max_tokens=300, temperature=0.3)
    m = make_chat_model(s, streaming=True)
    assert isinstance(m, ChatOpenAI)
    assert (m.openai_api_base, m.model_name, m.request_timeout, m.max_retries) == (
        "http://10.0.0.5:8001/v1", "org/m", 7.5, 0)
    assert (m.max_tokens, m.temperature, m.streaming) == (300, 0.3, True)
    assert m.openai_api_key.get_secret_value() == "k"


def test_make_chat_model_needs_a_model() -> None:
    with pytest.raises(ValueError, match="ENCORE_LLM__MODEL"):
        make_chat_model(LLMSettings(model="  "))


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_vllm_backend_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ModuleNotFoundError
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'encore-rec\[gpu\]'"):
        make_chat_model(LLMSettings(backend="vllm", model="/models/m"))


# --- the in-process model, with a fake vllm module ------------------------------------------


class Pick(BaseModel):
    model_config = {"extra": "forbid"}
    title: str = Field(max_length=50)
    year: int | None = Field(ge=1800, le=2100)


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    state = SimpleNamespace(engines=[], reply='{"title": "Arrival", "year": 2016}',
                            finish_reason="stop")

    class LLM:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs
            self.calls: list[tuple[Any, Any]] = []
            state.engines.append(self)

        def chat(self, messages, sampling_params=None, use_tqdm=True):
            self.calls.append((messages, sampling_params))
            out = SimpleNamespace(text=state.reply, finish_reason=state.finish_reason)
            return [SimpleNamespace(outputs=[out])]

    class Params:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

    vllm = types.ModuleType("vllm")
    vllm.LLM = LLM
    vllm.SamplingParams = type("SamplingParams", (Params,), {})
    sampling = types.ModuleType("vllm.sampling_params")
    sampling.StructuredOutputsParams = type("StructuredOutputsParams", (Params,), {})
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", sampling)
    return state


def test_vllm_chat_model_structured_output(fake_vllm: SimpleNamespace) -> None:
    m = make_chat_model(LLMSettings(backend="vllm", model="/models/m", max_tokens=200))
    assert isinstance(m, VLLMChatModel) and fake_vllm.engines == []  # started lazily
    chain = structured(m, Pick)
    assert chain.invoke([SystemMessage(content="be brief"), HumanMessage(content="a film?")]) == \
        Pick(title="Arrival", year=2016)
    chain.invoke("again")
    assert len(fake_vllm.engines) == 1  # one engine for every call
    engine = fake_vllm.engines[0]
    assert engine.kwargs == {"model": "/models/m", "dtype": "auto",
                             "structured_outputs_config": STRUCTURED_OUTPUTS_CONFIG}
    messages, params = engine.calls[0]
    assert messages == [{"role": "system", "content": "be brief"},
                        {"role": "user", "content": "a film?"}]
    assert params.kwargs["max_tokens"] == 200 and params.kwargs["temperature"] == 0.0
    schema = params.kwargs["structured_outputs"].kwargs["json"]
    assert schema == Pick.model_json_schema()
    assert schema["additionalProperties"] is False and schema["required"] == ["title", "year"]


def test_vllm_chat_model_plain_text_and_failures(fake_vllm: SimpleNamespace) -> None:
    m = VLLMChatModel(model="/models/m", max_model_len=2048)
    fake_vllm.reply = "hello"
    assert m.invoke("hi").content == "hello"
    assert "structured_outputs" not in fake_vllm.engines[0].calls[0][1].kwargs
    assert fake_vllm.engines[0].kwargs["max_model_len"] == 2048
    fake_vllm.reply, fake_vllm.finish_reason = '{"title": "Arr', "length"
    with pytest.raises(LLMFailure, match="ENCORE_LLM__MAX_TOKENS") as info:
        structured(m, Pick).invoke("a film?")
    assert info.value.reason == "max tokens reached"
    fake_vllm.finish_reason = "stop"
    fake_vllm.reply = '{"title": "Arrival", "year": 1200}'
    with pytest.raises(ValidationError) as err:
        structured(m, Pick).invoke("a film?")
    assert failure_reason(err.value) == "schema violation"
    with pytest.raises(ValueError, match="pydantic model class"):
        m.with_structured_output({"type": "object"})


@pytest.mark.gpu
def test_vllm_chat_model_real_engine() -> None:
    """The real in-process engine: set VLLM_TEST_MODEL to a local model folder."""
    pytest.importorskip("vllm")
    folder = os.environ.get("VLLM_TEST_MODEL")
    if not folder:
        pytest.skip("set VLLM_TEST_MODEL to a local model folder")
    m = VLLMChatModel(model=folder, max_model_len=2048, max_tokens=128)
    assert isinstance(structured(m, Pick).invoke("Name one film as JSON."), Pick)


# --- structured() with other chat models -------------------------------------------------------


def test_structured_parses_the_text_of_any_chat_model() -> None:
    replies = [AIMessage(content=' {"title": "Up", "year": null}\n'),
               AIMessage(content="```json\n{}\n```")]
    fake = GenericFakeChatModel(messages=iter(replies))
    chain = structured(fake, Pick)
    assert chain.invoke("?") == Pick(title="Up", year=None)
    with pytest.raises(ValidationError) as err:
        chain.invoke("?")
    assert failure_reason(err.value) == "invalid JSON"  # no Markdown fences accepted


def test_structured_chat_openai_asks_for_a_strict_json_schema() -> None:
    m = make_chat_model(LLMSettings(model="m", base_url="http://127.0.0.1:9/v1"))
    bound = structured(m, Pick).first
    assert bound.kwargs["response_format"] is Pick
    assert bound.kwargs["ls_structured_output_format"]["kwargs"] == {"method": "json_schema",
                                                                     "strict": True}


# --- the server command ---------------------------------------------------------------------------


def test_vllm_command_gpu_form() -> None:
    assert vllm_command("org/model", host="0.0.0.0", port=8001, max_model_len=4096) == [
        "vllm", "serve", "org/model", "--host", "0.0.0.0", "--port", "8001",
        "--max-model-len", "4096",
        "--structured-outputs-config", '{"backend":"guidance","disable_any_whitespace":true}']


def test_vllm_command_cpu_form() -> None:
    argv = vllm_command("/models/tiny", cpu=True, served_model_name="tiny")
    assert argv == [
        "python", "-m", "vllm.entrypoints.openai.api_server", "--model", "/models/tiny",
        "--host", "127.0.0.1", "--port", "8000", "--served-model-name", "tiny",
        "--dtype", "bfloat16", "--enforce-eager",
        "--structured-outputs-config", '{"backend":"guidance","disable_any_whitespace":true}']
    config = json.loads(argv[argv.index("--structured-outputs-config") + 1])
    assert config == {"backend": "guidance", "disable_any_whitespace": True}


@pytest.mark.parametrize("kwargs", [{"model": ""}, {"model": "m", "port": 0},
                                    {"model": "m", "port": 70000},
                                    {"model": "m", "max_model_len": 8}])
def test_vllm_command_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        vllm_command(**kwargs)


def test_vllm_env(tmp_path) -> None:
    assert vllm_env("org/model") == {"VLLM_NO_USAGE_STATS": "1"}
    assert vllm_env(str(tmp_path), cpu=True, kv_cache_gib=2) == {
        "VLLM_NO_USAGE_STATS": "1", "VLLM_CPU_KVCACHE_SPACE": "2", "HF_HUB_OFFLINE": "1"}


# --- one deadline, enforced by the HTTP client itself ---------------------------------------


class RawServer:
    """A loopback TCP server that reads a request and then stalls (``trickle=False``) or
    sends a response whose body comes one byte every 50 ms, for ever (``trickle=True``)."""

    def __init__(self, trickle: bool) -> None:
        self.trickle = trickle
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                if self.trickle:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not self.stop.wait(0.05):
                    try:
                        if self.trickle:
                            conn.sendall(b"x")
                        elif not conn.recv(1):
                            break  # the client hung up
                    except OSError:
                        break

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture(params=[False, True], ids=["stall", "trickle"])
def raw_server(request: pytest.FixtureRequest) -> Any:
    server = RawServer(trickle=request.param)
    yield server
    server.close()


def test_the_http_client_ends_every_call_at_the_turn_deadline(raw_server: RawServer) -> None:
    """The client's own time-out (30 s, per read) would let a trickle run for ever; the
    turn's deadline (0.4 s) bounds the whole call, in this thread."""
    from assistant.deadline import TurnDeadline
    from assistant.llm_http import deadline_http_client, http_modules

    hx, _ = http_modules()
    client = deadline_http_client(LLMSettings(timeout_s=30))
    threads = threading.active_count()
    start = time.monotonic()
    with TurnDeadline(0.4).active(), pytest.raises(hx.TimeoutException):
        client.post(raw_server.url + "/v1/chat/completions", json={"x": 1}).read()
    took = time.monotonic() - start
    assert 0.35 < took < 1.0 and threading.active_count() == threads
    with TurnDeadline(0.01).active():  # a spent deadline sends nothing
        time.sleep(0.02)
        with pytest.raises(hx.TimeoutException):
            client.post(raw_server.url + "/v1/chat/completions", json={})
    client.close()


def test_a_spent_deadline_is_a_timeout_and_a_live_one_tells_the_time_left() -> None:
    from assistant.deadline import DeadlineSpent, TurnDeadline

    now = [0.0]
    d = TurnDeadline(2.0, clock=lambda: now[0])
    assert d.left() == 2.0 and TurnDeadline.current() is None
    with d.active():
        assert TurnDeadline.current() is d
    now[0] = 2.5
    with pytest.raises(DeadlineSpent) as info:
        d.check("the parser model")
    assert failure_reason(info.value) == "timeout" and "llm.timeout_s" in str(info.value)
    with pytest.raises(ValueError, match="ENCORE_LLM__TIMEOUT_S"):
        TurnDeadline(0)


def test_the_openai_backend_streams_on_a_deadline_aware_pooled_client() -> None:
    from assistant.llm import interruptible
    from assistant.llm_http import is_deadline_aware

    s = LLMSettings(model="m", base_url="http://127.0.0.1:9/v1", api_key="k", max_connections=3)
    parser, explainer = make_chat_model(s), make_chat_model(s, streaming=True)
    # An explicit streaming=False would make LangChain's stream() fall back to invoke().
    assert "streaming" not in parser.model_fields_set and explainer.streaming is True
    assert explainer._should_stream(async_api=False, stream=True)  # noqa: SLF001
    assert parser._should_stream(async_api=False, stream=True)  # noqa: SLF001
    assert is_deadline_aware(parser.http_client) and interruptible(explainer)
    assert not interruptible(GenericFakeChatModel(messages=iter([])))
    parser.http_client.close()
    explainer.http_client.close()


def test_make_chat_model_reads_a_secret_api_key() -> None:
    from pydantic import SecretStr

    s = LLMSettings.model_construct(**{**LLMSettings(model="m").model_dump(),
                                       "api_key": SecretStr("sk-secret")})
    m = make_chat_model(s)
    assert m.openai_api_key.get_secret_value() == "sk-secret"
    m.http_client.close()


def test_docstring_examples() -> None:
    import assistant.deadline as deadline_module
    import assistant.llm_calls as calls_module
    import assistant.llm_http as http_module
    import assistant.parsers.llm as parser_module

    for module in (llm_module, parser_module, deadline_module, calls_module, http_module):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__
