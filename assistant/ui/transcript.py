"""The page's conversation as data: each turn's message, and each answer with its own cards
(or its playlist), rendered into the chat, so that earlier turns keep their cards.

The transcript is kept in the history store beside the conversation's session, under the
same user and a derived session id (:func:`transcript_key`), so a reload restores it; it
expires with the store's sessions.

Example:
    >>> from assistant.reply import Recommendation
    >>> rec = Recommendation(item_id="mv-a", title="A", media_type="movie", rank=1)
    >>> t = [Entry(role="user", text="films"), Entry(role="assistant", text="Here:", turn=1,
    ...                                              recs=[rec])]
    >>> msgs = render_messages(t, {"mv-a": "like"})
    >>> msgs[0], 'fb-like pressed' in msgs[1]["content"]
    ({'role': 'user', 'content': 'films'}, True)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from assistant.reply import PlaylistReply, Recommendation
from assistant.ui.playlist import render_playlist
from assistant.ui.render import _esc, render_card

__all__ = ["Entry", "MAX_ENTRIES", "load_transcript", "render_messages", "save_transcript",
           "transcript_key"]

log = logging.getLogger(__name__)

MAX_ENTRIES = 40
"""Messages kept for a reload (the newest; 20 turns)."""
_VERSION = 1

ImageOf = Callable[[str], "str | None"]
"""Item id -> its catalog cover image URL (None: draw a tile)."""


class Entry(BaseModel):
    """One message of the conversation as the page shows it."""

    role: Literal["user", "assistant"]
    text: str = ""
    """What was said (plain text; escaped when shown)."""
    turn: int = 0
    """The assistant's turn number (0 for the person's messages)."""
    notice: str | None = None
    """A problem handled that turn, in words."""
    updated: str | None = None
    """Feedback this answer took into account ("your dislike of Heat")."""
    recs: list[Recommendation] = Field(default_factory=list)
    playlist: PlaylistReply | None = None
    problem: bool = False
    """The text is an error message, not an answer."""
    intent: str = ""
    """What the answer did ("recommend", "history"...)."""


def _text_html(text: str) -> str:
    return "<br>".join(_esc(line) for line in text.splitlines()) if text else ""


def render_entry(entry: Entry, marks: dict[str, str], image_of: ImageOf | None = None) -> str:
    """One assistant message as HTML: its text, then its playlist or its cards (one line, no
    blank lines: the chat's markdown keeps an HTML block whole only until a blank line)."""
    parts = [f'<div class="encore-reply turn-{entry.turn}">']
    if entry.updated and entry.recs:
        parts.append(f'<p class="updated">Updated after {_esc(entry.updated)}.</p>')
    cls = "reply-text encore-problem" if entry.problem else "reply-text"
    parts.append(f'<p class="{cls}">{_text_html(entry.text) or "…"}</p>')
    if entry.notice:
        parts.append(f'<p class="notice"><em>{_esc(entry.notice)}</em></p>')
    if entry.intent == "history":
        parts.append('<p class="hint">See it all, and remove an entry, under '
                     "<b>Your history</b>.</p>")
    if entry.playlist is not None and entry.playlist.items:
        parts.append(render_playlist(entry.playlist))
        parts.append('<p class="hint">Reorder, remove or export it under '
                     "<b>Playlist</b>.</p>")
    elif entry.recs:
        cards = "".join(render_card(r, mark=marks.get(r.item_id), turn=entry.turn, live=True,
                                    image_url=image_of(r.item_id) if image_of else None)
                        for r in entry.recs)
        parts.append(f'<div class="encore-cards">{cards}</div>')
    parts.append("</div>")
    return "".join(parts).replace("\n", " ")


def render_messages(entries: Sequence[Entry], marks: dict[str, str],
                    image_of: ImageOf | None = None) -> list[dict[str, str]]:
    """The chat's messages (gradio's ``{"role", "content"}`` dicts) for ``entries``."""
    return [{"role": "user", "content": _esc(e.text)} if e.role == "user"
            else {"role": "assistant", "content": render_entry(e, marks, image_of)}
            for e in entries]


def transcript_key(session_id: str) -> str:
    """The store's session id under which the page keeps a conversation's transcript."""
    return f"{session_id}#page"


def save_transcript(store: Any, session_id: str, user_id: str, entries: Sequence[Entry]
                    ) -> None:
    """Keep the newest :data:`MAX_ENTRIES` messages in ``store`` (a
    :class:`~assistant.store.HistoryStore`); a failure is logged, never raised (the chat
    answered; only a later reload would miss this turn)."""
    try:
        state = {"version": _VERSION,
                 "entries": [e.model_dump(mode="json") for e in entries[-MAX_ENTRIES:]]}
        store.save_session(transcript_key(session_id), user_id, state)
    except Exception:
        log.exception("saving the page's transcript failed")


def load_transcript(store: Any, session_id: str, user_id: str) -> list[Entry]:
    """The transcript kept for ``user_id``'s conversation ``session_id``; empty when there is
    none, it expired, or it cannot be read (logged)."""
    try:
        state = store.load_session(transcript_key(session_id), user_id)
        if not state or state.get("version") != _VERSION:
            return []
        return [Entry.model_validate(e) for e in state.get("entries", [])]
    except (ValidationError, ValueError, TypeError, AttributeError):
        log.exception("the page's transcript could not be read; starting afresh")
        return []
