"""The Gradio chat page: a thin front end over :class:`~assistant.core.Assistant`.

- Replies stream in (text first, then cards, then explanations).
- Each recommendation is a card (title, year, media type, duration, genres, explanation)
  with a "Why this pick" expander listing its evidence, and Like / Dislike buttons that
  write to the history store, so the next answer changes.
- A user picker (demo users, or a new user), example prompts, and a note of which backend
  answered (the LLM, or the offline rules fallback).
- Named endpoints for ``gradio_client``: ``/chat``, ``/recommend``, ``/feedback``,
  ``/history``.

The page can open before the assistant exists: give :func:`build_app` a factory and it runs
in a background thread; requests meanwhile get a "still being built" message.

Example:
    >>> card = render_card(Recommendation(item_id="x", title="<b>Dune</b>", media_type="movie",
    ...                                   rank=1, year=2021, duration_min=155))
    >>> "&lt;b&gt;Dune&lt;/b&gt;" in card, "2 h 35 min" in card
    (True, True)
"""

from __future__ import annotations

import html
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from assistant.errors import BundleNotReady, EncoreError
from assistant.reply import FeedbackKind, Recommendation, Reply, TurnMeta

if TYPE_CHECKING:
    import gradio as gr

    from assistant.core import Assistant

__all__ = ["AssistantLoader", "ChatPage", "N_CARDS", "build_app", "launch", "parse_auth",
           "render_card", "render_note"]

log = logging.getLogger(__name__)

N_CARDS = 10
"""Card slots on the page (replies with more picks show the first ten)."""

EXAMPLES = [
    "something like Arrival but shorter, no horror",
    "a funny podcast with episodes under 40 minutes",
    "an upbeat electronic album",
    "a dark crime series",
]

_MEDIA_LABEL = {"movie": "Film", "series": "Series", "album": "Album", "music_track": "Track",
                "podcast": "Podcast", "audiobook": "Audiobook"}

CSS = """
.encore-card { padding: 2px 4px; }
.encore-card.disliked { opacity: .55; }
.encore-card h3 { display: inline; margin: 0; font-size: 1.1em; }
.encore-card .rank { font-weight: 700; margin-right: .4em; color: var(--color-accent); }
.encore-card .facts { color: var(--body-text-color-subdued); margin: 4px 0; }
.encore-card .explanation { margin: 6px 0; }
.encore-card .badge { font-size: .85em; padding: 1px 6px; border-radius: 6px;
  margin-left: .5em; background: var(--background-fill-secondary); }
.encore-card details summary { cursor: pointer; color: var(--body-text-color-subdued); }
.encore-card details ul { margin: 4px 0 0 1.2em; }
.backend-note { font-size: .9em; color: var(--body-text-color-subdued); }
.encore-problem { color: var(--error-text-color, #b91c1c); }
"""


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


def _message(exc: BaseException | None) -> str:
    """One line for the page: the assistant's own errors as they are, anything else without
    internals (the traceback goes to the server log)."""
    if isinstance(exc, (EncoreError, FileNotFoundError, PermissionError)):
        return str(exc)
    name = type(exc).__name__ if exc is not None else "unknown error"
    return f"something went wrong on the server ({name}); the details are in its log"


# ---------------------------------------------------------------- rendering (pure)


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _duration(minutes: float | None) -> str:
    if minutes is None or minutes <= 0:
        return ""
    if minutes < 10 and minutes != int(minutes):
        secs = round(minutes * 60)
        return f"{secs // 60}:{secs % 60:02d}"
    total = round(minutes)
    if total >= 60:
        hours, mins = divmod(total, 60)
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{total} min"


