"""Where feedback and chat sessions are kept: the :class:`HistoryStore` seam.

Two implementations share one set of SQL statements (:mod:`assistant.store_sql`, written with
``?`` placeholders; the Postgres store rewrites them to ``%s``), so the SQLite tests cover the
logic of both:

- :class:`SQLiteStore`: the embedded default, one file in WAL mode. Safe across threads
  (one connection behind a lock) and across processes (WAL, a busy timeout and one short
  transaction per write).
- :class:`PostgresStore`: for several assistant workers; needs ``pip install
  'encore-rec[postgres]'`` (psycopg 3, imported only when a Postgres URL is opened).

:func:`open_store` picks one by the ``store.url`` setting (``ENCORE_STORE__URL``):

- ``sqlite:///relative/path.sqlite3`` or ``sqlite:////absolute/path.sqlite3``
- ``sqlite://:memory:`` (one process, for tests)
- ``postgresql://user:password@host/db`` (or ``postgres://...``)

The event log is append-only: every like, dislike and "seen" is kept, and the latest event
per (user, item) is what it means now (:func:`latest_per_item`).

Sessions are keyed by (user, session): a session id reused by another user is another
conversation, never a way to read or overwrite the first one. A session expires
``session_max_age_s`` seconds after its last save (the ``store.session_max_age_s`` setting,
30 days by default): it then loads as None, and expired sessions are purged from the store.
Files of schema version 1 (sessions keyed by id alone) are migrated when opened.

Example:
    >>> with open_store("sqlite://:memory:") as store:
    ...     store.add_event("u1", "mv-arrival-2016", "like", timestamp=100)
    ...     store.add_event("u1", "mv-arrival-2016", "dislike", timestamp=200)
    ...     [e.kind.value for e in store.events("u1")]
    ...     [e.kind.value for e in latest_per_item(store.events("u1"))]
    ...     store.save_session("s1", "u1", {"turn": 2})
    ...     store.load_session("s1", "u1"), store.load_session("s1", "someone-else")
    ['like', 'dislike']
    ['dislike']
    ({'turn': 2}, None)
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, SecretStr

from assistant import store_sql as queries
from assistant.reply import FeedbackKind
from assistant.settings import DEFAULT_SESSION_MAX_AGE_S, StoreSettings, redact_url

__all__ = ["HistoryStore", "PostgresStore", "SQLiteStore", "SCHEMA_VERSION", "StoreError",
           "StoredEvent", "latest_per_item", "open_store"]

SCHEMA_VERSION = 2
"""Version of the tables below; stored in ``encore_schema_version``. 1: sessions keyed by
session id; 2: by (user, session), migrated on open."""

Clock = Callable[[], float]
"""Unix seconds now (``time.time``; tests pass their own)."""

_URL_FORMS = ("sqlite:///relative/path.sqlite3, sqlite:////absolute/path.sqlite3, "
              "sqlite://:memory:, postgresql://user:password@host:5432/dbname")
_SETTING = "store.url (environment variable ENCORE_STORE__URL)"
_INSTALL_PG = "pip install 'encore-rec[postgres]'"


class StoreError(ValueError):
    """The history store cannot be opened or used; the message names the file and the fix."""


class StoredEvent(BaseModel):
    """One feedback event as stored.

    Example:
        >>> StoredEvent(user_id="u1", item_id="x", kind="seen", timestamp=5).kind.value
        'seen'
    """

    model_config = ConfigDict(frozen=True)

    user_id: str
    item_id: str
    kind: FeedbackKind
    timestamp: int
    """Unix seconds."""
    session_id: str | None = None


@runtime_checkable
class HistoryStore(Protocol):
    """Keeps feedback events and chat sessions. Use it as a context manager, or call close()."""

    def add_event(self, user_id: str, item_id: str, kind: FeedbackKind | str, *,
                  session_id: str | None = None, timestamp: int | None = None) -> None:
        """Append one feedback event (like, dislike, seen) to the user's log."""
        ...

    def events(self, user_id: str, limit: int | None = None) -> list[StoredEvent]:
        """The user's events, oldest first; with ``limit``, only the most recent ``limit``."""
        ...

    def remove_events(self, user_id: str, item_id: str) -> int:
        """Forget every event of ``user_id`` on ``item_id`` (an undone like, a history entry
        removed); returns how many were removed."""
        ...

    def users(self) -> list[str]:
        """Users that have at least one event, sorted."""
        ...

    def save_session(self, session_id: str, user_id: str, state: dict[str, Any]) -> None:
        """Create or replace the state (a JSON-serialisable dict) of ``user_id``'s session
        ``session_id``; another user's session of the same id is left alone."""
        ...

    def load_session(self, session_id: str, user_id: str) -> dict[str, Any] | None:
        """The state of ``user_id``'s session ``session_id``, or None if there is none, it
        is another user's, or it has expired."""
        ...

    def delete_session(self, session_id: str, user_id: str) -> None:
        """Forget ``user_id``'s session ``session_id`` (no error if it does not exist)."""
        ...

    def close(self) -> None:
        """Release the connection; later calls raise :class:`StoreError`."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


def latest_per_item(events: Iterable[StoredEvent]) -> list[StoredEvent]:
    """The latest event of each (user, item), in the order those latest events happened.

    ``events`` must be oldest first, as :meth:`HistoryStore.events` returns them.

    Example:
        >>> e = [StoredEvent(user_id="u", item_id=i, kind=k, timestamp=t)
        ...      for i, k, t in [("a", "like", 1), ("b", "seen", 2), ("a", "dislike", 3)]]
        >>> [(x.item_id, x.kind.value) for x in latest_per_item(e)]
        [('b', 'seen'), ('a', 'dislike')]
    """
    latest: dict[tuple[str, str], StoredEvent] = {}
    for event in events:
        key = (event.user_id, event.item_id)
        latest.pop(key, None)  # re-insert so dict order follows the latest occurrence
        latest[key] = event
    return list(latest.values())


def open_store(url: str | SecretStr | StoreSettings, *, busy_timeout_s: float = 5.0,
               session_max_age_s: float | None = None, clock: Clock = time.time
               ) -> HistoryStore:
    """Open the history store that ``url`` (the ``store.url`` setting) names.

    Args:
        url: ``sqlite:///PATH``, ``sqlite:////ABSOLUTE/PATH``, ``sqlite://:memory:`` or
            ``postgresql://...`` / ``postgres://...``; or the ``store`` settings section
            (its URL and session age).
        busy_timeout_s: how long a SQLite write waits for another writer before failing.
        session_max_age_s: seconds a session lives after its last save (default: the
            section's, else 30 days).
        clock: Unix seconds now (tests pass a fake one).

    Raises:
        ValueError: the URL has an unknown form (the message lists the valid ones).
        StoreError: the file is not a usable SQLite database.
        ModuleNotFoundError: a Postgres URL without psycopg installed.
    """
    if isinstance(url, StoreSettings):
        if session_max_age_s is None:
            session_max_age_s = url.session_max_age_s
        url = url.url
    if isinstance(url, SecretStr):
        url = url.get_secret_value()
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"{_SETTING} is empty. Fix: set it to one of: {_URL_FORMS}")
    url = url.strip()
    if url.startswith("sqlite:"):
        return SQLiteStore(_sqlite_path(url), busy_timeout_s=busy_timeout_s,
                           session_max_age_s=session_max_age_s, clock=clock)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url, session_max_age_s=session_max_age_s, clock=clock)
    shown = url.split("://", 1)[0] + "://..." if "://" in url else url
    raise ValueError(f"{_SETTING} has an unknown form: {shown!r}. "
                     f"Fix: use one of: {_URL_FORMS}")


def _sqlite_path(url: str) -> str:
    if url in ("sqlite://:memory:", "sqlite:///:memory:"):
        return ":memory:"
    if not url.startswith("sqlite:///") or len(url) == len("sqlite:///"):
        raise ValueError(f"{_SETTING}: {redact_url(url)!r} names no SQLite file. Fix: use "
                         "sqlite:///relative/path.sqlite3 (three slashes), "
                         "sqlite:////absolute/path.sqlite3 (four) or sqlite://:memory:")
    # SQLAlchemy's convention: what follows the third slash is the path, so an absolute
    # path keeps its own leading slash ("sqlite:////var/x.sqlite3" -> "/var/x.sqlite3").
    return url[len("sqlite:///"):]


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


class _SQLStore:
    """The logic both stores share; subclasses connect and run transactions."""

    _param = "?"
    _id_column = "INTEGER PRIMARY KEY"
    _where = ""

    # Expired sessions are purged at most this often (seconds), by the next save.
    _PURGE_EVERY_S = 3600.0

    def __init__(self, session_max_age_s: float | None = None, clock: Clock = time.time
                 ) -> None:
        self._lock = threading.RLock()
        self._conn: Any = None
        if session_max_age_s is None:
            session_max_age_s = DEFAULT_SESSION_MAX_AGE_S
        if isinstance(session_max_age_s, bool) or not isinstance(session_max_age_s, int | float) \
                or not session_max_age_s > 0:
            raise ValueError(f"session_max_age_s must be a number of seconds > 0, got "
                             f"{session_max_age_s!r}. Fix: set store.session_max_age_s "
                             "(ENCORE_STORE__SESSION_MAX_AGE_S)")
        self.session_max_age_s = float(session_max_age_s)  # a session's life after its last save
        self._clock = clock
        self._last_purge = float("-inf")

    # --- what subclasses provide -------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[None]:
        raise NotImplementedError

    def _existing_tables(self) -> set[str]:
        raise NotImplementedError

    # --- shared plumbing ---------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql if self._param == "?" else sql.replace("?", self._param)

    def _connection(self) -> Any:
        if self._conn is None:
            raise StoreError(f"{self._where}: the history store is closed. "
                             "Fix: open a new one with open_store(url)")
        return self._conn

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            cursor = self._connection().execute(self._sql(sql), tuple(params))
            rows = cursor.fetchall() if cursor.description is not None else []
            cursor.close()
            return rows

    def _count(self, sql: str, params: Sequence[Any]) -> int:
        """Run a statement that changes rows; return how many it changed."""
        with self._lock:
            cursor = self._connection().execute(self._sql(sql), tuple(params))
            count = cursor.rowcount
            cursor.close()
            return max(int(count), 0)

    def _write(self, sql: str, params: Sequence[Any]) -> None:
        with self._lock, self._transaction():
            self._execute(sql, params)

    def _create_schema(self) -> None:
        with self._lock, self._transaction():
            self._lock_schema()
            tables = self._existing_tables()
            if "encore_schema_version" not in tables and tables & set(queries.TABLES):
                raise StoreError(f"{self._where}: has Encore tables but no schema version, so "
                                 "it was not written by Encore. Fix: point store.url "
                                 "(ENCORE_STORE__URL) at another database")
            versions = ([row[0] for row in self._execute(queries.GET_VERSION)]
                        if "encore_schema_version" in tables else [])
            if versions and max(versions) > SCHEMA_VERSION:
                raise StoreError(f"{self._where}: written by a newer Encore (schema version "
                                 f"{max(versions)}; this one reads up to {SCHEMA_VERSION}). "
                                 "Fix: upgrade encore-rec, or point store.url elsewhere")
            if versions and max(versions) == 1 and "encore_sessions" in tables:
                for statement in queries.MIGRATE_1_TO_2:
                    self._execute(statement)
            for statement in queries.SCHEMA:
                self._execute(statement.format(id_column=self._id_column))
            if not versions:
                self._execute(queries.SET_VERSION, (SCHEMA_VERSION,))
            elif max(versions) < SCHEMA_VERSION:
                self._execute(queries.UPDATE_VERSION, (SCHEMA_VERSION,))

    def _lock_schema(self) -> None:
        """Serialise schema creation between processes (SQLite's BEGIN IMMEDIATE does)."""

    # --- the HistoryStore methods ------------------------------------------------------
    def add_event(self, user_id: str, item_id: str, kind: FeedbackKind | str, *,
                  session_id: str | None = None, timestamp: int | None = None) -> None:
        _text(user_id, "user_id")
        _text(item_id, "item_id")
        try:
            feedback = FeedbackKind(kind)
        except ValueError:
            allowed = ", ".join(k.value for k in FeedbackKind)
            raise ValueError(f"kind {kind!r} is not a feedback kind. Fix: use one of: "
                             f"{allowed}") from None
        if session_id is not None:
            _text(session_id, "session_id")
        if timestamp is None:
            timestamp = int(time.time())
        elif isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
            raise ValueError(f"timestamp must be Unix seconds (an int), got {timestamp!r}")
        self._write(queries.ADD_EVENT,
                    (user_id, item_id, feedback.value, int(timestamp), session_id))

    def events(self, user_id: str, limit: int | None = None) -> list[StoredEvent]:
        _text(user_id, "user_id")
        if limit is None:
            rows = self._execute(queries.EVENTS, (user_id,))
        elif isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be None or an int >= 0, got {limit!r}")
        else:
            rows = self._execute(queries.LAST_EVENTS, (user_id, limit))
        return [StoredEvent(user_id=u, item_id=i, kind=k, timestamp=t, session_id=s)
                for u, i, k, t, s in rows]

    def remove_events(self, user_id: str, item_id: str) -> int:
        _text(user_id, "user_id")
        _text(item_id, "item_id")
        with self._lock, self._transaction():
            return self._count(queries.FORGET_ITEM, (user_id, item_id))

    def users(self) -> list[str]:
        return [row[0] for row in self._execute(queries.USERS)]

    def save_session(self, session_id: str, user_id: str, state: dict[str, Any]) -> None:
        _text(session_id, "session_id")
        _text(user_id, "user_id")
        if not isinstance(state, dict):
            raise ValueError(f"session state must be a dict, got {type(state).__name__}")
        try:
            text = json.dumps(state, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"session {session_id!r}: state is not JSON-serialisable ({exc}). "
                             "Fix: store plain dicts, lists, strings, numbers and booleans "
                             "(pydantic models via .model_dump(mode='json'))") from None
        now = self._clock()
        with self._lock, self._transaction():
            self._execute(queries.SAVE_SESSION, (session_id, user_id, text, int(now)))
            if now - self._last_purge >= min(self._PURGE_EVERY_S, self.session_max_age_s):
                self._count(queries.PURGE_SESSIONS, (self._oldest_alive(now),))
                self._last_purge = now

    def load_session(self, session_id: str, user_id: str) -> dict[str, Any] | None:
        _text(session_id, "session_id")
        _text(user_id, "user_id")
        rows = self._execute(queries.LOAD_SESSION, (session_id, user_id))
        if not rows:
            return None
        state, updated_at = rows[0]
        if updated_at < self._oldest_alive(self._clock()):
            self.delete_session(session_id, user_id)
            return None
        loaded: dict[str, Any] = json.loads(state)
        return loaded

    def delete_session(self, session_id: str, user_id: str) -> None:
        _text(session_id, "session_id")
        _text(user_id, "user_id")
        self._write(queries.DELETE_SESSION, (session_id, user_id))

    def purge_expired_sessions(self) -> int:
        """Delete every session older than ``session_max_age_s``; return how many.

        Saves also purge, at most once an hour, so calling this is optional.
        """
        now = self._clock()
        with self._lock, self._transaction():
            purged = self._count(queries.PURGE_SESSIONS, (self._oldest_alive(now),))
            self._last_purge = now
        return purged

    def _oldest_alive(self, now: float) -> int:
        """The oldest ``updated_at`` a live session can have at ``now``."""
        return int(now - self.session_max_age_s)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A store dropped without close() should not keep its file locked.
        with suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._where!r})"


