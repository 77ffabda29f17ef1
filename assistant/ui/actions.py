"""What the page's buttons do, as plain methods (no gradio state): like / dislike with a
pressed state and undo, the "Your history" view with its remove buttons, and the edits of
a playlist (move up or down, remove). :class:`~assistant.ui.page.ChatPage` mixes them in."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from assistant.errors import EncoreError
from assistant.reply import FeedbackKind, PlaylistReply, Recommendation
from assistant.store import latest_per_item
from assistant.ui import checks
from assistant.ui.access import Viewer
from assistant.ui.playlist import drop, move
from assistant.ui.render import _esc, _message, _problem, render_card

if TYPE_CHECKING:
    from assistant.ui.page import AssistantLoader

log = logging.getLogger(__name__)

_KIND_WORDS = {"like": "liked", "dislike": "disliked", "seen": "seen"}
_EFFECT = {"like": "more like it will come up",
           "dislike": "it will be left out of your next answers"}


def _line(item_id: str, kind: str, text: str) -> str:
    return (f'<div class="encore-feedback" data-item-id="{_esc(item_id)}" '
            f'data-kind="{_esc(kind)}">{text}</div>')


class PageActions:
    """The page's button handlers (mixed into :class:`~assistant.ui.page.ChatPage`)."""

    loader: AssistantLoader

    def _user(self, user_id: str | None, viewer: Viewer | None) -> str:
        user = (viewer or Viewer()).user_for(checks.ident(user_id, "user"))
        if not user:
            raise checks.InputError("Pick a user (or a new user) first.")
        return user

    # -- like / dislike, pressed and undone ------------------------------------------

    def toggle(self, item_id: str, kind: str, marks: dict[str, str] | None,
               user_id: str | None, session_id: str | None, viewer: Viewer | None = None
               ) -> tuple[str, dict[str, str], str | None]:
        """Like or dislike ``item_id``; the same button again undoes it (the feedback is
        forgotten). Returns (feedback line, marks, what the next answer takes into account:
        "your dislike of Heat", or None when nothing changed or it was undone)."""
        marks = dict(marks or {})
        try:
            user = self._user(user_id, viewer)
            item = checks.ident(item_id, "item_id", required=True) or ""
            fk = FeedbackKind(kind)
            a = self.loader.get()
            title = a.item(item).title
            if marks.get(item) == fk.value:
                a.forget(user, item)
                marks.pop(item, None)
                return (_line(item, "undone", f"Undone: your {fk.value} of <b>{_esc(title)}"
                              "</b> is forgotten."), marks, None)
            a.feedback(user, item, fk, session_id=session_id)
        except Exception as exc:
            if not isinstance(exc, EncoreError):
                log.exception("feedback failed")
            return _problem(_message(exc)), marks, None
        marks[item] = fk.value
        text = (f"Noted: you {_KIND_WORDS[fk.value]} <b>{_esc(title)}</b>; "
                f"{_EFFECT.get(fk.value, 'noted')}. Click it again to undo.")
        return _line(item, fk.value, text), marks, f"your {fk.value} of {title}"

    def feedback(self, slot: int, kind: str, recs: list[Recommendation] | None,
                 marks: dict[str, str] | None, user_id: str | None,
                 session_id: str | None, viewer: Viewer | None = None
                 ) -> tuple[str, dict[str, str], str]:
        """Like or dislike the card at ``slot`` of ``recs`` (see :meth:`toggle`). Returns
        (feedback line, marks, the card re-rendered)."""
        recs = list(recs or [])
        marks = dict(marks or {})
        if not 0 <= slot < len(recs):
            return _problem("That card is no longer on the page; ask again for new picks."), \
                marks, ""
        rec = recs[slot]
        line, marks, _ = self.toggle(rec.item_id, kind, marks, user_id, session_id, viewer)
        return line, marks, render_card(rec, mark=marks.get(rec.item_id), live=True)

    # -- the history view ---------------------------------------------------------------

    def forget(self, item_id: str, user_id: str | None, viewer: Viewer | None = None
               ) -> str:
        """Remove ``item_id`` from the user's history (the feedback given here). Returns the
        feedback line."""
        try:
            user = self._user(user_id, viewer)
            item = checks.ident(item_id, "item_id", required=True) or ""
            a = self.loader.get()
            title = a.item(item).title if item in a.catalog else item
            removed = a.forget(user, item)
        except Exception as exc:
            if not isinstance(exc, EncoreError):
                log.exception("removing a history entry failed")
            return _problem(_message(exc))
        if not removed:
            return _line(item, "forget", f"<b>{_esc(title)}</b> was not in your history.")
        return _line(item, "forget", f"Removed <b>{_esc(title)}</b> from your history.")

    def history_view(self, user_id: str | None, viewer: Viewer | None = None) -> str:
        """"Your history": the likes, dislikes and "seen" given here, newest first, each
        with a remove button; then how much the demo's own log holds."""
        try:
            user = self._user(user_id, viewer)
            a = self.loader.get()
        except EncoreError as exc:
            return _problem(str(exc))
        events = list(reversed(latest_per_item(a.store.events(user))))
        rows = []
        for e in events:
            title = a.catalog[e.item_id].title if e.item_id in a.catalog else e.item_id
            when = time.strftime("%d %b %Y", time.gmtime(e.timestamp))
            rows.append(
                f'<li data-item-id="{_esc(e.item_id)}" data-kind="{e.kind.value}">'
                f'<span class="kind kind-{e.kind.value}">{_KIND_WORDS.get(e.kind.value, "")}'
                f'</span> <span class="title">{_esc(title)}</span> '
                f'<span class="when">{when}</span> <button type="button" class="forget" '
                f'name="encore-forget" value="{_esc(e.item_id)}">Remove</button>'
                "</li>")
        logged = len(a.engine.base_history(user)) if hasattr(a, "engine") else 0
        head = (f'<p class="summary">{len(rows)} item{"s" if len(rows) != 1 else ""} you '
                "liked, disliked or marked seen here.</p>")
        log_note = (f'<p class="log-note">Plus {logged} earlier plays from the demo data '
                    "(synthetic), which shape your picks too.</p>" if logged else "")
        body = (f'<ul class="history-items">{"".join(rows)}</ul>' if rows else
                '<p class="empty">Nothing yet: like or dislike a card and it shows here.</p>')
        return f'<section class="encore-history" data-items="{len(rows)}">{head}{body}' \
               f"{log_note}</section>"

    # -- the playlist being edited ----------------------------------------------------

    @staticmethod
    def edit_playlist(pl: PlaylistReply | None, action: str, position: int
                      ) -> PlaylistReply | None:
        """``pl`` after "up", "down" or "remove" on the item at ``position``."""
        if pl is None:
            return None
        if action == "remove":
            return drop(pl, position)
        return move(pl, position, -1 if action == "up" else 1)