def render_card(rec: Recommendation, *, mark: str | None = None, turn: int | None = None) -> str:
    """One recommendation as an HTML card; every catalog string is escaped.

    Args:
        rec: the recommendation.
        mark: feedback already given on it this turn ("like" or "dislike"), shown as a badge.
        turn: the reply's turn number (a data attribute, so a test can tell answers apart).
    """
    facts = [_MEDIA_LABEL.get(rec.media_type, rec.media_type)]
    if rec.year:
        facts.append(str(rec.year))
    if (dur := _duration(rec.duration_min)):
        facts.append(dur)
    if rec.genres:
        facts.append(", ".join(rec.genres))
    badge = {"like": "liked", "dislike": "disliked"}.get(mark or "", "")
    classes = "encore-card" + (f" {mark}d" if mark in ("like", "dislike") else "")
    attrs = (f'class="{classes}" data-item-id="{_esc(rec.item_id)}" data-rank="{rec.rank}"'
             + (f' data-turn="{turn}"' if turn is not None else ""))
    parts = [
        f"<article {attrs}>",
        f'<div><span class="rank">{rec.rank}</span><h3 class="title">{_esc(rec.title)}</h3>'
        + (f' <span class="year">({rec.year})</span>' if rec.year else "")
        + (f'<span class="badge">{badge}</span>' if badge else "") + "</div>",
        f'<p class="facts">{" · ".join(_esc(f) for f in facts)}</p>',
    ]
    if rec.explanation:
        parts.append(f'<p class="explanation">{_esc(rec.explanation)}</p>')
    evidence = _evidence(rec)
    if evidence:
        items = "".join(f"<li><b>{_esc(k)}:</b> {_esc(v)}</li>" for k, v in evidence)
        parts.append(f'<details class="evidence"><summary>Why this pick</summary>'
                     f"<ul>{items}</ul></details>")
    parts.append("</article>")
    return "".join(parts)


def _evidence(rec: Recommendation) -> list[tuple[str, str]]:
    g = rec.grounds
    rows: list[tuple[str, str]] = []
    if g.matched_genres:
        rows.append(("Genres you asked for", ", ".join(g.matched_genres)))
    if g.matched_tags:
        rows.append(("Themes you asked for", ", ".join(g.matched_tags)))
    if g.constraints:
        rows.append(("Constraints met", "; ".join(g.constraints)))
    if g.history:
        rows.append(("Close to your history", "; ".join(
            f"{h.title} ({'similar content' if h.kind == 'content' else 'same audience'}, "
            f"{h.similarity:.2f})" for h in g.history)))
    if g.signals:
        rows.append(("Ranker signals", "; ".join(g.signals)))
    if g.sources:
        rows.append(("Found by", ", ".join(g.sources)))
    if rec.creators:
        rows.append(("By", ", ".join(rec.creators)))
    if rec.tags:
        rows.append(("Tags", ", ".join(rec.tags)))
    if rec.description:
        rows.append(("About", rec.description))
    if rec.score is not None:
        rows.append(("Score", f"{rec.score:.3f}"))
    return rows


def render_note(meta: TurnMeta | None, *, turn: int = 0, done: bool = True,
                configured: str = "") -> str:
    """The backend note under the reply: the LLM, or the offline rules fallback (and why)."""
    if meta is None:
        body = _esc(configured) if configured else ""
    else:
        stages = f"parser: {meta.parser} · explanations: {meta.explainer}"
        if meta.ranker:
            stages += f" · ranker: {meta.ranker}"
        if meta.used_llm:
            model = f" ({meta.llm_model})" if meta.llm_model else ""
            head = f"Answered by the LLM{model}"
        else:
            head = "Answered offline by the rules fallback" if meta.fallbacks else \
                "Answered offline (rules)"
        body = f"{_esc(head)} — {_esc(stages)}"
        for fb in meta.fallbacks:
            body += (f'<br><span class="fallback">The {_esc(fb.stage)} fell back from '
                     f"{_esc(fb.wanted)} to {_esc(fb.used)}: {_esc(fb.reason)}</span>")
        if meta.replaced_sentences:
            body += (f"<br>{meta.replaced_sentences} of {meta.explanation_sentences} LLM "
                     "sentences failed the grounding check and were replaced by the template.")
        if (total := meta.timings_ms.get("total")) is not None:
            body += f" · {total:.0f} ms"
    state = "true" if done else "false"
    return f'<div class="backend-note" data-turn="{turn}" data-done="{state}">{body}</div>'


