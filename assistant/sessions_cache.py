"""Conversations in memory and in the history store: :class:`SessionCache`.

A turn holds its session's lock from loading the session to saving it, so two messages of
one conversation never interleave, while different conversations run side by side. The
cache keeps the most recent sessions in memory (least recently used go first) and every
saved session in the :class:`~assistant.store.HistoryStore`, so a restart (or another
worker sharing the store) carries a conversation on.

Example:
    >>> from assistant.store import open_store
    >>> cache = SessionCache(open_store("sqlite://:memory:"))
    >>> with cache.lock("s1"):
    ...     s = cache.load("s1", "u1")
    ...     s.turn += 1
    ...     cache.save(s)
    >>> cache.load("s1", "u1").turn, cache.load("s1", "someone-else").turn
    (1, 0)
    >>> cache.forget("s1"); cache.load("s1", "u1").turn
    0
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from pydantic import ValidationError

from assistant.session import Session

if TYPE_CHECKING:
    from assistant.store import HistoryStore

__all__ = ["MAX_SESSIONS", "SessionCache"]

log = logging.getLogger(__name__)

MAX_SESSIONS = 1000
"""Sessions kept in memory; older ones are reloaded from the store when needed."""


class SessionCache:
    """Sessions by id: an in-memory LRU over the store, and one lock per session.

    Args:
        store: Where sessions are saved and restored from.
        max_sessions: How many sessions to keep in memory.
    """

    def __init__(self, store: HistoryStore, max_sessions: int = MAX_SESSIONS) -> None:
        self.store = store
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, session_id: str) -> threading.Lock:
        """The lock a turn of ``session_id`` holds while it runs."""
        with self._guard:
            lock = self._locks.get(session_id)
            if lock is None:
                # locks are cheap but unbounded ids are not: start over past a generous bound
                # (a turn holding an old lock keeps it; only new turns get the new one)
                if len(self._locks) > 4 * self.max_sessions:
                    self._locks.clear()
                lock = self._locks[session_id] = threading.Lock()
            return lock

    def load(self, session_id: str, user_id: str) -> Session:
        """The session ``session_id`` of ``user_id``: from memory, else from the store, else
        a new one (also when the stored one belongs to another user or cannot be read)."""
        with self._guard:
            session = self._sessions.get(session_id)
        if session is None:
            state = self.store.load_session(session_id)
            if state is not None:
                try:
                    session = Session.from_state(state)
                except (ValidationError, ValueError, TypeError, KeyError) as exc:
                    log.warning("session %s could not be restored (%s); starting afresh",
                                session_id, exc)
        if session is None or session.user_id != user_id:
            session = Session(session_id=session_id, user_id=user_id)
        return session

    def save(self, session: Session) -> None:
        """Keep ``session`` in memory (most recent) and write it to the store."""
        with self._guard:
            self._sessions[session.session_id] = session
            self._sessions.move_to_end(session.session_id)
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        self.store.save_session(session.session_id, session.user_id, session.to_state())

    def forget(self, session_id: str) -> None:
        """Drop ``session_id`` from memory and from the store."""
        with self._guard:
            self._sessions.pop(session_id, None)
        self.store.delete_session(session_id)
