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

Layout: :mod:`~assistant.ui.render` (cards and notes as HTML, pure functions),
:mod:`~assistant.ui.page` (the handlers, plain methods with no gradio state) and
:mod:`~assistant.ui.app` (the gradio page and its wiring, :func:`launch`).

Example:
    >>> from assistant.reply import Recommendation
    >>> card = render_card(Recommendation(item_id="x", title="<b>Dune</b>", media_type="movie",
    ...                                   rank=1, year=2021, duration_min=155))
    >>> "&lt;b&gt;Dune&lt;/b&gt;" in card, "2 h 35 min" in card
    (True, True)
"""

from assistant.ui.app import CSS, EXAMPLES, build_app, launch, parse_auth
from assistant.ui.page import N_CARDS, AssistantLoader, ChatPage
from assistant.ui.render import render_card, render_note

__all__ = ["AssistantLoader", "ChatPage", "CSS", "EXAMPLES", "N_CARDS", "build_app", "launch",
           "parse_auth", "render_card", "render_note"]
