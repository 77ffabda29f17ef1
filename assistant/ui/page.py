"""The page's handlers as plain methods (no gradio state), over an assistant that may still
be loading in a background thread."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from assistant.errors import BundleNotReady, EncoreError
from assistant.reply import PlaylistReply, Reply
from assistant.store import latest_per_item
from assistant.ui import checks
from assistant.ui.access import Access, Viewer
from assistant.ui.actions import PageActions
from assistant.ui.render import _esc, _message, _problem, render_note
from assistant.ui.transcript import (
    Entry,
    ImageOf,
    load_transcript,
    render_messages,
    save_transcript,
)
from assistant.validation import MAX_K, check_feedback_kind

if TYPE_CHECKING:
    from assistant.core import Assistant

log = logging.getLogger(__name__)

N_CARDS = 10
"""Cards an answer shows in the chat (replies with more picks show the first ten)."""
MAX_HISTORY = 1000
"""Most history events one ``/history`` call returns."""


# ---------------------------------------------------------------- the assistant, maybe late


class AssistantLoader:
    """Holds the assistant, or builds it in a background thread while the page is up.

    Args:
        source: an assistant, or a function that returns one (run once, in a thread).

    Example:
        >>> import threading
        >>> gate = threading.Event()
        >>> loader = AssistantLoader(lambda: gate.wait(5) and "an assistant")
        >>> loader.ready
        False
        >>> gate.set(); loader.wait(5)
        'an assistant'
    """

    def __init__(self, source: Assistant | Callable[[], Assistant]) -> None:
        self._assistant: Assistant | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        if callable(source) and not hasattr(source, "chat_stream"):
            self._thread = threading.Thread(target=self._build, args=(source,),
                                            name="encore-assistant-loader", daemon=True)
            self._thread.start()
        else:
            self._assistant = source  # type: ignore[assignment]
            self._done.set()

    def _build(self, factory: Callable[[], Assistant]) -> None:
        try:
            self._assistant = factory()
        except BaseException as exc:  # kept and shown on every request, never raised here
            log.exception("loading the assistant failed")
            self._error = exc
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set() and self._assistant is not None

    def get(self) -> Assistant:
        """The assistant; raises :class:`BundleNotReady` while it is being built, or an
        :class:`EncoreError` naming the cause when building it failed."""
        if not self._done.is_set():
            raise BundleNotReady()
        if self._assistant is None:
            raise EncoreError(f"the assistant could not be loaded: {_message(self._error)}")
        return self._assistant

    def wait(self, timeout: float | None = None) -> Assistant:
        """Block until the assistant is ready (or ``timeout`` seconds pass), then :meth:`get`."""
        self._done.wait(timeout)
        return self.get()



# ---------------------------------------------------------------- handlers (no gradio state)


class Frame(NamedTuple):
    """One snapshot of a streamed turn, in the order of the chat's outputs."""

    text: str
    """The message box (emptied once sent)."""
    messages: list[dict[str, str]]
    """The chat, rendered (each answer with its own cards)."""
    session_id: str
    user_id: str | None
    transcript: list[Entry]
    marks: dict[str, str]
    note: str
    """The details toggle (backends, timings) or a problem."""
    playlist: PlaylistReply | None = None
    """The playlist this turn made, if any (the Playlist view edits and exports it)."""


def _answer(reply: Reply, n_cards: int, updated: str | None) -> Entry:
    text = reply.text
    return Entry(role="assistant", text=text, turn=reply.turn, notice=reply.notice,
                 updated=updated, recs=list(reply.recommendations[:n_cards]),
                 playlist=reply.playlist, intent=reply.intent)


# The picker holds every demo user (1,500), so that typing "jazz" or "0042" narrows all of
# them in the browser; a catalog with more users still accepts any id typed in full.
PICKER_USERS = 2_000


