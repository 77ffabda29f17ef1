"""Cards and notes as HTML: pure functions of the reply, every catalog string escaped and
stripped of control and bidi-override characters (NUL, U+202E...) before it is shown."""

from __future__ import annotations

import html

from assistant.errors import EncoreError
from assistant.reply import Recommendation, Reply, TurnMeta
from assistant.ui.checks import clean_display
from assistant.ui.cover import cover_tile

_MEDIA_LABEL = {"movie": "Film", "series": "Series", "album": "Album", "music_track": "Track",
                "podcast": "Podcast", "audiobook": "Audiobook"}


def _message(exc: BaseException | None) -> str:
    """One line for the page: the assistant's own errors as they are, anything else without
    internals (the traceback goes to the server log)."""
    if isinstance(exc, (EncoreError, FileNotFoundError, PermissionError)):
        return str(exc)
    name = type(exc).__name__ if exc is not None else "unknown error"
    return f"something went wrong on the server ({name}); the details are in its log"



def _esc(value: object) -> str:
    return html.escape(clean_display(value), quote=True)


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


def render_card(rec: Recommendation, *, mark: str | None = None, turn: int | None = None,
                live: bool = False, image_url: str | None = None) -> str:
    """One recommendation as an HTML card; every catalog string is escaped.

    Args:
        rec: the recommendation.
        mark: the user's feedback on it ("like" or "dislike"): a badge, and the pressed
            button.
        turn: the reply's turn number (a data attribute, so a test can tell answers apart).
        live: show Like / Dislike buttons (pressed when ``mark`` says so; a pressed button
            undoes). The page's script sends their clicks to the server.
        image_url: the catalog's cover image, if any (else a generated tile).
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
    if turn is not None:  # the chat keeps classes but drops data-* attributes
        classes += f" turn-{turn}"
    attrs = (f'class="{classes}" data-item-id="{_esc(rec.item_id)}" data-rank="{rec.rank}"'
             + (f' data-turn="{turn}"' if turn is not None else ""))
    title = clean_display(rec.title)
    parts = [
        f"<article {attrs}>",
        cover_tile(title, rec.media_type, rec.genres, image_url=image_url),
        '<div class="body">',
        f'<div class="head"><span class="rank">{rec.rank}</span>'
        f'<b class="title">{_esc(rec.title)}</b>'
        + (f'<span class="badge">{badge}</span>' if badge else "") + "</div>",
        f'<p class="facts">{" · ".join(_esc(f) for f in facts)}</p>',
    ]
    if rec.match == "close":  # said on the card, not only counted in the lead
        parts.append(f'<p class="match-note">{_esc(rec.match_note or "close match")}</p>')
    if rec.explanation:
        parts.append(f'<p class="explanation">{_esc(rec.explanation)}</p>')
    evidence = _evidence(rec)
    if evidence:
        items = "".join(f"<li>{_esc(line)}</li>" for line in evidence)
        parts.append(f'<details class="evidence"><summary>Why this pick</summary>'
                     f"<ul>{items}</ul></details>")
    if live:
        parts.append(_feedback_buttons(rec.item_id, mark))
    parts.append("</div></article>")
    return "".join(parts)


def _feedback_buttons(item_id: str, mark: str | None) -> str:
    """Like / Dislike, pressed when given (class ``pressed``; a pressed button's click undoes
    it: the server forgets the feedback). ``name`` and ``value`` say what the page's script
    sends: the chat's sanitizer keeps them (it drops ``data-*`` and ``aria-*``)."""
    out = []
    for kind, label in (("like", "Like"), ("dislike", "Dislike")):
        pressed = " pressed" if mark == kind else ""
        out.append(f'<button type="button" class="fb fb-{kind}{pressed}" name="encore-{kind}" '
                   f'value="{_esc(item_id)}" title="{label} (click again to undo)">'
                   f'{label + "d" if mark == kind else label}</button>')
    return f'<div class="fb-row">{"".join(out)}</div>'


def _evidence(rec: Recommendation) -> list[str]:
    """The evidence view: the grounds' plain sentences (never source names or scores), then
    the item's description."""
    rows = list(rec.grounds.evidence_text)
    if rec.tags:
        rows.append("Themes: " + ", ".join(rec.tags))
    if rec.description:
        rows.append(f"About: {rec.description}")
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
    # Backend names and timings are for the curious: behind a small toggle, never in the
    # main view (a fallback is said in the reply's own text when it matters).
    inner = (f'<details class="turn-details"><summary>details</summary>{body}</details>'
             if body else "")
    return f'<div class="backend-note" data-turn="{turn}" data-done="{state}">{inner}</div>'


def _problem(text: str) -> str:
    return f'<div class="encore-problem">{_esc(text)}</div>'


def _reply_markdown(reply: Reply) -> str:
    text = _esc(reply.text)
    if reply.notice:
        text += f"\n\n*{_esc(reply.notice)}*"
    return text
