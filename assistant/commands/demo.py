"""`encore demo`: open the chat page on the demo bundle, answering within a minute.

The demo bundle (the packaged catalog of real titles, SYNTHETIC interactions: see
retrieval/demo) is built in two generations (:mod:`retrieval.demo.build`): a quick one (the
base encoder, no trained ranker; about half a minute) that the page answers from at once,
then the tuned one (fine-tuned encoder, trained ranker), built in the background and swapped
in between turns. The page and the terminal say where the build is, with an estimate; the
terminal prints "Demo ready at URL" once the page answers, and another line once the tuned
model is live. ``--no-launch`` builds both generations here (``--quick``: only the first)
and prints the bundle's path.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from retrieval.demo.build import (
    DEMO_PAIRS,
    QUICK,
    TUNED,
    DemoProgress,
    build_quick,
    build_tuned,
    demo_stage,
)

if TYPE_CHECKING:
    from assistant.core import Assistant
    from retrieval.demo.build import TunedBuild

__all__ = ["DEMO_PAIRS", "TerminalProgress", "build_demo", "demo_bundle_ready"]

Say = Callable[[str], None]


class TerminalProgress:
    """Prints a :class:`DemoProgress` in the terminal: each new step, then a line every
    ``every_s`` seconds (or each tenth of the work), and the final lines."""

    def __init__(self, say: Say, url: str | None = None, every_s: float = 10.0) -> None:
        self.say, self.url, self.every_s = say, url, every_s
        self._key: tuple[Any, ...] | None = None
        self._last = 0.0
        self._tenth = -1

    def __call__(self, p: DemoProgress) -> None:
        step = p.step
        key = (p.phase, step[0] if step else None)
        tenth = int(10 * step[1] / step[2]) if step and step[2] else 0
        now = time.monotonic()
        new = key != self._key
        due = now - self._last >= self.every_s or (tenth != self._tenth and now - self._last >= 2)
        if not new and (not due or p.phase in ("live", "failed")):
            return
        self._key, self._last, self._tenth = key, now, tenth
        if p.phase == "live":
            where = f" at {self.url}" if self.url else ""
            self.say(f"The tuned model is live{where}: answers now come from the fine-tuned "
                     "encoder and the trained ranker.")
        elif p.phase != TUNED or step is not None:  # (the quick model's "ready" is said apart)
            self.say(p.text() or "")


def demo_bundle_ready(path: Path) -> bool:
    """True when ``path`` holds an up-to-date, tuned demo bundle (nothing left to build)."""
    return demo_stage(path) == TUNED


def build_demo(settings: Any, path: Path, *, say: Say, progress: Any = None,
               quick_only: bool = False) -> Path:
    """Build the demo bundle at ``path`` here: the quick generation (unless an up-to-date
    one is live), then, unless ``quick_only``, the tuned one; each goes live behind
    ``CURRENT`` as it is done. ``progress``: a :class:`DemoProgress` to report to."""
    tracker = progress if isinstance(progress, DemoProgress) else DemoProgress()
    config = settings.build_config()
    users, seed = settings.data.demo_users, settings.data.seed
    dataset = None
    if demo_stage(path) != QUICK:
        say(f"building the demo bundle in {path}: a quick model first (about a minute)")
        dataset = build_quick(path, config, users=users, seed=seed, progress=tracker)
        tracker.finish(QUICK)
        say(f"the quick model is live in {path}")
    if not quick_only:
        build_tuned(path, config, dataset=dataset, users=users, seed=seed, progress=tracker,
                    max_pairs=DEMO_PAIRS)
        tracker.finish(TUNED)
    return path


def _serve(settings: Any, path: Path, *, stage: str | None, url: str, say: Say,
           launch_kwargs: dict[str, Any]) -> None:
    """Open the page at once; build the quick generation behind it if needed, then the
    tuned one in a child process, and block until the server stops."""
    from assistant.cli import fail
    from assistant.core import Assistant
    from assistant.errors import EncoreError
    from assistant.ui import launch
    from assistant.ui.page import AssistantLoader
    from retrieval.demo.build import TunedBuild

    class DemoLoader(AssistantLoader):
        """An :class:`AssistantLoader` whose page status shows the demo build's progress."""

        def __init__(self, factory: Callable[[], Assistant], progress: DemoProgress) -> None:
            self.progress = progress
            super().__init__(factory)

    config = settings.build_config()
    users, seed = settings.data.demo_users, settings.data.seed
    tracker = DemoProgress()
    tracker.subscribe(TerminalProgress(say, url))
    tuned: list[TunedBuild] = []

    def factory() -> Assistant:
        if stage is None:
            build_quick(path, config, users=users, seed=seed, progress=tracker)
        assistant = Assistant.from_bundle(path, settings)
        if stage != TUNED:
            tracker.finish(QUICK)
            tuned.append(TunedBuild(path, config, progress=tracker, users=users, seed=seed,
                                    on_live=assistant.refresh))
        return assistant

    loader = DemoLoader(factory, tracker) if stage != TUNED else AssistantLoader(factory)
    if stage != TUNED:
        say(f"opening the chat page on {url}; it answers as soon as the quick model is ready")
    # launch (build_app) takes a loader as it is: the page then reads its progress.
    app = launch(loader, prevent_thread_lock=True, **launch_kwargs)  # type: ignore[arg-type]
    # A SIGTERM (a service manager, `kill`) unwinds like Ctrl-C, so the finally below ends the
    # tuned build; by default Python would die at once and leave that process running.
    previous = _exit_on_sigterm()
    try:
        try:
            loader.wait()
        except EncoreError as exc:  # the page says it too; the log has the traceback
            app.close()
            fail(str(exc))
        typer.echo(f"Demo ready at {url}", err=True)
        app.block_thread()
    finally:
        for build in tuned:
            build.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm() -> Any:
    """Turn SIGTERM into SystemExit (main thread only); returns the handler it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, stop)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        no_launch: Annotated[bool, typer.Option(
            "--no-launch", help="Only build the demo bundle (if needed) and print its path.")
        ] = False,
        quick: Annotated[bool, typer.Option(
            "--quick", help="With --no-launch: build only the quick generation.")] = False,
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
        """The demo: real titles, SYNTHETIC interactions. Answers within a minute of the
        first run (a quick model), then swaps in the tuned model built in the background."""
        from assistant.cli import emit_json, settings

        s = settings()
        path = Path(s.bundle_dir)
        quiet = as_json or not progress
        say: Say = (lambda msg: None) if quiet else (lambda msg: typer.echo(f"- {msg}", err=True))
        if no_launch:
            tracker = DemoProgress()
            tracker.subscribe(TerminalProgress(say))
            stage = None if rebuild else demo_stage(path)
            if stage is None or (stage == QUICK and not quick):
                build_demo(s, path, say=say, progress=tracker,
                           **({"quick_only": True} if quick else {}))
            if as_json:
                from retrieval.bundle import read_manifest

                m = read_manifest(path)
                emit_json({"bundle": str(path), "dataset": m["dataset"], "stage": m.get("stage"),
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
        stage = None if rebuild else demo_stage(path)
        _serve(s, path, stage=stage, url=f"http://{host}:{port}", say=say,
               launch_kwargs={"host": host, "port": port, "access": access})
