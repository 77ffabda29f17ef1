"""The :class:`Assistant`: one object behind the Python API, the CLI and the chat page.

One turn (``chat``) runs in stages (:mod:`assistant.turn`)::

    message -> parse (llm, else rules) -> merge with the session -> plan -> run tools
    (recommend, similar, playlist, trending, details, feedback, chitchat) -> cards -> lead
    -> explain (llm, else template) -> Reply

The tools are registered once (:data:`assistant.turn.TOOLS`); the chat, the one-shot API
(:meth:`Assistant.recommend`, :meth:`Assistant.similar`, :meth:`Assistant.run_tool`) and the
LangChain tools (:mod:`assistant.tools`) all run them.

An LLM failure never fails a turn: the parser falls back to ``rules`` and the explainer to
``template``, and ``Reply.meta.fallbacks`` says which stage fell back and why. A turn waits
on the LLM for one deadline at most (``llm.timeout_s``, shared by its stages); after
``llm.breaker_failures`` failures in a row, turns skip the LLM for ``llm.breaker_cooldown_s``
and the reply's notice says so. Only checked explanation text ever reaches a reply, streamed
or not (:meth:`Assistant.chat_stream` yields a sentence once it has been checked). Feedback goes
into the :class:`~assistant.store.HistoryStore`, and the next turn reads it.

Example (``bundle_path`` is a built bundle, e.g. ``.encore/bundle`` after ``encore demo``;
the tests run these examples on the demo bundle):
    >>> from assistant.core import Assistant
    >>> bot = Assistant.from_bundle(bundle_path, Settings(store={"url": "sqlite://:memory:"}))
    >>> reply = bot.chat("s1", "u1", "a podcast for a 40-minute drive")
    >>> {r.media_type for r in reply.recommendations}, reply.request.max_minutes
    ({'podcast'}, 40)
    >>> all(r.duration_min <= 40 and r.explanation for r in reply.recommendations)
    True
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from assistant.errors import BundleError, EncoreError
from assistant.playlist import playlist_reply
from assistant.reply import FeedbackKind, HistoryEntry, PlaylistReply, Recommendation, Reply
from assistant.session import MAX_REJECTED
from assistant.sessions_cache import SessionCache
from assistant.settings import Settings
from assistant.turn import TOOLS, Backends, Services, ToolArgs, ToolCall, ToolContext, Turn, answer
from assistant.turn.toolbox import recommend_call
from assistant.user_history import history_entries
from assistant.validation import (
    DEFAULT_K,
    check_feedback_kind,
    check_k,
    check_session,
    check_user,
)
from retrieval.request import Intent, Request

if TYPE_CHECKING:
    from assistant.engine import Engine
    from assistant.store import HistoryStore
    from assistant.turn import ToolResult
    from retrieval.catalog import Catalog
    from retrieval.models import Item
    from retrieval.retriever import History

__all__ = ["Assistant"]

log = logging.getLogger(__name__)


class Assistant:
    """Encore's conversational recommender over one bundle.

    Build it with :meth:`from_bundle`. Every method returns pydantic models
    (:class:`~assistant.reply.Reply`, :class:`~assistant.reply.Recommendation`,
    :class:`~assistant.reply.HistoryEntry`); bad input raises an
    :class:`~assistant.errors.EncoreError` whose message names the fix.

    Example:
        >>> bot = Assistant.from_bundle(bundle_path, Settings(store={"url": "sqlite://:memory:"}))
        >>> reply = bot.chat("s1", "new-user", "90s sci-fi films under 2 hours")
        >>> (reply.request.year_min, reply.request.year_max), reply.meta.parser
        ((1990, 1999), 'rules')
        >>> first = reply.recommendations[0].item_id
        >>> bot.feedback("new-user", first, "dislike")
        >>> again = bot.chat("s2", "new-user", "90s sci-fi films")
        >>> first in {r.item_id for r in again.recommendations}
        False
    """

    def __init__(self, engine: Engine, settings: Settings, store: HistoryStore, *,
                 bundle_path: Path | None = None, manifest: dict[str, Any] | None = None,
                 personas: Mapping[str, str] | None = None, generation: str | None = None
                 ) -> None:
        self.engine = engine
        self.settings = settings
        self.store = store
        self.bundle_path = bundle_path
        self.manifest = manifest or {}
        self.catalog: Catalog = engine.catalog
        self.services = Services(engine=engine, catalog=self.catalog, store=store,
                                 backends=Backends(settings.llm, self.catalog), settings=settings)
        self.sessions = SessionCache(store)
        self._personas: Mapping[str, str] = personas or {}
        self.generation = generation
        """The bundle generation served (``"gen-000002"``), when the bundle has generations."""
        self._reload_lock = threading.Lock()
        self._skipped_generation: str | None = None
        self._mmap = False  # later generations load as the first did (from_bundle)

    @classmethod
    def from_bundle(cls, path: str | Path | None = None, settings: Settings | None = None, *,
                    store: HistoryStore | None = None, mmap: bool = False,
                    verify: bool = True) -> Assistant:
        """Load the bundle at ``path`` (default: ``settings.bundle_dir``) and open the history
        store (default: ``settings.store``: its URL and session age).

        ``mmap`` maps the bundle's vectors and index read-only so that worker processes
        share them (``encore serve --workers``); ``verify=False`` skips the checksums (for a
        worker whose parent checked them), as :meth:`Bundle.load <retrieval.bundle.Bundle.load>`.

        Raises:
            BundleError: the bundle is missing, incomplete or corrupt (the message names the
                path and how to rebuild it).
        """
        from assistant.engine import Engine
        from assistant.store import open_store
        from retrieval.bundle import Bundle
        from retrieval.errors import DataError

        settings = settings or Settings()
        path = Path(path) if path is not None else Path(settings.bundle_dir)
        try:
            bundle = Bundle.load(path, verify=verify, mmap=mmap)
        except DataError as exc:
            raise BundleError(str(exc)) from None
        except (OSError, ValueError) as exc:
            raise BundleError(f"{path}: the bundle could not be read ({exc}). Fix: rebuild it "
                              "with `encore build` (or `encore demo`)") from None
        engine = Engine.from_bundle(bundle, settings)
        bot = cls(engine, settings, store or open_store(settings.store), bundle_path=path,
                  manifest=bundle.manifest, personas=bundle.personas,
                  generation=_generation_of(bundle))
        bot._mmap = mmap
        return bot

    # -- the bundle's generations ---------------------------------------------------------

    def refresh(self) -> bool:
        """Serve the bundle's live generation if ``CURRENT`` has moved on since this assistant
        loaded it (a background build finished, e.g. the demo's tuned model): load it and swap
        it in for the next turn. A turn already running ends on the generation it began with;
        the sessions and the history store carry over. Called before every turn (one small
        file read when nothing changed); while one caller loads, the others go on with the
        generation they have.

        Returns:
            Whether it swapped. A generation that fails to load is logged and skipped (the
            current one keeps serving).
        """
        from retrieval.bundle_store import current_generation

        if self.bundle_path is None or self.generation is None:
            return False
        live = current_generation(self.bundle_path)
        if live is None or live in (self.generation, self._skipped_generation):
            return False
        if not self._reload_lock.acquire(blocking=False):
            return False
        try:
            return self._swap_to_live()
        finally:
            self._reload_lock.release()

    def _swap_to_live(self) -> bool:
        from assistant.engine import Engine
        from retrieval.bundle import Bundle
        from retrieval.bundle_store import current_generation
        from retrieval.errors import DataError

        assert self.bundle_path is not None  # noqa: S101 (checked by refresh)
        try:
            bundle = Bundle.load(self.bundle_path, mmap=self._mmap)
            engine = Engine.from_bundle(bundle, self.settings)
            bundle.encoder  # noqa: B018 (load the model now, not in the next turn)
        except (DataError, OSError, ValueError) as exc:
            skipped = current_generation(self.bundle_path)
            log.warning("%s: could not load generation %s (%s); still serving %s",
                        self.bundle_path, skipped, exc, self.generation)
            self._skipped_generation = skipped
            return False
        backends = self.services.backends
        if engine.catalog.ids != self.catalog.ids:  # the parsers read the catalog's titles
            backends = Backends(self.settings.llm, engine.catalog)
        # One assignment per attribute: a turn holds the Services it began with.
        self.services = Services(engine=engine, catalog=engine.catalog, store=self.store,
                                 backends=backends, settings=self.settings)
        self.engine, self.catalog = engine, engine.catalog
        self.manifest, self._personas = bundle.manifest, bundle.personas
        self.generation = _generation_of(bundle)
        log.info("%s: now serving generation %s", self.bundle_path, self.generation)
        return True

    # -- people ---------------------------------------------------------------------------

    @property
    def synthetic(self) -> bool:
        """True when the bundle's interactions are synthetic (the demo)."""
        return bool(self.manifest.get("dataset", {}).get("synthetic", False))

    def users(self, limit: int = 50) -> list[str]:
        """Known users: the bundle's (first ``limit``), then users who gave feedback here."""
        known = list(self.engine.known_users()[: max(limit, 0)])
        seen = set(known)
        for u in self.store.users():
            if u not in seen and len(known) < limit:
                known.append(u)
                seen.add(u)
        return known

    def new_user_id(self) -> str:
        """A fresh user id for someone with no history."""
        return f"new-{uuid.uuid4().hex[:8]}"

    def is_known(self, user_id: str) -> bool:
        """Whether ``user_id`` has a history: in the bundle, or feedback given here."""
        return self.services.is_known(user_id)

    def persona(self, user_id: str) -> str | None:
        """A demo user's short persona ("crime and mystery fan"), from the profile their
        SYNTHETIC history was generated from; None for anyone else."""
        return self._personas.get(str(user_id))

    def user_summary(self, user_id: str) -> str:
        """One line about a user: how much history, and the genres it leans to."""
        hist = self._history(user_id)
        if not len(hist):
            return "new user: no history yet"
        counts: Counter[str] = Counter()
        for item_id, event in zip(hist.item_ids, hist.events, strict=True):
            if event in ("dislike", "skip") or item_id not in self.catalog:
                continue
            counts.update(self.catalog[item_id].genres)
        top = ", ".join(g for g, _ in counts.most_common(3)) or "no genres"
        kind = "synthetic demo user" if self.synthetic and self.engine.has_user(user_id) else "user"
        return f"{kind}; {len(hist)} events; mostly {top}"

    def item(self, item_id: str) -> Item:
        """The catalog item ``item_id``.

        Raises:
            UnknownItem: no such id in the catalog.
        """
        return self.services.item(item_id)

    def backend_note(self) -> str:
        """Which backends this assistant is configured to use, in one line."""
        llm = self.settings.llm
        parser = "LLM" if llm.parser == "llm" else "rules (offline)"
        explainer = "LLM" if llm.explainer == "llm" else "templates (offline)"
        model = f" · model {llm.model}" if "llm" in (llm.parser, llm.explainer) else ""
        return f"parser: {parser} · explanations: {explainer}{model}"

    # -- history and feedback -------------------------------------------------------------

    def feedback(self, user_id: str, item_id: str, kind: FeedbackKind | str,
                 session_id: str | None = None) -> None:
        """Record that ``user_id`` liked, disliked or has seen ``item_id``; the next turn
        reads it (a dislike pushes similar items down and the item is not shown again).

        Raises:
            UnknownItem: ``item_id`` is not in the catalog.
            EncoreError: ``kind`` is not like, dislike or seen.
        """
        user_id = check_user(user_id)
        kind = check_feedback_kind(kind)
        self.item(item_id)
        ctx = ToolContext(self.services, user_id, session_id)
        TOOLS["feedback"].run(ctx, ToolCall(request=Request(intent=Intent.feedback),
                                            feedback=((item_id, kind.value),)))
        if session_id is not None:
            self._feedback_in_session(user_id, session_id, item_id, kind.value)

    def _feedback_in_session(self, user_id: str, session_id: str, item_id: str,
                             kind: str) -> None:
        """A card's Like or Dislike is part of the conversation: a like puts the item in
        focus ("more like that" then means it), a dislike turns it down (never shown again,
        never "that"), as if the person had said so in the chat."""
        if kind not in ("like", "dislike"):
            return
        with self.sessions.lock(session_id, user_id):
            session = self.sessions.load(session_id, user_id)
            if session.turn == 0:
                return  # no conversation yet: nothing to point at
            if kind == "like":
                session.focus_id = item_id
                session.rejected_ids = [i for i in session.rejected_ids if i != item_id]
            else:
                if session.focus_id == item_id:
                    session.focus_id = None
                if item_id not in session.rejected_ids:
                    session.rejected_ids = [*session.rejected_ids, item_id][-MAX_REJECTED:]
            self.sessions.save(session)

    def forget(self, user_id: str, item_id: str) -> int:
        """Undo ``user_id``'s feedback on ``item_id`` (a like or dislike clicked again, an
        entry removed from the history view): every event given here on it is removed, so
        the next turn reads the history as if it had never been given. The bundle's own log
        is left as it is. Returns how many events were removed (0: there were none).

        Raises:
            EncoreError: a bad user or item id.
        """
        user_id = check_user(user_id)
        if not isinstance(item_id, str) or not item_id.strip():
            raise EncoreError(f"invalid item id {item_id!r}. Fix: pass a catalog item id")
        return self.store.remove_events(user_id, item_id.strip())

    def history(self, user_id: str, limit: int = 50) -> list[HistoryEntry]:
        """The user's last ``limit`` events, oldest first: the bundle's log, then feedback."""
        user_id = check_user(user_id)
        return history_entries(self.engine.base_history(user_id), self.store.events(user_id),
                               self.catalog, limit)

    def _history(self, user_id: str) -> History:
        return self.services.history(user_id)

    # -- one-shot API ---------------------------------------------------------------------

    def recommend(self, user_id: str, query: str | None = None, k: int = DEFAULT_K,
                  filters: dict[str, Any] | Request | None = None) -> list[Recommendation]:
        """Recommendations for ``user_id``, optionally for a request text and filters.

        Args:
            user_id: Any id; an unknown one is a new user (recommendations from the request
                and what is popular).
            query: What the person asked for, in words ("a podcast about space").
            k: How many (1 to 50).
            filters: :class:`~retrieval.request.Request` slots that override the parsed
                query (``{"media_types": ["podcast"], "max_minutes": 40}``).

        Raises:
            EncoreError: ``k`` out of range or an invalid filter (the message names it).
        """
        user_id = check_user(user_id)
        k = check_k(k)
        call = recommend_call(self.services, query, k, filters)
        return answer(ToolContext(self.services, user_id), "recommend", call)[1]

    def similar(self, item_id: str, k: int = DEFAULT_K,
                user_id: str | None = None) -> list[Recommendation]:
        """Items like ``item_id`` (never itself), ranked for ``user_id`` when given.

        Raises:
            UnknownItem: ``item_id`` is not in the catalog.
        """
        self.item(item_id)
        k = check_k(k)
        ctx = ToolContext(self.services, check_user(user_id) if user_id else None)
        call = ToolCall(request=Request(intent=Intent.similar), k=k, item_ids=(item_id,))
        return answer(ctx, "similar", call)[1]

    def playlist(self, user_id: str, query: str | None = None, minutes: int | None = None, *,
                 keep_ids: Sequence[str] = (), media_types: Sequence[str] = ()
                 ) -> PlaylistReply:
        """An ordered playlist for ``user_id``: every item in play order with its length,
        the total and the target, exportable with ``.to_m3u()`` and ``.to_json()``.

        Items that match the request's genres and moods come first; close matches
        (labelled) follow only when the matching ones cannot reach the target; when even
        they cannot, the playlist is shorter and ``summary`` says how close and why.

        Args:
            user_id: Any id (an unknown one is a new user).
            query: What it should sound like ("indie rock for a road trip"); a length in it
                ("a 2-hour playlist") is the target when ``minutes`` is not given.
            minutes: Target length (1 to 1440; default: the query's, else 60).
            keep_ids: A previous playlist's ids, in order (``reply.ids``): kept, cut from
                the end or extended with the next best items to the new target.
            media_types: Only these media types (default: what the query names, else
                music tracks).

        Raises:
            EncoreError: ``minutes`` out of range or an unknown media type.
            UnknownItem: a ``keep_ids`` entry is not in the catalog.

        Example:
            >>> pl = bot.playlist("u1", "rock", minutes=20)
            >>> abs(pl.total_minutes - 20) <= 1, pl.to_m3u().splitlines()[0]
            (True, '#EXTM3U')
            >>> shorter = bot.playlist("u1", "rock", minutes=10, keep_ids=pl.ids)
            >>> kept = [e.item_id for e in shorter.items if e.kept]  # the same, in order
            >>> kept == [i for i in pl.ids if i in kept] and len(kept) >= 1
            True
        """
        user_id = check_user(user_id)
        args = {"query": query or "", "minutes": minutes, "keep_ids": list(keep_ids),
                "media_types": list(media_types)}
        result, cards = self.run_tool("playlist", user_id, args)
        if result.playlist is None:  # the playlist tool always reports its figures
            raise EncoreError("the playlist tool returned no playlist")
        return playlist_reply(result.playlist, cards, query=query or "", user_id=user_id)

    def run_tool(self, name: str, user_id: str, arguments: Mapping[str, Any] | ToolArgs
                 ) -> tuple[ToolResult, list[Recommendation]]:
        """Call the registered tool ``name`` for ``user_id`` with an agent's ``arguments``
        (what :mod:`assistant.tools` does for LangChain agents).

        Returns:
            What the tool did, and its explained cards (none for ``details`` and
            ``feedback``).

        Raises:
            EncoreError: an unknown tool, or arguments its model rejects (the message names
                the field).
            UnknownItem: an item id that is not in the catalog.
        """
        user_id = check_user(user_id)
        if name not in TOOLS:
            raise EncoreError(f"unknown tool {name!r}. Fix: use one of {', '.join(TOOLS.names())}")
        tool = TOOLS[name]
        try:
            args = arguments if isinstance(arguments, tool.args) else \
                tool.args.model_validate(dict(arguments))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first.get("loc", ())) or "arguments"
            raise EncoreError(f"invalid argument {loc} of tool {name!r}: {first.get('msg')}"
                              ) from None
        call = args.to_call(self.services)
        return answer(ToolContext(self.services, user_id), name, call)

    # -- conversation ---------------------------------------------------------------------

    def chat(self, session_id: str, user_id: str, message: str, k: int = DEFAULT_K) -> Reply:
        """Answer one message of a conversation (see the module docstring for the steps).

        Args:
            session_id: The conversation (its constraints and what it has shown).
            user_id: Who speaks.
            message: What they said.
            k: How many items a list shows (1 to 50), as in :meth:`recommend`, unless the
                message itself names a number ("three thrillers").

        Raises:
            EncoreError: ``k`` out of range, or a bad session or user id.
        """
        last = None
        for snapshot in self.chat_stream(session_id, user_id, message, k):
            last = snapshot
        if last is None:  # Turn.run always yields; this guards a broken stage
            raise EncoreError("the turn produced no reply")
        return last

    def chat_stream(self, session_id: str, user_id: str, message: str, k: int = DEFAULT_K
                    ) -> Iterator[Reply]:
        """:meth:`chat`, yielding growing snapshots of the reply: first the text and the
        cards, then each explanation as it is written; the last snapshot is complete."""
        session_id = check_session(session_id)
        user_id = check_user(user_id)
        k = check_k(k)
        self.refresh()  # between turns: a newer generation serves from this turn on
        with self.sessions.lock(session_id, user_id):
            yield from Turn(self.services, self.sessions, session_id, user_id, message,
                            k=k).run()

    def reset_session(self, session_id: str, user_id: str) -> None:
        """Forget ``user_id``'s conversation ``session_id`` (its constraints and what it has
        shown); another user's session of the same id is left alone."""
        self.sessions.forget(check_session(session_id), check_user(user_id))

    def warm(self) -> Assistant:
        """Load now what the first turn would otherwise load: the encoder (one request
        encoded), the log's histories, the catalog's genre index and the rules parser's
        title word index. On a million items these take seconds, so a server calls this
        before it listens (``encore serve`` and its workers do). Returns the assistant."""
        engine = self.engine
        engine.known_users()
        engine.pipeline.encode_request(Request(query="warm up"))
        self.catalog.media_of_genre("")  # the genre -> media index the merge reads
        titles = getattr(self.services.backends.rules, "titles", None)
        if titles is not None:  # the rules parser's title matcher
            titles.warm()
        return self

    def close(self) -> None:
        """Close the history store and the LLM's HTTP connections."""
        self.services.backends.close()
        self.store.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _generation_of(bundle: Any) -> str | None:
    """The generation folder's name (``gen-000002``), None for a flat bundle."""
    root = getattr(bundle, "root", None)
    path = bundle.path
    return path.name if root is not None and path.parent == root and path != root else None
