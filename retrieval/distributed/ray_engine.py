"""The Ray build engine: blocks as Ray tasks, item encoding as Ray Data over an actor pool.

:class:`RayEngine` connects to a running cluster (``address``, e.g. ``"10.0.0.5:6379"``)
or starts a one-machine Ray instance (no address), and offers what a build step needs:

- :meth:`RayEngine.map_blocks` (the :data:`~retrieval.parallel.MapBlocks` seam, also
  :func:`ray_map_blocks`) and :meth:`RayEngine.imap_blocks`: a function of one
  ``(start, stop)`` block run as one Ray task per block, the function shipped to the object
  store once. A task whose worker dies (killed, out of memory, a lost node) is run again,
  up to ``max_retries`` times; an exception raised by the function itself is not retried
  (it would fail again) and reaches the caller.
- :meth:`RayEngine.encode`: texts encoded by Ray Data ``map_batches`` over a pool of actors,
  each of which loads the encoder once; one actor per GPU when the cluster has GPUs
  (``num_gpus=1``), else one per CPU. Results come back per group of rows as soon as a
  group is complete, so the caller can save each group (resumable builds).

Ray is imported only when an engine starts (``pip install 'encore-rec[ray]'``).

A one-machine instance is kept on the loopback address: Ray otherwise names (and serves on)
the machine's network address even for a single node. Its object store is small (512 MB by
default) because the build moves vectors and index shards, not data sets.

For tests, ``ENCORE_TEST_RAY_KILL_ONCE=<file>`` makes the first block task that finds the
file missing create it and kill its own worker (SIGKILL), so that Ray's retry is exercised.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from retrieval.errors import DataError

__all__ = ["KILL_ONCE_ENV", "RayEngine", "ray_map_blocks"]

log = logging.getLogger(__name__)
T = TypeVar("T")
KILL_ONCE_ENV = "ENCORE_TEST_RAY_KILL_ONCE"
_INSTALL = "install Ray: pip install 'encore-rec[ray]' (ray[data]>=2.50)"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise DataError("the Ray engine needs Ray, which is not installed",
                        fix=_INSTALL) from None
    return ray


def _kill_once(flag: str | None) -> None:
    """Test hook: the first caller that finds ``flag`` missing creates it and dies."""
    if flag and not os.path.exists(flag):
        Path(flag).touch()
        os.kill(os.getpid(), signal.SIGKILL)


_FNS: dict[str, Any] = {}
"""The block function of the map in progress, by object id: deserialised once per worker
(a function holding a large catalog took more than half of each task's time when Ray
deserialised it for every block)."""


def _run_block(fn_box: list[Any], start: int, stop: int, kill_flag: str | None) -> Any:
    _kill_once(kill_flag)
    ref = fn_box[0]  # in a list: Ray passes the reference and leaves the fetching to us
    key = ref.hex()
    if key not in _FNS:
        _FNS.clear()
        _FNS[key] = _import_ray().get(ref)
    return _FNS[key](start, stop)


class _EncodeActor:
    """A Ray Data actor: loads the encoder once, then encodes batches of rows."""

    def __init__(self, make_encoder: Callable[[], Any]) -> None:
        self.encoder = make_encoder()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = np.asarray(self.encoder.encode([str(t) for t in batch["text"]]), np.float32)
        return {"row": batch["row"], "vector": vectors}


class RayEngine:
    """Runs a build's blocked steps on a Ray cluster.

    Args:
        address: A running cluster's address (``host:port`` of its head, or ``"auto"``);
            ``None`` starts a one-machine instance on the loopback address for this build.
        object_store_mb: Object store of a started instance, in MB.
        num_cpus: CPUs of a started instance (``None``: all).
        max_retries: Times a task whose worker died is run again.
        encode_batch: Texts per Ray Data batch (one ``encoder.encode`` call).
        actors: Encoding actors (``None``: one per GPU, else one per CPU of the cluster).

    Use it as a context manager, or call :meth:`start` and :meth:`close`.
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, object_store_mb: int = 512,
                 num_cpus: int | None = None, max_retries: int = 3, encode_batch: int = 256,
                 actors: int | None = None) -> None:
        if object_store_mb < 80:
            raise ValueError(f"object_store_mb must be at least 80 (Ray's minimum), got "
                             f"{object_store_mb}")
        self.address = address
        self.object_store_mb = object_store_mb
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self.encode_batch = encode_batch
        self.actors = actors
        self._started_here = False
        self._task: Any = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> RayEngine:
        """Connect to the cluster (or start one here); idempotent."""
        if self.address is None:
            # Ray's own switch for a cluster on one machine: it keeps the node on the
            # loopback address instead of the machine's network address (read at import).
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray = _import_ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False}
            if self.address is None:
                kwargs.update(num_cpus=self.num_cpus, include_dashboard=False,
                              object_store_memory=self.object_store_mb * 2**20)
            try:
                ray.init(address=self.address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise DataError(f"cannot connect to the Ray cluster at {self.address}: {exc}",
                                fix="start it (`ray start --head`) or check --address") \
                    from None
            self._started_here = True
        self._task = ray.remote(_run_block)
        return self

    def close(self) -> None:
        """Disconnect (and stop an instance started here)."""
        if self._started_here:
            _import_ray().shutdown()
            self._started_here = False

    def __enter__(self) -> RayEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resources(self) -> dict[str, float]:
        """The cluster's total resources (``CPU``, ``GPU``, ``memory``...)."""
        self.start()
        return dict(_import_ray().cluster_resources())

    def describe(self) -> str:
        res = self.resources()
        nodes = sum(1 for n in _import_ray().nodes() if n.get("Alive"))
        return (f"Ray {nodes} node(s), {res.get('CPU', 0):.0f} CPU, "
                f"{res.get('GPU', 0):.0f} GPU")

    # -- blocks ----------------------------------------------------------------------------

    def imap_blocks(self, fn: Callable[[int, int], T], blocks: Sequence[tuple[int, int]]
                    ) -> Iterator[tuple[int, T]]:
        """``(position, fn(start, stop))`` for each block, as each task finishes."""
        ray = _import_ray()
        self.start()
        if not blocks:
            return
        fn_ref = ray.put(fn)
        flag = os.environ.get(KILL_ONCE_ENV) or None
        task = self._task.options(max_retries=self.max_retries, retry_exceptions=False)
        pending = {task.remote([fn_ref], a, b, flag): i for i, (a, b) in enumerate(blocks)}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    yield pending.pop(ref), ray.get(ref)
        finally:
            for ref in pending:  # an error or an interrupted caller: stop the rest
                ray.cancel(ref, force=True)

    def map_blocks(self, fn: Callable[[int, int], T], blocks: Sequence[tuple[int, int]]
                   ) -> list[T]:
        """:data:`~retrieval.parallel.MapBlocks` on Ray: the results in block order."""
        out: list[Any] = [None] * len(blocks)
        for i, result in self.imap_blocks(fn, blocks):
            out[i] = result
        return out

    # -- encoding --------------------------------------------------------------------------

    def _pool(self) -> tuple[int, float]:
        """(actors, GPUs per actor) for encoding, from the cluster's resources."""
        res = self.resources()
        gpus = int(res.get("GPU", 0))
        if gpus:
            return self.actors or gpus, 1.0
        return self.actors or max(1, int(res.get("CPU", 1))), 0.0

    def encode(self, make_encoder: Callable[[], Any], texts: Sequence[str],
               groups: Sequence[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray]]:
        """Encode the rows of ``groups`` (``(start, stop)`` ranges of ``texts``) with Ray
        Data over an actor pool; ``(position in groups, float32[stop-start, dim])`` for each
        group as soon as all its rows are back.

        Args:
            make_encoder: Builds the encoder inside each actor (a picklable callable).
            texts: All the texts.
            groups: The ranges to encode, in any order.
        """
        import pyarrow as pa

        ray = _import_ray()
        if not groups:
            return
        ctx = ray.data.DataContext.get_current()
        # The build reports its own progress (on_progress): no Ray Data bars or plans.
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        rows = np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in groups])
        table = pa.table({"row": rows, "text": [texts[int(i)] for i in rows]})
        actors, gpus = self._pool()
        size = self.encode_batch
        ds = ray.data.from_arrow([table.slice(a, size) for a in range(0, len(rows), size)])
        ds = ds.map_batches(_EncodeActor, fn_constructor_kwargs={"make_encoder": make_encoder},
                            batch_size=self.encode_batch, batch_format="numpy",
                            compute=ray.data.ActorPoolStrategy(size=actors),
                            num_gpus=gpus, num_cpus=1)
        starts = np.array([a for a, _ in groups])
        order = np.argsort(starts)
        left = {i: b - a for i, (a, b) in enumerate(groups)}
        parts: dict[int, np.ndarray] = {}
        started = time.perf_counter()
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            got_rows = np.asarray(batch["row"], dtype=np.int64)
            vecs = np.asarray(batch["vector"], dtype=np.float32)
            pos = order[np.searchsorted(starts[order], got_rows, side="right") - 1]
            for g in np.unique(pos).tolist():
                a, b = groups[g]
                if g not in parts:
                    parts[g] = np.zeros((b - a, vecs.shape[1]), dtype=np.float32)
                mask = pos == g
                parts[g][got_rows[mask] - a] = vecs[mask]
                left[g] -= int(mask.sum())
                if left[g] == 0:
                    yield g, parts.pop(g)
        log.info("encoded %d texts on Ray in %.1f s", len(rows), time.perf_counter() - started)


def ray_map_blocks(fn: Callable[[int, int], T], blocks: Sequence[tuple[int, int]]) -> list[T]:
    """:data:`~retrieval.parallel.MapBlocks` on the Ray cluster this process is connected to
    (or a one-machine instance started for it): one task per block, a task whose worker
    died is retried, the results in block order."""
    return RayEngine().start().map_blocks(fn, blocks)
