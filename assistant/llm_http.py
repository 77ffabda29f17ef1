"""The HTTP client of the ``openai`` backend: one per assistant, a bounded connection pool,
and every socket operation bounded by the turn's deadline.

The OpenAI client's own time-out is per operation: a server that accepts a request and never
answers holds the call for the whole ``llm.timeout_s``, and one that trickles a byte now and
then holds it for ever. Here the HTTP transport runs on a network backend whose connect,
read and write clamp their time-out to what is left of the active
:class:`~assistant.deadline.TurnDeadline`. So:

- a call returns (or raises a time-out) by the turn's deadline, in the caller's own thread:
  no helper thread is left blocked on a socket;
- the connection of an abandoned call is closed (the HTTP library closes a connection whose
  response was not read to the end), so no socket is left open either;
- outside a deadline (a call made with no turn), the client's own time-outs apply.

Connections are pooled (``llm.max_connections`` at most, a few kept alive), so concurrent
turns share a bounded number of sockets.

Example:
    >>> from assistant.settings import LLMSettings
    >>> client = deadline_http_client(LLMSettings(max_connections=4))
    >>> is_deadline_aware(client), is_deadline_aware(object())
    (True, False)
    >>> client.close()
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from assistant.deadline import TurnDeadline

if TYPE_CHECKING:
    from assistant.settings import LLMSettings

__all__ = ["deadline_http_client", "http_modules", "is_deadline_aware"]

_AWARE: weakref.WeakSet[Any] = weakref.WeakSet()
KEEPALIVE_CONNECTIONS = 4
"""Idle connections kept open per client (at most ``llm.max_connections``)."""


def http_modules() -> tuple[ModuleType, ModuleType]:
    """``(httpx, httpcore)``: the modules of the HTTP library the OpenAI client uses
    (``httpx2``/``httpcore2`` in recent openai releases, ``httpx``/``httpcore`` before)."""
    import openai._base_client as base

    if hasattr(base, "httpx2"):
        import httpcore2
        import httpx2

        return httpx2, httpcore2
    import httpcore
    import httpx

    return httpx, httpcore


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` cut to the active deadline's time left; ``error`` once it is spent."""
    deadline = TurnDeadline.current()
    if deadline is None:
        return timeout
    left = deadline.left()
    if left <= 0.0:
        raise error(f"the turn's LLM deadline of {deadline.budget_s:g} s is spent "
                    "(llm.timeout_s)")
    return left if timeout is None else min(timeout, left)


def _backend_classes(core: ModuleType) -> tuple[type, type]:
    """A network stream and backend of ``core`` (httpcore) that obey the active deadline."""

    class DeadlineStream(core.NetworkStream):  # type: ignore[name-defined]
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self._inner.read(max_bytes, _clamp(timeout, core.ReadTimeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, _clamp(timeout, core.WriteTimeout))

        def close(self) -> None:
            self._inner.close()

        def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                      timeout: float | None = None) -> Any:
            return DeadlineStream(self._inner.start_tls(
                ssl_context, server_hostname, _clamp(timeout, core.ConnectTimeout)))

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class DeadlineBackend(core.NetworkBackend):  # type: ignore[name-defined]
        def __init__(self) -> None:
            self._inner = core.SyncBackend()

        def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                        local_address: str | None = None,
                        socket_options: Iterable[Any] | None = None) -> Any:
            return DeadlineStream(self._inner.connect_tcp(
                host, port, _clamp(timeout, core.ConnectTimeout), local_address,
                socket_options))

        def connect_unix_socket(self, path: str, timeout: float | None = None,
                                socket_options: Iterable[Any] | None = None) -> Any:
            return DeadlineStream(self._inner.connect_unix_socket(
                path, _clamp(timeout, core.ConnectTimeout), socket_options))

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

    return DeadlineStream, DeadlineBackend


def _transport(hx: ModuleType, core: ModuleType, max_connections: int) -> Any:
    """An HTTP transport whose connection pool runs on the deadline-aware backend."""
    _, backend = _backend_classes(core)
    keep = min(KEEPALIVE_CONNECTIONS, max_connections)
    transport = hx.HTTPTransport(limits=hx.Limits(max_connections=max_connections,
                                                  max_keepalive_connections=keep))
    # httpx builds its pool without a network-backend argument; the pool is rebuilt the
    # same way with ours (the transport's one private field Encore touches).
    transport._pool = core.ConnectionPool(
        ssl_context=hx.create_ssl_context(), max_connections=max_connections,
        max_keepalive_connections=keep, keepalive_expiry=30.0, http1=True, http2=False,
        network_backend=backend())

    class DeadlineTransport(hx.BaseTransport):  # type: ignore[name-defined]
        """Cuts the request's own time-outs (the pool wait included) to the time left."""

        def handle_request(self, request: Any) -> Any:
            deadline = TurnDeadline.current()
            if deadline is not None:
                left = deadline.left()
                if left <= 0.0:
                    raise hx.PoolTimeout("the turn's LLM deadline is spent (llm.timeout_s)",
                                         request=request)
                given = request.extensions.get("timeout", {})
                request.extensions["timeout"] = {
                    k: left if given.get(k) is None else min(given[k], left)
                    for k in ("connect", "read", "write", "pool")}
            return transport.handle_request(request)

        def close(self) -> None:
            transport.close()

    return DeadlineTransport()


def deadline_http_client(llm: LLMSettings) -> Any:
    """A new HTTP client for the OpenAI client (``http_client=`` of ``ChatOpenAI``): a pool of
    at most ``llm.max_connections`` connections, ``llm.timeout_s`` as its own time-out, and
    every socket operation cut to the active turn deadline. Close it when done."""
    hx, core = http_modules()
    client = hx.Client(transport=_transport(hx, core, int(llm.max_connections)),
                       timeout=hx.Timeout(float(llm.timeout_s)), trust_env=False)
    _AWARE.add(client)
    return client


def is_deadline_aware(client: Any) -> bool:
    """Whether ``client`` came from :func:`deadline_http_client`."""
    try:
        return client in _AWARE
    except TypeError:  # not weak-referenceable: not ours
        return False
