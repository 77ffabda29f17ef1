"""Removing a history entry: ``HistoryStore.remove_events`` on SQLite and (when
ENCORE_TEST_POSTGRES_URL is set) Postgres, and ``Assistant.forget`` over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import EncoreError
from assistant.store import latest_per_item, open_store
from tests.reliability.test_sessions import store_url  # noqa: F401 (fixture)


def test_remove_events_forgets_one_users_item_only(store_url: str) -> None:  # noqa: F811
    with open_store(store_url) as store:
        store.add_event("ann", "mv-a", "like", timestamp=1)
        store.add_event("ann", "mv-a", "dislike", timestamp=2)
        store.add_event("ann", "mv-b", "seen", timestamp=3)
        store.add_event("bob", "mv-a", "like", timestamp=4)
        assert store.remove_events("ann", "mv-a") == 2
        assert [(e.item_id, e.kind.value) for e in store.events("ann")] == [("mv-b", "seen")]
        assert [e.item_id for e in store.events("bob")] == ["mv-a"]  # another user's stays
        assert store.remove_events("ann", "mv-a") == 0  # nothing left: says so
        store.add_event("ann", "mv-a", "like", timestamp=5)  # and it can be given again
        assert [e.item_id for e in latest_per_item(store.events("ann"))] == ["mv-b", "mv-a"]
        with pytest.raises(ValueError, match="item_id"):
            store.remove_events("ann", "")


def test_assistant_forget_undoes_feedback(demo_bundle_path: Path, tmp_path: Path) -> None:
    from assistant.core import Assistant
    from assistant.settings import Settings

    url = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    with Assistant.from_bundle(demo_bundle_path,
                               Settings(bundle_dir=demo_bundle_path, store={"url": url})) as bot:
        user = bot.new_user_id()
        item = bot.recommend(user, "a dark crime series", k=3)[0].item_id
        bot.feedback(user, item, "dislike")
        assert item not in [r.item_id for r in bot.recommend(user, "a dark crime series", k=10)]
        assert bot.forget(user, item) == 1 and bot.history(user) == []
        assert bot.recommend(user, "a dark crime series", k=3)[0].item_id == item
        with pytest.raises(EncoreError, match="item id"):
            bot.forget(user, "  ")
