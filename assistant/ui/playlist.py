"""The playlist block of the page: the whole playlist, numbered in play order, each length
and the total against the target (pure HTML, every catalog string escaped), and the M3U and
JSON files its download buttons serve.

Example:
    >>> from assistant.reply import PlaylistEntry, PlaylistReply
    >>> pl = PlaylistReply(target_minutes=8, total_minutes=7.9, within_tolerance=True,
    ...                    summary="A playlist:", items=[PlaylistEntry(
    ...                        position=1, item_id="tr-a", title="<A>", creators=["X"],
    ...                        duration_min=3.9)])
    >>> html_ = render_playlist(pl)
    >>> '<ol class="playlist-items">' in html_, "&lt;A&gt;" in html_, "3:54" in html_
    (True, True, True)
    >>> render_playlist(None)
    ''
"""

from __future__ import annotations

import html
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.playlist import clock

if TYPE_CHECKING:
    from assistant.reply import PlaylistReply

__all__ = ["PLAYLIST_CSS", "drop", "move", "playlist_files", "render_playlist"]

PLAYLIST_CSS = """
.encore-playlist h3 { margin: 0 0 4px 0; font-size: 1.1em; }
.encore-playlist ol { margin: 6px 0; padding-left: 0; list-style: none; }
.encore-playlist li { display: flex; gap: .6em; align-items: baseline; padding: 2px 0; }
.encore-playlist li .pos { min-width: 1.8em; text-align: right; font-weight: 700;
  color: var(--color-accent); }
.encore-playlist li .title { font-weight: 600; }
.encore-playlist li .by, .encore-playlist li .note { color: var(--body-text-color-subdued); }
.encore-playlist li .len { margin-left: auto; font-variant-numeric: tabular-nums; }
.encore-playlist li.close .note { font-style: italic; }
.encore-playlist .total { font-weight: 600; }
.encore-playlist .edit { display: inline-flex; gap: 2px; margin-left: .4em; }
.encore-playlist .edit button { padding: 0 .45em; border: 1px solid var(--border-color-primary);
  border-radius: 4px; background: var(--background-fill-secondary); cursor: pointer; }
@media (max-width: 600px) {
  .encore-playlist li { flex-wrap: wrap; row-gap: 0; }
  .encore-playlist li .title { flex: 1 1 50%; }
  .encore-playlist li .by, .encore-playlist li .note { order: 5; flex-basis: 100%;
    padding-left: 2.4em; font-size: .85em; }
}
"""


def _esc(value: object) -> str:
    from assistant.ui.checks import clean_display

    return html.escape(clean_display(value), quote=True)


def render_playlist(pl: PlaylistReply | None, *, editable: bool = False) -> str:
    """The playlist as an HTML block: title, summary, every item numbered with its creators,
    its length and (for close matches) its label, then the total against the target. Empty
    when there is no playlist or it has no item (the chat's text says why).

    ``editable`` adds up / down / remove buttons to each item (``name="encore-up"``...: the
    page's script sends their clicks to the server, which calls :func:`move` or
    :func:`drop`)."""
    if pl is None or not pl.items:
        return ""
    rows, n = [], len(pl.items)
    for e in pl.items:
        by = f'<span class="by">{_esc(", ".join(e.creators))}</span>' if e.creators else ""
        note = f'<span class="note">{_esc(e.note)}</span>' if e.note else ""
        rows.append(
            f'<li class="{e.match}" data-item-id="{_esc(e.item_id)}" data-position="{e.position}"'
            f' data-minutes="{e.duration_min if e.duration_min is not None else ""}">'
            f'<span class="pos">{e.position}</span><span class="title">{_esc(e.title)}</span>'
            f'{by}{note}<span class="len">{clock(e.duration_min)}</span>'
            f'{_edit_buttons(e.position, n) if editable else ""}</li>')
    total = (f'<p class="total">Total: {clock(pl.total_minutes)} of '
             f'{clock(pl.target_minutes)} asked for ({n} item{"s" if n != 1 else ""})</p>')
    state = "true" if pl.within_tolerance else "false"
    return (f'<section class="encore-playlist" data-items="{n}" '
            f'data-total="{pl.total_minutes}" data-target="{pl.target_minutes}" '
            f'data-within="{state}"><h3>{_esc(pl.title)}</h3>'
            + (f'<p class="summary">{_esc(pl.summary)}</p>' if pl.summary else "")
            + f'<ol class="playlist-items">{"".join(rows)}</ol>{total}</section>')


