"""The page's handlers as plain methods (no gradio state), over an assistant that may still
be loading in a background thread."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from assistant.errors import BundleNotReady, EncoreError
from assistant.reply import FeedbackKind, PlaylistReply, Recommendation
from assistant.ui.playlist import playlist_files, render_playlist
from assistant.ui.render import _esc, _message, _problem, _reply_markdown, render_card, render_note

if TYPE_CHECKING:
    from assistant.core import Assistant

log = logging.getLogger(__name__)

N_CARDS = 10
"""Card slots on the page (replies with more picks show the first ten)."""


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


class ChatPage:
    """The page's handlers, as plain methods over an :class:`AssistantLoader`.

    Each UI handler returns plain values in the order of its outputs; the ``api_*`` methods
    are the named endpoints (their errors become ``gradio.Error`` messages).
    """

    def __init__(self, loader: AssistantLoader, n_cards: int = N_CARDS) -> None:
        self.loader = loader
        self.n_cards = n_cards

    # -- page status and users --------------------------------------------------

    def status(self, current_user: str | None) -> tuple[str, list[str], str | None, str, bool]:
        """(status html, user choices, selected user, user summary, still building?)."""
        try:
            a = self.loader.get()
        except BundleNotReady as exc:
            return (_problem(f"Encore is starting: {exc}."), [], current_user, "", True)
        except EncoreError as exc:
            return (_problem(str(exc)), [], current_user, "", False)
        users = a.users()
        user = current_user or (users[0] if users else a.new_user_id())
        if user not in users:
            users = [user, *users]
        label = ""
        if getattr(a, "synthetic", False):
            label = ('<b>Demo data:</b> the users and their histories are synthetic interactions '
                     "generated from seeded taste profiles. ")
        status = f'<div class="encore-status">{label}{_esc(a.backend_note())}</div>'
        return status, users, user, self.user_summary(user), False

    def user_summary(self, user_id: str | None) -> str:
        if not user_id:
            return ""
        try:
            return _esc(self.loader.get().user_summary(user_id))
        except Exception as exc:
            return _problem(_message(exc))

    def new_user(self) -> tuple[str | None, str]:
        """(the new user's id, their summary); (None, message) while building."""
        try:
            user = self.loader.get().new_user_id()
        except Exception as exc:
            return None, _problem(_message(exc))
        return user, self.user_summary(user)

    # -- one chat turn, streamed -----------------------------------------------

    def respond(self, message: str, history: list[dict] | None, user_id: str | None,
                session_id: str | None) -> Iterator[tuple]:
        """Stream one turn. Yields (textbox, history, session_id, user_id, recs, marks,
        note html, *card visibilities, *card htmls, playlist html, M3U file, JSON file); the
        playlist block shows the whole playlist, and its files come with the last frame."""
        history = list(history or [])
        message = (message or "").strip()
        session_id = session_id or uuid.uuid4().hex
        if not message:
            yield self._frame("", history, session_id, user_id, [], {}, "")
            return
        history = [*history, {"role": "user", "content": _esc(message)},
                   {"role": "assistant", "content": "…"}]
        yield self._frame("", history, session_id, user_id, [], {},
                          render_note(None, done=False))
        try:
            a = self.loader.get()
            user_id = user_id or a.new_user_id()
            reply = None
            for reply in a.chat_stream(session_id, user_id, message):
                history[-1] = {"role": "assistant", "content": _reply_markdown(reply)}
                recs = list(reply.recommendations[: self.n_cards])
                yield self._frame("", history, session_id, user_id, recs, {},
                                  render_note(reply.meta, turn=reply.turn, done=False),
                                  turn=reply.turn, playlist=reply.playlist)
        except Exception as exc:
            if not isinstance(exc, EncoreError):
                log.exception("chat turn failed")
            history[-1] = {"role": "assistant", "content": f"{_esc(_message(exc))}"}
            yield self._frame("", history, session_id, user_id, [], {},
                              render_note(None, done=True) + _problem(_message(exc)))
            return
        if reply is not None:
            yield self._frame("", history, session_id, user_id, recs, {},
                              render_note(reply.meta, turn=reply.turn, done=True),
                              turn=reply.turn, playlist=reply.playlist, files=True)

    def _frame(self, text: str, history: list[dict], session_id: str, user_id: str | None,
               recs: list[Recommendation], marks: dict[str, str], note: str,
               turn: int | None = None, playlist: PlaylistReply | None = None,
               files: bool = False) -> tuple:
        visible = [i < len(recs) for i in range(self.n_cards)]
        cards = [render_card(recs[i], mark=marks.get(recs[i].item_id), turn=turn)
                 if i < len(recs) else "" for i in range(self.n_cards)]
        m3u = js = None
        if files and playlist is not None and playlist.items:
            m3u, js = (str(p) for p in playlist_files(playlist))
        # Copies: each frame is a snapshot, later frames must not change earlier ones.
        return (text, list(history), session_id, user_id, list(recs), dict(marks), note,
                *visible, *cards, render_playlist(playlist), m3u, js)

    # -- feedback on a card ------------------------------------------------------

    def feedback(self, slot: int, kind: str, recs: list[Recommendation] | None,
                 marks: dict[str, str] | None, user_id: str | None,
                 session_id: str | None) -> tuple[str, dict[str, str], str]:
        """Like or dislike the card in ``slot``. Returns (feedback line, marks, card html)."""
        recs = list(recs or [])
        marks = dict(marks or {})
        if not 0 <= slot < len(recs):
            return _problem("That card is no longer on the page; ask again for new picks."), \
                marks, ""
        rec = recs[slot]
        card = render_card(rec, mark=marks.get(rec.item_id))
        if not user_id:
            return _problem("Pick a user (or a new user) first."), marks, card
        try:
            self.loader.get().feedback(user_id, rec.item_id, FeedbackKind(kind),
                                       session_id=session_id)
        except Exception as exc:
            if not isinstance(exc, EncoreError):
                log.exception("feedback failed")
            return _problem(_message(exc)), marks, card
        marks[rec.item_id] = kind
        verb = "liked" if kind == "like" else "disliked"
        effect = ("more like it will come up" if kind == "like"
                  else "it will be left out of your next answers")
        line = (f'<div class="encore-feedback" data-item-id="{_esc(rec.item_id)}" '
                f'data-kind="{_esc(kind)}">Noted: you {verb} <b>{_esc(rec.title)}</b>; '
                f"{effect}.</div>")
        return line, marks, render_card(rec, mark=kind)

    # -- named endpoints (gradio_client) ----------------------------------------

    def _api_assistant(self) -> Assistant:
        import gradio as gr

        try:
            return self.loader.get()
        except EncoreError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def _api_call(self, fn: Callable[[], Any]) -> Any:
        import gradio as gr

        try:
            return fn()
        except gr.Error:
            raise
        except Exception as exc:
            if not isinstance(exc, EncoreError):
                log.exception("API call failed")
            raise gr.Error(_message(exc), print_exception=False) from None

    def api_chat(self, message: str, user_id: str = "", session_id: str = "") -> dict:
        """One chat turn; returns the Reply as JSON (session_id: reuse it for the next turn)."""
        a = self._api_assistant()
        if not message or not message.strip():
            import gradio as gr

            raise gr.Error("message is empty: say what you would like", print_exception=False)
        user = user_id or a.new_user_id()
        session = session_id or uuid.uuid4().hex
        return self._api_call(lambda: a.chat(session, user, message).model_dump(mode="json"))

    def api_recommend(self, user_id: str, query: str = "", k: int = 10) -> list[dict]:
        """Recommendations for a user (and an optional request), as JSON."""
        a = self._api_assistant()
        return self._api_call(lambda: [r.model_dump(mode="json") for r in a.recommend(
            user_id, query or None, k=int(k))])

    def api_feedback(self, user_id: str, item_id: str, kind: str = "like",
                     session_id: str = "") -> dict:
        """Record like / dislike / seen for an item; returns what was stored."""
        a = self._api_assistant()

        def run() -> dict:
            try:
                fk = FeedbackKind(kind)
            except ValueError:
                raise EncoreError(f"unknown feedback kind {kind!r}. Fix: use one of "
                                  f"{', '.join(k.value for k in FeedbackKind)}") from None
            item = a.item(item_id)  # raises UnknownItem with a clear message
            a.feedback(user_id, item_id, fk, session_id=session_id or None)
            return {"user_id": user_id, "item_id": item_id, "kind": fk.value,
                    "title": item.title}

        return self._api_call(run)

    def api_history(self, user_id: str, limit: int = 50) -> list[dict]:
        """A user's history (bundle log, then feedback), as JSON."""
        a = self._api_assistant()
        return self._api_call(lambda: [h.model_dump(mode="json")
                                       for h in a.history(user_id, limit=int(limit))])

