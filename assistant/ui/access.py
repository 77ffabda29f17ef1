"""Who may use the page, and as which user.

Three modes (:class:`Access`):

- ``open``: no sign-in; anyone who reaches the page may pick any user. The demo runs so
  (``encore demo``, ``encore serve --demo-mode``) and the page says so plainly. ``encore
  serve`` allows it without ``--demo-mode`` only on a loopback address.
- ``accounts``: sign-in against an :class:`~assistant.accounts.AccountBook` (argon2 hashes),
  through gradio's ``auth=callable``; failed logins are throttled per login name and per
  client address (:class:`~assistant.accounts.LoginThrottle`).
- ``header``: a reverse proxy in front has signed the person in and names them in a header
  (``--trusted-header X-Forwarded-User``); honoured only when enabled explicitly.

Signed in, a person is one user (their account's ``user_id``): every handler takes the user
from the signed-in name (:meth:`Access.viewer`), never from the client's arguments, and a
different user id is refused unless the account is an admin.

Example:
    >>> Viewer().user_for("demo-0002")          # open mode: any user
    'demo-0002'
    >>> ann = Viewer(name="ann", user_id="demo-0001")
    >>> ann.user_for(""), ann.user_for("demo-0001")
    ('demo-0001', 'demo-0001')
    >>> ann.user_for("demo-0002")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    assistant.ui.access.AccessDenied: user_id 'demo-0002' is not yours: you are signed in as ...
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

from assistant.accounts import AccountBook, LoginThrottle, ThrottlePolicy
from assistant.errors import EncoreError

__all__ = ["Access", "AccessDenied", "Viewer", "is_loopback"]

log = logging.getLogger(__name__)

Mode = Literal["open", "accounts", "header"]

# The client address of the HTTP request being handled: gradio's auth callable receives
# only (username, password), so a small ASGI middleware records the address for it.
_CLIENT: ContextVar[str] = ContextVar("encore_client_address", default="unknown")
_HEADER_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class AccessDenied(EncoreError):
    """The signed-in person may not do this (another user's data, or not signed in)."""


@dataclass(frozen=True)
class Viewer:
    """Who is calling.

    Args:
        name: the signed-in login name; None in open mode (anyone, any user).
        user_id: the user the account owns.
        admin: an admin may act for any user.
    """

    name: str | None = None
    user_id: str | None = None
    admin: bool = False

    @property
    def may_pick(self) -> bool:
        """Whether this caller may choose the user (open mode, or an admin)."""
        return self.name is None or self.admin

    def user_for(self, asked: str | None, field: str = "user_id") -> str | None:
        """The user this call acts for: ``asked`` when the caller may pick, else their own
        (``asked`` empty or equal to it).

        Raises:
            AccessDenied: ``asked`` is another user and the caller is not an admin.
        """
        asked = (asked or "").strip() or None
        if self.may_pick:
            return asked or self.user_id
        if asked is None or asked == self.user_id:
            return self.user_id
        raise AccessDenied(f"{field} {asked[:60]!r} is not yours: you are signed in as "
                           f"{self.name!r} (user {self.user_id!r}). Fix: leave {field} empty or "
                           "pass your own; only an admin may act for another user")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (only this machine can reach it).

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
        (True, True, False)
    """
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _ClientAddress:
    """ASGI middleware: records each HTTP request's client address in a context variable."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = _CLIENT.set(str(client[0]) if client else "unknown")
        try:
            await self.app(scope, receive, send)
        finally:
            _CLIENT.reset(token)


class Access:
    """The page's sign-in mode and the user each caller acts as.

    Build one with :meth:`open`, :meth:`accounts` or :meth:`header`.
    """

    def __init__(self, mode: Mode, *, book: AccountBook | None = None,
                 throttle: LoginThrottle | None = None, header: str | None = None,
                 demo: bool = False, failure_delay_s: float = 0.25) -> None:
        self.mode: Mode = mode
        self.book = book
        self.throttle = throttle or LoginThrottle()
        self.header = header
        self.demo = demo
        self.failure_delay_s = failure_delay_s
        self._refused = 0  # sign-ins refused while throttled (logged at powers of two)

    @classmethod
    def open(cls, *, demo: bool = False) -> Access:
        """No sign-in: anyone may pick any user (``demo``: the page says it is the demo)."""
        return cls("open", demo=demo)

    @classmethod
    def accounts(cls, book: AccountBook, *, policy: ThrottlePolicy | None = None,
                 clock: Any = None, failure_delay_s: float = 0.25) -> Access:
        """Sign-in against ``book``, throttled by ``policy``."""
        throttle = LoginThrottle(policy, clock) if clock else LoginThrottle(policy)
        return cls("accounts", book=book, throttle=throttle, failure_delay_s=failure_delay_s)

    @classmethod
    def trusted_header(cls, header: str, book: AccountBook | None = None) -> Access:
        """The person is named by ``header``, set by a reverse proxy that signed them in
        (``book``, when given, marks admins and maps names to user ids)."""
        return cls("header", book=book, header=header)

    # -- who is calling --------------------------------------------------------------

    def viewer(self, request: Any) -> Viewer:
        """The caller of a gradio handler (``request``: its ``gr.Request``).

        Raises:
            AccessDenied: sign-in is required and the request has no signed-in user, or the
                account no longer exists.
        """
        if self.mode == "open":
            return Viewer()
        name = getattr(request, "username", None) if request is not None else None
        if not name:
            raise AccessDenied("not signed in. Fix: sign in on the page, or pass "
                               "auth=(name, password) to gradio_client.Client")
        account = self.book.get(name) if self.book is not None else None
        if account is not None:
            return Viewer(name=name, user_id=account.user_id, admin=account.admin)
        if self.mode == "header":
            return Viewer(name=name, user_id=name)
        raise AccessDenied(f"the account {name!r} no longer exists. Fix: ask the admin to add "
                           "it again (`encore users add`)")

    def banner(self, viewer: Viewer) -> str:
        """One plain line for the top of the page (HTML-safe text)."""
        if viewer.name is None:
            if self.demo:
                return "Demo mode: anyone can pick any demo user."
            return "Open mode: no sign-in; anyone who can reach this page can pick any user."
        role = " (admin: you may pick any user)" if viewer.admin else ""
        return f"Signed in as {viewer.name} (user {viewer.user_id}){role}."

    # -- gradio launch arguments ---------------------------------------------------------

    def launch_kwargs(self) -> dict[str, Any]:
        """What :meth:`gradio.Blocks.launch` needs for this mode."""
        from starlette.middleware import Middleware

        if self.mode == "accounts":
            return {"auth": self._login, "auth_message": "Sign in to Encore.",
                    "app_kwargs": {"middleware": [Middleware(_ClientAddress)]}}
        if self.mode == "header":
            return {"auth_dependency": self._from_header}
        return {}

    def _from_header(self, request: Any) -> str | None:
        value = request.headers.get(self.header or "")
        if value is None:
            return None
        value = value.strip()
        if not _HEADER_VALUE.fullmatch(value):
            log.warning("ignored header %s: not a valid login name", self.header)
            return None
        return value

    async def _login(self, username: str, password: str) -> bool:
        """gradio's auth callable: throttled, argon2-checked off the event loop."""
        from fastapi import HTTPException

        assert self.book is not None  # accounts mode only  # noqa: S101
        name = (username or "").strip()
        shown = name[:64].encode("ascii", "backslashreplace").decode()
        address = _CLIENT.get()
        keys = [f"user:{name.lower()}", f"addr:{address}"]
        wait = self.throttle.begin(keys)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            self._refused += 1
            if self._refused & (self._refused - 1) == 0:  # 1, 2, 4, 8...: no log flood
                log.warning("sign-in refused while throttled: %r from %s (%d s left; %d "
                            "refused so far)", shown, address, seconds, self._refused)
            raise HTTPException(status_code=429, headers={"Retry-After": str(seconds)},
                                detail=f"too many failed sign-ins for this name or address; "
                                       f"try again in {seconds} s")
        try:
            account = await asyncio.to_thread(self.book.verify, name, password)
        except BaseException:
            self.throttle.end(keys)
            raise
        if account is None:
            wait = self.throttle.failed(keys)
            log.warning("failed sign-in: %r from %s (next try in %.0f s)", shown, address, wait)
            # A small, bounded delay that holds no thread (the event loop keeps serving).
            await asyncio.sleep(self.failure_delay_s)
            return False
        self.throttle.succeeded(keys)
        log.info("signed in: %r from %s", shown, address)
        return True
