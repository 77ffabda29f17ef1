"""Time, memory and time-left of each step of a build, so the next bottleneck is visible.

A :class:`BuildClock` wraps each step of :func:`retrieval.bundle.build_bundle` (``with
clock.step("encode"):``) and records its wall time and peak resident memory; its
:meth:`~BuildClock.progress` is the build's ``on_progress(step, done, total)`` callback and
adds a time-left estimate from the rate so far. A listener receives
:class:`ProgressEvent` objects (``encore build`` prints them as lines or, under ``--json``,
as one JSON object per line); the records go into the bundle manifest's ``build_steps``.

Peak memory per step: on Linux the kernel's high-water mark (``VmHWM``) is reset at each
step's start (``/proc/self/clear_refs``), so each step reports its own peak; elsewhere the
process's peak so far (``ru_maxrss``) stands in, which never goes down.

Example:
    >>> t = iter([0.0, 0.0, 0.0, 30.0, 30.0, 60.0, 60.0])
    >>> events = []
    >>> clock = BuildClock(events.append, interval=0.0, clock=t.__next__)
    >>> with clock.step("encode"):
    ...     clock.progress("encode", 0, 1000)
    ...     clock.progress("encode", 100, 1000)
    >>> events[2].text()
    'encode 100/1,000 items, 4 min left'
    >>> [r["step"] for r in clock.records()]
    ['encode']
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BuildClock", "ProgressEvent", "StepRecord", "format_left", "rss_mb"]

UNITS = {"encode": "items", "finetune": "steps", "catalog": "items", "events": "events",
         "neighbours": "blocks", "index": "shards", "blocks": "blocks", "shards": "shards"}
"""What each step counts, for the progress line ("encode 120,000/1,000,000 items")."""
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_mb(key: str) -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_mb() -> float:
    """This process's resident memory now, in MiB (its peak so far where unknown)."""
    now = _status_mb("VmRSS")
    return now if now is not None else _max_rss_mb()


def _max_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux 4.0+); whether it worked."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def format_left(seconds: float | None) -> str:
    """``"40 s left"``, ``"3 min left"``, ``"1.5 h left"`` ("" when unknown)."""
    if seconds is None:
        return ""
    if seconds < 90:
        return f"{max(1, round(seconds))} s left"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min left"
    return f"{seconds / 3600:.1f} h left"


