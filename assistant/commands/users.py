"""`encore users`: the sign-in accounts of the chat page (``ui.accounts_file``).

Passwords are read from a hidden prompt (asked twice) or, with ``--password-stdin``, from
the first line of standard input; never from the command line, where other users of the
machine could read them in the process list. They are stored as argon2id hashes.

Example (not run: it prompts):
    $ encore users add ann --user-id demo-0001
    $ encore users add root --admin
    $ printf '%s\\n' "$PASSWORD" | encore users add bob --password-stdin
    $ encore users list
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

users_app = typer.Typer(no_args_is_help=True, add_completion=False,
                        help="Sign-in accounts of the chat page (argon2-hashed passwords).")

_FILE_OPTION = typer.Option("--accounts", help="Accounts file (default: the "
                            "ui.accounts_file setting, .encore/accounts.json).")


def _book(path: Path | None):
    from assistant.accounts import AccountBook
    from assistant.cli import settings

    return AccountBook(path or settings().ui.accounts_file)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ -).")],
    admin: Annotated[bool, typer.Option("--admin", help="May pick any user.")] = False,
    user_id: Annotated[str | None, typer.Option(
        "--user-id", help="The user whose history this account owns (default: NAME).")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Change an existing account (password, role, user).")] = False,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin.")] = False,
    accounts: Annotated[Path | None, _FILE_OPTION] = None,
) -> None:
    """Add an account (the password is prompted for, or read from stdin)."""
    book = _book(accounts)
    account = book.add(name, _read_password(password_stdin), admin=admin, user_id=user_id,
                       replace=replace)
    role = "admin" if account.admin else "user"
    typer.echo(f"{account.name}: {role}, user {account.user_id} (in {book.path})")


@users_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="Login name.")],
    accounts: Annotated[Path | None, _FILE_OPTION] = None,
) -> None:
    """Remove an account (its sign-ins stop working at their next request)."""
    from assistant.cli import fail

    book = _book(accounts)
    if not book.remove(name):
        fail(f"no account {name!r} in {book.path}. Fix: see `encore users list`")
    typer.echo(f"removed {name}")


@users_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    accounts: Annotated[Path | None, _FILE_OPTION] = None,
) -> None:
    """List the accounts (never their hashes)."""
    from assistant.cli import emit_json

    rows = [{"name": a.name, "user_id": a.user_id, "admin": a.admin}
            for a in _book(accounts).accounts()]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['name']}\t{r['user_id']}\t{'admin' if r['admin'] else 'user'}")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
