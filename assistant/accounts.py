"""Sign-in accounts for the chat page, and the login throttle that guards them.

- :class:`AccountBook`: a small JSON file (the ``ui.accounts_file`` setting, mode 0600,
  written atomically: temporary file, fsync, rename) of accounts, each with an argon2id
  password hash (argon2-cffi's :class:`~argon2.PasswordHasher`, never a hand-rolled hash),
  the user id whose history it owns, and whether it is an admin (who may pick any user).
  ``encore users add NAME`` writes it; the page re-reads it when the file changes, so a
  removed account stops working at its next request.
- :class:`LoginThrottle`: failed logins per login name and per client address, with an
  exponential back-off after a few failures and a lock-out for a cool-down after
  ``max_failures``. While a key waits, logins are refused at once without checking the
  password, so guessing costs time that an attacker cannot parallelise away.

Example:
    >>> import tempfile, pathlib
    >>> from argon2 import PasswordHasher
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "accounts.json"
    >>> book = AccountBook(path, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    >>> book.add("ann", "correct horse", user_id="demo-0001").user_id
    'demo-0001'
    >>> book.verify("ann", "correct horse").name, book.verify("ann", "wrong")
    ('ann', None)
    >>> t = LoginThrottle(ThrottlePolicy(free_failures=1, max_failures=3, lockout_s=60),
    ...                   clock=lambda: 0.0)
    >>> t.wait_s(["user:ann"]), [t.failed(["user:ann"]) for _ in range(3)][-1]
    (0.0, 60.0)
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import EncoreError

__all__ = ["Account", "AccountBook", "AccountError", "LoginThrottle", "ThrottlePolicy",
           "check_login_name"]

MAX_NAME = 64
"""Longest login name."""
MIN_PASSWORD = 8
"""Shortest password ``encore users add`` accepts."""
MAX_PASSWORD = 1024
"""Longest password (argon2 hashes any length; this bounds the work per login)."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")
_FORMAT = 1


class AccountError(EncoreError):
    """An account cannot be added, found or read; the message names the fix."""


def check_login_name(name: Any, what: str = "login name") -> str:
    """A login name: 1 to 64 of letters, digits, ``. _ @ -`` (starting with a letter or digit).

    Example:
        >>> check_login_name(" ann ")
        'ann'
    """
    value = name.strip() if isinstance(name, str) else name
    if not isinstance(value, str) or not _NAME.fullmatch(value) or len(value) > MAX_NAME:
        raise AccountError(f"invalid {what} {str(name)[:40]!r}. Fix: use 1 to {MAX_NAME} "
                           "letters, digits, '.', '_', '@' or '-', starting with a letter or "
                           "digit")
    return value


