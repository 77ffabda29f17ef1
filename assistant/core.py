"""The :class:`Assistant`: one object behind the Python API, the CLI and the chat page.

One turn (``chat``) runs::

    message -> parse (llm, else rules) -> merge with the session -> tool (recommend, similar,
    playlist, trending, details, feedback) -> explain (llm, else template) -> Reply

An LLM failure never fails a turn: the parser falls back to ``rules`` and the explainer to
``template``, and ``Reply.meta.fallbacks`` says which stage fell back and why. Feedback goes
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
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from assistant.errors import BundleError, EncoreError, UnknownItem
from assistant.reply import (
    Fallback,
    FeedbackKind,
    HistoryEntry,
    Recommendation,
    Reply,
    TurnMeta,
)
from retrieval.request import Intent, Request
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.engine import Engine
    from assistant.session import Session
    from assistant.store import HistoryStore
    from retrieval.catalog import Catalog
    from retrieval.diversify import RankedItem
    from retrieval.models import Item
    from retrieval.retriever import History

__all__ = ["Assistant"]

log = logging.getLogger(__name__)

DEFAULT_K = 10
DEFAULT_PLAYLIST_MINUTES = 60
_FEEDBACK_EVENT = {"like": ("like", 1.0), "dislike": ("dislike", -1.0), "seen": ("play", 1.0)}
_MAX_SESSIONS = 1000


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
                 bundle_path: Path | None = None, manifest: dict[str, Any] | None = None) -> None:
        from assistant.parsers import make_parser

        self.engine = engine
        self.settings = settings
        self.store = store
        self.bundle_path = bundle_path
        self.manifest = manifest or {}
        self.catalog: Catalog = engine.catalog
        self._rules = make_parser("rules", self.catalog)
        self._llm_parser: Any = None
        self._chat_model: Any = None
        self._template = _template_explainer()
        self._llm_explainer: Any = None
        if "llm" in (settings.llm.parser, settings.llm.explainer):
            self._setup_llm()
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_bundle(cls, path: str | Path | None = None, settings: Settings | None = None, *,
                    store: HistoryStore | None = None) -> Assistant:
        """Load the bundle at ``path`` (default: ``settings.bundle_dir``) and open the history
        store (default: ``settings.store.url``).

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
            bundle = Bundle.load(path)
        except DataError as exc:
            raise BundleError(str(exc)) from None
        except (OSError, ValueError) as exc:
            raise BundleError(f"{path}: the bundle could not be read ({exc}). Fix: rebuild it "
                              "with `encore build` (or `encore demo`)") from None
        engine = Engine.from_bundle(bundle, settings)
        return cls(engine, settings, store or open_store(settings.store.url), bundle_path=path,
                   manifest=bundle.manifest)

    def _setup_llm(self) -> None:
        """Build the LLM chat model and the LLM stages the settings ask for. A wrong setting
        (no model name, the gpu extra missing) is an error now, not a fallback every turn."""
        from assistant.llm import make_chat_model

        llm = self.settings.llm
        try:
            self._chat_model = make_chat_model(llm)
        except (ValueError, ImportError, ModuleNotFoundError) as exc:
            raise EncoreError(f"the LLM backend could not be set up: {exc}") from None
        if llm.parser == "llm":
            from assistant.parsers import make_parser

            self._llm_parser = make_parser("llm", self.catalog, settings=llm,
                                           chat_model=self._chat_model)
        if llm.explainer == "llm":
            from assistant.explain import LLMExplainer

            self._llm_explainer = LLMExplainer(self._chat_model, model_name=llm.model,
                                               timeout_s=llm.timeout_s, catalog=self.catalog)

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
        return self.engine.has_user(user_id) or bool(self.store.events(user_id, limit=1))

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
        if item_id not in self.catalog:
            raise UnknownItem(item_id)
        return self.catalog[item_id]

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
        user_id = _check_user(user_id)
        try:
            kind = FeedbackKind(str(kind).strip().lower())
        except ValueError:
            raise EncoreError(f"unknown feedback kind {kind!r}. Fix: use one of "
                              f"{', '.join(k.value for k in FeedbackKind)}") from None
        self.item(item_id)
        self.store.add_event(user_id, item_id, kind.value, session_id=session_id)

    def history(self, user_id: str, limit: int = 50) -> list[HistoryEntry]:
        """The user's last ``limit`` events, oldest first: the bundle's log, then feedback."""
        user_id = _check_user(user_id)
        out: list[HistoryEntry] = []
        base = self.engine.base_history(user_id)
        for item_id, event, value in zip(base.item_ids, base.events, base.values, strict=True):
            item = self.catalog[item_id] if item_id in self.catalog else None
            out.append(HistoryEntry(item_id=item_id, title=item.title if item else item_id,
                                    media_type=item.media_type.value if item else "",
                                    event=event, value=_finite(value), source="log"))
        for ev in self.store.events(user_id):
            item = self.catalog[ev.item_id] if ev.item_id in self.catalog else None
            out.append(HistoryEntry(item_id=ev.item_id, title=item.title if item else ev.item_id,
                                    media_type=item.media_type.value if item else "",
                                    event=str(ev.kind), timestamp=ev.timestamp,
                                    source="feedback"))
        return out[-limit:] if limit > 0 else []

    def _history(self, user_id: str) -> History:
        """The bundle's history of the user followed by the feedback given here (the latest
        word on an item wins: a like after a dislike counts as a like)."""
        from retrieval.retriever import History

        base = self.engine.base_history(user_id)
        events = self.store.events(user_id)
        if not events:
            return base
        latest: dict[str, str] = {}
        for ev in events:
            if ev.item_id in self.catalog:
                latest.pop(ev.item_id, None)
                latest[ev.item_id] = str(ev.kind)
        keep = [k for k, i in enumerate(base.item_ids) if i not in latest]
        ids = [base.item_ids[k] for k in keep]
        evs = [base.events[k] for k in keep]
        vals = [base.values[k] for k in keep]
        for item_id, kind in latest.items():
            event, value = _FEEDBACK_EVENT[kind]
            ids.append(item_id)
            evs.append(event)
            vals.append(value)
        return History(ids, evs, vals)

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
        user_id = _check_user(user_id)
        k = _check_k(k)
        request, _, _ = self._parse(query or "", None) if query else (Request(), "rules", None)
        request = _apply_filters(request, filters)
        history = self._history(user_id)
        ranked = self.engine.recommend(history, request, k=k, exclude=request.exclude_ids)
        recs = self._cards(ranked, request, history)
        texts, _ = self._explain_all(recs, request)
        return [r.model_copy(update={"explanation": t}) for r, t in zip(recs, texts, strict=True)]

    def similar(self, item_id: str, k: int = DEFAULT_K,
                user_id: str | None = None) -> list[Recommendation]:
        """Items like ``item_id`` (never itself), ranked for ``user_id`` when given.

        Raises:
            UnknownItem: ``item_id`` is not in the catalog.
        """
        self.item(item_id)
        k = _check_k(k)
        history = self._history(_check_user(user_id)) if user_id else None
        request = Request(intent=Intent.similar)
        ranked = self.engine.similar([item_id], history=history, request=request, k=k)
        recs = self._cards(ranked, request, history, source="similar")
        texts, _ = self._explain_all(recs, request)
        return [r.model_copy(update={"explanation": t}) for r, t in zip(recs, texts, strict=True)]

    # -- conversation ---------------------------------------------------------------------

    def chat(self, session_id: str, user_id: str, message: str) -> Reply:
        """Answer one message of a conversation (see the module docstring for the steps)."""
        last = None
        for snapshot in self.chat_stream(session_id, user_id, message):
            last = snapshot
        assert last is not None
        return last

    def chat_stream(self, session_id: str, user_id: str, message: str) -> Iterator[Reply]:
        """:meth:`chat`, yielding growing snapshots of the reply: first the text and the
        cards, then each explanation as it is written; the last snapshot is complete."""
        session_id = _check_session(session_id)
        user_id = _check_user(user_id)
        with self._session_lock(session_id):
            yield from self._turn(session_id, user_id, message)

    def _turn(self, session_id: str, user_id: str, message: Any) -> Iterator[Reply]:
        from assistant import session as sessions

        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        meta = TurnMeta(ranker=self.engine.ranker_name)
        session = self._session(session_id, user_id)
        text_in = message if isinstance(message, str) else ("" if message is None else str(message))
        request, parser_used, fb = self._parse(text_in, session.context())
        meta.parser = parser_used
        if fb is not None:
            meta.fallbacks.append(fb)
        elif parser_used == "llm":
            meta.llm_model = self.settings.llm.model
        timings["parse"] = _ms(t0)

        t = time.perf_counter()
        merged = sessions.merge(session, request, self.catalog)
        req = merged.request
        timings["merge"] = _ms(t)

        t = time.perf_counter()
        history = self._history(user_id)
        notices: list[str] = list(merged.notes)
        if not self.is_known(user_id):
            notices.append("new user: no history yet, so these come from your request and "
                           "what is popular")
        unresolved = [tr.text for tr in request.titles if tr.item_id is None]
        if unresolved:
            notices.append("not in the catalog: " + ", ".join(f"'{u}'" for u in unresolved[:3]))
        noted = ""
        if request.intent == Intent.feedback:
            noted = self._feedback_from_request(user_id, session_id, request, merged)
            history = self._history(user_id)
        k = req.count or DEFAULT_K
        ranked, lead, source, extra = self._run_tool(req, merged, history, k)
        if not ranked and merged.carried and req.intent not in (Intent.chitchat, Intent.details):
            relaxed_req, dropped = sessions.relax(merged)
            if dropped:
                merged = merged.model_copy(update={"request": relaxed_req})
                req = relaxed_req
                ranked, lead, source, extra = self._run_tool(req, merged, history, k,
                                                             request=relaxed_req)
                meta.relaxed = list(dropped)
                if ranked:
                    notices.append("nothing matched everything said so far, so I dropped: "
                                   + ", ".join(dropped))
        timings["rank"] = _ms(t)

        if not ranked and req.intent not in (Intent.chitchat,):
            if extra:
                notices.append(extra)
            elif req.hard_constraints():
                notices.append("nothing in the catalog matches all of: "
                               + "; ".join(_constraint_words(req)))
        recs = self._cards(ranked, req, history, source=source)
        if req.intent == Intent.details and recs:
            recs = [recs[0].model_copy(update={"explanation": recs[0].description})]
        sessions.record(session, [r.item_id for r in recs], merged)
        self._save_session(session)
        reply = Reply(session_id=session_id, user_id=user_id, turn=session.turn,
                      text=noted + (lead(recs) if callable(lead) else lead),
                      intent=req.intent.value,
                      recommendations=recs, request=req,
                      notice="; ".join(notices) if notices else None, meta=meta)
        yield reply

        t = time.perf_counter()
        if recs and req.intent != Intent.details:
            yield from self._explain_stream(reply, recs, req)
        else:
            reply.meta.explainer = "none"
        timings["explain"] = _ms(t)
        timings["total"] = _ms(t0)
        reply.meta.timings_ms = timings
        yield reply

    def _run_tool(self, req: Request, merged: Any, history: History, k: int, *,
                  request: Request | None = None) -> tuple[list[RankedItem], Any, str, str | None]:
        """The tool the intent calls. Returns the picks, the lead text (or a function of the
        cards), the candidate source, and a message for when nothing came back."""
        eng = self.engine
        exclude = list(dict.fromkeys([*merged.exclude_ids, *req.exclude_ids]))
        refs = [i for i in dict.fromkeys([*merged.reference_ids, *req.like_ids])
                if i in self.catalog]
        intent = req.intent
        if intent == Intent.chitchat:
            return [], _CHITCHAT, "", None
        if intent == Intent.details:
            about = [i for i in (*req.about_ids, *refs) if i in self.catalog]
            if not about:
                return [], "Which title would you like to know about?", "", \
                    'name a title from the catalog, or point into the list ("the second one")'
            from retrieval.diversify import RankedItem

            item = self.catalog[about[0]]
            return [RankedItem(item_id=item.id, rank=1, score=1.0)], \
                f"About {item.title}:", "details", None
        if intent == Intent.similar and refs:
            got = eng.similar(refs, history=history, request=req, k=k, exclude=exclude)
            names = ", ".join(self.catalog[i].title for i in refs[:2])
            return got, f"Like {names}:", "similar", None
        if intent == Intent.trending:
            got = eng.trending(request=req, k=k, exclude=exclude, history=history)
            return got, "Popular lately" + _scope(req) + ":", "trending", None
        if intent == Intent.playlist:
            target = req.playlist_minutes or DEFAULT_PLAYLIST_MINUTES
            pl = eng.playlist(history, req, target_minutes=target, exclude=exclude)
            total = round(pl.total_minutes)
            lead = (f"A {target}-minute playlist, {len(pl.items)} items, {total} minutes in all:"
                    if pl.within_tolerance else
                    f"The closest I could get to {target} minutes is {total} minutes "
                    f"({len(pl.items)} items):")
            return list(pl.items), lead, "playlist", None
        got = eng.recommend(history, req, k=k, exclude=exclude)
        return got, _lead_for(req), "", None

    def _feedback_from_request(self, user_id: str, session_id: str, request: Request,
                               merged: Any) -> str:
        """Store what a feedback message says ("I loved Parasite", "I didn't like Get Out");
        returns a sentence saying what was noted (empty when nothing was)."""
        said = []
        for kind, ids in (("like", request.like_ids), ("dislike", request.not_ids)):
            for item_id in ids:
                if item_id in self.catalog:
                    self.store.add_event(user_id, item_id, kind, session_id=session_id)
                    said.append(f"you {'liked' if kind == 'like' else 'did not like'} "
                                f"{self.catalog[item_id].title}")
        return ("Noted: " + "; ".join(said) + ". ") if said else ""

    # -- parsing --------------------------------------------------------------------------

    def _parse(self, message: str, context: Any) -> tuple[Request, str, Fallback | None]:
        if self._llm_parser is None:
            return self._rules.parse(message, context), "rules", None
        from assistant.parsers.llm import parse_with_fallback

        return parse_with_fallback(self._llm_parser, self._rules, message, context)

    # -- cards and explanations -----------------------------------------------------------

    def _cards(self, ranked: Sequence[RankedItem], request: Request, history: History | None,
               *, source: str | None = None) -> list[Recommendation]:
        from assistant.explain import grounds_for

        out = []
        for pos, r in enumerate(ranked, 1):
            item = self.catalog[r.item_id]
            grounds = grounds_for(item, request, r, self.catalog, source=source or None)
            out.append(Recommendation(
                item_id=item.id, title=item.title, media_type=item.media_type.value,
                year=item.year, duration_min=item.duration_min, genres=list(item.genres),
                tags=list(item.tags), creators=list(item.creators),
                description=item.description, rank=pos,
                score=None if r.score != r.score else float(r.score), grounds=grounds))
        return out

    def _explainer(self) -> Any:
        return self._llm_explainer or self._template

    def _explain_all(self, recs: Sequence[Recommendation], request: Request
                     ) -> tuple[list[str], Any]:
        if not recs:
            return [], None
        picks = [(self.catalog[r.item_id], r.grounds) for r in recs]
        result = self._explainer().explain(picks, request)
        return list(result.texts), result

    def _explain_stream(self, reply: Reply, recs: list[Recommendation], request: Request
                        ) -> Iterator[Reply]:
        explainer = self._explainer()
        picks = [(self.catalog[r.item_id], r.grounds) for r in recs]
        texts = [""] * len(recs)
        meta = reply.meta
        meta.explainer = explainer.name
        final = None
        for event in explainer.stream(picks, request):
            if event.kind == "delta":
                texts[event.index] += event.text
            elif event.kind == "final":
                texts[event.index] = event.text
            elif event.kind == "done":
                final = event.result
                continue
            reply.recommendations = [r.model_copy(update={"explanation": t})
                                     for r, t in zip(recs, texts, strict=True)]
            yield reply
        if final is not None:
            texts = list(final.texts)
            meta.explanation_sentences = final.sentences
            meta.replaced_sentences = final.replaced
            if final.fallback is not None:
                meta.fallbacks.append(final.fallback)
                meta.explainer = final.fallback.used
            elif explainer.name == "llm":
                meta.llm_model = self.settings.llm.model
        reply.recommendations = [r.model_copy(update={"explanation": t})
                                 for r, t in zip(recs, texts, strict=True)]

    # -- sessions -------------------------------------------------------------------------

    def _session_lock(self, session_id: str) -> threading.Lock:
        with self._lock:
            lock = self._locks.get(session_id)
            if lock is None:
                if len(self._locks) > 4 * _MAX_SESSIONS:
                    self._locks.clear()
                lock = self._locks[session_id] = threading.Lock()
            return lock

    def _session(self, session_id: str, user_id: str) -> Session:
        from assistant.session import Session

        with self._lock:
            s = self._sessions.get(session_id)
        if s is None:
            state = self.store.load_session(session_id)
            if state is not None:
                try:
                    s = Session.from_state(state)
                except (ValidationError, ValueError, TypeError, KeyError) as exc:
                    log.warning("session %s could not be restored (%s); starting afresh",
                                session_id, exc)
                    s = None
        if s is None or s.user_id != user_id:
            s = Session(session_id=session_id, user_id=user_id)
        return s

    def _save_session(self, session: Session) -> None:
        with self._lock:
            self._sessions[session.session_id] = session
            self._sessions.move_to_end(session.session_id)
            while len(self._sessions) > _MAX_SESSIONS:
                self._sessions.popitem(last=False)
        self.store.save_session(session.session_id, session.user_id, session.to_state())

    def reset_session(self, session_id: str) -> None:
        """Forget a conversation (its constraints and what it has shown)."""
        with self._lock:
            self._sessions.pop(session_id, None)
        self.store.delete_session(session_id)

    def close(self) -> None:
        """Close the history store."""
        self.store.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- helpers -------------------------------------------------------------------------------

