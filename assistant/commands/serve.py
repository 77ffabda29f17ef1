"""`encore serve`: the Gradio chat page over a bundle.

The port is checked before anything loads, so a busy port is one clear line and exit code 2.
The page opens at once; the bundle loads in a background thread meanwhile, and requests made
before it is ready get a "still being built" message.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Annotated

import typer


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
            "--auth", help="Require a login: 'user:password' (default: the ui.auth setting)."
        )] = None,
    ) -> None:
        """Serve the chat page (Gradio) over a bundle."""
        from assistant.cli import fail, settings

        s = settings()
        host = host or s.ui.host
        port = port or s.ui.port
        path = bundle or s.bundle_dir
        auth = auth if auth is not None else s.ui.auth
        from retrieval.bundle_store import has_bundle

        if not has_bundle(path):
            fail(f"{path}: no bundle here (manifest.json missing). Fix: build one with "
                 "`encore build` (or `encore demo`), or pass --bundle PATH")
        if (problem := port_problem(host, port)) is not None:
            fail(problem)

        from assistant.ui import launch, parse_auth

        credentials = parse_auth(auth)  # a malformed --auth fails before the server starts

        def load():
            from assistant.core import Assistant

            return Assistant.from_bundle(path, s)

        typer.echo(f"Encore chat page: http://{host}:{port} (loading {path} in the background;"
                   " Ctrl+C stops it)", err=True)
        launch(load, host=host, port=port, auth=credentials)