class SQLiteStore(_SQLStore):
    """The history store in one SQLite file (WAL mode), or in memory for tests.

    The parent folder is created. One connection is shared by the threads of a process
    behind a lock; processes share the file through WAL and a busy timeout, and every
    write is one short ``BEGIN IMMEDIATE`` transaction.

    Example:
        >>> store = SQLiteStore(":memory:")
        >>> store.add_event("u1", "pc-serial-2014", "seen", timestamp=1)
        >>> store.users(), store.events("u1")[0].item_id
        (['u1'], 'pc-serial-2014')
        >>> store.close()
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 5.0,
                 session_max_age_s: float | None = None, clock: Clock = time.time) -> None:
        super().__init__(session_max_age_s, clock)
        memory = str(path) == ":memory:"
        self.path = None if memory else Path(path).expanduser().absolute()
        self._where = ":memory:" if self.path is None else str(self.path)
        if self.path is not None:
            if self.path.is_dir():
                raise StoreError(f"{self.path}: is a folder, not a SQLite file. Fix: point "
                                 "store.url (ENCORE_STORE__URL) at a file inside it, e.g. "
                                 f"sqlite:///{self.path / 'history.sqlite3'}")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{self.path.parent}: cannot create the store's folder "
                                 f"({exc}). Fix: point store.url (ENCORE_STORE__URL) at a "
                                 "writable place") from None
        # Autocommit (isolation_level=None): transactions are explicit and short.
        self._conn = sqlite3.connect(self._where, timeout=busy_timeout_s,
                                     isolation_level=None, check_same_thread=False)
        try:
            self._execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self.journal_mode: str = self._enable_wal(busy_timeout_s)
            # In WAL mode NORMAL keeps every commit atomic; only the last ones can be lost
            # on power failure, which is fine for feedback.
            self._execute("PRAGMA synchronous = NORMAL")
            self._create_schema()
        except sqlite3.OperationalError as exc:
            self.close()
            raise StoreError(f"{self._where}: cannot open the history store ({exc}). Fix: "
                             "check the file's permissions, or point store.url "
                             "(ENCORE_STORE__URL) elsewhere") from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{self._where}: not a SQLite database ({exc}). Fix: delete the "
                             "file (Encore recreates it), or point store.url "
                             "(ENCORE_STORE__URL) at another file") from None
        except BaseException:
            self.close()
            raise

    def _enable_wal(self, busy_timeout_s: float) -> str:
        """Switch the file to WAL (once; the mode is kept in the file) and return the mode."""
        mode = self._execute("PRAGMA journal_mode")[0][0]
        deadline = time.monotonic() + busy_timeout_s
        while mode != "wal" and self.path is not None:
            # Switching needs an exclusive lock, and SQLite returns "database is locked" at
            # once, without the busy handler, when another process is opening the same new
            # file; so wait here, within the same busy timeout.
            try:
                mode = self._execute("PRAGMA journal_mode = WAL")[0][0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        return mode

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            conn = self._connection()
            # IMMEDIATE takes the write lock up front, so the busy timeout applies here
            # instead of failing later on a lock upgrade.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _existing_tables(self) -> set[str]:
        tables = {row[0] for row in self._execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "encore_schema_version" not in tables:
            raise StoreError(f"{self._where}: a SQLite database of another program (tables: "
                             f"{', '.join(sorted(tables)[:5])}). Fix: point store.url "
                             "(ENCORE_STORE__URL) at another file")
        return tables


class PostgresStore(_SQLStore):
    """The history store in a Postgres database, for several assistant workers.

    Uses psycopg 3 (``pip install 'encore-rec[postgres]'``), imported when a store opens.
    Tables are created on first use; concurrent first opens are serialised by an advisory
    lock. The password in the URL never appears in messages.
    """

    _param = "%s"
    _id_column = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    _ADVISORY_KEY = 0x656E636F7265  # "encore"

    def __init__(self, url: str, *, session_max_age_s: float | None = None,
                 clock: Clock = time.time) -> None:
        super().__init__(session_max_age_s, clock)
        self._where = redact_url(url)
        try:
            import psycopg
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                f"{_SETTING} is a Postgres URL ({self._where}) but psycopg is not installed. "
                f"Fix: {_INSTALL_PG}", name=exc.name) from None
        try:
            self._conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            # libpq quotes the part of the URL it cannot parse, which may be the password
            raise StoreError(f"{self._where}: cannot connect to Postgres "
                             f"({_scrub(str(exc).strip(), url)}). Fix: check the server and "
                             f"{_SETTING}") from None
        try:
            self._create_schema()
        except BaseException:
            self.close()
            raise

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock, self._connection().transaction():
            yield

    def _lock_schema(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(?)", (self._ADVISORY_KEY,))

    def _existing_tables(self) -> set[str]:
        return {row[0] for row in self._execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()")}


def _scrub(message: str, url: str) -> str:
    """``message`` without the passwords of ``url``; without any detail if it quotes a piece
    of one (a parse error may show a password cut or decoded)."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    secrets = set()
    rest = url.partition("://")[2]
    if "@" in rest and ":" in rest[:rest.rfind("@")]:
        secrets.add(rest[:rest.rfind("@")].split(":", 1)[1])
    with suppress(ValueError):
        query = urlsplit(url).query
        secrets.update(v for k, v in parse_qsl(query) if k.lower() in ("password", "pass", "pwd"))
    for secret in {*secrets, *(unquote(x) for x in secrets)} - {""}:
        message = message.replace(secret, "***")
        if any(secret[i:i + 4] in message for i in range(max(len(secret) - 3, 0))):
            return "the details quote part of the password, so they are not shown"
    return message
