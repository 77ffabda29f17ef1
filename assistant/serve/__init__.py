"""Serving that scales out: the assistant's JSON API from several stateless processes.

- :mod:`assistant.serve.api`: the JSON HTTP API (``/chat``, ``/recommend``, ``/feedback``,
  ``/history``, ``/healthz``), the page's own handlers and access rules without its event
  queue.
- :mod:`assistant.serve.workers`: ``encore serve --api --workers N``: N processes on one
  port, the bundle checked once and memory-mapped by each, every session in the store.
- :mod:`assistant.serve.ray_app` and ``ray_serve.yaml``: the same API as a Ray Serve
  deployment (replicas, autoscaling) beside vLLM replicas.

Why the API scales out and the page does not: a Gradio page keeps each browser tab's event
queue (server-sent events, the running generator of a streamed reply) in the process that
opened it, so a tab's requests must all reach that process. The JSON API answers each call
whole, and what a call needs from earlier calls (the session's constraints and what it has
shown, the history, likes and dislikes) lives in the history store, which every worker
reads at the start of a turn and writes at its end. Any worker can then answer any turn of
any session, and a worker can be added, killed or replaced at any time. The store must be
one they share: Postgres, or a SQLite file when every worker runs on one machine (WAL mode);
``sqlite://:memory:`` is refused for more than one worker.

What is not shared: the per-session lock is per process, so two turns of one conversation
sent at the same moment to two workers may interleave (the later save wins); a client
waits for one turn's answer before it sends the next, as the page does.
"""

from assistant.serve.api import build_api
from assistant.serve.workers import WorkerSpec, check_shared_store, run_workers, stateless

__all__ = ["WorkerSpec", "build_api", "check_shared_store", "run_workers", "stateless"]
