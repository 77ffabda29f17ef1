"""The wiring of the page's events and named endpoints to :class:`~assistant.ui.page.ChatPage`.

Every handler takes ``request: gr.Request`` and asks the page's
:class:`~assistant.ui.access.Access` who is calling (the signed-in name, never a user id
the client sent); :class:`~assistant.ui.page.ChatPage` then acts only for the user that
caller may act for. This module imports gradio at the top (so that gradio can read the
``gr.Request`` annotations); only :func:`~assistant.ui.app.build_app` imports it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.errors import EncoreError
from assistant.ui.access import Viewer
from assistant.ui.playlist import playlist_files, render_playlist
from assistant.ui.render import _problem

if TYPE_CHECKING:
    from assistant.ui.app import _Widgets
    from assistant.ui.page import ChatPage

__all__ = ["wire_actions", "wire_api", "wire_chat", "wire_status"]


def _viewer(page: ChatPage, request: gr.Request | None) -> Viewer:
    """The caller; raises ``gr.Error`` (a clear message) when they are not signed in."""
    try:
        return page.access.viewer(request)
    except EncoreError as exc:
        raise gr.Error(str(exc), print_exception=False) from None


def wire_api(page: ChatPage) -> None:
    """The named endpoints ``/chat``, ``/recommend``, ``/feedback`` and ``/history``."""

    def chat(message: str, user_id: str = "", session_id: str = "",
             request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """One chat turn; returns the Reply as JSON (session_id: reuse it for the next turn).
        Signed in, user_id is yours (leave it empty); only an admin may pass another."""
        return page.api_chat(message, user_id, session_id, viewer=_viewer(page, request))

    def recommend(user_id: str, query: str = "", k: int = 10,
                  request: gr.Request = None) -> list[dict]:  # type: ignore[assignment]
        """Recommendations for a user (and an optional request), as JSON; k from 1 to 50."""
        return page.api_recommend(user_id, query, k, viewer=_viewer(page, request))

    def feedback(user_id: str, item_id: str, kind: str = "like", session_id: str = "",
                 request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """Record like / dislike / seen for an item; returns what was stored."""
        return page.api_feedback(user_id, item_id, kind, session_id,
                                 viewer=_viewer(page, request))

    def history(user_id: str, limit: int = 50,
                request: gr.Request = None) -> list[dict]:  # type: ignore[assignment]
        """A user's history (bundle log, then feedback), as JSON; limit from 1 to 1000."""
        return page.api_history(user_id, limit, viewer=_viewer(page, request))

    for fn in (chat, recommend, feedback, history):
        gr.api(fn, api_name=fn.__name__)


def _playlist_outputs(page: ChatPage, pl: Any) -> tuple:
    """The Playlist view and its two downloads for ``pl`` (None: unchanged view, no files)."""
    if pl is None or not pl.items:
        return gr.HTML(), gr.DownloadButton(visible=False), gr.DownloadButton(visible=False)
    m3u, js = (str(p) for p in playlist_files(pl))
    return (render_playlist(pl, editable=True), gr.DownloadButton(value=m3u, visible=True),
            gr.DownloadButton(value=js, visible=True))


def _updated(changes: list[str] | None) -> str | None:
    """Feedback given since the last answer, in words: "your dislike of Heat"."""
    changes = list(changes or [])
    if not changes:
        return None
    return changes[0] if len(changes) == 1 else ", ".join(changes[:-1]) + " and " + changes[-1]


def wire_status(app: gr.Blocks, page: ChatPage, w: _Widgets) -> None:
    """Page status (polled while the assistant is built), the user picker (shown only to
    callers who may pick: the open demo, admins), a reload's restored conversation, new
    user and new conversation."""

    def on_status(current: str | None, kept: dict | None, request: gr.Request) -> tuple:
        try:
            viewer = page.access.viewer(request)
        except EncoreError as exc:
            return (_problem(str(exc)), gr.Dropdown(visible=False), "", gr.Timer(active=False),
                    gr.Button(visible=False))
        current = current or (kept or {}).get("user")
        html_, choices, value, summ, building = page.status(current, viewer)
        return (html_, gr.Dropdown(choices=choices, value=value, visible=viewer.may_pick),
                summ, gr.Timer(active=building), gr.Button(visible=viewer.may_pick))

    def on_restore(kept: dict | None, user_id: str | None, request: gr.Request) -> tuple:
        viewer = _viewer(page, request)
        kept = kept or {}
        session = kept.get("session") if kept.get("user") == user_id else None
        entries, marks = page.restore(session, user_id, viewer)
        last = next((e.playlist for e in reversed(entries) if e.playlist is not None), None)
        return (page.messages(entries, marks), entries, marks, session if entries else None,
                page.history_view(user_id, viewer), last, *_playlist_outputs(page, last))

    status_outputs = [w.status, w.user, w.summary, w.timer, w.new_user]
    restore_outputs = [w.chatbot, w.transcript, w.marks, w.session, w.history,
                       w.playlist_state, *w.playlist_outputs]
    app.load(on_status, [w.user, w.browser], status_outputs, api_visibility="private").then(
        on_restore, [w.browser, w.user], restore_outputs, api_visibility="private")
    w.timer.tick(on_status, [w.user, w.browser], status_outputs, api_visibility="private")

    def fresh(user_id: str | None, viewer: Any) -> tuple:
        """A new conversation for ``user_id``: an empty chat, their marks and history."""
        marks = page.marks_of(user_id) if user_id else {}
        return (None, [], [], marks, [], "", "", page.history_view(user_id, viewer))

    fresh_outputs = [w.session, w.chatbot, w.transcript, w.marks, w.changes, w.note,
                     w.feedback_line, w.history]

    def on_user_change(user_id: str | None, request: gr.Request) -> tuple:
        viewer = _viewer(page, request)
        return (page.user_summary(user_id, viewer), *fresh(user_id, viewer))

    w.user.input(on_user_change, [w.user], [w.summary, *fresh_outputs],
                 api_visibility="private")

    def on_restart(user_id: str | None, changes: list, request: gr.Request) -> tuple:
        # Feedback not yet answered stays pending: the next answer still says so.
        session, chat, entries, marks, _, note, line, history = fresh(user_id,
                                                                      _viewer(page, request))
        return session, chat, entries, marks, changes, note, line, history

    # Same user, fresh conversation: feedback given so far stays in the history.
    w.restart.click(on_restart, [w.user, w.changes], fresh_outputs, api_visibility="private")

    def on_new_user(request: gr.Request) -> tuple:
        viewer = _viewer(page, request)
        uid, summ = page.new_user(viewer)
        return (gr.Dropdown(value=uid) if uid else gr.Dropdown(), summ, *fresh(uid, viewer))

    w.new_user.click(on_new_user, None, [w.user, w.summary, *fresh_outputs],
                     api_visibility="private")


