"""One LLM call within a turn's deadline, and nothing left behind when it is abandoned.

- :func:`run_within` (one ``invoke``) and :func:`stream_within` (a streamed answer) give the
  call what is left of the :class:`~assistant.deadline.TurnDeadline`.
- A chat model on the deadline-aware HTTP client (:mod:`assistant.llm_http`, what
  :func:`assistant.llm.make_chat_model` builds for backend ``openai``) is *interruptible*:
  it runs in the caller's own thread with the deadline active, every socket operation ends
  by the deadline, and the connection of an abandoned call is closed. No thread is started.
- Any other model (in-process vLLM, a user's own client, fakes in tests) cannot be
  interrupted: it runs in a daemon thread that the caller stops waiting for at the
  deadline (:func:`call_with_deadline`); the thread is left to finish on its own.

Example:
    >>> from langchain_core.language_models.fake_chat_models import FakeListChatModel
    >>> list(stream_within(FakeListChatModel(responses=["Hi."]), [], TurnDeadline(5)))
    ['H', 'i', '.']
    >>> run_within(lambda: 42, TurnDeadline(5), chat_model=None)
    42
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from langchain_core.messages import BaseMessage

from assistant.deadline import TurnDeadline
from assistant.llm_http import is_deadline_aware

__all__ = ["call_with_deadline", "interruptible", "run_within", "stream_within"]

_T = TypeVar("_T")

def call_with_deadline(fn: Callable[[], _T], timeout_s: float, what: str = "the LLM") -> _T:
    """``fn()`` within ``timeout_s`` seconds of wall-clock time, or ``TimeoutError``.

    The HTTP client's own time-out is per read (httpx), and in our vLLM integration runs
    some requests outlived a 50 ms client time-out (cause not found); this bounds the whole
    call whatever the transport does. ``fn`` runs in a daemon thread, which is
    left to finish on its own after a time-out (its result is dropped): use it only for
    models that cannot be interrupted (:func:`run_within` picks).

    Example:
        >>> call_with_deadline(lambda: 42, 1.0)
        42
        >>> import time
        >>> call_with_deadline(lambda: time.sleep(1), 0.01)
        Traceback (most recent call last):
        ...
        TimeoutError: the LLM gave no answer within 0.01 s (llm.timeout_s)
    """
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def work() -> None:
        try:
            box.put((True, fn()))
        except BaseException as exc:  # handed to the caller's thread
            box.put((False, exc))

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(work,), name="encore-llm-call",
                     daemon=True).start()
    try:
        ok, value = box.get(timeout=max(float(timeout_s), 0.0))
    except queue.Empty:
        raise TimeoutError(f"{what} gave no answer within {timeout_s:g} s (llm.timeout_s)"
                           ) from None
    if ok:
        return value
    raise value


def interruptible(chat_model: Any) -> bool:
    """Whether ``chat_model`` talks HTTP through the deadline-aware client, so that a call
    can be cut off at the deadline in the caller's thread (:mod:`assistant.llm_http`)."""
    return is_deadline_aware(getattr(chat_model, "http_client", None))


def run_within(fn: Callable[[], _T], deadline: TurnDeadline, chat_model: Any,
               what: str = "the LLM") -> _T:
    """``fn()`` (one call of ``chat_model``) by ``deadline``, or ``TimeoutError``.

    Interruptible models run in this thread with the deadline active (their socket
    operations end by it, the connection of an abandoned call is closed); any other model
    runs in a helper thread (:func:`call_with_deadline`).
    """
    left = deadline.check(what)
    if interruptible(chat_model):
        with deadline.active():
            return fn()
    return call_with_deadline(fn, left, what)


def stream_within(chat_model: Any, messages: Sequence[BaseMessage], deadline: TurnDeadline,
                  what: str = "the LLM") -> Iterator[str]:
    """The text of ``chat_model``'s streamed answer, piece by piece, by ``deadline``.

    Raises ``TimeoutError`` (:class:`~assistant.deadline.DeadlineSpent`) when the deadline
    passes first. Closing the iterator early (the consumer stops) closes the call's
    connection.
    """
    deadline.check(what)
    if interruptible(chat_model):
        return _stream_here(chat_model, list(messages), deadline, what)
    return _stream_in_thread(chat_model, list(messages), deadline, what)


def _no_chunks(exc: ValueError) -> bool:
    """LangChain's stream() says so when a model streamed nothing: an empty answer."""
    return str(exc).startswith("No generation chunks")


def _stream_here(chat_model: Any, messages: list[BaseMessage], deadline: TurnDeadline,
                 what: str) -> Iterator[str]:
    # The deadline is active only around each next(): a generator must not leave it set
    # for its consumer between chunks.
    with deadline.active():
        chunks = iter(chat_model.stream(messages))
    try:
        while True:
            deadline.check(what)
            with deadline.active():
                chunk = next(chunks, None)
            if chunk is None:
                return
            if chunk.text:
                yield chunk.text
    except ValueError as exc:
        if not _no_chunks(exc):
            raise
    finally:
        chunks.close()  # an abandoned stream closes its socket


def _stream_in_thread(chat_model: Any, messages: list[BaseMessage], deadline: TurnDeadline,
                      what: str) -> Iterator[str]:
    """For models that cannot be interrupted: they run in a daemon thread, told to stop at
    their next chunk once the deadline has passed."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            for chunk in chat_model.stream(messages):
                if stop.is_set():
                    return
                q.put(("text", chunk.text))
        except ValueError as exc:
            if not _no_chunks(exc):
                q.put(("error", exc))
        except BaseException as exc:  # handed to the caller's thread
            q.put(("error", exc))
        finally:
            q.put(("end", None))

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(work,), name="encore-llm-stream",
                     daemon=True).start()
    try:
        while True:
            try:
                kind, value = q.get(timeout=deadline.check(what))
            except queue.Empty:
                deadline.check(what)
                continue
            if kind == "error":
                raise value
            if kind == "end":
                return
            if value:
                yield value
    finally:
        stop.set()


