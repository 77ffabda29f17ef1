"""Issue 14, item 8: history writes survive kill -9, and writers side by side lose nothing.

Real processes write to a real SQLite history store (``assistant.store``): writers are
SIGKILLed at random moments (a fixed seed, a bounded number of rounds), and several
writers run at once. Every event a writer acknowledged (printed after its commit) must be
in the store afterwards, the file must open and pass SQLite's integrity check, and no
write may fail.
"""

from __future__ import annotations

from tests.reliability.store_kills import concurrent_writers, kill_writers


def test_writers_killed_at_random_moments_lose_no_acknowledged_event(tmp_path) -> None:
    tally = kill_writers(tmp_path / "history.sqlite3", rounds=4, seed=14, max_acks=150)
    assert tally.kills == 4
    assert tally.acknowledged >= 4
    assert tally.opens and tally.integrity == "ok"
    assert (tally.lost, tally.errors) == (0, 0), tally.details


def test_concurrent_writers_lose_nothing(tmp_path) -> None:
    tally = concurrent_writers(tmp_path / "history.sqlite3", writers=4, events=150)
    assert tally.acknowledged == 4 * 150 and tally.stored == 4 * 150
    assert (tally.lost, tally.errors) == (0, 0), tally.details
    assert tally.integrity == "ok"
