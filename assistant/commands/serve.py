"""`encore serve`: the Gradio chat page over a bundle.

The port is checked before anything loads, so a busy port is one clear line and exit code 2.
The page opens at once; the bundle loads in a background thread meanwhile, and requests made
before it is ready get a "still being built" message.

Who may use the page (:func:`choose_access`, first match wins):

1. ``--demo-mode``: open; anyone may pick any user, and the page says so.
2. ``--trusted-header NAME``: a reverse proxy signs people in and names them in that header.
3. ``--auth NAME:PASSWORD`` (or ``ui.auth``): one account (legacy; prefer accounts).
4. accounts in ``ui.accounts_file`` (``encore users add``): each person signs in as
   themselves and sees only their own history; admins may pick any user.
5. nothing of the above: open, but only on a loopback address; on any other address
   ``encore serve`` refuses to start (nobody should serve everyone's history by accident).

``--api`` serves the JSON API (:mod:`assistant.serve.api`) instead of the page, and
``--workers N`` from N stateless processes on the one port (:mod:`assistant.serve.workers`),
over the shared history store. The page itself is one process: Gradio keeps each browser
tab's event queue (server-sent events) in the process that opened it, so its requests cannot
be spread over workers.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from assistant.ui.access import Access


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None when it can.

    Example:
        >>> port_problem("127.0.0.1", 0) is None
        True
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return (f"cannot resolve host {host!r} ({exc.strerror}). "
                "Fix: pass --host 127.0.0.1 or a valid address")
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As the server itself does: a port whose last server just stopped (TIME_WAIT) is
        # free; one that something listens on still fails to bind.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"port {port} on {host} is already in use. "
                        "Fix: stop the other server or pass --port with a free port")
            return (f"cannot listen on {host}:{port} ({exc.strerror}). "
                    "Fix: pass another --host/--port")
    return None


def choose_access(ui: Any, *, host: str, auth: Any = None, trusted_header: str | None = None,
                  demo_mode: bool = False, accounts_file: Path | None = None,
                  say: Any = print) -> Access:
    """Who may use the page, from the ``ui`` settings and the command's options (see the
    module docstring for the order).

    Raises:
        ValueError: conflicting options, an unreadable accounts file, or an open page on a
            non-loopback address; the message names the fix.
    """
    from assistant.accounts import AccountBook, ThrottlePolicy
    from assistant.ui.access import Access, is_loopback

    header = trusted_header or ui.trusted_header
    if demo_mode:
        if header or auth:
            raise ValueError("--demo-mode serves the page open; it cannot be combined with "
                             "--trusted-header or --auth. Fix: drop one of them")
        say("demo mode: anyone who can reach the page can pick any demo user")
        return Access.open(demo=True)
    book = AccountBook(accounts_file or ui.accounts_file)
    n_accounts = len(book)  # reads the file: a broken one fails here, before the server
    if header:
        if not is_loopback(host):
            say(f"warning: {header} is trusted from anyone who can reach {host}; let only "
                "the proxy reach this address (listen on 127.0.0.1 behind it)")
        return Access.trusted_header(header, book if n_accounts else None)
    if auth:
        from assistant.ui.app import shared_access

        say("--auth gives one shared account; give each person their own with "
            "`encore users add NAME`")
        return shared_access(auth)
    if n_accounts:
        say(f"sign-in required: {n_accounts} account(s) in {book.path}")
        policy = ThrottlePolicy(max_failures=ui.login_max_failures,
                                lockout_s=ui.login_lockout_s)
        return Access.accounts(book, policy=policy)
    if not is_loopback(host):
        raise ValueError(
            f"refusing to serve the page on {host} with no sign-in: anyone could read and "
            "change every user's history. Fix: add accounts with `encore users add NAME` "
            "(see `encore users --help`), pass --trusted-header behind a signing-in proxy, "
            "or pass --demo-mode to serve it open on purpose")
    say("open mode (loopback only): no sign-in; add accounts with `encore users add NAME`")
    return Access.open()


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        bundle: Annotated[Path | None, typer.Option(
            "--bundle", help="Bundle folder (default: the bundle_dir setting).")] = None,
        host: Annotated[str | None, typer.Option(
            "--host", help="Address to listen on (default: the ui.host setting, 127.0.0.1)."
        )] = None,
        port: Annotated[int | None, typer.Option(
            "--port", min=1, max=65535, help="Port (default: the ui.port setting, 7860).")] = None,
        auth: Annotated[str | None, typer.Option(
            "--auth", help="One shared login 'user:password' (default: the ui.auth setting);"
            " prefer accounts (`encore users add`).")] = None,
        accounts: Annotated[Path | None, typer.Option(
            "--accounts", help="Accounts file (default: the ui.accounts_file setting).")
        ] = None,
        trusted_header: Annotated[str | None, typer.Option(
            "--trusted-header", help="Trust this header (e.g. X-Forwarded-User) from a "
            "reverse proxy that signs people in.")] = None,
        demo_mode: Annotated[bool, typer.Option(
            "--demo-mode", help="Serve it open: anyone may pick any user (the page says "
            "so).")] = False,
        api: Annotated[bool, typer.Option(
            "--api", help="Serve the JSON API (/chat, /recommend, /feedback, /history) "
            "instead of the page.")] = False,
        workers: Annotated[int, typer.Option(
            "--workers", min=1, max=64, help="--api worker processes sharing the port, the "
            "mapped bundle and the store (store.url: Postgres, or SQLite on one machine).")] = 1,
        startup_timeout: Annotated[float, typer.Option(
            "--startup-timeout", min=1.0, help="Seconds the --api workers have to load the "
            "bundle.")] = 300.0,
    ) -> None:
        """Serve the chat page (Gradio) over a bundle, or with --api the JSON API from
        --workers N processes; each person signs in as themselves (`encore users add`), or
        --demo-mode serves it open."""
        from assistant.cli import fail, settings

        s = settings()
        host = host or s.ui.host
        port = port or s.ui.port
        path = bundle or s.bundle_dir
        auth = auth if auth is not None else s.ui.auth
        say = lambda msg: typer.echo(f"- {msg}", err=True)  # noqa: E731
        from retrieval.bundle_store import has_bundle

        if not has_bundle(path):
            fail(f"{path}: no bundle here (manifest.json missing). Fix: build one with "
                 "`encore build` (or `encore demo`), or pass --bundle PATH")
        if (problem := port_problem(host, port)) is not None:
            fail(problem)
        if workers > 1 and not api:
            fail(f"--workers {workers} serves the JSON API, not the page (a page's events stay "
                 "in the process that opened it). Fix: add --api, or leave --workers out")

        # Before the server starts: a malformed --auth, a broken accounts file or an open
        # page on a public address is one line and exit code 2.
        try:
            access = choose_access(s.ui, host=host, auth=auth, trusted_header=trusted_header,
                                   demo_mode=demo_mode or s.ui.demo_mode,
                                   accounts_file=accounts, say=say)
        except ValueError as exc:
            fail(str(exc))

        if api:
            options = {"host": host, "auth": auth, "trusted_header": trusted_header,
                       "demo_mode": demo_mode or s.ui.demo_mode, "accounts_file": accounts}
            _serve_api(s, path, workers, host, port, options, startup_timeout, say)
            return

        from assistant.ui import launch

        def load():
            from assistant.core import Assistant

            return Assistant.from_bundle(path, s).warm()

        typer.echo(f"Encore chat page: http://{host}:{port} (loading {path} in the background;"
                   " Ctrl+C stops it)", err=True)
        launch(load, host=host, port=port, access=access)


def _serve_api(s: Any, path: Path, workers: int, host: str, port: int,
               access: dict[str, Any], startup_timeout: float, say: Any) -> None:
    """``encore serve --api``: check the store and the bundle once, then run the workers."""
    from assistant.cli import fail
    from assistant.errors import EncoreError
    from assistant.serve.workers import WorkerSpec, check_shared_store, run_workers
    from retrieval.bundle_store import check_folder, resolve

    try:
        check_shared_store(s.store.url.get_secret_value(), workers)
    except EncoreError as exc:
        fail(str(exc))
    # Checked once here; the workers skip the checksums and map the files.
    if (problem := check_folder(resolve(path).folder, hashes=True)) is not None:
        fail(f"{problem}. Fix: rebuild the bundle with `encore build` (or `encore demo`)")
    typer.echo(f"Encore JSON API: http://{host}:{port} ({workers} worker(s) loading {path})",
               err=True)
    try:
        run_workers(WorkerSpec(bundle=path, settings=s, access=access), workers, host, port,
                    startup_timeout_s=startup_timeout, say=say)
    except EncoreError as exc:
        fail(str(exc), code=1)