def _problem(text: str) -> str:
    return f'<div class="encore-problem">{_esc(text)}</div>'


def _reply_markdown(reply: Reply) -> str:
    text = _esc(reply.text)
    if reply.notice:
        text += f"\n\n*{_esc(reply.notice)}*"
    return text


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
        note html, *card visibilities, *card htmls)."""
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
                                  turn=reply.turn)
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
                              turn=reply.turn)

    def _frame(self, text: str, history: list[dict], session_id: str, user_id: str | None,
               recs: list[Recommendation], marks: dict[str, str], note: str,
               turn: int | None = None) -> tuple:
        visible = [i < len(recs) for i in range(self.n_cards)]
        cards = [render_card(recs[i], mark=marks.get(recs[i].item_id), turn=turn)
                 if i < len(recs) else "" for i in range(self.n_cards)]
        # Copies: each frame is a snapshot, later frames must not change earlier ones.
        return (text, list(history), session_id, user_id, list(recs), dict(marks), note,
                *visible, *cards)

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


# ---------------------------------------------------------------- the page


def build_app(assistant: Assistant | Callable[[], Assistant], *,
              title: str = "Encore") -> gr.Blocks:
    """The chat page. ``assistant`` may be a factory: it then runs in a background thread
    and the page says "still being built" until it is ready.

    Example (not run: building a page imports gradio):
        >>> app = build_app(lambda: Assistant.from_bundle(".encore/bundle"))  # doctest: +SKIP
        >>> app.launch(css=CSS)                                               # doctest: +SKIP
    """
    import gradio as gr

    loader = assistant if isinstance(assistant, AssistantLoader) else AssistantLoader(assistant)
    page = ChatPage(loader)
    n = page.n_cards

    with gr.Blocks(title=title, analytics_enabled=False) as app:
        session = gr.State(None)
        recs = gr.State([])
        marks = gr.State({})
        gr.Markdown(f"# {title}\nConversational recommendations for films, series, music, "
                    "podcasts and audiobooks. Like or dislike a card and ask again.")
        status = gr.HTML(elem_id="encore-status")
        with gr.Row():
            user = gr.Dropdown(label="User", choices=[], value=None, allow_custom_value=True,
                               interactive=True, elem_id="user-picker", scale=3)
            new_user = gr.Button("New user", elem_id="new-user", scale=1)
        summary = gr.HTML(elem_id="user-summary")
        chatbot = gr.Chatbot(label="Conversation", elem_id="chat", height=320,
                             feedback_options=None, sanitize_html=True)
        with gr.Row():
            msg = gr.Textbox(placeholder="What are you in the mood for?", show_label=False,
                             elem_id="message", scale=5, lines=1, max_lines=3)
            send = gr.Button("Send", variant="primary", elem_id="send", scale=1)
            restart = gr.Button("New conversation", elem_id="new-chat", scale=1)
        gr.Examples(EXAMPLES, inputs=[msg], label="Try")
        note = gr.HTML(elem_id="backend-note")
        feedback_line = gr.HTML(elem_id="feedback-line")
        slots, htmls, likes, dislikes = [], [], [], []
        for row_start in range(0, n, 2):
            with gr.Row(equal_height=False):
                for i in range(row_start, min(row_start + 2, n)):
                    with gr.Column(visible=False, elem_id=f"card-{i}", elem_classes="card-slot",
                                   variant="panel") as col:
                        htmls.append(gr.HTML(elem_id=f"card-html-{i}"))
                        with gr.Row():
                            likes.append(gr.Button("Like", size="sm", elem_id=f"like-{i}"))
                            dislikes.append(gr.Button("Dislike", size="sm",
                                                      elem_id=f"dislike-{i}"))
                    slots.append(col)
        timer = gr.Timer(1.0, active=not loader.ready)

        # -- wiring ----------------------------------------------------------------
        def on_status(current):
            html_, choices, value, summ, building = page.status(current)
            return (html_, gr.Dropdown(choices=choices, value=value), summ,
                    gr.Timer(active=building))

        status_outputs = [status, user, summary, timer]
        app.load(on_status, [user], status_outputs, api_visibility="private")
        timer.tick(on_status, [user], status_outputs, api_visibility="private")

        def on_user_change(user_id):
            return (page.user_summary(user_id), None, [], [], {}, "", "",
                    *[gr.Column(visible=False)] * n)

        user.input(on_user_change, [user], [summary, session, chatbot, recs, marks, note,
                                            feedback_line, *slots], api_visibility="private")
        # Same user, fresh conversation: feedback given so far stays in the history.
        restart.click(lambda: (None, [], [], {}, "", "", *[gr.Column(visible=False)] * n), None,
                      [session, chatbot, recs, marks, note, feedback_line, *slots],
                      api_visibility="private")

        def on_new_user(current):
            uid, summ = page.new_user()
            if uid is None:
                return gr.Dropdown(), summ, None, [], [], {}, *[gr.Column(visible=False)] * n
            return (gr.Dropdown(value=uid), summ, None, [], [], {},
                    *[gr.Column(visible=False)] * n)

        new_user.click(on_new_user, [user], [user, summary, session, chatbot, recs, marks,
                                             *slots], api_visibility="private")

        def on_message(message, history, user_id, session_id):
            for frame in page.respond(message, history, user_id, session_id):
                text, hist, sid, uid, rs, mk, nt, *rest = frame
                vis, cards = rest[:n], rest[n:]
                yield (text, hist, sid, gr.Dropdown(value=uid) if uid else gr.Dropdown(),
                       rs, mk, nt, "", *[gr.Column(visible=v) for v in vis], *cards)

        chat_inputs = [msg, chatbot, user, session]
        chat_outputs = [msg, chatbot, session, user, recs, marks, note, feedback_line,
                        *slots, *htmls]
        msg.submit(on_message, chat_inputs, chat_outputs, api_visibility="private")
        send.click(on_message, chat_inputs, chat_outputs, api_visibility="private")

        for i in range(n):
            for kind, button in (("like", likes[i]), ("dislike", dislikes[i])):
                button.click(lambda rs, mk, uid, sid, i=i, kind=kind:
                             page.feedback(i, kind, rs, mk, uid, sid),
                             [recs, marks, user, session], [feedback_line, marks, htmls[i]],
                             api_visibility="private")

        gr.api(page.api_chat, api_name="chat")
        gr.api(page.api_recommend, api_name="recommend")
        gr.api(page.api_feedback, api_name="feedback")
        gr.api(page.api_history, api_name="history")
    app.encore_loader = loader  # type: ignore[attr-defined]  (tests wait on it)
    return app


def parse_auth(auth: str | tuple[str, str] | None) -> tuple[str, str] | None:
    """``"user:password"`` -> ``("user", "password")``.

    Example:
        >>> parse_auth("ann:s3cret:x")
        ('ann', 's3cret:x')
    """
    if auth is None or isinstance(auth, tuple):
        return auth
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ValueError("auth must look like 'user:password' (got no ':' or an empty part). "
                         "Fix: pass --auth user:password or set ENCORE_UI__AUTH")
    return user, password


def launch(assistant_or_factory: Assistant | Callable[[], Assistant], *,
           host: str = "127.0.0.1", port: int = 7860,
           auth: str | tuple[str, str] | None = None, prevent_thread_lock: bool = False,
           quiet: bool = True, **launch_kwargs: Any) -> gr.Blocks:
    """Build the page and serve it on ``host:port`` (blocks unless ``prevent_thread_lock``).

    Returns the running :class:`gradio.Blocks` (``.close()`` stops it).
    """
    app = build_app(assistant_or_factory)
    app.queue(default_concurrency_limit=4)
    app.launch(server_name=host, server_port=port, auth=parse_auth(auth),
               prevent_thread_lock=prevent_thread_lock, quiet=quiet, show_error=False,
               ssr_mode=False, css=CSS, footer_links=["api"], **launch_kwargs)
    return app
