"""Sessions are one person's and they expire (issue 14, defect 7: "Sessions are never
expired; reusing a session id under another user wipes that conversation").

Each test runs on a SQLite file and, when ENCORE_TEST_POSTGRES_URL is set (CI starts a
server: tests/setup/postgres.sh), on a Postgres schema of its own. The conversations are
real turns of the Assistant over the demo test bundle.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.sessions_cache import SessionCache
from assistant.settings import Settings
from assistant.store import HistoryStore, open_store
from tests.assistant.conftest import _store_url

# Read at import: the autouse fixture in conftest.py hides ENCORE_* variables from tests.


class FakeClock:
    """Unix seconds that only move when a test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _store_url(request.param, tmp_path)


def _assistant(bundle: Path, store: HistoryStore, clock: FakeClock | None = None) -> Assistant:
    bot = Assistant.from_bundle(bundle, Settings(), store=store)
    if clock is not None:
        bot.sessions = SessionCache(store, clock=clock)
    return bot


def test_a_session_id_reused_by_another_user_leaves_the_first_conversation_whole(
        demo_bundle_path: Path, store_url: str) -> None:
    with open_store(store_url) as store:
        bot = _assistant(demo_bundle_path, store)
        ann, bob = bot.users(2)
        bot.chat("shared", ann, "science fiction films")
        bot.chat("shared", bob, "jazz albums")  # the same session id, another person
        # a restart (or another worker): nothing is in memory, all comes from the store
        again = _assistant(demo_bundle_path, store)
        ann_session = again.sessions.load("shared", ann)
        bob_session = again.sessions.load("shared", bob)
        assert (ann_session.turn, bob_session.turn) == (1, 1)
        assert ann_session.last_request is not None and bob_session.last_request is not None
        assert "science fiction" in ann_session.last_request.genres
        assert "album" in bob_session.last_request.media_types
        assert not set(ann_session.shown_ids) & set(bob_session.shown_ids)
        # Ann's next turn carries on her own conversation, not Bob's
        follow = again.chat("shared", ann, "more like those")
        assert follow.turn == 2 and [m.value for m in follow.request.media_types] == ["movie"]
        assert {r.item_id for r in follow.recommendations}.isdisjoint(ann_session.shown_ids)
        # and forgetting Bob's session leaves Ann's
        again.reset_session("shared", bob)
        assert store.load_session("shared", bob) is None
        assert store.load_session("shared", ann) is not None


def test_another_users_session_cannot_be_read_through_the_store_or_the_cache(
        store_url: str) -> None:
    with open_store(store_url) as store:
        cache = SessionCache(store)
        mine = cache.load("s1", "ann")
        mine.turn, mine.shown_ids = 3, ["mv-arrival-2016"]
        cache.save(mine)
        assert store.load_session("s1", "mallory") is None
        theirs = cache.load("s1", "mallory")
        assert theirs.turn == 0 and theirs.shown_ids == [] and theirs.user_id == "mallory"
        cache.save(theirs)  # saving under the same id never overwrites Ann's
        assert SessionCache(store).load("s1", "ann").turn == 3


def test_a_session_expires_after_the_configured_age(demo_bundle_path: Path,
                                                   store_url: str) -> None:
    clock = FakeClock()
    with open_store(store_url, session_max_age_s=3600, clock=clock) as store:
        bot = _assistant(demo_bundle_path, store, clock)
        user = bot.users(1)[0]
        bot.chat("s", user, "science fiction films")
        clock.now += 3000
        # within the hour: the same conversation
        assert bot.chat("s", user, "more like those").turn == 2
        clock.now += 3601
        assert bot.sessions.load("s", user).turn == 0  # in memory: expired
        assert store.load_session("s", user) is None  # in the store: expired and purged
        assert bot.chat("s", user, "jazz albums").turn == 1  # a new conversation began
