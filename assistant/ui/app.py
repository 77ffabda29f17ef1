"""The gradio page: its layout, the wiring of events to :class:`~assistant.ui.page.ChatPage`,
and :func:`launch`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.ui.access import Access
from assistant.ui.assets import BRIDGE_JS, CSS
from assistant.ui.page import AssistantLoader, ChatPage

if TYPE_CHECKING:
    import gradio as gr

    from assistant.core import Assistant

EXAMPLES = [
    "something like Arrival but shorter, no horror",
    "a funny podcast with episodes under 40 minutes",
    "an upbeat electronic album",
    "a dark crime series",
]


# ---------------------------------------------------------------- the page


def build_app(assistant: Assistant | Callable[[], Assistant], *,
              title: str = "Encore", access: Access | None = None) -> gr.Blocks:
    """The chat page. ``assistant`` may be a factory: it then runs in a background thread
    and the page says "still being built" until it is ready. ``access`` says who may sign
    in and as which user (default: open, anyone may pick any user).

    Example (not run: building a page imports gradio):
        >>> app = build_app(lambda: Assistant.from_bundle(".encore/bundle"))  # doctest: +SKIP
        >>> app.launch(css=CSS, js=BRIDGE_JS)                                 # doctest: +SKIP
    """
    import gradio as gr

    from assistant.ui import handlers

    loader = assistant if isinstance(assistant, AssistantLoader) else AssistantLoader(assistant)
    page = ChatPage(loader, access=access)

    with gr.Blocks(title=title, analytics_enabled=False) as app:
        w = _layout(title, page.n_cards, building=not loader.ready)
        handlers.wire_status(app, page, w)
        handlers.wire_chat(page, w)
        handlers.wire_actions(page, w)
        handlers.wire_api(page)
    app.encore_loader = loader  # tests wait on it
    app.encore_access = page.access
    return app


class _Widgets:
    """The page's components, by name, for the wiring functions."""

    browser: Any
    session: Any
    transcript: Any
    marks: Any
    changes: Any
    playlist_state: Any
    status: Any
    user: Any
    new_user: Any
    summary: Any
    tabs: Any
    chatbot: Any
    msg: Any
    send: Any
    restart: Any
    note: Any
    feedback_line: Any
    history: Any
    history_refresh: Any
    playlist: Any
    m3u: Any
    json: Any
    playlist_outputs: list[Any]
    action: Any
    action_go: Any
    timer: Any


def _layout(title: str, n: int, *, building: bool) -> _Widgets:
    """Place the components (inside the ``gr.Blocks`` context), top to bottom: a short
    header, the user row, then the chat (fixed height, the input right under it), the
    history and the playlist as tabs beside it."""
    import gradio as gr

    w = _Widgets()
    # The conversation's id and user live in the browser, so a reload finds them.
    w.browser = gr.BrowserState({"session": None, "user": None}, storage_key="encore-chat")
    w.session = gr.State(None)
    w.transcript = gr.State([])
    w.marks = gr.State({})
    w.changes = gr.State([])
    w.playlist_state = gr.State(None)
    with gr.Column(elem_id="encore-root"):
        _place(w, title)
    w.timer = gr.Timer(1.0, active=building)
    return w


