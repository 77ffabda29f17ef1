"""Build engines: where a build's sharded steps run.

``encore build`` runs in one process by default (no engine). With an engine
(``--engine ray``), the long steps run in shards, each saved as soon as it is done so that
an interrupted build resumes from them (:mod:`retrieval.distributed.build`):

- item encoding, in groups of rows (:meth:`BuildEngine.encode`; Ray Data over an actor
  pool on Ray),
- the FAISS index, built in shards and merged (:mod:`retrieval.index.sharded`),
- the ranker's training lists, in blocks of queries (:data:`~retrieval.parallel.MapBlocks`).

:class:`LocalEngine` runs the same sharded steps in this process (resumable, no cluster);
:class:`~retrieval.distributed.ray_engine.RayEngine` on a Ray cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

__all__ = ["BuildEngine", "LocalEngine", "make_engine"]

T = TypeVar("T")


class BuildEngine(Protocol):
    """What the sharded build steps need from an engine."""

    name: str

    def start(self) -> Any: ...

    def close(self) -> None: ...

    def describe(self) -> str: ...

    def imap_blocks(self, fn: Callable[[int, int], T], blocks: Sequence[tuple[int, int]]
                    ) -> Iterator[tuple[int, T]]: ...

    def map_blocks(self, fn: Callable[[int, int], T], blocks: Sequence[tuple[int, int]]
                   ) -> list[T]: ...

    def encode(self, make_encoder: Callable[[], Any], texts: Sequence[str],
               groups: Sequence[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray]]: ...


class LocalEngine:
    """The sharded steps one after another in this process (resumable; no cluster)."""

    name = "local"

    def __init__(self) -> None:
        self._encoder: Any = None

    def start(self) -> LocalEngine:
        return self

    def close(self) -> None:
        self._encoder = None

    def describe(self) -> str:
        return "this process"

    def imap_blocks(self, fn: Callable[[int, int], T], blocks: Sequence[tuple[int, int]]
                    ) -> Iterator[tuple[int, T]]:
        for i, (a, b) in enumerate(blocks):
            yield i, fn(a, b)

    def map_blocks(self, fn: Callable[[int, int], T], blocks: Sequence[tuple[int, int]]
                   ) -> list[T]:
        return [fn(a, b) for a, b in blocks]

    def encode(self, make_encoder: Callable[[], Any], texts: Sequence[str],
               groups: Sequence[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray]]:
        if self._encoder is None:
            self._encoder = make_encoder()
        for i, (a, b) in enumerate(groups):
            yield i, np.asarray(self._encoder.encode(list(texts[a:b])), dtype=np.float32)


def make_engine(name: str, *, address: str | None = None, object_store_mb: int = 512
                ) -> BuildEngine | None:
    """The engine called ``name``: ``"local"`` gives ``None`` (the single-process build),
    ``"sharded"`` a :class:`LocalEngine`, ``"ray"`` a
    :class:`~retrieval.distributed.ray_engine.RayEngine` (not yet started).

    Raises:
        ValueError: an unknown name, or an address without the Ray engine.
    """
    if address is not None and name != "ray":
        raise ValueError("--address needs --engine ray")
    if name == "local":
        return None
    if name == "sharded":
        return LocalEngine()
    if name == "ray":
        from retrieval.distributed.ray_engine import RayEngine

        return RayEngine(address, object_store_mb=object_store_mb)
    raise ValueError(f"unknown engine {name!r}; valid: local, sharded, ray")
