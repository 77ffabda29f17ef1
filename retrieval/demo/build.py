"""The demo's staged build: a quick generation that answers within a minute, then the tuned one.

``encore demo`` on a fresh clone must answer within a minute on two busy cores, while
fine-tuning the encoder there takes tens of minutes. So the demo bundle is built in two
generations behind the bundle's ``CURRENT`` pointer (:mod:`retrieval.bundle_store`):

1. ``quick``: the base all-MiniLM-L6-v2 encoder as it is (a 64-token limit: a quarter
   less encoding time), the FAISS index, and no trained ranker (the untrained blend ranks):
   about half a minute, mostly encoding the titles.
2. ``tuned``: the encoder fine-tuned on the demo's SYNTHETIC interactions, and the LightGBM
   ranker. It is built in a child process at a lower priority (:class:`TunedBuild`), so
   the page keeps answering from the quick generation, and it goes live as the next
   generation; a running :class:`~assistant.core.Assistant` picks it up between turns.

:class:`DemoProgress` follows both in plain words, with an estimate, for the page and the
terminal ("Getting the demo ready: encoding 1,200 titles (40%), about 30 s left").

Example (not run: it loads MiniLM and fine-tunes it):
    >>> progress = DemoProgress()                                        # doctest: +SKIP
    >>> ds = build_quick(".encore/bundle", BuildConfig(), progress=progress)  # doctest: +SKIP
    >>> build_tuned(".encore/bundle", BuildConfig(), dataset=ds)        # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.config import BuildConfig

if TYPE_CHECKING:
    from retrieval.dataset import Dataset

__all__ = ["DEMO_PAIRS", "QUICK", "TUNED", "DemoProgress", "TunedBuild", "build_quick",
           "build_tuned", "demo_stage", "load_demo_dataset"]

log = logging.getLogger(__name__)

QUICK = "quick"
TUNED = "tuned"
DEMO_PAIRS = 4000
"""Training pairs of the demo's encoder fine-tuning (the default of `encore build` is 12,000)."""

QUICK_TOKENS = 64
"""Token limit of the quick generation's encoder: the title, type, genres, tags, creators and
the description's first sentence; about a quarter less encoding time than 128."""

_NICE = 4
# First guesses, before anything has been measured on this machine (two busy laptop cores):
_ENCODE_S_PER_ITEM = 0.04
_STEP_S = 20.0
_RANKER_S_PER_INTERACTION = 0.003
_LOAD_S = 6.0  # loading the language model, saving the data, the index, the assistant


def load_demo_dataset(users: int = 1500, seed: int = 0) -> Dataset:
    """The demo data set (``demo:users``); the same seed gives the same users in both stages."""
    from retrieval.dataset import load_dataset

    return load_dataset(f"demo:{users}", seed=seed)


def demo_stage(path: str | Path) -> str | None:
    """``"quick"`` or ``"tuned"``: the stage of the demo bundle live at ``path``; None when
    there is no up-to-date demo bundle there (none, another data set, one without personas,
    or one of other titles than the packaged catalog's: built again). A demo bundle from
    before stages counts as tuned (it was fine-tuned)."""
    import json

    from retrieval.bundle import read_manifest
    from retrieval.bundle_store import resolve
    from retrieval.demo import load_demo_catalog
    from retrieval.errors import DataError

    try:
        manifest = read_manifest(path)
        ids = json.loads((resolve(path).folder / "item_ids.json").read_text(encoding="utf-8"))
    except (DataError, OSError, ValueError):
        return None
    # The data set's display name is "Encore demo (...)"; its source is the stable key.
    if manifest.get("dataset", {}).get("source") != "demo" or "users_file" not in manifest:
        return None
    if sorted(map(str, ids)) != sorted(load_demo_catalog().ids):
        return None  # the catalog changed since (a pull, an edit)
    return str(manifest.get("stage") or TUNED)