def _place(w: _Widgets, title: str) -> None:
    """The visible components, in order, into ``w``."""
    import gradio as gr

    gr.HTML(f'<h1>{title}</h1><p>Conversational recommendations for films, series, music, '
            "podcasts and audiobooks. Like or dislike a card and ask again.</p>",
            elem_id="encore-head")
    w.status = gr.HTML(elem_id="encore-status")
    with gr.Row(elem_id="user-row"):
        w.user = gr.Dropdown(label="User", choices=[], value=None, allow_custom_value=True,
                             filterable=True, interactive=True, elem_id="user-picker",
                             scale=4, container=False)
        w.new_user = gr.Button("New user", elem_id="new-user", scale=1, size="sm")
        w.restart = gr.Button("New conversation", elem_id="new-chat", scale=1, size="sm")
    w.summary = gr.HTML(elem_id="user-summary")
    with gr.Tabs(elem_id="views") as w.tabs:
        with gr.Tab("Chat", id="chat-tab", elem_id="chat-tab"):
            w.chatbot = gr.Chatbot(show_label=False, elem_id="chat", height="60vh",
                                   autoscroll=False, feedback_options=None,
                                   sanitize_html=True, buttons=[], layout="panel")
            with gr.Row(elem_id="message-row"):
                w.msg = gr.Textbox(placeholder="What are you in the mood for?",
                                   show_label=False, elem_id="message", scale=6, lines=1,
                                   max_lines=3, container=False)
                w.send = gr.Button("Send", variant="primary", elem_id="send", scale=1,
                                   min_width=60)
            w.feedback_line = gr.HTML(elem_id="feedback-line")
            w.note = gr.HTML(elem_id="backend-note")
            with gr.Accordion("Examples to try", open=False, elem_id="examples"):
                gr.Examples(EXAMPLES, inputs=[w.msg], label=None)
        with gr.Tab("Your history", id="history-tab", elem_id="history-tab"):
            w.history = gr.HTML(elem_id="history-view")
            w.history_refresh = gr.Button("Refresh", size="sm", elem_id="history-refresh")
        with gr.Tab("Playlist", id="playlist-tab", elem_id="playlist-tab"):
            # The last playlist, numbered, with its total: reorder, remove, export.
            w.playlist = gr.HTML('<p class="empty">Ask for a playlist ("a 45-minute playlist '
                                 'of pop") and it shows here.</p>', elem_id="playlist-block")
            with gr.Row():
                w.m3u = gr.DownloadButton("Download M3U", visible=False, size="sm",
                                          elem_id="playlist-m3u")
                w.json = gr.DownloadButton("Download JSON", visible=False, size="sm",
                                           elem_id="playlist-json")
    w.playlist_outputs = [w.playlist, w.m3u, w.json]
    # The bridge of the page's script (see assets.py): hidden, but in the page.
    w.action = gr.Textbox(elem_id="encore-action-box", show_label=False, container=False)
    w.action_go = gr.Button("act", elem_id="encore-action-go", visible="hidden")


def parse_auth(auth: Any) -> tuple[str, str] | None:
    """``"user:password"`` (a str or a pydantic SecretStr) -> ``("user", "password")``.

    Example:
        >>> parse_auth("ann:s3cret:x")
        ('ann', 's3cret:x')
    """
    if hasattr(auth, "get_secret_value"):
        auth = auth.get_secret_value()
    if auth is None or isinstance(auth, tuple):
        return auth
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ValueError("auth must look like 'user:password' (got no ':' or an empty part). "
                         "Fix: pass --auth user:password or set ENCORE_UI__AUTH")
    return user, password


def launch(assistant_or_factory: Assistant | Callable[[], Assistant], *,
           host: str = "127.0.0.1", port: int = 7860,
           auth: Any = None, access: Access | None = None,
           prevent_thread_lock: bool = False, quiet: bool = True,
           **launch_kwargs: Any) -> gr.Blocks:
    """Build the page and serve it on ``host:port`` (blocks unless ``prevent_thread_lock``).

    Args:
        access: who may sign in (:class:`~assistant.ui.access.Access`); default: ``auth``
            when given, else open.
        auth: ``"name:password"`` (a str or SecretStr) or a pair: one account, not an admin,
            whose user is its name. Prefer accounts (``encore users add``).

    Returns the running :class:`gradio.Blocks` (``.close()`` stops it).
    """
    if access is None:
        access = shared_access(auth) if auth is not None else Access.open()
    app = build_app(assistant_or_factory, access=access)
    app.queue(default_concurrency_limit=4)
    app.launch(server_name=host, server_port=port, prevent_thread_lock=prevent_thread_lock,
               quiet=quiet, show_error=False, ssr_mode=False, css=CSS, js=BRIDGE_JS,
               footer_links=["api"],
               **access.launch_kwargs(), **launch_kwargs)
    return app


def shared_access(auth: Any) -> Access:
    """:class:`Access` for the single ``name:password`` account of ``--auth`` (kept in memory,
    hashed with argon2 like the accounts file)."""
    from assistant.accounts import AccountBook

    credentials = parse_auth(auth)
    assert credentials is not None  # noqa: S101 (auth is not None here)
    book = AccountBook(None)
    book.add(credentials[0], credentials[1], replace=True)
    return Access.accounts(book)
