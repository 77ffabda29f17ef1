"""Blocked build steps: the "map this function over these blocks" seam.

A blocked step (item neighbours, index shards, ranker training lists) splits its work into
``(start, stop)`` blocks and hands a function of one block to a :data:`MapBlocks`
callable, which returns the results in block order. ``None`` (or :func:`serial_map`) runs
the blocks one after another in this process; the Ray engine
(:mod:`retrieval.distributed.ray_engine`) runs them as Ray tasks. Whichever mapper runs, the
results are the same.

Example:
    >>> serial_map(lambda a, b: b - a, blocks(10, 4))
    [4, 4, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["MapBlocks", "blocks", "serial_map"]

T = TypeVar("T")
MapBlocks = Callable[[Callable[[int, int], T], Sequence[tuple[int, int]]], list[T]]
"""``map_blocks(fn, blocks)``: ``[fn(start, stop) for start, stop in blocks]``, in order."""


def serial_map(fn: Callable[[int, int], T], blocks: Sequence[tuple[int, int]]) -> list[T]:
    """The default :data:`MapBlocks`: the blocks one after another in this process."""
    return [fn(a, b) for a, b in blocks]


def blocks(n: int, size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` blocks of at most ``size`` covering ``range(n)``, in order.

    Raises:
        ValueError: ``size`` is not positive or ``n`` is negative.
    """
    if size < 1 or n < 0:
        raise ValueError(f"blocks need n >= 0 and size >= 1, got n={n}, size={size}")
    return [(a, min(a + size, n)) for a in range(0, n, size)]
