"""The wiring of the page's events and named endpoints to :class:`~assistant.ui.page.ChatPage`.

Every handler takes ``request: gr.Request`` and asks the page's
:class:`~assistant.ui.access.Access` who is calling (the signed-in name, never a user id
the client sent); :class:`~assistant.ui.page.ChatPage` then acts only for the user that
caller may act for. This module imports gradio at the top (so that gradio can read the
``gr.Request`` annotations); only :func:`~assistant.ui.app.build_app` imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.errors import EncoreError
from assistant.ui.access import Viewer
from assistant.ui.render import _problem

if TYPE_CHECKING:
    from assistant.ui.app import _Widgets
    from assistant.ui.page import ChatPage

__all__ = ["wire_api", "wire_cards", "wire_chat", "wire_status"]


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


def _no_playlist() -> tuple:
    return "", gr.DownloadButton(visible=False), gr.DownloadButton(visible=False)


def wire_status(app: gr.Blocks, page: ChatPage, w: _Widgets) -> None:
    """Page status (polled while the assistant is built), the user picker (shown only to
    callers who may pick: the open demo, admins), new user and new conversation."""
    n = page.n_cards

    def on_status(current: str | None, request: gr.Request) -> tuple:
        try:
            viewer = page.access.viewer(request)
        except EncoreError as exc:
            return (_problem(str(exc)), gr.Dropdown(visible=False), "", gr.Timer(active=False),
                    gr.Button(visible=False))
        html_, choices, value, summ, building = page.status(current, viewer)
        return (html_, gr.Dropdown(choices=choices, value=value, visible=viewer.may_pick),
                summ, gr.Timer(active=building), gr.Button(visible=viewer.may_pick))

    status_outputs = [w.status, w.user, w.summary, w.timer, w.new_user]
    app.load(on_status, [w.user], status_outputs, api_visibility="private")
    w.timer.tick(on_status, [w.user], status_outputs, api_visibility="private")

    def on_user_change(user_id: str | None, request: gr.Request) -> tuple:
        return (page.user_summary(user_id, _viewer(page, request)), None, [], [], {}, "", "",
                *[gr.Column(visible=False)] * n, *_no_playlist())

    w.user.input(on_user_change, [w.user], [w.summary, w.session, w.chatbot, w.recs, w.marks,
                                            w.note, w.feedback_line, *w.slots,
                                            *w.playlist_outputs],
                 api_visibility="private")
    # Same user, fresh conversation: feedback given so far stays in the history.
    w.restart.click(lambda: (None, [], [], {}, "", "", *[gr.Column(visible=False)] * n,
                             *_no_playlist()), None,
                    [w.session, w.chatbot, w.recs, w.marks, w.note, w.feedback_line, *w.slots,
                     *w.playlist_outputs],
                    api_visibility="private")

    def on_new_user(current: str | None, request: gr.Request) -> tuple:
        uid, summ = page.new_user(_viewer(page, request))
        hidden = [gr.Column(visible=False)] * n
        if uid is None:
            return gr.Dropdown(), summ, None, [], [], {}, *hidden
        return gr.Dropdown(value=uid), summ, None, [], [], {}, *hidden

    w.new_user.click(on_new_user, [w.user], [w.user, w.summary, w.session, w.chatbot, w.recs,
                                             w.marks, *w.slots], api_visibility="private")


def wire_chat(page: ChatPage, w: _Widgets) -> None:
    """A message (Enter or Send) streams a turn into the chat, the note and the cards."""
    n = page.n_cards

    def on_message(message: str, history: list, user_id: str | None, session_id: str | None,
                   request: gr.Request) -> Any:
        viewer = _viewer(page, request)
        for frame in page.respond(message, history, user_id, session_id, viewer):
            text, hist, sid, uid, rs, mk, nt, *rest = frame
            vis, cards, (block, m3u, js) = rest[:n], rest[n:2 * n], rest[2 * n:]
            yield (text, hist, sid, gr.Dropdown(value=uid) if uid else gr.Dropdown(),
                   rs, mk, nt, "", *[gr.Column(visible=v) for v in vis], *cards, block,
                   gr.DownloadButton(value=m3u, visible=m3u is not None),
                   gr.DownloadButton(value=js, visible=js is not None))

    chat_inputs = [w.msg, w.chatbot, w.user, w.session]
    chat_outputs = [w.msg, w.chatbot, w.session, w.user, w.recs, w.marks, w.note,
                    w.feedback_line, *w.slots, *w.htmls, *w.playlist_outputs]
    w.msg.submit(on_message, chat_inputs, chat_outputs, api_visibility="private")
    w.send.click(on_message, chat_inputs, chat_outputs, api_visibility="private")


def wire_cards(page: ChatPage, w: _Widgets) -> None:
    """Like / Dislike under each card."""

    def on_feedback(i: int, kind: str) -> Any:
        def handler(rs: list, mk: dict, uid: str | None, sid: str | None,
                    request: gr.Request) -> tuple:
            return page.feedback(i, kind, rs, mk, uid, sid, _viewer(page, request))

        return handler

    for i in range(page.n_cards):
        for kind, button in (("like", w.likes[i]), ("dislike", w.dislikes[i])):
            button.click(on_feedback(i, kind), [w.recs, w.marks, w.user, w.session],
                         [w.feedback_line, w.marks, w.htmls[i]], api_visibility="private")
