"""``encore serve --api --workers N``: N stateless worker processes answering the JSON API
(:mod:`assistant.serve.api`) on one port.

The parent process loads nothing heavy. It checks the bundle's checksums once (the workers
then skip them), opens one listening socket per worker on the same port (``SO_REUSEPORT``:
the kernel spreads new connections over them by a hash of the client's address and port,
where one shared socket would hand most of them to whichever worker woke last), and starts
the workers (``spawn``: fresh interpreters, no threads forked mid-flight), each with its
socket. The parent keeps the sockets open, so connections that reach a worker being
replaced wait in its socket's backlog for the replacement. Every worker loads the bundle
memory-mapped (the item vectors and the FAISS index are shared pages, not N copies) and
keeps no conversation in memory: every turn reads its session from the shared history
store and writes it back (:func:`stateless`), so any worker can answer any turn.

Waits are bounded: the workers must all be ready within ``startup_timeout_s`` (else every
worker is stopped and the error names the first that failed), and on Ctrl-C or SIGTERM
each worker gets SIGTERM (it finishes its requests in flight), then SIGKILL after
``grace_s``. A worker that dies after it was ready is replaced.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from assistant.errors import EncoreError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from assistant.core import Assistant
    from assistant.settings import Settings

__all__ = ["WorkerSpec", "check_shared_store", "load_worker_assistant", "run_workers",
           "stateless"]

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 300.0
"""Default wait for every worker to load the bundle and start listening."""
GRACE_S = 10.0
"""Seconds a stopping worker has to finish its requests before it is killed."""


@dataclass
class WorkerSpec:
    """What each worker needs to serve (pickled to the spawned processes).

    Args:
        bundle: The bundle folder.
        settings: The settings of the ``encore`` invocation (store URL, LLM...).
        access: Keyword arguments of :func:`assistant.commands.serve.choose_access` (who may
            call), rebuilt in each worker.
    """

    bundle: Path
    settings: Settings
    access: dict[str, Any] = field(default_factory=dict)


def check_shared_store(url: str, workers: int) -> None:
    """Refuse a history store that ``workers`` processes cannot share.

    An in-memory SQLite store lives inside one process: a follow-up answered by another
    worker would not see the conversation. A SQLite file is shared safely by processes on
    one machine (WAL mode, a busy timeout, one short transaction per write:
    :class:`~assistant.store.SQLiteStore`); workers on several machines need Postgres.

    Raises:
        EncoreError: the store cannot be shared; the message names the fix.
    """
    if workers > 1 and url.strip().startswith("sqlite://:memory:"):
        raise EncoreError(
            f"--workers {workers} needs a history store the workers share, but store.url is "
            "sqlite://:memory: (one per process: a conversation's next turn on another "
            "worker would start afresh). Fix: set store.url (ENCORE_STORE__URL) to "
            "postgresql://user:password@host/db, or to a SQLite file such as "
            "sqlite:////var/lib/encore/history.sqlite3 (one machine only)")


def stateless(assistant: Assistant) -> Assistant:
    """Make ``assistant`` keep no session in memory: each turn loads it from the store and
    saves it back, so the next turn may run in another process. (The per-session lock is
    still per process: two turns of one conversation sent at once to two workers may
    interleave, the later save winning; a client sends one turn at a time.)"""
    from assistant.sessions_cache import SessionCache

    assistant.sessions = SessionCache(assistant.store, max_sessions=0)
    return assistant


def load_worker_assistant(bundle: Path, settings: Settings) -> Assistant:
    """The assistant one worker serves: the bundle memory-mapped, its checksums not read
    again (the parent checked them), sessions only in the shared store, warmed before it
    reports ready (:meth:`Assistant.warm`)."""
    from assistant.core import Assistant

    return stateless(Assistant.from_bundle(bundle, settings, mmap=True, verify=False).warm())


def _worker_main(spec: WorkerSpec, sock: socket.socket, ready: Connection) -> None:
    """One worker process: load, report ready, serve until SIGTERM/SIGINT."""
    import uvicorn

    from assistant.commands.serve import choose_access
    from assistant.serve.api import build_api

    logging.basicConfig(level=logging.WARNING, format=f"worker {os.getpid()}: %(message)s")
    try:
        access = choose_access(spec.settings.ui, say=lambda _msg: None, **spec.access)
        bot = load_worker_assistant(spec.bundle, spec.settings)
        app = build_api(bot, access=access)
    except BaseException as exc:
        ready.send({"pid": os.getpid(), "error": f"{type(exc).__name__}: {exc}"})
        raise SystemExit(1) from None
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=int(GRACE_S)))
    # The socket already listens: connections wait in its backlog until serve() accepts.
    ready.send({"pid": os.getpid(), "error": None})
    ready.close()
    try:
        server.run(sockets=[sock])
    finally:
        bot.close()


def listen(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host:port`` in the port's ``SO_REUSEPORT`` group (one
    per worker; the kernel balances new connections over the group)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class _Pool:
    """The worker processes, their readiness pipes, starting and stopping them."""

    def __init__(self, spec: WorkerSpec, sockets: list[socket.socket]) -> None:
        self.spec, self.sockets = spec, sockets
        self.slot: dict[BaseProcess, int] = {}  # the worker -> the index of its socket
        self.ctx = mp.get_context("spawn")
        self.procs: list[BaseProcess] = []
        self.pending: dict[Connection, BaseProcess] = {}
        self.stopping: list[int] = []  # signals received (set by run_workers' handler)

    def start_one(self, slot: int) -> BaseProcess:
        """Start the worker that serves socket number ``slot``."""
        parent, child = self.ctx.Pipe(duplex=False)
        sock = self.sockets[slot]
        proc = self.ctx.Process(target=_worker_main, args=(self.spec, sock, child),
                                name="encore-worker", daemon=False)
        proc.start()
        child.close()
        self.procs.append(proc)
        self.slot[proc] = slot
        self.pending[parent] = proc
        return proc

    def wait_ready(self, deadline: float) -> None:
        """Until every started worker reports ready; raise on an error, a death or the
        deadline."""
        while self.pending and not self.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EncoreError(
                    f"{len(self.pending)} worker(s) not ready after the startup timeout. Fix: "
                    "raise --startup-timeout, or check the bundle loads (`encore chat`)")
            sentinels = {p.sentinel: conn for conn, p in self.pending.items()}
            for obj in wait([*self.pending, *sentinels], timeout=min(left, 1.0)):
                conn = cast(Connection, sentinels[obj] if isinstance(obj, int) else obj)
                proc = self.pending.pop(conn, None)
                if proc is None:
                    continue
                msg: dict[str, Any] | None = conn.recv() if conn.poll() else None
                conn.close()
                if msg is None or msg.get("error"):
                    why = msg["error"] if msg else f"exited with code {proc.exitcode}"
                    raise EncoreError(f"worker {proc.pid} failed to start: {why}")

    def dead(self) -> list[BaseProcess]:
        gone = [p for p in self.procs if not p.is_alive()]
        self.procs = [p for p in self.procs if p.is_alive()]
        return gone

    def stop(self, grace_s: float = GRACE_S) -> None:
        """SIGTERM every worker, then SIGKILL those still running after ``grace_s``."""
        for p in self.procs:
            if p.is_alive():
                p.terminate()
        deadline = time.monotonic() + grace_s
        for p in self.procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                log.warning("worker %s did not stop in %.0f s; killing it", p.pid, grace_s)
                p.kill()
                p.join(5)
        for conn in self.pending:
            conn.close()
        self.pending.clear()


def run_workers(spec: WorkerSpec, workers: int, host: str, port: int, *,
                startup_timeout_s: float = STARTUP_TIMEOUT_S, grace_s: float = GRACE_S,
                say: Callable[[str], None] = print) -> None:
    """Serve the JSON API from ``workers`` processes on ``host:port`` until Ctrl-C or
    SIGTERM (see the module docstring). The caller has checked the bundle and the store.

    Raises:
        EncoreError: a worker failed to start, or not all were ready in time.
    """
    sockets: list[socket.socket] = []
    try:
        for _ in range(workers):
            sockets.append(listen(host, port))
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise EncoreError(f"cannot listen on {host}:{port} ({exc.strerror}). Fix: stop the "
                          "other server or pass --port with a free port") from None
    pool = _Pool(spec, sockets)

    def on_signal(signum: int, _frame: Any) -> None:
        pool.stopping.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for slot in range(workers):
            pool.start_one(slot)
        pool.wait_ready(time.monotonic() + startup_timeout_s)
        if pool.stopping:
            return
        say(f"{workers} worker(s) ready on http://{host}:{port} (pids "
            f"{', '.join(str(p.pid) for p in pool.procs)}); Ctrl+C stops them")
        _supervise(pool, startup_timeout_s, say)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        pool.stop(grace_s)
        for sock in sockets:
            sock.close()


def _supervise(pool: _Pool, startup_timeout_s: float, say: Callable[[str], None]) -> None:
    """Until a signal: replace a worker that dies (it is stateless: nothing is lost)."""
    while not pool.stopping:
        time.sleep(0.5)
        for gone in pool.dead():
            if pool.stopping:
                return
            say(f"worker {gone.pid} exited with code {gone.exitcode}; starting another")
            pool.start_one(pool.slot.pop(gone))
            pool.wait_ready(time.monotonic() + startup_timeout_s)
