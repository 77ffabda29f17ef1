"""The vector-index seam (:class:`VectorIndex`) and the sizes that pick a FAISS factory."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["VectorIndex", "choose_factory", "FLAT_MAX_ITEMS", "DEFAULT_EF_SEARCH",
           "DEFAULT_EF_CONSTRUCTION", "DEFAULT_NPROBE"]

FLAT_MAX_ITEMS = 50_000
"""Up to this many items the default factory is exact ``Flat``; above it ``HNSW32,Flat``."""

DEFAULT_EF_SEARCH = 128
"""HNSW search depth; searches use ``max(ef_search, k)``. Measured on 1M clustered 384-d
vectors (``benchmarks/README.md``): recall@100 0.991 at 0.83 ms p50 per single query."""

DEFAULT_EF_CONSTRUCTION = 200
"""HNSW build depth (FAISS's own default is 40). At 1M vectors, 64 gave recall@100 0.93 at
efSearch 128 and 200 gave 0.991; the price is build time (``benchmarks/README.md``)."""

DEFAULT_NPROBE = 16
"""Inverted lists visited per query by ``IVF…`` factories."""


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest-neighbour search over catalog items by string id.

    ``search`` returns, per query, the ids best first and their scores; a row is shorter
    than ``k`` when fewer items (or fewer allowed items) exist.
    """

    def add(self, ids: Sequence[str], vecs: Any) -> None: ...

    def remove(self, ids: Iterable[str]) -> None: ...

    def search(
        self, vecs: Any, k: int, allowed: Collection[str] | None = None
    ) -> tuple[list[list[str]], list[np.ndarray]]: ...

    def save(self, path: str | Path) -> None: ...

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex: ...


def choose_factory(n_items: int) -> str:
    """The default FAISS factory for a catalog of ``n_items``.

    Example:
        >>> choose_factory(10_000), choose_factory(200_000)
        ('Flat', 'HNSW32,Flat')
    """
    return "Flat" if n_items <= FLAT_MAX_ITEMS else "HNSW32,Flat"