def playlist_files(pl: PlaylistReply, folder: str | Path | None = None) -> tuple[Path, Path]:
    """Write the playlist as ``.m3u`` and ``.json`` into ``folder`` (default: a new
    temporary folder, which gradio copies into its cache when it serves the files).

    Returns:
        The M3U path and the JSON path.
    """
    out = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="encore-pl-"))
    out.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^a-z0-9]+", "-", pl.title.lower()).strip("-")[:60] or "playlist"
    m3u, js = out / f"{stem}.m3u", out / f"{stem}.json"
    m3u.write_text(pl.to_m3u(), encoding="utf-8")
    js.write_text(pl.to_json() + "\n", encoding="utf-8")
    return m3u, js


def _edit_buttons(position: int, n: int) -> str:
    buttons = [("up", "\u2191", "Move up", position > 1),
               ("down", "\u2193", "Move down", position < n),
               ("remove", "\u00d7", "Remove", True)]
    return '<span class="edit">' + "".join(
        f'<button type="button" name="encore-{action}" value="{position}" '
        f'title="{label}" aria-label="{label}">{glyph}</button>'
        for action, glyph, label, shown in buttons if shown) + "</span>"


def _renumbered(pl: PlaylistReply, entries: list) -> PlaylistReply:
    """``pl`` with ``entries`` in this order: positions from 1, the total summed again and
    whether it is within the tolerance of the target."""
    items = [e.model_copy(update={"position": i}) for i, e in enumerate(entries, start=1)]
    total = round(sum(e.duration_min or 0.0 for e in items), 2)
    within = abs(total - pl.target_minutes) <= pl.tolerance * pl.target_minutes
    order = {e.item_id: i for i, e in enumerate(items)}
    recs = sorted((r for r in pl.recommendations if r.item_id in order),
                  key=lambda r: order[r.item_id])
    # The summary described the list as it was made; the total line describes the edit.
    return pl.model_copy(update={"items": items, "total_minutes": total, "summary": "",
                                 "within_tolerance": within, "recommendations": recs})


def move(pl: PlaylistReply, position: int, delta: int) -> PlaylistReply:
    """The playlist with the item at ``position`` (1-based) moved by ``delta`` places
    (-1: up, 1: down); unchanged when that would leave the list.

    Example:
        >>> from assistant.reply import PlaylistEntry, PlaylistReply
        >>> pl = PlaylistReply(target_minutes=9, total_minutes=9, within_tolerance=True,
        ...     items=[PlaylistEntry(position=i, item_id=x, title=x, duration_min=3)
        ...            for i, x in enumerate("abc", start=1)])
        >>> move(pl, 3, -1).ids, drop(pl, 1).ids, drop(pl, 1).total_minutes
        (['a', 'c', 'b'], ['b', 'c'], 6.0)
    """
    entries = list(pl.items)
    i, j = position - 1, position - 1 + delta
    if not (0 <= i < len(entries) and 0 <= j < len(entries)):
        return pl
    entries[i], entries[j] = entries[j], entries[i]
    return _renumbered(pl, entries)


def drop(pl: PlaylistReply, position: int) -> PlaylistReply:
    """The playlist without the item at ``position`` (1-based); unchanged when there is none
    there."""
    if not 1 <= position <= len(pl.items):
        return pl
    return _renumbered(pl, [e for e in pl.items if e.position != position])