class Account(BaseModel):
    """One sign-in account.

    Example:
        >>> Account(name="ann", user_id="demo-0001", password_hash="$argon2id$...").admin
        False
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """The login name."""
    user_id: str
    """The user whose history and sessions this account sees and changes."""
    admin: bool = False
    """Admins may pick any user on the page and in the API."""
    password_hash: str = Field(repr=False)
    """argon2id hash (PHC string); never the password."""


def _default_hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile


class AccountBook:
    """The accounts file: read, add, remove and verify accounts.

    Args:
        path: the JSON file (created by the first :meth:`add`); None keeps the accounts in
            memory only (the single account of ``--auth NAME:PASSWORD``).
        hasher: an :class:`argon2.PasswordHasher` (tests pass a cheap one).
    """

    def __init__(self, path: str | Path | None, *, hasher: Any = None) -> None:
        self.path = Path(path) if path is not None else None
        self._hasher = hasher or _default_hasher()
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._stamp: tuple[int, int] | None = None
        # Unknown names are checked against this hash too, so a login takes as long for a
        # name that does not exist as for a wrong password (no name probing by timing).
        self._dummy = self._hasher.hash("encore-no-such-account")

    # -- reading -------------------------------------------------------------------

    def _refresh(self) -> None:
        """Re-read the file when it changed (size or modification time)."""
        if self.path is None:
            return
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._accounts, self._stamp = {}, None
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        self._accounts = _read(self.path)
        self._stamp = stamp

    def accounts(self) -> list[Account]:
        """Every account, by name."""
        with self._lock:
            self._refresh()
            return sorted(self._accounts.values(), key=lambda a: a.name)

    def get(self, name: str) -> Account | None:
        """The account called ``name``, or None."""
        with self._lock:
            self._refresh()
            return self._accounts.get(name)

    def __len__(self) -> int:
        return len(self.accounts())

    def verify(self, name: str, password: str) -> Account | None:
        """The account when ``password`` is its password; None otherwise (also for an
        unknown name, after the same amount of work)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        account = self.get(name) if isinstance(name, str) else None
        if not isinstance(password, str) or len(password) > MAX_PASSWORD:
            return None
        try:
            self._hasher.verify(account.password_hash if account else self._dummy, password)
        except (VerificationError, InvalidHashError):
            return None
        return account

    # -- writing -------------------------------------------------------------------

    def add(self, name: str, password: str, *, admin: bool = False,
            user_id: str | None = None, replace: bool = False) -> Account:
        """Add an account (or, with ``replace``, change its password, role and user).

        Raises:
            AccountError: a bad name or password, or the name exists and not ``replace``.
        """
        name = check_login_name(name)
        check_password(password)
        user = check_login_name(user_id, "user id") if user_id else name
        account = Account(name=name, user_id=user, admin=admin,
                          password_hash=self._hasher.hash(password))
        with self._lock:
            self._refresh()
            if name in self._accounts and not replace:
                raise AccountError(f"account {name!r} exists in {self.path}. Fix: pass "
                                   "--replace to change it, or pick another name")
            accounts = {**self._accounts, name: account}
            self._write(accounts)
        return account

    def remove(self, name: str) -> bool:
        """Remove an account; False when there was none of that name."""
        with self._lock:
            self._refresh()
            if name not in self._accounts:
                return False
            self._write({k: v for k, v in self._accounts.items() if k != name})
        return True

    def _write(self, accounts: dict[str, Account]) -> None:
        if self.path is None:
            self._accounts = dict(accounts)
            return
        data = {"format": _FORMAT,
                "accounts": [a.model_dump() for a in sorted(accounts.values(),
                                                             key=lambda a: a.name)]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".accounts-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)  # hashes are still worth guarding
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._accounts = dict(accounts)
        st = self.path.stat()
        self._stamp = (st.st_mtime_ns, st.st_size)


def check_password(password: Any) -> str:
    """A password of :data:`MIN_PASSWORD` to :data:`MAX_PASSWORD` characters."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"the password must have {MIN_PASSWORD} to {MAX_PASSWORD} "
                           "characters. Fix: choose a longer one")
    return password


def _read(path: Path) -> dict[str, Account]:
    fix = f"Fix: correct or delete {path} and add the accounts again with `encore users add`"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise AccountError(f"{path}: not a readable accounts file ({exc}). {fix}") from None
    if not isinstance(data, dict) or data.get("format") != _FORMAT \
            or not isinstance(data.get("accounts"), list):
        raise AccountError(f"{path}: not an accounts file of format {_FORMAT}. {fix}")
    out: dict[str, Account] = {}
    for i, row in enumerate(data["accounts"]):
        try:
            account = Account.model_validate(row)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "row"
            raise AccountError(f"{path}: account {i + 1} is invalid ({where}: {first['msg']})."
                               f" {fix}") from None
        out[account.name] = account
    return out


# ---------------------------------------------------------------- login throttle


@dataclass(frozen=True)
class ThrottlePolicy:
    """How failed logins are slowed down.

    Args:
        free_failures: failures allowed before any delay.
        base_delay_s: the first delay; each further failure doubles it.
        max_delay_s: the longest back-off delay.
        max_failures: failures that lock the key out for ``lockout_s``.
        lockout_s: the cool-down of a lock-out; failures are forgotten after it.
        max_keys: keys remembered at most (the oldest are forgotten first).
        address_factor: a client address (``addr:`` keys) gets this many times the
            failures of a login name before back-off and lock-out: people behind one
            proxy or NAT share it, and one of them must not lock the others out so soon.
    """

    free_failures: int = 3
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_failures: int = 10
    lockout_s: float = 300.0
    max_keys: int = 10_000
    address_factor: int = 5

    def limits(self, key: str) -> tuple[int, int]:
        """(free failures, failures that lock out) for ``key``."""
        scale = self.address_factor if key.startswith("addr:") else 1
        return self.free_failures * scale, self.max_failures * scale


@dataclass
class _Failures:
    count: int = 0
    until: float = 0.0  # no attempt before this time
    last: float = 0.0


class LoginThrottle:
    """Failed-login counts per key (``user:NAME``, ``addr:IP``) with back-off and lock-out.

    Args:
        policy: the limits.
        clock: seconds, monotonic (tests inject a fake one).
    """

    def __init__(self, policy: ThrottlePolicy | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy or ThrottlePolicy()
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: OrderedDict[str, _Failures] = OrderedDict()
        self._inflight: set[str] = set()

    def wait_s(self, keys: Iterable[str]) -> float:
        """Seconds before any of ``keys`` may try again (0.0: now)."""
        now = self._clock()
        with self._lock:
            return self._wait(keys, now)

    def begin(self, keys: Sequence[str]) -> float:
        """Start an attempt for ``keys`` (login name first, then the client address).

        Returns:
            0.0 when the attempt may go on (finish it with :meth:`failed`,
            :meth:`succeeded` or :meth:`end`), else the seconds to wait. One attempt per
            login name at a time: parallel guesses do not slip past the counter.
        """
        now = self._clock()
        with self._lock:
            wait = self._wait(keys, now)
            if wait > 0:
                return wait
            if keys[0] in self._inflight:
                return self.policy.base_delay_s
            self._inflight.add(keys[0])
            return 0.0

    def end(self, keys: Sequence[str]) -> None:
        """End an attempt that neither failed nor succeeded (an error)."""
        with self._lock:
            self._inflight.discard(keys[0])

    def _wait(self, keys: Iterable[str], now: float) -> float:
        waits = [f.until - now for k in keys if (f := self._current(k, now)) is not None]
        return max([0.0, *waits])

    def failed(self, keys: Sequence[str]) -> float:
        """Count a failure for each key (and end the attempt); returns the wait it now
        imposes (seconds)."""
        now = self._clock()
        p = self.policy
        wait = 0.0
        with self._lock:
            if keys:
                self._inflight.discard(keys[0])
            for key in keys:
                f = self._current(key, now) or _Failures()
                f.count += 1
                f.last = now
                free, most = p.limits(key)
                if f.count >= most:
                    f.until = now + p.lockout_s
                elif f.count > free:
                    delay = p.base_delay_s * 2 ** (f.count - free - 1)
                    f.until = now + min(delay, p.max_delay_s)
                self._keys[key] = f
                self._keys.move_to_end(key)
                wait = max(wait, f.until - now)
            while len(self._keys) > p.max_keys:
                self._keys.popitem(last=False)
        return wait

    def succeeded(self, keys: Sequence[str]) -> None:
        """End the attempt and forget the failures of ``keys[0]``, the login name that just
        signed in (the address keeps its count: one good account must not reset it)."""
        with self._lock:
            self._inflight.discard(keys[0])
            self._keys.pop(keys[0], None)

    def locked_out(self, key: str) -> bool:
        """Whether ``key`` reached ``max_failures`` and its cool-down has not ended."""
        now = self._clock()
        with self._lock:
            f = self._current(key, now)
            return f is not None and f.count >= self.policy.limits(key)[1]

    def _current(self, key: str, now: float) -> _Failures | None:
        """The key's record, forgotten once its cool-down passed since the last failure."""
        f = self._keys.get(key)
        if f is not None and now >= max(f.until, f.last + self.policy.lockout_s):
            del self._keys[key]
            return None
        return f
