"""How blocked build steps are mapped over their blocks: a plain serial loop by default, or
any callable with the same shape (the Ray engine passes a Ray-backed one). Results are in
the order of the blocks whichever mapper runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["MapBlocks", "serial_map"]

T = TypeVar("T")
MapBlocks = Callable[[Callable[[int, int], T], Sequence[tuple[int, int]]], list[T]]


def serial_map(fn: Callable[[int, int], Any], blocks: Sequence[tuple[int, int]]) -> list[Any]:
    """``[fn(start, stop) for each block]`` in this process."""
    return [fn(a, b) for a, b in blocks]
