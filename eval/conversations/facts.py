"""What the catalog's metadata says about items, for the conversation checks.

Pure functions over :class:`~retrieval.models.Item` and :class:`Expect`: whether an item
carries a label, answers a soft request, breaks a hard constraint; which catalog items a
request could have shown.

Example:
    >>> from retrieval.models import Item
    >>> item = Item(id="al-1", title="Kind of Blue", media_type="album", year=1959,
    ...             duration_min=46, genres=["jazz"], tags=["relaxing"])
    >>> matches(item, [["jazz", "blues"], ["relaxing", "chill"]])
    True
    >>> violations(item, Expect(media_types=["album"], max_minutes=40, year_min=1960))
    ['Kind of Blue: 46 min, over 40', 'Kind of Blue: 1959, before 1960']
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from assistant.explain.relevance import GENERIC_TAGS
from eval.conversations.suite import Expect

if TYPE_CHECKING:
    from retrieval.models import Item

__all__ = ["FAMILIES", "GENERIC_TAGS", "available", "family", "labels", "matches",
           "playlist_feasible", "related", "violations"]

# Media families: an explanation may lean on history of the same family only (a film
# explains a series, never an album).
FAMILIES: dict[str, str] = {"movie": "screen", "series": "screen", "album": "music",
                            "music_track": "music", "podcast": "spoken", "audiobook": "spoken"}

# GENERIC_TAGS (tags that say how an item was made or received, not what it is about) is
# the explainer's own list, so the check judges citations by the rule the explainer follows.


def labels(item: Item) -> set[str]:
    """The item's genres and tags."""
    return set(item.genres) | set(item.tags)


def family(item: Item) -> str:
    """The item's media family (screen, music or spoken)."""
    return FAMILIES.get(item.media_type.value, item.media_type.value)


def matches(item: Item, want: Sequence[Collection[str]] | None) -> bool:
    """Whether ``item`` answers the soft request: a label of every group (none: True)."""
    if not want:
        return True
    have = labels(item)
    return all(any(label in have for label in group) for group in want)


def related(pick: Item, cited: Item) -> bool:
    """Whether citing ``cited`` to explain ``pick`` is fair: the same media family and a
    shared genre or a shared theme (not a generic tag such as 'award-winning')."""
    if family(pick) != family(cited):
        return False
    return bool((labels(pick) & labels(cited)) - GENERIC_TAGS)


def violations(item: Item, expect: Expect) -> list[str]:
    """The hard constraints of ``expect`` that ``item`` breaks, in words (none: [])."""
    out: list[str] = []
    name, kind = item.title, item.media_type.value
    if expect.media_types is not None and kind not in expect.media_types:
        out.append(f"{name}: {kind}, not {' or '.join(expect.media_types)}")
    if expect.exclude_media_types and kind in expect.exclude_media_types:
        out.append(f"{name}: {kind}, which was ruled out")
    minutes = item.duration_min
    if minutes is not None and expect.max_minutes is not None and minutes > expect.max_minutes:
        out.append(f"{name}: {minutes:g} min, over {expect.max_minutes:g}")
    if minutes is not None and expect.min_minutes is not None and minutes < expect.min_minutes:
        out.append(f"{name}: {minutes:g} min, under {expect.min_minutes:g}")
    if item.year is not None and expect.year_min is not None and item.year < expect.year_min:
        out.append(f"{name}: {item.year}, before {expect.year_min}")
    if item.year is not None and expect.year_max is not None and item.year > expect.year_max:
        out.append(f"{name}: {item.year}, after {expect.year_max}")
    banned = sorted(labels(item) & set(expect.exclude_labels or ()))
    if banned:
        out.append(f"{name}: {', '.join(banned)}, which was ruled out")
    return out


def available(catalog: Iterable[Item], expect: Expect, unavailable: Collection[str] = ()
              ) -> list[Item]:
    """Catalog items that satisfy every hard constraint and the soft request of
    ``expect``, leaving out ``unavailable`` ids (the user's history, items shown before)."""
    return [it for it in catalog if it.id not in unavailable and not violations(it, expect)
            and matches(it, expect.want)]


def playlist_feasible(pool: Sequence[Item], target: float, tolerance: float) -> bool:
    """Whether some subset of ``pool`` lasts ``target`` minutes within ``tolerance`` (a
    share of the target): a subset-sum over whole minutes, so a little generous."""
    low, high = target * (1 - tolerance), target * (1 + tolerance)
    reachable = 1  # bit i set: a subset lasting i whole minutes exists
    limit = int(high) + 1
    for item in pool:
        if item.duration_min:
            reachable |= reachable << max(1, round(item.duration_min))
            reachable &= (1 << (limit + 1)) - 1
    return any(reachable >> m & 1 for m in range(max(1, int(low)), limit + 1))