# ---------------------------------------------------------------- progress


@dataclass
class _Step:
    what: str
    done: int
    total: int
    started: float
    first: int = 0
    """``done`` when the step was first reported (the rate counts only what came after)."""


class DemoProgress:
    """Where the demo's build is, in plain words with an estimate. Thread-safe.

    The build calls :meth:`begin` at the start of a phase (``"quick"``, ``"tuned"``),
    :meth:`report` as it goes (the :data:`retrieval.bundle.Progress` callback), then
    :meth:`finish` or :meth:`fail`. Readers call :meth:`text` (the page), :meth:`busy`.

    Example:
        >>> p = DemoProgress(clock=iter([0, 0, 0, 10, 10, 10]).__next__)
        >>> p.begin("quick", items=1200)
        >>> p.report("encode", 0, 1200)
        >>> p.report("encode", 480, 1200)
        >>> p.text()
        'Getting the demo ready: encoding 1,200 titles (40%), about 20 s left.'
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.phase = "starting"
        """``starting``, ``quick`` (building the quick generation), ``tuned`` (the quick
        one answers; the tuned one is being built), ``live`` (the tuned one answers),
        ``failed`` (building the tuned one failed; the quick one answers)."""
        self.error: str | None = None
        self.items = 0
        self.interactions = 0
        self._step: _Step | None = None
        self._encode_rate: float | None = None  # seconds per item, measured
        self._listeners: list[Callable[[DemoProgress], None]] = []

    def subscribe(self, listener: Callable[[DemoProgress], None]) -> None:
        """Call ``listener(self)`` after every change (the terminal's printer)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:  # a printer must never stop the build
                log.exception("progress listener failed")

    def begin(self, phase: str, *, items: int = 0, interactions: int = 0) -> None:
        with self._lock:
            self.phase = phase
            self.items = items or self.items
            self.interactions = interactions or self.interactions
            self._step = _Step("load", 0, 1, self._clock())
        self._changed()

    def report(self, what: str, done: int, total: int) -> None:
        """The build's progress callback: ``what`` (``load``, ``finetune``, ``encode``,
        ``ranker``) is ``done`` of ``total``."""
        with self._lock:
            now = self._clock()
            if self._step is None or self._step.what != what:
                self._step = _Step(what, done, total, now, first=done)
            step = self._step
            if what == "encode" and done > step.first and done >= total and now > step.started:
                self._encode_rate = (now - step.started) / (done - step.first)
            step.done, step.total = done, total
        self._changed()

    def finish(self, phase: str) -> None:
        """``phase`` is live: ``"quick"`` (the page answers) or ``"tuned"``."""
        with self._lock:
            if phase == QUICK and self.phase in ("starting", QUICK):
                self.phase, self._step = TUNED, None
            elif phase == TUNED:
                self.phase, self._step = "live", None
        self._changed()

    def fail(self, message: str) -> None:
        with self._lock:
            self.phase, self.error, self._step = "failed", message, None
        self._changed()

    @property
    def busy(self) -> bool:
        """Whether a build is still running (the page keeps polling)."""
        return self.phase in ("starting", QUICK, TUNED)

    @property
    def fraction(self) -> float | None:
        """How much of the step in progress is done (0 to 1), when it counts units."""
        s = self._step
        return None if s is None or s.total <= 1 else min(1.0, s.done / s.total)

    @property
    def step(self) -> tuple[str, int, int] | None:
        """``(what, done, total)`` of the step in progress, if any."""
        s = self._step
        return None if s is None else (s.what, s.done, s.total)

    # -- estimates ----------------------------------------------------------------------

    def _rate(self, step: _Step, guess: float) -> float:
        """Seconds per unit of ``step``: measured once a unit is done, else ``guess``."""
        elapsed = self._clock() - step.started
        units = step.done - step.first
        return elapsed / units if units > 0 and elapsed > 0 else guess

    def seconds_left(self) -> float | None:
        """An estimate of the seconds until the phase in progress is live (None when none)."""
        with self._lock:
            step = self._step
            if step is None or self.phase not in (QUICK, TUNED):
                return None
            encode = self.items * (self._encode_rate or _ENCODE_S_PER_ITEM)
            ranker = self.interactions * _RANKER_S_PER_INTERACTION
            left = float(_LOAD_S) / 2
            if step.what == "load":
                left += _LOAD_S + encode
            elif step.what == "encode":
                left += (step.total - step.done) * self._rate(step, _ENCODE_S_PER_ITEM)
            if self.phase == TUNED:
                if step.what == "finetune":
                    left += (step.total - step.done) * self._rate(step, _STEP_S)
                if step.what in ("load", "finetune"):
                    left += encode + (_STEP_S * 60 if step.what == "load" else 0.0)
                if step.what in ("load", "finetune", "encode"):
                    left += ranker
                elif step.what == "ranker":
                    if self._overdue(step, ranker):
                        return None  # no made-up figure: the words say it runs long
                    left += ranker - (self._clock() - step.started)
            return left

    def _overdue(self, step: _Step, estimate: float) -> bool:
        """Whether ``step`` (one that counts no units, the ranker's) has run past its
        estimate: the machine is busier than the estimate assumed."""
        return self._clock() - step.started > estimate

    # -- words --------------------------------------------------------------------------

    def _doing(self) -> str:
        """What the step in progress does, in words ("step 20 of 62")."""
        step = self._step
        if step is None:
            return "starting"
        if step.what == "encode":
            pct = int(100 * step.done / step.total) if step.total else 0
            return f"encoding {self.items or step.total:,} titles ({pct}%)"
        if step.what == "finetune":
            return f"step {step.done} of {step.total}"
        if step.what == "ranker":
            estimate = self.interactions * _RANKER_S_PER_INTERACTION
            if self.phase == TUNED and self._overdue(step, estimate):
                return "training the ranker, which takes longer than estimated on this machine"
            return "training the ranker"
        return "loading the language model" if self.phase == QUICK else "preparing"

    def text(self) -> str | None:
        """One plain sentence for the page (None before anything started)."""
        left = _duration(self.seconds_left())
        with self._lock:
            phase, doing = self.phase, self._doing()
        if phase in ("starting", QUICK):
            return f"Getting the demo ready: {doing}{left}."
        if phase == TUNED:
            return ("Answers now come from the quick model; the tuned one is being trained "
                    f"({doing}{left}).")
        if phase == "live":
            return ("The tuned model is live: answers now come from the encoder fine-tuned on "
                    "the demo's interactions and the trained ranker.")
        return (f"Answers come from the quick model; training the tuned one stopped "
                f"({self.error}). Run `encore demo --rebuild` to try again.")


def _duration(seconds: float | None) -> str:
    """``", about 30 s left"`` / ``", about 6 min left"`` ("" when unknown)."""
    if seconds is None:
        return ""
    if seconds < 90:
        return f", about {max(5, int(round(seconds / 5.0)) * 5)} s left"
    return f", about {int(round(seconds / 60.0))} min left"


# ---------------------------------------------------------------- the two stages


def build_quick(out: str | Path, config: BuildConfig, *, dataset: Dataset | None = None,
                users: int = 1500, seed: int = 0, progress: DemoProgress | None = None,
                on_step: Callable[[str], None] | None = None) -> Dataset:
    """Build the quick generation into ``out`` (live on return); returns the data set so
    that the tuned stage can reuse it."""
    from retrieval.bundle import build_bundle

    progress = progress or DemoProgress()
    dataset = dataset or load_demo_dataset(users, seed)
    progress.begin(QUICK, items=len(dataset.catalog), interactions=len(dataset.interactions))
    build_bundle(dataset, out, config, finetune=False, train_ranker=False, progress=False,
                 on_step=on_step, stage=QUICK, on_progress=progress.report,
                 max_seq_length=QUICK_TOKENS)
    return dataset


def build_tuned(out: str | Path, config: BuildConfig, *, dataset: Dataset | None = None,
                users: int = 1500, seed: int = 0, progress: DemoProgress | None = None,
                max_pairs: int = DEMO_PAIRS, on_step: Callable[[str], None] | None = None
                ) -> Path:
    """Build the tuned generation (fine-tuned encoder, trained ranker) into ``out``; it is
    live on return."""
    from retrieval.bundle import build_bundle

    progress = progress or DemoProgress()
    dataset = dataset or load_demo_dataset(users, seed)
    progress.begin(TUNED, items=len(dataset.catalog), interactions=len(dataset.interactions))
    # A short fine-tuning (DEMO_PAIRS pairs, one epoch) keeps this stage to minutes on a
    # laptop; `encore build --data demo` trains on the full default.
    return build_bundle(dataset, out, config, progress=False, on_step=on_step,
                        max_pairs=max_pairs, stage=TUNED, on_progress=progress.report)


def _tuned_child(out: str, config: dict[str, Any], users: int, seed: int, max_pairs: int,
                 queue: Any) -> None:
    """The child process of :class:`TunedBuild`: build the tuned stage, report on ``queue``."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the terminal shows this build's own progress lines
    parent = os.getppid()
    try:
        # The page's turns come first on a busy machine; a milder nice than 10, which would
        # starve the build behind any other busy process for hours.
        os.nice(_NICE)
    except OSError:
        pass

    def report(what: str, done: int, total: int) -> None:
        if os.getppid() != parent:  # `encore demo` is gone: stop (the next build cleans up)
            os._exit(1)
        queue.put(("report", what, done, total))

    progress = DemoProgress()
    progress.report = report  # type: ignore[method-assign]
    try:
        build_tuned(out, BuildConfig.model_validate(config), users=users, seed=seed,
                    progress=progress, max_pairs=max_pairs)
    except BaseException as exc:
        queue.put(("failed", f"{type(exc).__name__}: {exc}"))
        raise
    queue.put(("done",))


class TunedBuild:
    """Build the tuned generation in a child process (low priority), mirroring its progress
    into ``progress`` and calling ``on_live()`` once it is live.

    The child is a daemon: it ends with ``encore demo``; a generation it leaves half written
    is removed by the next build.
    """

    def __init__(self, out: str | Path, config: BuildConfig, *, progress: DemoProgress,
                 users: int = 1500, seed: int = 0, max_pairs: int = DEMO_PAIRS,
                 on_live: Callable[[], object] | None = None) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # no forked threads, no copied torch state
        self.progress = progress
        self.on_live = on_live
        self._queue = ctx.Queue()
        progress.begin(TUNED)
        self.process = ctx.Process(
            target=_tuned_child, name="encore-demo-tuned", daemon=True,
            args=(str(out), config.model_dump(mode="json"), users, seed, max_pairs,
                  self._queue))
        self.process.start()
        self._thread = threading.Thread(target=self._follow, name="encore-demo-tuned-progress",
                                        daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        import queue as queue_module

        while True:
            try:
                msg = self._queue.get(timeout=1.0)
            except queue_module.Empty:
                if not self.process.is_alive():
                    self.progress.fail(f"the build process ended with code "
                                       f"{self.process.exitcode}")
                    return
                continue
            if msg[0] == "report":
                self.progress.report(*msg[1:])
            elif msg[0] == "failed":
                self.progress.fail(msg[1])
                return
            else:
                if self.on_live is not None:
                    try:
                        self.on_live()
                    except Exception:
                        log.exception("switching to the tuned generation failed")
                self.progress.finish(TUNED)
                return

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the tuned generation is live or failed; whether it finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """End the child now (its half-written generation is cleaned by the next build)."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
