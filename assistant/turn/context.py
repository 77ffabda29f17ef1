"""What a tool may use: :class:`Services` (one per assistant) and :class:`ToolContext` (one
per call: the services, who is asking, and their history, loaded once)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.errors import UnknownItem
from assistant.user_history import merged_history

if TYPE_CHECKING:
    from assistant.engine import Engine
    from assistant.settings import Settings
    from assistant.store import HistoryStore
    from assistant.turn.backends import Backends
    from retrieval.catalog import Catalog
    from retrieval.models import Item
    from retrieval.retriever import History

__all__ = ["Services", "ToolContext"]


@dataclass(frozen=True)
class Services:
    """The long-lived parts every stage and tool shares."""

    engine: Engine
    """Retrieval and ranking (only its public methods are called)."""
    catalog: Catalog
    store: HistoryStore
    """Feedback events and sessions."""
    backends: Backends
    """The parser and the explainer."""
    settings: Settings

    def history(self, user_id: str) -> History:
        """The bundle's history of ``user_id`` followed by the feedback given here."""
        return merged_history(self.engine.base_history(user_id), self.store.events(user_id),
                              self.catalog)

    def item(self, item_id: str) -> Item:
        """The catalog item ``item_id``.

        Raises:
            UnknownItem: no such id in the catalog.
        """
        if item_id not in self.catalog:
            raise UnknownItem(item_id)
        return self.catalog[item_id]

    def is_known(self, user_id: str) -> bool:
        """Whether ``user_id`` has a history: in the bundle, or feedback given here."""
        return self.engine.has_user(user_id) or bool(self.store.events(user_id, limit=1))


@dataclass
class ToolContext:
    """One tool call's surroundings: the services, the user (None: nobody in particular)
    and the session it belongs to (None: outside a conversation)."""

    services: Services
    user_id: str | None = None
    session_id: str | None = None
    _history: History | None = field(default=None, init=False, repr=False)

    def history(self) -> History | None:
        """The user's history (None without a user), loaded on first use."""
        if self.user_id is None:
            return None
        if self._history is None:
            self._history = self.services.history(self.user_id)
        return self._history

    def forget_history(self) -> None:
        """Reload the history on next use (after feedback was stored)."""
        self._history = None
