"""The assistant's JSON HTTP API: ``/chat``, ``/recommend``, ``/feedback``, ``/history``.

The same four calls as the page's named endpoints (:func:`assistant.ui.handlers.wire_api`),
with the same checks and the same access rules (:mod:`assistant.ui.access`): they run the
page's own ``api_*`` handlers (:class:`~assistant.ui.page.ChatPage`), so the page and the
API cannot drift apart. What differs is the transport: plain JSON over HTTP, one request
per call, no event queue, so any worker process may answer any call (see
:mod:`assistant.serve`).

Who calls (:class:`~assistant.ui.access.Access`): in open mode anyone, for any user; behind
a signing-in proxy (``--trusted-header``) the header names the person; with accounts, HTTP
Basic credentials checked (and throttled) as the page's sign-in is.

Example (not run: it needs a bundle):
    >>> from fastapi.testclient import TestClient                        # doctest: +SKIP
    >>> api = build_api(Assistant.from_bundle(".encore/bundle"))         # doctest: +SKIP
    >>> TestClient(api).post("/chat", json={"message": "a dark crime series",
    ...                                     "session_id": "s1"}).json()["text"]  # doctest: +SKIP
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request,
# the body models) at definition time, from build_api's own scope.
import base64
import binascii
import logging
import os
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, Field

from assistant.errors import BundleNotReady, EncoreError, UnknownItem
from assistant.ui.access import Access, AccessDenied, Viewer
from assistant.ui.page import AssistantLoader, ChatPage

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

    from assistant.core import Assistant

__all__ = ["ApiHandlers", "ChatBody", "FeedbackBody", "RecommendBody", "build_api"]

log = logging.getLogger(__name__)


class ChatBody(BaseModel):
    """``POST /chat``: one turn (reuse the reply's ``session_id`` for the next)."""

    message: Any = None
    user_id: Any = ""
    session_id: Any = ""


class RecommendBody(BaseModel):
    """``POST /recommend``: recommendations for a user and an optional request."""

    user_id: Any = ""
    query: Any = ""
    k: Any = Field(default=10)


class FeedbackBody(BaseModel):
    """``POST /feedback``: like / dislike / seen for an item."""

    user_id: Any = ""
    item_id: Any = ""
    kind: Any = "like"
    session_id: Any = ""


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None
                 ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class ApiHandlers(ChatPage):
    """The page's ``api_*`` handlers with plain errors instead of ``gradio.Error`` (fields
    are checked as loosely typed JSON, as the page's are, by :mod:`assistant.ui.checks`)."""

    def _api_assistant(self) -> "Assistant":
        return self.loader.get()

    def _api_call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except AccessDenied as exc:
            raise ApiError(403, str(exc)) from None
        except BundleNotReady as exc:
            raise ApiError(503, str(exc), {"Retry-After": "5"}) from None
        except UnknownItem as exc:
            raise ApiError(404, str(exc.args[0] if exc.args else exc)) from None
        except EncoreError as exc:
            raise ApiError(400, str(exc)) from None
        except Exception:
            log.exception("API call failed")  # internals stay in the server log
            raise ApiError(500, "internal error; see the server log") from None


def build_api(assistant: "Assistant | Callable[[], Assistant] | AssistantLoader", *,
              access: Access | None = None, title: str = "Encore API") -> "FastAPI":
    """The JSON API over ``assistant`` (an assistant, a factory run in a background thread,
    or a loader), for the callers ``access`` admits (default: open).

    ``GET /healthz`` answers 200 once the assistant is loaded (503 before), with the
    process id and the bundle generation served, so a supervisor or a load balancer can
    tell when a worker is ready. Every response names the process that answered it in an
    ``X-Encore-Worker`` header.
    """
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    loader = assistant if isinstance(assistant, AssistantLoader) else AssistantLoader(assistant)
    handlers = ApiHandlers(loader, access=access or Access.open())
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def _worker_header(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["X-Encore-Worker"] = str(os.getpid())  # which process answered
        return response

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status, headers=exc.headers)

    async def call(request: Request, fn: Callable[[Viewer], Any]) -> Any:
        viewer = await caller(handlers.access, request)
        # the assistant blocks (encoding, ranking, the store): off the event loop
        return await run_in_threadpool(fn, viewer)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        ready = loader.ready
        body = {"ready": ready, "pid": os.getpid(),
                "generation": loader.get().generation if ready else None}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.post("/chat")
    async def chat(body: ChatBody, request: Request) -> Any:
        return await call(request, lambda v: handlers.api_chat(
            body.message, body.user_id, body.session_id, viewer=v))

    @app.post("/recommend")
    async def recommend(body: RecommendBody, request: Request) -> Any:
        return await call(request, lambda v: handlers.api_recommend(
            body.user_id, body.query, body.k, viewer=v))

    @app.post("/feedback")
    async def feedback(body: FeedbackBody, request: Request) -> Any:
        return await call(request, lambda v: handlers.api_feedback(
            body.user_id, body.item_id, body.kind, body.session_id, viewer=v))

    @app.get("/history")
    async def history(request: Request, user_id: str = "", limit: str = "50") -> Any:
        # the text as sent: the page's check turns "abc" into a message naming the field
        n = cast(Any, limit)
        return await call(request, lambda v: handlers.api_history(user_id, n, viewer=v))

    app.state.loader = loader
    return app


async def caller(access: Access, request: "Request") -> Viewer:
    """Who makes this HTTP request, under ``access``'s rules (see the module docstring).

    Raises:
        ApiError: 401 without valid credentials (accounts mode: HTTP Basic; header mode:
            the proxy's header), 429 while a name or address is throttled.
    """
    if access.mode == "open":
        return Viewer()
    if access.mode == "header":
        name = access._from_header(request)
    else:
        name = await _basic_sign_in(access, request)
    try:
        return access.viewer(SimpleNamespace(username=name))
    except AccessDenied as exc:
        raise ApiError(401, str(exc), {"WWW-Authenticate": 'Basic realm="encore"'}
                       if access.mode == "accounts" else None) from None


async def _basic_sign_in(access: Access, request: "Request") -> str | None:
    """The name of HTTP Basic credentials that ``access``'s account book accepts (the page's
    throttled, argon2-checked sign-in), or None when there are none or they are wrong."""
    from fastapi import HTTPException

    from assistant.ui import access as access_module

    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        name, sep, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not sep:
        return None
    client = request.client.host if request.client else "unknown"
    # the sign-in reads the client's address from the page's context variable
    token_var = access_module._CLIENT.set(client)
    try:
        ok = await access._login(name, password)
    except HTTPException as exc:  # throttled
        raise ApiError(exc.status_code, str(exc.detail), dict(exc.headers or {})) from None
    finally:
        access_module._CLIENT.reset(token_var)
    return name.strip() if ok else None
