"""Playlists of a target length: the subset of ranked candidates whose durations sum
closest to the target (:func:`fill`), played in relevance order with the same creator never
twice in a row when avoidable (:func:`flow`). :meth:`assistant.engine.Engine.playlist`
draws the candidates.

Example:
    >>> fill([50, 30, 25, 10], target=60, lo=57, hi=63)
    [0, 3]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.diversify import RankedItem

__all__ = ["Playlist", "fill", "flow"]

_DURATION_UNIT = 100  # playlist sums are exact to 1/100 of a minute


@dataclass(frozen=True)
class Playlist:
    """An ordered playlist and how close its length came to the target.

    Attributes:
        items: The picks in play order (``rank`` is the position, ``score`` the ranker's).
        total_minutes: Sum of their ``duration_min``.
        target_minutes: The length asked for.
        within_tolerance: Whether ``total_minutes`` is within the tolerance of the target;
            when False the candidates could not reach it and this is the closest found.
        tolerance: The relative tolerance used (0.05: ±5%).

    Example:
        >>> p = Playlist(items=[], total_minutes=0.0, target_minutes=60, within_tolerance=False)
        >>> p.shortfall_minutes
        60.0
    """

    items: list[RankedItem]
    total_minutes: float
    target_minutes: int
    within_tolerance: bool
    tolerance: float = 0.05

    @property
    def shortfall_minutes(self) -> float:
        """Target minus total (negative when the playlist runs long)."""
        return round(float(self.target_minutes) - self.total_minutes, 2)


def flow(picks: list[RankedItem], catalog: Catalog) -> list[RankedItem]:
    """Relevance order, moving an item down when it would follow one of the same creator
    (the next different one plays first)."""
    rest = list(picks)
    out: list[RankedItem] = []
    while rest:
        prev = set(catalog[out[-1].item_id].creators) if out else set()
        j = next((j for j, p in enumerate(rest)
                  if not prev & set(catalog[p.item_id].creators)), 0)
        out.append(rest.pop(j))
    return out


def fill(minutes: Sequence[float], target: float, lo: float, hi: float) -> list[int]:
    """Positions (ascending) of a subset of ``minutes`` whose sum is closest to ``target``,
    within ``[lo, hi]`` when possible, preferring early (higher-ranked) positions.

    The shortest prefix of the list that can reach ``[lo, hi]`` is searched (prefixes
    doubling) with a subset sum over units of 1/100 minute (bit sets held in Python
    integers, one per prefix length, so the subset can be read back); among its reachable
    sums in range the one closest to ``target`` is taken, and read back preferring the
    earlier items. When no prefix reaches the range, the whole list's closest sum is used.

    Example:
        >>> fill([50, 30, 25, 10], target=60, lo=57, hi=63)
        [0, 3]
    """
    units = [max(1, int(round(m * _DURATION_UNIT))) for m in minutes]
    if not units:
        return []
    t, lo_u, hi_u = (int(round(x * _DURATION_UNIT)) for x in (target, lo, hi))
    # Sums above the range are never wanted, so the bit sets stop there.
    limit_mask = (1 << (max(hi_u, t) + 1)) - 1
    reach = [1]  # reach[j]: sums reachable with the first j items (bit s set: sum s)
    for u in units:
        reach.append((reach[-1] | (reach[-1] << u)) & limit_mask)

    def closest(bits: int) -> int:
        """The reachable sum closest to the target (ties: the longer)."""
        below = bits & ((1 << (t + 1)) - 1)
        above = bits >> t
        options = []
        if below:
            options.append(below.bit_length() - 1)
        if above:
            options.append(t + (above & -above).bit_length() - 1)
        return min(options, key=lambda x: (abs(x - t), -x))

    chosen_len, target_sum = len(units), closest(reach[-1])
    m = 1
    while True:
        m = min(m, len(units))
        s = closest(reach[m])
        if lo_u <= s <= hi_u:
            chosen_len, target_sum = m, s
            break
        if m == len(units):
            break
        m *= 2
    # Read back, last item first: take item j only when the sum is not reachable without
    # it, so earlier (higher-ranked) items are preferred.
    out, s = [], target_sum
    for j in range(chosen_len, 0, -1):
        if (reach[j - 1] >> s) & 1:
            continue
        out.append(j - 1)
        s -= units[j - 1]
    return sorted(out)
