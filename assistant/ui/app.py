"""The gradio page: its layout, the wiring of events to :class:`~assistant.ui.page.ChatPage`,
and :func:`launch`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.ui.access import Access
from assistant.ui.page import AssistantLoader, ChatPage
from assistant.ui.playlist import PLAYLIST_CSS

if TYPE_CHECKING:
    import gradio as gr

    from assistant.core import Assistant

EXAMPLES = [
    "something like Arrival but shorter, no horror",
    "a funny podcast with episodes under 40 minutes",
    "an upbeat electronic album",
    "a dark crime series",
]


CSS = """
.encore-card { padding: 2px 4px; }
.encore-card.disliked { opacity: .55; }
.encore-card h3 { display: inline; margin: 0; font-size: 1.1em; }
.encore-card .rank { font-weight: 700; margin-right: .4em; color: var(--color-accent); }
.encore-card .facts { color: var(--body-text-color-subdued); margin: 4px 0; }
.encore-card .explanation { margin: 6px 0; }
.encore-card .match-note { margin: 4px 0; font-size: 0.85em; font-style: italic; color: #b45309; }
.encore-card .badge { font-size: .85em; padding: 1px 6px; border-radius: 6px;
  margin-left: .5em; background: var(--background-fill-secondary); }
.encore-card details summary { cursor: pointer; color: var(--body-text-color-subdued); }
.encore-card details ul { margin: 4px 0 0 1.2em; }
.backend-note { font-size: .9em; color: var(--body-text-color-subdued); }
.encore-problem { color: var(--error-text-color, #b91c1c); }
""" + PLAYLIST_CSS


# ---------------------------------------------------------------- the page


def build_app(assistant: Assistant | Callable[[], Assistant], *,
              title: str = "Encore", access: Access | None = None) -> gr.Blocks:
    """The chat page. ``assistant`` may be a factory: it then runs in a background thread
    and the page says "still being built" until it is ready. ``access`` says who may sign
    in and as which user (default: open, anyone may pick any user).

    Example (not run: building a page imports gradio):
        >>> app = build_app(lambda: Assistant.from_bundle(".encore/bundle"))  # doctest: +SKIP
        >>> app.launch(css=CSS)                                               # doctest: +SKIP
    """
    import gradio as gr

    from assistant.ui import handlers

    loader = assistant if isinstance(assistant, AssistantLoader) else AssistantLoader(assistant)
    page = ChatPage(loader, access=access)

    with gr.Blocks(title=title, analytics_enabled=False) as app:
        w = _layout(title, page.n_cards, building=not loader.ready)
        handlers.wire_status(app, page, w)
        handlers.wire_chat(page, w)
        handlers.wire_cards(page, w)
        handlers.wire_api(page)
    app.encore_loader = loader  # tests wait on it
    app.encore_access = page.access
    return app


class _Widgets:
    """The page's components, by name, for the wiring functions."""

    session: Any
    recs: Any
    marks: Any
    status: Any
    user: Any
    new_user: Any
    summary: Any
    chatbot: Any
    msg: Any
    send: Any
    restart: Any
    note: Any
    feedback_line: Any
    slots: list[Any]
    htmls: list[Any]
    likes: list[Any]
    dislikes: list[Any]
    timer: Any
    playlist: Any
    m3u: Any
    json: Any
    playlist_outputs: list[Any]


def _layout(title: str, n: int, *, building: bool) -> _Widgets:
    """Place the components (inside the ``gr.Blocks`` context), top to bottom."""
    import gradio as gr

    w = _Widgets()
    w.session = gr.State(None)
    w.recs = gr.State([])
    w.marks = gr.State({})
    gr.Markdown(f"# {title}\nConversational recommendations for films, series, music, "
                "podcasts and audiobooks. Like or dislike a card and ask again.")
    w.status = gr.HTML(elem_id="encore-status")
    with gr.Row():
        w.user = gr.Dropdown(label="User", choices=[], value=None, allow_custom_value=True,
                             interactive=True, elem_id="user-picker", scale=3)
        w.new_user = gr.Button("New user", elem_id="new-user", scale=1)
    w.summary = gr.HTML(elem_id="user-summary")
    w.chatbot = gr.Chatbot(label="Conversation", elem_id="chat", height=320,
                           feedback_options=None, sanitize_html=True)
    with gr.Row():
        w.msg = gr.Textbox(placeholder="What are you in the mood for?", show_label=False,
                           elem_id="message", scale=5, lines=1, max_lines=3)
        w.send = gr.Button("Send", variant="primary", elem_id="send", scale=1)
        w.restart = gr.Button("New conversation", elem_id="new-chat", scale=1)
    gr.Examples(EXAMPLES, inputs=[w.msg], label="Try")
    w.note = gr.HTML(elem_id="backend-note")
    w.feedback_line = gr.HTML(elem_id="feedback-line")
    # The whole playlist, numbered, with its total; hidden unless the answer is one.
    w.playlist = gr.HTML(elem_id="playlist-block")
    with gr.Row():
        w.m3u = gr.DownloadButton("Download M3U", visible=False, size="sm",
                                  elem_id="playlist-m3u")
        w.json = gr.DownloadButton("Download JSON", visible=False, size="sm",
                                   elem_id="playlist-json")
    w.playlist_outputs = [w.playlist, w.m3u, w.json]
    w.slots, w.htmls, w.likes, w.dislikes = [], [], [], []
    for row_start in range(0, n, 2):
        with gr.Row(equal_height=False):
            for i in range(row_start, min(row_start + 2, n)):
                with gr.Column(visible=False, elem_id=f"card-{i}", elem_classes="card-slot",
                               variant="panel") as col:
                    w.htmls.append(gr.HTML(elem_id=f"card-html-{i}"))
                    with gr.Row():
                        w.likes.append(gr.Button("Like", size="sm", elem_id=f"like-{i}"))
                        w.dislikes.append(gr.Button("Dislike", size="sm",
                                                    elem_id=f"dislike-{i}"))
                w.slots.append(col)
    w.timer = gr.Timer(1.0, active=building)
    return w


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
               quiet=quiet, show_error=False, ssr_mode=False, css=CSS, footer_links=["api"],
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
