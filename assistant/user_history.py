"""A user's history as the turn sees it: the bundle's log, then the feedback given here.

- :func:`merged_history`: the :class:`~retrieval.retriever.History` the engine ranks with
  (the latest word on an item wins: a like after a dislike counts as a like).
- :func:`history_entries`: the same events as :class:`~assistant.reply.HistoryEntry` rows
  for people and front ends.

Example:
    >>> from retrieval.demo import load_demo_catalog
    >>> from retrieval.retriever import History
    >>> from assistant.store import StoredEvent
    >>> cat = load_demo_catalog()
    >>> base = History(["mv-arrival-2016"], ["rating"], [4.0])
    >>> said = [StoredEvent(user_id="u", item_id="mv-arrival-2016", kind="dislike",
    ...                     timestamp=1)]
    >>> h = merged_history(base, said, cat)
    >>> h.item_ids, h.events, h.values
    (['mv-arrival-2016'], ['dislike'], [-1.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.reply import HistoryEntry
from assistant.validation import finite

if TYPE_CHECKING:
    from assistant.store import StoredEvent
    from retrieval.catalog import Catalog
    from retrieval.retriever import History

__all__ = ["FEEDBACK_EVENT", "history_entries", "merged_history"]

FEEDBACK_EVENT = {"like": ("like", 1.0), "dislike": ("dislike", -1.0), "seen": ("play", 1.0)}
"""Feedback kind -> the (event, value) the ranker reads."""


def merged_history(base: History, events: Sequence[StoredEvent], catalog: Catalog) -> History:
    """``base`` (the bundle's log) followed by the feedback ``events`` on catalog items; an
    item given feedback leaves its place in ``base`` and takes the feedback's place."""
    from retrieval.retriever import History

    if not events:
        return base
    latest: dict[str, str] = {}
    for ev in events:
        if ev.item_id in catalog:
            latest.pop(ev.item_id, None)
            latest[ev.item_id] = str(ev.kind)
    keep = [k for k, i in enumerate(base.item_ids) if i not in latest]
    ids = [base.item_ids[k] for k in keep]
    evs = [base.events[k] for k in keep]
    vals = [base.values[k] for k in keep]
    for item_id, kind in latest.items():
        event, value = FEEDBACK_EVENT[kind]
        ids.append(item_id)
        evs.append(event)
        vals.append(value)
    return History(ids, evs, vals)


def history_entries(base: History, events: Sequence[StoredEvent], catalog: Catalog,
                    limit: int) -> list[HistoryEntry]:
    """The last ``limit`` events, oldest first: ``base`` (source ``log``), then ``events``
    (source ``feedback``); an id missing from the catalog shows as its own title."""
    out: list[HistoryEntry] = []
    for item_id, event, value in zip(base.item_ids, base.events, base.values, strict=True):
        title, media = _names(item_id, catalog)
        out.append(HistoryEntry(item_id=item_id, title=title, media_type=media, event=event,
                                value=finite(value), source="log"))
    for ev in events:
        title, media = _names(ev.item_id, catalog)
        out.append(HistoryEntry(item_id=ev.item_id, title=title, media_type=media,
                                event=str(ev.kind), timestamp=ev.timestamp, source="feedback"))
    return out[-limit:] if limit > 0 else []


def _names(item_id: str, catalog: Catalog) -> tuple[str, str]:
    if item_id not in catalog:
        return item_id, ""
    item = catalog[item_id]
    return item.title, item.media_type.value