def _labelled(a: Any, users: list[str]) -> list[Any]:
    """The picker's choices: ``(id · persona, id)`` where the assistant has a persona for the
    user, else the id alone."""
    persona = getattr(a, "persona", None)
    if not callable(persona):
        return users
    out: list[Any] = []
    for u in users:
        try:
            label = persona(u)
        except Exception:
            label = None
        out.append((f"{u} · {label}", u) if isinstance(label, str) and label else u)
    return out


class ChatPage(PageActions):
    """The page's handlers, as plain methods over an :class:`AssistantLoader`.

    Each UI handler returns plain values in the order of its outputs; the ``api_*`` methods
    are the named endpoints (their errors become ``gradio.Error`` messages). Every handler
    takes the caller as a :class:`~assistant.ui.access.Viewer` and acts for the user it
    allows (:meth:`Viewer.user_for`), never simply for the id the client sent.
    """

    def __init__(self, loader: AssistantLoader, n_cards: int = N_CARDS,
                 access: Access | None = None) -> None:
        self.loader = loader
        self.n_cards = n_cards
        self.access = access or Access.open()

    # -- page status and users --------------------------------------------------

    def status(self, current_user: str | None, viewer: Viewer | None = None
               ) -> tuple[str, list[Any], str | None, str, bool]:
        """(status html, user choices, selected user, user summary, still building?).

        A choice is a user id, or ``("demo-0042 · crime and mystery fan", "demo-0042")`` when
        the assistant knows a persona for that user (``Assistant.persona``).

        Only a caller who may pick (open mode, an admin) gets the list of users; anyone else
        gets their own user only."""
        viewer = viewer or Viewer()
        # gradio's own /logout ends a sign-in of the accounts mode (a proxy ends its own).
        sign_out = (' <a href="logout" class="sign-out">Sign out</a>'
                    if self.access.mode == "accounts" and viewer.name else "")
        banner = (f'<div class="encore-access" data-mode="{self.access.mode}">'
                  f"{_esc(self.access.banner(viewer))}{sign_out}</div>")
        if not viewer.may_pick:
            current_user = viewer.user_id
        # A build behind the page (the demo's) says where it is, in plain words.
        progress = getattr(self.loader, "progress", None)
        building = bool(progress is not None and progress.busy)
        words = progress.text() if progress is not None else None
        fraction = progress.fraction if progress is not None and building else None
        bar = (f' <progress value="{fraction:.2f}" max="1"></progress>'
               if fraction is not None else "")
        build_note = (f'<div class="encore-progress" role="status">{_esc(words)}{bar}</div>'
                      if words else "")
        try:
            a = self.loader.get()
        except BundleNotReady as exc:
            if build_note:
                return banner + build_note, [], current_user, "", True
            return (banner + _problem(f"Encore is starting: {exc}."), [], current_user, "", True)
        except EncoreError as exc:
            return (banner + _problem(str(exc)), [], current_user, "", False)
        if viewer.may_pick:
            users = a.users(limit=PICKER_USERS)
            user = current_user or (users[0] if users else a.new_user_id())
        else:
            users, user = [], viewer.user_id or ""
        if user not in users:
            users = [user, *users]
        label = ""
        if getattr(a, "synthetic", False):
            label = ('<b>Demo data:</b> the users and their histories are synthetic interactions '
                     "generated from seeded taste profiles. ")
        status = (f'{banner}{build_note}<div class="encore-status">{label}'
                  f'<details class="status-details"><summary>details</summary>'
                  f"{_esc(a.backend_note())}</details></div>")
        return status, _labelled(a, users), user, self.user_summary(user, viewer), building

    def user_summary(self, user_id: str | None, viewer: Viewer | None = None) -> str:
        try:
            user = (viewer or Viewer()).user_for(checks.ident(user_id, "user"))
            if not user:
                return ""
            return _esc(self.loader.get().user_summary(user))
        except Exception as exc:
            return _problem(_message(exc))

    def new_user(self, viewer: Viewer | None = None) -> tuple[str | None, str]:
        """(the new user's id, their summary); (None, message) while building, or when the
        caller may not pick users."""
        viewer = viewer or Viewer()
        if not viewer.may_pick:
            return None, _problem("Only an admin (or the open demo) may switch users.")
        try:
            user = self.loader.get().new_user_id()
        except Exception as exc:
            return None, _problem(_message(exc))
        return user, self.user_summary(user, viewer)

    # -- one chat turn, streamed -----------------------------------------------

    def respond(self, message: str, transcript: list[Entry] | None, user_id: str | None,
                session_id: str | None, viewer: Viewer | None = None,
                marks: dict[str, str] | None = None, updated: str | None = None
                ) -> Iterator[Frame]:
        """Stream one turn into the transcript: the person's message, then the answer with
        its own cards (earlier answers keep theirs). ``updated``: feedback given since the
        last answer, said in this one ("your dislike of Heat"). The last frame saves the
        transcript for a reload."""
        entries = list(transcript or [])
        marks = dict(marks or {})
        session_id = session_id or uuid.uuid4().hex
        try:
            user_id = (viewer or Viewer()).user_for(checks.ident(user_id, "user"))
            message = checks.text(message, "message", required=False)
        except EncoreError as exc:
            yield self._frame(message if isinstance(message, str) else "", entries, session_id,
                              None, marks, _problem(str(exc)))
            return
        if not message:
            yield self._frame("", entries, session_id, user_id, marks, "")
            return
        entries.append(Entry(role="user", text=message))
        entries.append(Entry(role="assistant", text="…"))
        yield self._frame("", entries, session_id, user_id, marks, render_note(None, done=False))
        reply, a = None, None
        try:
            a = self.loader.get()
            user_id = user_id or a.new_user_id()
            for reply in a.chat_stream(session_id, user_id, message):
                entries[-1] = _answer(reply, self.n_cards, updated)
                yield self._frame("", entries, session_id, user_id, marks,
                                  render_note(reply.meta, turn=reply.turn, done=False),
                                  playlist=reply.playlist)
        except Exception as exc:
            if not isinstance(exc, EncoreError):
                log.exception("chat turn failed")
            entries[-1] = Entry(role="assistant", text=_message(exc), problem=True)
            yield self._frame("", entries, session_id, user_id, marks,
                              render_note(None, done=True) + _problem(_message(exc)))
            return
        if reply is not None and a is not None and user_id:
            save_transcript(a.store, session_id, user_id, entries)
            yield self._frame("", entries, session_id, user_id, marks,
                              render_note(reply.meta, turn=reply.turn, done=True),
                              playlist=reply.playlist)

    def _image_of(self) -> ImageOf | None:
        """Item id -> the catalog's cover image URL, when the assistant is loaded."""
        try:
            a = self.loader.get()
        except EncoreError:
            return None

        def image_of(item_id: str) -> str | None:
            try:
                return getattr(a.item(item_id), "image_url", None)
            except Exception:
                return None

        return image_of

    def messages(self, entries: list[Entry], marks: dict[str, str]) -> list[dict[str, str]]:
        """The chat's messages for ``entries`` (cards with the user's marks)."""
        return render_messages(entries, marks, self._image_of())

    def _frame(self, text: str, entries: list[Entry], session_id: str, user_id: str | None,
               marks: dict[str, str], note: str, playlist: PlaylistReply | None = None
               ) -> Frame:
        # Copies: each frame is a snapshot, later frames must not change earlier ones.
        return Frame(text, self.messages(entries, marks), session_id, user_id, list(entries),
                     dict(marks), note, playlist)

    def restore(self, session_id: str | None, user_id: str | None,
                viewer: Viewer | None = None) -> tuple[list[Entry], dict[str, str]]:
        """After a reload: the transcript kept for this conversation and the user's marks
        (their likes and dislikes, from the history store). Empty while building."""
        try:
            user = (viewer or Viewer()).user_for(checks.ident(user_id, "user"))
            session = checks.ident(session_id, "session")
            a = self.loader.get()
        except EncoreError:
            return [], {}
        if not user:
            return [], {}
        entries = load_transcript(a.store, session, user) if session else []
        return entries, self.marks_of(user)

    def marks_of(self, user_id: str) -> dict[str, str]:
        """The user's standing likes and dislikes given here: item id -> "like"/"dislike"."""
        try:
            events = latest_per_item(self.loader.get().store.events(user_id))
        except Exception:
            return {}
        return {e.item_id: e.kind.value for e in events if e.kind.value in ("like", "dislike")}

    # -- named endpoints (gradio_client) ----------------------------------------

    def _api_assistant(self) -> Assistant:
        import gradio as gr

        try:
            return self.loader.get()
        except EncoreError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def _api_call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn``; every error becomes a ``gradio.Error`` with a message that names the
        field and the fix (internals stay in the server log)."""
        import gradio as gr

        try:
            return fn()
        except gr.Error:
            raise
        except Exception as exc:
            if not isinstance(exc, EncoreError):
                log.exception("API call failed")
            raise gr.Error(_message(exc), print_exception=False) from None

    def api_chat(self, message: str, user_id: str = "", session_id: str = "",
                 viewer: Viewer | None = None) -> dict:
        """One chat turn; returns the Reply as JSON (session_id: reuse it for the next turn)."""
        def run() -> dict:
            text = checks.text(message, "message")
            user = (viewer or Viewer()).user_for(checks.ident(user_id, "user_id"))
            session = checks.ident(session_id, "session_id") or uuid.uuid4().hex
            a = self._api_assistant()
            return a.chat(session, user or a.new_user_id(), text).model_dump(mode="json")

        return self._api_call(run)

    def api_recommend(self, user_id: str, query: str = "", k: int = 10,
                      viewer: Viewer | None = None) -> list[dict]:
        """Recommendations for a user (and an optional request), as JSON."""
        def run() -> list[dict]:
            user = (viewer or Viewer()).user_for(checks.ident(user_id, "user_id"))
            text = checks.text(query, "query", required=False)
            n = checks.whole(k, "k", 1, MAX_K)
            a = self._api_assistant()
            return [r.model_dump(mode="json")
                    for r in a.recommend(user or a.new_user_id(), text or None, k=n)]

        return self._api_call(run)

    def api_feedback(self, user_id: str, item_id: str, kind: str = "like",
                     session_id: str = "", viewer: Viewer | None = None) -> dict:
        """Record like / dislike / seen for an item; returns what was stored."""
        def run() -> dict:
            user = (viewer or Viewer()).user_for(checks.ident(user_id, "user_id"))
            if not user:
                raise checks.InputError("user_id is empty. Fix: pass the user who gives "
                                        "the feedback")
            item = checks.ident(item_id, "item_id", required=True)
            session = checks.ident(session_id, "session_id")
            fk = check_feedback_kind(checks.text(kind, "kind", max_len=20))
            a = self._api_assistant()
            found = a.item(item or "")  # raises UnknownItem with a clear message
            a.feedback(user, found.id, fk, session_id=session)
            return {"user_id": user, "item_id": found.id, "kind": fk.value,
                    "title": found.title}

        return self._api_call(run)

    def api_history(self, user_id: str, limit: int = 50,
                    viewer: Viewer | None = None) -> list[dict]:
        """A user's history (bundle log, then feedback), as JSON."""
        def run() -> list[dict]:
            user = (viewer or Viewer()).user_for(checks.ident(user_id, "user_id"))
            if not user:
                raise checks.InputError("user_id is empty. Fix: pass a user id")
            n = checks.whole(limit, "limit", 1, MAX_HISTORY)
            return [h.model_dump(mode="json") for h in self._api_assistant().history(user, n)]

        return self._api_call(run)
