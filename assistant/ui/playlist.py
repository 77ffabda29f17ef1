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

__all__ = ["PLAYLIST_CSS", "playlist_files", "render_playlist"]

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
"""


def _esc(value: object) -> str:
    from assistant.ui.checks import clean_display

    return html.escape(clean_display(value), quote=True)


def render_playlist(pl: PlaylistReply | None) -> str:
    """The playlist as an HTML block: title, summary, every item numbered with its creators,
    its length and (for close matches) its label, then the total against the target. Empty
    when there is no playlist or it has no item (the chat's text says why)."""
    if pl is None or not pl.items:
        return ""
    rows = []
    for e in pl.items:
        by = f'<span class="by">{_esc(", ".join(e.creators))}</span>' if e.creators else ""
        note = f'<span class="note">{_esc(e.note)}</span>' if e.note else ""
        rows.append(
            f'<li class="{e.match}" data-item-id="{_esc(e.item_id)}" data-position="{e.position}"'
            f' data-minutes="{e.duration_min if e.duration_min is not None else ""}">'
            f'<span class="pos">{e.position}</span><span class="title">{_esc(e.title)}</span>'
            f'{by}{note}<span class="len">{clock(e.duration_min)}</span></li>')
    n = len(pl.items)
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