_CHITCHAT = ("Tell me what you are in the mood for: a film, a series, an album or a podcast, "
             "a mood, a length, or a title you liked.")


def _template_explainer() -> Any:
    from assistant.explain import TemplateExplainer

    return TemplateExplainer()


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000.0, 2)


def _finite(v: float) -> float | None:
    return None if v != v else float(v)


def _check_user(user_id: Any) -> str:
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 200:
        raise EncoreError(f"invalid user id {str(user_id)[:40]!r}. Fix: pass a non-empty id of "
                          "at most 200 characters")
    return user_id.strip()


def _check_session(session_id: Any) -> str:
    if not isinstance(session_id, str) or not session_id.strip() or len(session_id) > 200:
        raise EncoreError(f"invalid session id {str(session_id)[:40]!r}. Fix: pass a non-empty "
                          "id of at most 200 characters")
    return session_id.strip()


def _check_k(k: Any) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50:
        raise EncoreError(f"k must be a whole number from 1 to 50, got {k!r}")
    return k


def _apply_filters(request: Request, filters: dict[str, Any] | Request | None) -> Request:
    if filters is None:
        return request
    if isinstance(filters, Request):
        update = filters.model_dump(exclude_defaults=True)
    elif isinstance(filters, dict):
        update = dict(filters)
    else:
        raise EncoreError(f"filters must be a dict of request slots, got {type(filters).__name__}")
    unknown = sorted(set(update) - set(Request.model_fields))
    if unknown:
        raise EncoreError(f"unknown filter {unknown[0]!r}. Fix: use request slots such as "
                          "media_types, genres, exclude_genres, year_min, year_max, "
                          "max_minutes, language")
    try:
        return Request.model_validate({**request.model_dump(), **update})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or "filters"
        raise EncoreError(f"invalid filter {loc}: {first.get('msg')}") from None


