"""`encore recommend`, `similar`, `feedback`, `history` and `chat`: the Assistant from the
terminal. Every command that returns data takes ``--json``; all of them read the bundle at
``--bundle`` (default: the ``bundle_dir`` setting)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.reply import Recommendation, Reply

BundleOpt = Annotated[Path | None, typer.Option("--bundle", "-b",
                                                help="Bundle folder (default: bundle_dir).")]
UserOpt = Annotated[str, typer.Option("--user", "-u", help="User id (a new id is a new user).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
KOpt = Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="How many.")]


def open_assistant(bundle: Path | None) -> Assistant:
    """The Assistant over ``bundle`` with this invocation's settings."""
    from assistant.cli import settings
    from assistant.core import Assistant

    s = settings()
    return Assistant.from_bundle(bundle or s.bundle_dir, s)


def _minutes(m: float | None) -> str:
    if m is None:
        return ""
    m = round(m)
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def print_cards(recs: list[Recommendation]) -> None:
    for r in recs:
        facts = ", ".join(x for x in (r.media_type.replace("_", " "), str(r.year or ""),
                                      _minutes(r.duration_min)) if x)
        typer.echo(f"{r.rank:3d}. {r.title} ({facts})  [{r.item_id}]")
        if r.explanation:
            typer.echo(f"     {r.explanation}")


def print_reply(reply: Reply) -> None:
    typer.echo(reply.text)
    if reply.notice:
        typer.echo(f"  note: {reply.notice}")
    print_cards(reply.recommendations)
    meta = reply.meta
    fb = "; ".join(f"{f.stage} fell back to {f.used} ({f.reason})" for f in meta.fallbacks)
    typer.echo(f"  [parser: {meta.parser} · explanations: {meta.explainer}"
               + (f" · {fb}" if fb else "") + "]")


def _dump(recs: list[Recommendation]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in recs]


def register(app: typer.Typer) -> None:
    """Add ``recommend``, ``similar``, ``feedback``, ``history`` and ``chat`` to ``app``."""
    for command in (recommend, similar, feedback, history, chat):
        app.command()(command)


def recommend(
    query: Annotated[str | None, typer.Argument(help="What you want, in words.")] = None,
    user: UserOpt = "new-user",
    k: KOpt = 10,
    media_type: Annotated[list[str] | None, typer.Option(
        "--type", "-t", help="Only this media type (repeatable): movie, series, podcast...")
    ] = None,
    max_minutes: Annotated[int | None, typer.Option("--max-minutes", min=1,
                                                    help="Longest duration.")] = None,
    bundle: BundleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recommend for a user, optionally for a request in words."""
    from assistant.cli import emit_json

    filters: dict[str, Any] = {}
    if media_type:
        filters["media_types"] = _media_types(media_type)
    if max_minutes is not None:
        filters["max_minutes"] = max_minutes
    with open_assistant(bundle) as bot:
        recs = bot.recommend(user, query, k=k, filters=filters or None)
    if as_json:
        emit_json({"user_id": user, "query": query, "recommendations": _dump(recs)})
    else:
        print_cards(recs) if recs else typer.echo("nothing matches; loosen the filters")


def similar(
    item_id: Annotated[str, typer.Argument(help="A catalog item id.")],
    user: Annotated[str | None, typer.Option("--user", "-u", help="Rank for this user.")
                    ] = None,
    k: KOpt = 10,
    bundle: BundleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Items like ITEM_ID."""
    from assistant.cli import emit_json

    with open_assistant(bundle) as bot:
        recs = bot.similar(item_id, k=k, user_id=user)
    if as_json:
        emit_json({"item_id": item_id, "recommendations": _dump(recs)})
    else:
        print_cards(recs)


def feedback(
    item_id: Annotated[str, typer.Argument(help="A catalog item id.")],
    kind: Annotated[str, typer.Argument(help="like, dislike or seen.")],
    user: UserOpt = "new-user",
    bundle: BundleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that a user liked, disliked or has seen an item."""
    from assistant.cli import emit_json

    with open_assistant(bundle) as bot:
        bot.feedback(user, item_id, kind)
        title = bot.item(item_id).title
    if as_json:
        emit_json({"user_id": user, "item_id": item_id, "kind": kind, "recorded": True})
    else:
        typer.echo(f"recorded: {user} {kind} {title}")


def history(
    user: UserOpt = "new-user",
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 20,
    bundle: BundleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A user's history: the bundle's log, then feedback given in Encore."""
    from assistant.cli import emit_json

    with open_assistant(bundle) as bot:
        entries = bot.history(user, limit=limit)
    if as_json:
        emit_json({"user_id": user, "history": [e.model_dump(mode="json") for e in entries]})
        return
    if not entries:
        typer.echo(f"{user}: no history yet")
    for e in entries:
        typer.echo(f"{e.event:>8}  {e.title} ({e.media_type})  [{e.source}]")


def chat(
    message: Annotated[list[str] | None, typer.Argument(
        help="Messages to send in turn (none: read lines from the terminal).")] = None,
    user: UserOpt = "new-user",
    session: Annotated[str | None, typer.Option("--session", help="Resume this session.")
                       ] = None,
    bundle: BundleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Chat in the terminal: each line is a message; an empty line or Ctrl-D ends."""
    from assistant.cli import emit_json

    sid = session or f"cli-{uuid.uuid4().hex[:8]}"
    with open_assistant(bundle) as bot:
        lines = iter(message) if message else _stdin_lines(as_json)
        if not as_json and not message:
            typer.echo(f"{bot.backend_note()}. Session {sid}. Empty line to stop.", err=True)
        for line in lines:
            reply = bot.chat(sid, user, line)
            if as_json:
                emit_json(reply.model_dump(mode="json"))
            else:
                print_reply(reply)


def _media_types(values: list[str]) -> list[str]:
    """``--type`` values as MediaType names ("music-track" -> "music_track"); an unknown one
    is an error that lists the valid names (checked before the bundle loads)."""
    from assistant.cli import fail
    from retrieval.models import MediaType

    valid = [m.value for m in MediaType]
    out = []
    for value in values:
        name = value.strip().lower().replace("-", "_").replace(" ", "_")
        if name not in valid:
            fail(f"unknown --type {value!r}. Fix: use one of {', '.join(valid)}")
        out.append(name)
    return out


def _stdin_lines(quiet: bool):
    while True:
        if not quiet and sys.stdin.isatty():
            typer.echo("> ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line or not line.strip():
            return
        yield line.rstrip("\n")