def wire_chat(page: ChatPage, w: _Widgets) -> None:
    """A message (Enter or Send) streams a turn into the chat: each answer with its own
    cards; then the Playlist view (when the turn made one) and the browser's memory of the
    conversation are updated."""

    def on_message(message: str, entries: list, user_id: str | None, session_id: str | None,
                   marks: dict, changes: list, request: gr.Request) -> Any:
        viewer = _viewer(page, request)
        for f in page.respond(message, entries, user_id, session_id, viewer, marks,
                              _updated(changes)):
            yield (f.text, f.messages, f.session_id,
                   gr.Dropdown(value=f.user_id) if f.user_id else gr.Dropdown(),
                   f.transcript, f.marks, f.note, "", [])

    def after_turn(entries: list, session_id: str | None, user_id: str | None,
                   current: Any, request: gr.Request) -> tuple:
        last = entries[-1] if entries else None
        pl = last.playlist if last is not None and last.playlist is not None else None
        shown = _playlist_outputs(page, pl) if pl is not None else \
            (gr.HTML(), gr.DownloadButton(), gr.DownloadButton())
        return ({"session": session_id, "user": user_id}, pl if pl is not None else current,
                *shown, page.history_view(user_id, _viewer(page, request)))

    chat_inputs = [w.msg, w.transcript, w.user, w.session, w.marks, w.changes]
    chat_outputs = [w.msg, w.chatbot, w.session, w.user, w.transcript, w.marks, w.note,
                    w.feedback_line, w.changes]
    for trigger in (w.msg.submit, w.send.click):
        trigger(on_message, chat_inputs, chat_outputs, api_visibility="private").then(
            after_turn, [w.transcript, w.session, w.user, w.playlist_state],
            [w.browser, w.playlist_state, *w.playlist_outputs, w.history],
            api_visibility="private")


def wire_actions(page: ChatPage, w: _Widgets) -> None:
    """The buttons inside the page's HTML (see assets.py): Like / Dislike on a card (again:
    undo), Remove in the history, up / down / remove in the playlist."""

    def on_action(payload: str, entries: list, marks: dict, changes: list,
                  user_id: str | None, session_id: str | None, pl: Any,
                  request: gr.Request) -> tuple:
        viewer = _viewer(page, request)
        try:
            act = json.loads(payload or "{}")
            action, item = str(act.get("action", "")), str(act.get("value", ""))
            pos = int(item) if action in ("up", "down", "remove") else 0
        except (ValueError, TypeError, AttributeError):
            return (gr.Chatbot(), marks, _problem("That button sent nothing usable."),
                    gr.HTML(), changes, pl, gr.HTML(), gr.DownloadButton(), gr.DownloadButton())
        line, keep = "", (gr.HTML(), gr.DownloadButton(), gr.DownloadButton())
        if action in ("like", "dislike"):
            line, marks, change = page.toggle(item, action, marks, user_id, session_id, viewer)
            if change and change not in (changes or []):
                changes = [*(changes or []), change]
        elif action == "forget":
            line = page.forget(item, user_id, viewer)
            marks = {k: v for k, v in (marks or {}).items() if k != item}
        elif action in ("up", "down", "remove"):
            pl = page.edit_playlist(pl, action, pos)
            keep = _playlist_outputs(page, pl)
        return (page.messages(entries, marks), marks, line,
                page.history_view(user_id, viewer), changes, pl, *keep)

    w.action_go.click(on_action, [w.action, w.transcript, w.marks, w.changes, w.user,
                                  w.session, w.playlist_state],
                      [w.chatbot, w.marks, w.feedback_line, w.history, w.changes,
                       w.playlist_state, *w.playlist_outputs], api_visibility="private")

    def on_refresh(user_id: str | None, request: gr.Request) -> str:
        return page.history_view(user_id, _viewer(page, request))

    w.history_refresh.click(on_refresh, [w.user], [w.history], api_visibility="private")
