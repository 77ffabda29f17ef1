"""`encore demo`: build the demo bundle on first run, then open the chat page on it.

The demo bundle is built from the packaged catalog of real titles and SYNTHETIC
interactions (see retrieval/demo), into the ``bundle_dir`` setting. ``--no-launch`` only
builds (when needed) and prints the bundle's path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

DEMO_PAIRS = 4000
"""Training pairs of the demo's encoder fine-tuning (the default of `encore build` is 12,000)."""


def demo_bundle_ready(path: Path) -> bool:
    """True when ``path`` holds a finished bundle of the demo data set."""
    from retrieval.bundle import read_manifest
    from retrieval.errors import DataError

    try:
        manifest = read_manifest(path)
    except DataError:
        return False
    # The data set's display name is "Encore demo (...)"; its source is the stable key.
    return manifest.get("dataset", {}).get("source") == "demo"


def build_demo(settings: Any, path: Path, *, progress: bool, say: Any) -> Path:
    """Build the demo bundle into ``path`` (fine-tuned encoder, index, ranker)."""
    from retrieval.bundle import build_bundle
    from retrieval.dataset import load_dataset

    ds = load_dataset("demo", seed=settings.data.seed)
    say(ds.describe())
    # A short fine-tuning (DEMO_PAIRS pairs, one epoch) keeps the first run to minutes on a
    # laptop CPU; `encore build --data demo` trains on the full default.
    return build_bundle(ds, path, settings, progress=progress, on_step=say, max_pairs=DEMO_PAIRS)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        no_launch: Annotated[bool, typer.Option(
            "--no-launch", help="Only build the demo bundle (if needed) and print its path.")
        ] = False,
        rebuild: Annotated[bool, typer.Option("--rebuild", help="Build it again.")] = False,
        host: Annotated[str | None, typer.Option("--host", help="Address of the page "
                                                 "(default 127.0.0.1).")] = None,
        port: Annotated[int | None, typer.Option("--port", min=1, max=65535)] = None,
        progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
        as_json: Annotated[bool, typer.Option("--json", help="With --no-launch: print JSON.")
                           ] = False,
        demo_mode: Annotated[bool, typer.Option(
            "--demo-mode/--sign-in", help="Open demo mode (anyone may pick any demo user; "
            "the default), or require sign-in as `encore serve` does.")] = True,
    ) -> None:
        """The demo: real titles, SYNTHETIC interactions. Builds on first run, then opens
        the chat page."""
        from assistant.cli import emit_json, settings

        s = settings()
        path = Path(s.bundle_dir)
        say = (lambda msg: None) if as_json else (lambda msg: typer.echo(f"- {msg}", err=True))
        needs_build = rebuild or not demo_bundle_ready(path)
        if no_launch:
            if needs_build:
                say(f"building the demo bundle in {path} (first run only)")
                build_demo(s, path, progress=progress and not as_json, say=say)
            if as_json:
                from retrieval.bundle import read_manifest

                m = read_manifest(path)
                emit_json({"bundle": str(path), "dataset": m["dataset"],
                           "encoder": m["encoder"], "ranker": m.get("ranker")})
            else:
                typer.echo(str(path))
            return

        from assistant.cli import fail
        from assistant.commands.serve import choose_access, port_problem

        host = host or s.ui.host
        port = port or s.ui.port
        # Checked before gradio is imported, as `encore serve` does: a busy port is one line.
        if (problem := port_problem(host, port)) is not None:
            fail(problem)
        try:
            # ui.auth / ui.trusted_header set on purpose win over the open default.
            access = choose_access(s.ui, host=host, auth=s.ui.auth, demo_mode=demo_mode
                                   and not (s.ui.auth or s.ui.trusted_header), say=say)
        except ValueError as exc:
            fail(str(exc))

        from assistant.core import Assistant
        from assistant.ui import launch

        def factory() -> Assistant:
            if needs_build:
                say(f"building the demo bundle in {path} (first run only; the page answers "
                    "once it is ready)")
                build_demo(s, path, progress=progress, say=say)
            return Assistant.from_bundle(path, s)

        say(f"opening the chat page on http://{host}:{port}")
        launch(factory, host=host, port=port, access=access)
