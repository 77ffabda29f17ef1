"""Conversations in memory and in the history store: :class:`SessionCache`.

A turn holds its session's lock from loading the session to saving it, so two messages of
one conversation never interleave, while different conversations run side by side. The
cache keeps the most recent sessions in memory (least recently used go first) and every
saved session in the :class:`~assistant.store.HistoryStore`, so a restart (or another
worker sharing the store) carries a conversation on.

A session is one user's: it is keyed by (user, session id), so another user naming the same
id starts their own conversation and never sees nor overwrites the first. A session not
saved for the store's ``session_max_age_s`` seconds has expired: it loads as a new one.

Example:
    >>> from assistant.store import open_store
    >>> cache = SessionCache(open_store("sqlite://:memory:"))
    >>> with cache.lock("s1", "u1"):
    ...     s = cache.load("s1", "u1")
    ...     s.turn += 1
    ...     cache.save(s)
    >>> cache.load("s1", "u1").turn, cache.load("s1", "someone-else").turn
    (1, 0)
    >>> cache.forget("s1", "u1"); cache.load("s1", "u1").turn
    0
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import ValidationError

from assistant.session import Session
from assistant.settings import DEFAULT_SESSION_MAX_AGE_S

if TYPE_CHECKING:
    from assistant.store import HistoryStore

__all__ = ["MAX_SESSIONS", "SessionCache"]

log = logging.getLogger(__name__)

MAX_SESSIONS = 1000
"""Sessions kept in memory; older ones are reloaded from the store when needed."""


class SessionCache:
    """Sessions by (user, session id): an in-memory LRU over the store, and one lock each.

    Args:
        store: Where sessions are saved and restored from.
        max_sessions: How many sessions to keep in memory.
        max_age_s: Seconds a session lives after its last save (default: the store's
            ``session_max_age_s``, which the store enforces too).
        clock: Unix seconds now (tests pass a fake one).
    """

    def __init__(self, store: HistoryStore, max_sessions: int = MAX_SESSIONS, *,
                 max_age_s: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.max_sessions = max_sessions
        if max_age_s is None:
            max_age_s = getattr(store, "session_max_age_s", DEFAULT_SESSION_MAX_AGE_S)
        self.max_age_s = float(max_age_s)
        self._clock = clock
        # (user, session) -> (the session, when it was last saved)
        self._sessions: OrderedDict[tuple[str, str], tuple[Session, float]] = OrderedDict()
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, session_id: str, user_id: str = "") -> threading.Lock:
        """The lock a turn of ``user_id``'s session ``session_id`` holds while it runs."""
        key = (user_id, session_id)
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                # locks are cheap but unbounded ids are not: start over past a generous bound
                # (a turn holding an old lock keeps it; only new turns get the new one)
                if len(self._locks) > 4 * self.max_sessions:
                    self._locks.clear()
                lock = self._locks[key] = threading.Lock()
            return lock

    def load(self, session_id: str, user_id: str) -> Session:
        """The session ``session_id`` of ``user_id``: from memory, else from the store, else
        a new one (also when the stored one has expired or cannot be read). Another user's
        session of the same id is never returned."""
        key = (user_id, session_id)
        with self._guard:
            cached = self._sessions.get(key)
            if cached is not None and self._clock() - cached[1] > self.max_age_s:
                del self._sessions[key]  # expired; the store forgets it as it loads
                cached = None
        session = cached[0] if cached is not None else None
        if session is None:
            state = self.store.load_session(session_id, user_id)
            if state is not None:
                try:
                    session = Session.from_state(state)
                except (ValidationError, ValueError, TypeError, KeyError) as exc:
                    log.warning("session %s could not be restored (%s); starting afresh",
                                session_id, exc)
        if session is None or session.user_id != user_id or session.session_id != session_id:
            session = Session(session_id=session_id, user_id=user_id)
        return session

    def save(self, session: Session) -> None:
        """Keep ``session`` in memory (most recent) and write it to the store."""
        key = (session.user_id, session.session_id)
        with self._guard:
            self._sessions[key] = (session, self._clock())
            self._sessions.move_to_end(key)
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        self.store.save_session(session.session_id, session.user_id, session.to_state())

    def forget(self, session_id: str, user_id: str) -> None:
        """Drop ``user_id``'s session ``session_id`` from memory and from the store."""
        with self._guard:
            self._sessions.pop((user_id, session_id), None)
        self.store.delete_session(session_id, user_id)
