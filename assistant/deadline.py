"""One deadline per turn, shared by every LLM call the turn makes.

A turn creates a :class:`TurnDeadline` when it starts (``llm.timeout_s`` seconds on a
monotonic clock). The parser's call gets what is left of it, the explainer's call what is
left after the parser: a turn never waits on the LLM longer than one deadline, however many
stages call it. A stage that finds the deadline spent does not call the LLM at all and
falls back (reason ``"deadline spent"``).

While a call runs, its deadline is *active* (:meth:`TurnDeadline.active`, a context
variable): the HTTP client of the ``openai`` backend (:mod:`assistant.llm_http`) clamps every
socket operation to the time left, so a stalled or trickling server is cut off at the
deadline and its connection closed, in the caller's own thread.

Example:
    >>> clock = iter([0.0, 0.0, 1.5, 4.0, 4.0]).__next__
    >>> d = TurnDeadline(3.0, clock=clock)
    >>> d.left(), d.expired
    (3.0, False)
    >>> round(d.left(), 1), d.expired
    (0.0, True)
    >>> TurnDeadline.current() is None
    True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["DeadlineSpent", "TurnDeadline"]

_ACTIVE: ContextVar[TurnDeadline | None] = ContextVar("encore_llm_deadline", default=None)


class DeadlineSpent(TimeoutError):
    """The turn's deadline passed before or during an LLM call."""


class TurnDeadline:
    """A point in time, ``budget_s`` seconds after it was created, on a monotonic clock.

    Args:
        budget_s: Seconds the turn may spend waiting on the LLM (``llm.timeout_s``).
        clock: Seconds on a monotonic clock (``time.monotonic``; a fake one in tests).
    """

    def __init__(self, budget_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not budget_s > 0:
            raise ValueError(f"a turn's deadline must be above 0 seconds, got {budget_s}. "
                             "Fix: set llm.timeout_s (ENCORE_LLM__TIMEOUT_S) above 0")
        self.budget_s = float(budget_s)
        self.clock = clock
        self.at = clock() + self.budget_s

    def left(self) -> float:
        """Seconds left (0 once spent)."""
        return max(self.at - self.clock(), 0.0)

    @property
    def expired(self) -> bool:
        """Whether no time is left."""
        return self.left() <= 0.0

    def check(self, what: str = "the LLM") -> float:
        """The seconds left, or :class:`DeadlineSpent` when none are."""
        left = self.left()
        if left <= 0.0:
            raise DeadlineSpent(f"{what} gave no full answer within the turn's deadline of "
                                f"{self.budget_s:g} s (llm.timeout_s)")
        return left

    @contextmanager
    def active(self) -> Iterator[TurnDeadline]:
        """Make this the deadline that HTTP calls in this context obey, for the block.

        Keep the block around the call itself (one ``next()`` of a stream, one ``invoke``):
        a generator that yields inside it would leave it active for its consumer.
        """
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    @staticmethod
    def current() -> TurnDeadline | None:
        """The deadline active in this context (None outside an LLM call)."""
        return _ACTIVE.get()

    def __repr__(self) -> str:
        return f"TurnDeadline(budget_s={self.budget_s:g}, left={self.left():.3f})"