_TYPE_WORDS = {"movie": "films", "series": "series", "episode": "episodes",
               "music_track": "tracks", "album": "albums", "podcast": "podcasts",
               "audiobook": "audiobooks"}


def _scope(req: Request) -> str:
    types = [_TYPE_WORDS.get(str(m), str(m)) for m in req.media_types]
    return f" in {' and '.join(types)}" if types else ""


def _constraint_words(req: Request) -> list[str]:
    out = []
    if req.media_types:
        out.append("only " + " and ".join(_TYPE_WORDS.get(str(m), str(m))
                                          for m in req.media_types))
    if req.exclude_media_types:
        out.append("no " + " or ".join(_TYPE_WORDS.get(str(m), str(m))
                                       for m in req.exclude_media_types))
    if req.exclude_genres:
        out.append("no " + ", ".join(req.exclude_genres))
    if req.exclude_tags:
        out.append("nothing " + ", ".join(req.exclude_tags))
    if req.year_min is not None or req.year_max is not None:
        out.append(f"years {req.year_min or '…'} to {req.year_max or '…'}")
    if req.min_minutes is not None:
        out.append(f"at least {req.min_minutes} minutes")
    if req.max_minutes is not None:
        out.append(f"at most {req.max_minutes} minutes")
    if req.language:
        out.append(f"language {req.language}")
    return out


def _lead_for(req: Request) -> Any:
    def lead(recs: list[Recommendation]) -> str:
        if not recs:
            return "I found nothing that fits."
        what = " and ".join(_TYPE_WORDS.get(str(m), str(m)) for m in req.media_types) or "picks"
        about = ", ".join([*req.genres[:2], *req.tags[:2]])
        cons = _constraint_words(req.model_copy(update={"media_types": []}))
        parts = [f"Here are {len(recs)} {what}"]
        if about:
            parts.append(f" for {about}")
        if cons:
            parts.append(" (" + "; ".join(cons) + ")")
        return "".join(parts) + ":"

    return lead
