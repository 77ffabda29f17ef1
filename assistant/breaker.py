"""A circuit breaker for the LLM: after repeated failures, turns skip it for a while.

States:

- **closed** (normal): every turn may call the LLM; consecutive failures are counted and
  any success resets the count.
- **open**: ``failures`` calls in a row got no answer from the server (time-outs, refused or
  broken connections, HTTP errors). For ``cooldown_s`` seconds turns do not call the LLM at
  all: they are answered offline (rules parser, template explanations) at once, and say so.
- **half-open**: the cool-down is over; the next turn is let through as a probe (other turns
  stay offline meanwhile). Its success closes the circuit, its failure opens it for another
  cool-down. A probe that never reports back is given up after ``cooldown_s``.

An answer that came back but was unusable (invalid JSON, outside the schema, no numbered
line, a title the catalog lacks...) counts as the server answering, like a success: the
server is up and falling back costs no time, and a weak model must not switch the LLM off
for everyone.

Example:
    >>> now = [0.0]
    >>> b = CircuitBreaker(failures=2, cooldown_s=30, clock=lambda: now[0])
    >>> b.record("timeout"); b.record("timeout"); b.state, b.allow()
    ('open', False)
    >>> now[0] = 31.0
    >>> b.allow(), b.state, b.allow()  # the first turn after the cool-down is the probe
    (True, 'half-open', False)
    >>> b.record(None); b.state
    'closed'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

__all__ = ["SERVER_FAULTS", "CircuitBreaker", "counts_as_failure"]

SERVER_FAULTS = frozenset({"timeout", "connection refused", "connection error"})
"""Fallback reasons that mean the server gave no answer (with every ``"error: ..."`` reason:
an HTTP status or an unexpected exception)."""

State = Literal["closed", "open", "half-open"]


def counts_as_failure(reason: str | None) -> bool:
    """Whether a stage's fallback ``reason`` counts against the LLM server.

    Example:
        >>> counts_as_failure("timeout"), counts_as_failure("error: HTTP 503")
        (True, True)
        >>> counts_as_failure("invalid JSON"), counts_as_failure(None)
        (False, False)
    """
    return reason is not None and (reason in SERVER_FAULTS or reason.startswith("error:"))


class CircuitBreaker:
    """Counts consecutive LLM failures and opens after ``failures`` of them.

    Args:
        failures: Consecutive failures that open the circuit (``llm.breaker_failures``).
        cooldown_s: Seconds it stays open before a probe (``llm.breaker_cooldown_s``).
        clock: Seconds on a monotonic clock (``time.monotonic``; a fake one in tests).

    Thread-safe: one breaker serves every turn of an assistant.
    """

    def __init__(self, failures: int = 3, cooldown_s: float = 30.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failures < 1:
            raise ValueError(f"breaker failures must be at least 1, got {failures}. "
                             "Fix: set llm.breaker_failures (ENCORE_LLM__BREAKER_FAILURES)")
        if not cooldown_s > 0:
            raise ValueError(f"breaker cool-down must be above 0 seconds, got {cooldown_s}. "
                             "Fix: set llm.breaker_cooldown_s (ENCORE_LLM__BREAKER_COOLDOWN_S)")
        self.failures = int(failures)
        self.cooldown_s = float(cooldown_s)
        self.clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._state: State = "closed"
        self._since = 0.0  # when the circuit opened, or when the probe was let through

    @property
    def state(self) -> State:
        """``"closed"``, ``"open"`` or ``"half-open"`` (a probe is in flight)."""
        with self._lock:
            return self._state

    @property
    def consecutive_failures(self) -> int:
        """Failures in a row so far."""
        with self._lock:
            return self._count

    def allow(self) -> bool:
        """Whether a new turn may call the LLM (True for the probe of a half-open circuit)."""
        with self._lock:
            if self._state == "closed":
                return True
            if self.clock() - self._since < self.cooldown_s:
                return False  # open and cooling down, or a probe is in flight
            self._state, self._since = "half-open", self.clock()
            return True

    def is_open(self) -> bool:
        """Whether calls are being skipped right now (checked again before a later stage
        of a turn that was let through: its parser may just have opened the circuit)."""
        with self._lock:
            return self._state == "open"

    def retry_in(self) -> float:
        """Seconds until the next probe (0 when the circuit is not open)."""
        with self._lock:
            if self._state != "open":
                return 0.0
            return max(self.cooldown_s - (self.clock() - self._since), 0.0)

    def record(self, reason: str | None) -> None:
        """Report the outcome of one LLM stage: ``None`` (it answered) or its fallback
        reason (see :func:`counts_as_failure`: an unusable answer is still an answer)."""
        with self._lock:
            if not counts_as_failure(reason):
                self._count, self._state = 0, "closed"
                return
            self._count += 1
            if self._state == "half-open" or self._count >= self.failures:
                self._state, self._since = "open", self.clock()

    def __repr__(self) -> str:
        return (f"CircuitBreaker(state={self.state!r}, failures={self.consecutive_failures}/"
                f"{self.failures}, cooldown_s={self.cooldown_s:g})")
