"""`encore playlist`: an ordered playlist of a target length, printed as a table or
exported as extended M3U or JSON (:meth:`assistant.core.Assistant.playlist`).

Example (over a built bundle)::

    encore playlist "indie rock road trip" --minutes 120 --format m3u --out trip.m3u
    encore playlist "indie rock" --minutes 60 --keep tr-a --keep tr-b --format json
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.commands.assist import BundleOpt, UserOpt, open_assistant
from assistant.playlist import clock

if TYPE_CHECKING:
    from assistant.reply import PlaylistReply


class Format(StrEnum):
    table = "table"
    m3u = "m3u"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add ``playlist`` to ``app``."""
    app.command()(playlist)


def render_table(pl: PlaylistReply) -> str:
    """The playlist as text: the summary, one numbered line per item with its length (and
    its close-match label), and the total against the target.

    Example:
        >>> from assistant.reply import PlaylistEntry, PlaylistReply
        >>> pl = PlaylistReply(target_minutes=5, total_minutes=4.5, within_tolerance=False,
        ...                    summary="Short:", items=[PlaylistEntry(
        ...                        position=1, item_id="tr-a", title="A", creators=["X"],
        ...                        duration_min=4.5, match="close", note="close match: punk")])
        >>> print(render_table(pl))
        Short:
          1. A (X)  4:30  [tr-a]  close match: punk
        Total: 4:30 of 5:00 asked for (1 item)
    """
    lines = [pl.summary] if pl.summary else []
    for e in pl.items:
        who = f" ({', '.join(e.creators)})" if e.creators else ""
        note = f"  {e.note}" if e.note else ""
        lines.append(f"{e.position:3d}. {e.title}{who}  {clock(e.duration_min)}  "
                     f"[{e.item_id}]{note}")
    n = len(pl.items)
    lines.append(f"Total: {clock(pl.total_minutes)} of {clock(pl.target_minutes)} asked for "
                 f"({n} item{'s' if n != 1 else ''})")
    return "\n".join(lines)


def playlist(
    query: Annotated[str, typer.Argument(help="What it should sound like, in words.")] = "",
    minutes: Annotated[int | None, typer.Option(
        "--minutes", "-m", min=1, max=1440,
        help="Target length in minutes (default: the length the query names, else 60).")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, m3u or json.")
                   ] = Format.table,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write to this file instead of stdout.")] = None,
    keep: Annotated[list[str] | None, typer.Option(
        "--keep", help="An item id of a previous playlist to keep, in order (repeatable): "
                       "it is trimmed or extended to the new length.")] = None,
    media_type: Annotated[list[str] | None, typer.Option(
        "--type", "-t", help="Only this media type (repeatable; default: music tracks).")
    ] = None,
    user: UserOpt = "new-user",
    bundle: BundleOpt = None,
) -> None:
    """An ordered playlist of a target length, as a table, M3U or JSON."""
    from assistant.commands.assist import _media_types

    types = _media_types(media_type) if media_type else []  # checked before the bundle loads
    with open_assistant(bundle) as bot:
        pl = bot.playlist(user, query or None, minutes, keep_ids=keep or (), media_types=types)
    text = {Format.table: lambda: render_table(pl) + "\n", Format.m3u: pl.to_m3u,
            Format.json: lambda: pl.to_json() + "\n"}[fmt]()
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out} ({len(pl.items)} items, {clock(pl.total_minutes)} of "
               f"{clock(pl.target_minutes)} asked for)")
