"""The `encore` command line.

Every command builds the same :class:`~assistant.settings.Settings` the Python API takes.
Errors are one clear line on stderr and exit code 2; ``--debug`` shows the traceback.
Heavy imports live inside the command bodies so that ``encore --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from assistant import __version__

# Options shared by every command (set by the callback below).
_STATE: dict[str, Any] = {"debug": False, "config": None}


def error_line(exc: BaseException) -> str:
    """The one line a user sees for an error."""
    from pydantic import ValidationError

    from retrieval.errors import DataError

    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return f"invalid setting {loc}: {first.get('msg')}"
    if isinstance(exc, (DataError, ValueError, FileNotFoundError, PermissionError, KeyError,
                        ImportError)):
        if type(exc) is KeyError and exc.args and isinstance(exc.args[0], str):
            return exc.args[0]  # str(KeyError) would add quotes
        return str(exc)
    return f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"


class _EncoreGroup(TyperGroup):
    """Turns any error raised by a command into one line on stderr and exit code 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:
            if _STATE["debug"]:
                raise
            typer.echo(f"error: {error_line(exc)}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_EncoreGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Encore: conversational recommendations for films, series, music and podcasts.",
)


@app.callback()
def _root(
    config: Annotated[Path | None, typer.Option("--config", help="TOML settings file.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _STATE["debug"] = debug
    _STATE["config"] = config


def settings(**overrides: Any):
    """The Settings for this invocation: --config file, ENCORE_* variables, then overrides."""
    from assistant.settings import load_settings

    return load_settings(_STATE["config"], **overrides)


def fail(message: str, code: int = 2) -> None:
    """Print one line to stderr and exit (no traceback unless --debug)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def emit_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=None, default=str))


@app.command()
def version() -> None:
    """Print Encore's version."""
    typer.echo(__version__)


def _register_commands() -> None:
    from assistant.commands import build as build_cmds
    from assistant.commands import data as data_cmds
    from assistant.commands import demo as demo_cmds

    data_cmds.register(app)
    demo_cmds.register(app)
    build_cmds.register(app)
    # Commands whose modules land with their capability; absent ones are simply not listed.
    for name in ("eval", "encoder", "ranker", "assist", "playlist", "serve", "users", "vllm"):
        try:
            module = __import__(f"assistant.commands.{name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != f"assistant.commands.{name}":
                raise
            continue
        module.register(app)


_register_commands()


def main() -> None:
    """Entry point of the `encore` console script."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # `python -m assistant.cli ...` works like the `encore` command
    main()