@dataclass(frozen=True)
class ProgressEvent:
    """One moment of a build: a step starting (``kind="start"``), advancing
    (``"progress"``: ``done`` of ``total``, ``left_s`` estimated) or ending (``"end"``:
    ``seconds`` and ``peak_rss_mb``); ``"message"`` carries a line of text."""

    kind: str
    step: str
    done: int = 0
    total: int = 0
    unit: str = ""
    elapsed_s: float = 0.0
    left_s: float | None = None
    per_s: float | None = None
    rss_mb: float = 0.0
    peak_rss_mb: float | None = None
    seconds: float | None = None
    message: str = ""

    def text(self) -> str:
        """The terminal line (without the leading ``- ``)."""
        if self.kind == "message":
            return self.message
        if self.kind == "start":
            return f"{self.step} started"
        if self.kind == "end":
            peak = f", peak {self.peak_rss_mb:,.0f} MiB" if self.peak_rss_mb else ""
            return f"{self.step} done in {self.seconds:.1f} s{peak}"
        unit = f" {self.unit}" if self.unit else ""
        left = format_left(self.left_s)
        return f"{self.step} {self.done:,}/{self.total:,}{unit}" + (f", {left}" if left else "")

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` progress event (``{"event": "progress", ...}``)."""
        body = {k: (round(v, 2) if isinstance(v, float) else v)
                for k, v in asdict(self).items() if v is not None and v != ""}
        body["event"] = {"start": "step_start", "end": "step_end"}.get(self.kind, self.kind)
        del body["kind"]
        return body


@dataclass
class StepRecord:
    """One finished step, as the manifest's ``build_steps`` lists it."""

    step: str
    seconds: float
    peak_rss_mb: float
    rss_mb: float
    peak_is_step: bool
    """Whether ``peak_rss_mb`` is this step's own peak (else the process's peak so far)."""
    done: int | None = None
    total: int | None = None
    unit: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 2) if isinstance(v, float) else v)
                for k, v in asdict(self).items() if v is not None}


@dataclass
class _Rate:
    started: float
    first_done: int
    last_emit: float = field(default=-1e18)


class BuildClock:
    """Times and measures a build's steps and estimates the time left of long ones.

    Args:
        listener: Receives every :class:`ProgressEvent` (start, throttled progress, end).
        interval: Seconds between two progress events of one step (the first and the last
            always go out).
        clock: The time source (tests pass a fake).
    """

    def __init__(self, listener: Callable[[ProgressEvent], None] | None = None, *,
                 interval: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._listener = listener
        self._interval = interval
        self._clock = clock
        self._records: list[StepRecord] = []
        self._rates: dict[str, _Rate] = {}
        self._last: dict[str, tuple[int, int]] = {}
        self._t0 = clock()
        self._forwarding = False

    @property
    def listening(self) -> bool:
        """Whether anyone receives the progress (a listener, or a forwarded callback)."""
        return self._listener is not None or self._forwarding

    def _emit(self, event: ProgressEvent) -> None:
        if self._listener is not None:
            self._listener(event)

    def message(self, text: str) -> None:
        """Pass a line of text (a build's ``on_step``) to the listener."""
        self._emit(ProgressEvent("message", "", message=text,
                                 elapsed_s=self._clock() - self._t0, rss_mb=rss_mb()))

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the block as the step ``name`` and record its peak memory."""
        own_peak = _reset_peak()
        start = self._clock()
        self._emit(ProgressEvent("start", name, elapsed_s=start - self._t0, rss_mb=rss_mb()))
        yield
        end = self._clock()
        hwm = _status_mb("VmHWM") if own_peak else None
        peak = hwm if hwm is not None else _max_rss_mb()
        done, total = self._last.get(name, (None, None))
        rec = StepRecord(name, end - start, peak, rss_mb(), hwm is not None, done, total,
                         UNITS.get(name) if done is not None else None)
        self._records.append(rec)
        self._emit(ProgressEvent("end", name, elapsed_s=end - self._t0, seconds=rec.seconds,
                                 rss_mb=rec.rss_mb, peak_rss_mb=peak,
                                 done=done or 0, total=total or 0))

    def progress(self, name: str, done: int, total: int) -> None:
        """The build's progress callback: ``name`` is ``done`` of ``total``."""
        now = self._clock()
        rate = self._rates.get(name)
        if rate is None or done < rate.first_done:
            rate = self._rates[name] = _Rate(now, done)
        self._last[name] = (done, total)
        final = total > 0 and done >= total
        if not final and now - rate.last_emit < self._interval:
            return
        rate.last_emit = now
        per_s = left = None
        if done > rate.first_done and now > rate.started:
            per_s = (done - rate.first_done) / (now - rate.started)
            left = None if final else (total - done) / per_s
        self._emit(ProgressEvent("progress", name, done, total, UNITS.get(name, ""),
                                 elapsed_s=now - self._t0, left_s=left, per_s=per_s,
                                 rss_mb=rss_mb()))

    def forward(self, on_progress: Callable[[str, int, int], None] | None
                ) -> Callable[[str, int, int], None]:
        """A progress callback that records here and then calls ``on_progress``."""
        if on_progress is None:
            return self.progress
        self._forwarding = True

        def both(name: str, done: int, total: int) -> None:
            self.progress(name, done, total)
            on_progress(name, done, total)

        return both

    def records(self) -> list[dict[str, Any]]:
        """The finished steps, in order (the manifest's ``build_steps``)."""
        return [r.as_dict() for r in self._records]
