"""The history store on real SQLite files, and on a real Postgres when ENCORE_TEST_POSTGRES_URL
is set (CI sets it: .ci/run starts a throwaway server with tests/setup/postgres.sh). The session
tests run one body on both."""

from __future__ import annotations

import doctest
import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import assistant.store as store_module
from assistant.reply import FeedbackKind
from assistant.store import (
    SCHEMA_VERSION,
    HistoryStore,
    SQLiteStore,
    StoredEvent,
    StoreError,
    latest_per_item,
    open_store,
)


def _url(path: Path) -> str:
    # An absolute path after "sqlite:///" gives the four-slash form.
    return f"sqlite:///{path}"


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "history.sqlite3"


@pytest.fixture()
def store(db: Path) -> Iterator[HistoryStore]:
    with open_store(_url(db)) as s:
        yield s


# --- events --------------------------------------------------------------------------------


def test_round_trip_creates_folder_and_returns_stored_events(store: HistoryStore, db: Path):
    assert db.is_file()
    assert isinstance(store, HistoryStore) and isinstance(store, SQLiteStore)
    store.add_event("u1", "mv-arrival-2016", FeedbackKind.like, session_id="s1", timestamp=100)
    store.add_event("u1", "pc-serial-2014", "seen", timestamp=101)
    assert store.events("u1") == [
        StoredEvent(user_id="u1", item_id="mv-arrival-2016", kind=FeedbackKind.like,
                    timestamp=100, session_id="s1"),
        StoredEvent(user_id="u1", item_id="pc-serial-2014", kind=FeedbackKind.seen,
                    timestamp=101, session_id=None),
    ]
    assert store.events("nobody") == []


def test_default_timestamp_is_now(store: HistoryStore):
    import time

    before = int(time.time())
    store.add_event("u1", "x", "dislike")
    (event,) = store.events("u1")
    assert before <= event.timestamp <= int(time.time()) + 1
    assert isinstance(event.timestamp, int)


def test_events_are_oldest_first_with_ties_in_insertion_order(store: HistoryStore):
    store.add_event("u1", "c", "like", timestamp=30)
    store.add_event("u1", "a", "like", timestamp=10)
    store.add_event("u1", "b1", "seen", timestamp=20)
    store.add_event("u1", "b2", "seen", timestamp=20)
    store.add_event("u2", "z", "like", timestamp=5)
    assert [e.item_id for e in store.events("u1")] == ["a", "b1", "b2", "c"]
    # limit keeps the most recent ones, still oldest first
    assert [e.item_id for e in store.events("u1", limit=2)] == ["b2", "c"]
    assert [e.item_id for e in store.events("u1", limit=10)] == ["a", "b1", "b2", "c"]
    assert store.events("u1", limit=0) == []
    assert store.users() == ["u1", "u2"]


def test_full_log_is_kept_and_latest_per_item_wins(store: HistoryStore):
    store.add_event("u1", "a", "like", timestamp=1)
    store.add_event("u1", "b", "like", timestamp=2)
    store.add_event("u1", "a", "dislike", timestamp=3)
    log = store.events("u1")
    assert [(e.item_id, e.kind.value) for e in log] == [("a", "like"), ("b", "like"),
                                                        ("a", "dislike")]
    assert [(e.item_id, e.kind.value) for e in latest_per_item(log)] == [("b", "like"),
                                                                         ("a", "dislike")]


@pytest.mark.parametrize("kind", ["love", "LIKE", "", None, 3])
def test_bad_kind_is_refused_with_the_valid_kinds(store: HistoryStore, kind: object):
    with pytest.raises(ValueError, match=r"is not a feedback kind.*like, dislike, seen"):
        store.add_event("u1", "x", kind)  # type: ignore[arg-type]
    assert store.events("u1") == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"user_id": ""}, "user_id must be a non-empty string"),
    ({"item_id": None}, "item_id must be a non-empty string"),
    ({"timestamp": "yesterday"}, "timestamp must be Unix seconds"),
    ({"timestamp": True}, "timestamp must be Unix seconds"),
])
def test_bad_event_fields_are_refused(store: HistoryStore, kwargs: dict, message: str):
    args = {"user_id": "u1", "item_id": "x", "kind": "like"} | kwargs
    with pytest.raises(ValueError, match=message):
        store.add_event(args.pop("user_id"), args.pop("item_id"), args.pop("kind"), **args)


def test_bad_limit_is_refused(store: HistoryStore):
    with pytest.raises(ValueError, match="limit must be None or an int >= 0"):
        store.events("u1", limit=-1)


# --- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["mysql://localhost/db", "history.sqlite3", "file:///x.db",
                                 "sqlite:///", "sqlite://relative.db", "   "])
def test_bad_url_names_the_setting_and_valid_forms(url: str):
    with pytest.raises(ValueError) as info:
        open_store(url)
    text = str(info.value)
    assert "store.url" in text and "ENCORE_STORE__URL" in text
    assert "sqlite:///" in text


def test_url_error_does_not_echo_a_password():
    with pytest.raises(ValueError) as info:
        open_store("mysql://me:secret@host/db")
    assert "secret" not in str(info.value)


def test_relative_and_absolute_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///rel/dir/h.sqlite3") as s:
        s.add_event("u", "x", "like", timestamp=1)
    assert (tmp_path / "rel" / "dir" / "h.sqlite3").is_file()
    absolute = tmp_path / "abs.sqlite3"
    assert str(absolute).startswith("/")
    with open_store("sqlite:///" + str(absolute)) as s:  # sqlite:////tmp/...
        assert s.path == absolute
    assert absolute.is_file()


def test_memory_store_works_across_threads():
    with open_store("sqlite://:memory:") as s:
        t = threading.Thread(target=s.add_event, args=("u", "x", "like"))
        t.start()
        t.join()
        assert [e.item_id for e in s.events("u")] == ["x"]


def test_postgres_url_without_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch):
    import builtins

    real_import = builtins.__import__

    def no_psycopg(name, *args, **kwargs):
        if name == "psycopg" or name.startswith("psycopg."):
            raise ModuleNotFoundError("No module named 'psycopg'", name="psycopg")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    for url in ("postgresql://me:secret@db.example/encore", "postgres://db.example/encore"):
        with pytest.raises(ModuleNotFoundError) as info:
            open_store(url)
        assert "pip install 'encore-rec[postgres]'" in str(info.value)
        assert "secret" not in str(info.value)


# --- files ---------------------------------------------------------------------------------


def test_a_file_that_is_not_sqlite_gets_a_message_naming_it_and_the_fix(tmp_path: Path):
    bad = tmp_path / "history.sqlite3"
    bad.write_text("this is a text file, not a database\n" * 20)
    with pytest.raises(StoreError) as info:
        open_store(_url(bad))
    text = str(info.value)
    assert str(bad) in text and "not a SQLite database" in text
    assert "delete" in text and "store.url" in text
    assert bad.read_text().startswith("this is a text file")  # left untouched


def test_another_programs_database_is_refused(tmp_path: Path):
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER)")
    conn.close()
    with pytest.raises(StoreError, match=r"another program.*accounts.*store\.url"):
        open_store(_url(other))


def test_a_folder_is_refused(tmp_path: Path):
    with pytest.raises(StoreError, match=r"is a folder.*history\.sqlite3"):
        open_store(_url(tmp_path))


def test_a_newer_schema_is_refused(db: Path):
    open_store(_url(db)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE encore_schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.close()
    with pytest.raises(StoreError, match="newer Encore"):
        open_store(_url(db))


def test_wal_mode_is_on(store: SQLiteStore, db: Path):
    assert store.journal_mode == "wal"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM encore_schema_version").fetchall() == [
            (SCHEMA_VERSION,)]
    finally:
        conn.close()


def test_reopening_is_idempotent_and_data_persists(db: Path):
    with open_store(_url(db)) as s:
        s.add_event("u1", "a", "like", timestamp=1)
        s.save_session("s1", "u1", {"turn": 1, "shown": ["a"]})
    for _ in range(2):
        with open_store(_url(db)) as s:
            assert [e.item_id for e in s.events("u1")] == ["a"]
            assert s.load_session("s1", "u1") == {"turn": 1, "shown": ["a"]}
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM encore_schema_version").fetchone()[0] == 1
    conn.close()


def test_a_closed_store_says_so(db: Path):
    s = open_store(_url(db))
    s.close()
    s.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        s.events("u1")


# --- sessions ------------------------------------------------------------------------------


def test_session_state_must_be_a_json_dict(store: HistoryStore):
    with pytest.raises(ValueError, match="must be a dict"):
        store.save_session("s1", "u1", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"session 's1': state is not JSON-serialisable"):
        store.save_session("s1", "u1", {"when": object()})
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        store.save_session("s1", "u1", {"score": float("nan")})
    assert store.load_session("s1", "u1") is None


# --- concurrency ---------------------------------------------------------------------------


def test_eight_threads_writing_at_once_all_land(store: HistoryStore):
    threads_n, per_thread = 8, 50
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def write(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                store.add_event(f"u{t}", f"item-{i}", "seen", timestamp=i)
                if i % 10 == 0:
                    store.events(f"u{t}")
                    store.save_session(f"s{t}", f"u{t}", {"i": i})
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(t,)) for t in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert store.users() == sorted(f"u{t}" for t in range(threads_n))
    for t in range(threads_n):
        assert [e.item_id for e in store.events(f"u{t}")] == [f"item-{i}"
                                                             for i in range(per_thread)]
        assert store.load_session(f"s{t}", f"u{t}") == {"i": 40}


def _process_writer(url: str, worker: int, n: int, start) -> None:
    """Runs in a spawned process: opens its own store on the shared file and writes."""
    start.wait(timeout=30)  # both processes open (and create the schema) at the same moment
    with open_store(url) as s:
        for i in range(n):
            s.add_event(f"p{worker}", f"item-{i}", "like", timestamp=i)
            s.add_event("shared", f"p{worker}-{i}", "seen", timestamp=i)


def test_two_processes_writing_to_one_file_all_land(tmp_path: Path):
    # The file does not exist yet: both processes race to create the schema too.
    url = _url(tmp_path / "shared.sqlite3")
    n = 200
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    procs = [ctx.Process(target=_process_writer, args=(url, w, n, start)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0]
    with open_store(url) as s:
        for w in range(2):
            assert [e.item_id for e in s.events(f"p{w}")] == [f"item-{i}" for i in range(n)]
        assert len(s.events("shared")) == 2 * n
        assert s.users() == ["p0", "p1", "shared"]


# --- docs and Postgres ---------------------------------------------------------------------


def test_docstring_examples_run():
    result = doctest.testmod(store_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# Read at import: the autouse fixture in conftest.py hides ENCORE_* variables from tests.
# CI (.ci/run, through tests/setup/postgres.sh) starts a throwaway server and sets both.
_POSTGRES_URL = os.environ.get("ENCORE_TEST_POSTGRES_URL", "")
_REQUIRE_POSTGRES = os.environ.get("ENCORE_REQUIRE_POSTGRES", "") not in ("", "0")


@pytest.fixture()
def postgres_url() -> str:
    url = _POSTGRES_URL
    if not url:
        if _REQUIRE_POSTGRES:
            pytest.fail("ENCORE_REQUIRE_POSTGRES is set but ENCORE_TEST_POSTGRES_URL is not. "
                        "Fix: run the tests through tests/setup/postgres.sh (as .ci/run does)")
        pytest.skip("set ENCORE_TEST_POSTGRES_URL to a scratch Postgres database to run this "
                    "(tests/setup/postgres.sh starts one)")
    if _REQUIRE_POSTGRES:
        import psycopg  # noqa: F401  (CI must have it: a missing package is a failure)
    else:
        pytest.importorskip("psycopg", reason="pip install 'encore-rec[postgres]'")
    return url


@pytest.fixture()
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """The Postgres URL with a fresh schema of its own as search path (dropped afterwards),
    so that a test sees only its own tables and rows."""
    import uuid

    import psycopg

    schema = f"encore_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test body on a SQLite file and on a Postgres schema of its own."""
    if request.param == "sqlite":
        return _url(tmp_path / "history.sqlite3")
    return request.getfixturevalue("postgres_schema_url")


class FakeClock:
    """Unix seconds that only move when a test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _raw_execute(url: str, statements: list[str]) -> list[tuple]:
    """Run SQL on the store's database without the store (to plant or count rows)."""
    rows: list[tuple] = []
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url[len("sqlite:///"):])
        try:
            for statement in statements:
                rows = conn.execute(statement).fetchall()
            conn.commit()
        finally:
            conn.close()
        return rows
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            cursor = conn.execute(statement)
            rows = cursor.fetchall() if cursor.description is not None else []
    return rows


def test_sessions_upsert_load_delete(store_url: str):
    with open_store(store_url) as store:
        assert store.load_session("s1", "u1") is None
        store.save_session("s1", "u1", {"turn": 1, "request": {"genres": ["drama"]}, "é": "ü"})
        assert store.load_session("s1", "u1") == {"turn": 1, "request": {"genres": ["drama"]},
                                                  "é": "ü"}
        store.save_session("s1", "u1", {"turn": 2})
        assert store.load_session("s1", "u1") == {"turn": 2}
        store.save_session("s2", "u2", {})
        rows = _raw_execute(store_url, ["SELECT session_id, user_id, updated_at "
                                        "FROM encore_sessions ORDER BY session_id"])
        assert [r[:2] for r in rows] == [("s1", "u1"), ("s2", "u2")]
        assert all(isinstance(r[2], int) and r[2] > 0 for r in rows)
        store.delete_session("s1", "u1")
        store.delete_session("s1", "u1")  # deleting a missing session is not an error
        assert store.load_session("s1", "u1") is None
        assert store.load_session("s2", "u2") == {}


def test_a_session_id_is_one_users_and_never_another_s(store_url: str):
    with open_store(store_url) as store:
        store.save_session("shared-id", "ann", {"turn": 3, "who": "ann"})
        assert store.load_session("shared-id", "bob") is None  # not Bob's to read
        store.save_session("shared-id", "bob", {"turn": 1, "who": "bob"})
        assert store.load_session("shared-id", "ann") == {"turn": 3, "who": "ann"}  # intact
        assert store.load_session("shared-id", "bob") == {"turn": 1, "who": "bob"}
        store.delete_session("shared-id", "bob")
        assert store.load_session("shared-id", "ann") == {"turn": 3, "who": "ann"}
        assert store.load_session("shared-id", "bob") is None
        with pytest.raises(ValueError, match="user_id"):
            store.load_session("shared-id", "")


def test_sessions_expire_after_the_configured_age_and_are_purged(store_url: str):
    clock = FakeClock()
    with open_store(store_url, session_max_age_s=600, clock=clock) as store:
        store.save_session("old", "u1", {"turn": 1})
        store.save_session("kept", "u1", {"turn": 1})
        clock.now += 500
        store.save_session("kept", "u1", {"turn": 2})  # a save renews a session
        clock.now += 101
        assert store.load_session("old", "u1") is None  # 601 s since its last save
        assert store.load_session("kept", "u1") == {"turn": 2}  # 101 s
        clock.now -= 1000  # the expired row was purged, not just hidden
        assert store.load_session("old", "u1") is None
        clock.now += 1000
        store.save_session("fresh", "u2", {})
        clock.now += 700
        assert store.purge_expired_sessions() == 2  # "kept" and "fresh"
        assert _raw_execute(store_url, ["SELECT count(*) FROM encore_sessions"]) == [(0,)]


def test_saves_purge_expired_sessions_of_everyone(store_url: str):
    clock = FakeClock()
    with open_store(store_url, session_max_age_s=60, clock=clock) as store:
        for i in range(5):
            store.save_session(f"s{i}", f"u{i}", {"i": i})
        clock.now += 61
        store.save_session("new", "u9", {})  # purges the five without reading them
        assert _raw_execute(store_url, ["SELECT user_id FROM encore_sessions"]) == [("u9",)]


def test_the_session_age_comes_from_the_settings_and_is_checked(tmp_path: Path):
    from assistant.settings import Settings

    settings = Settings(store={"url": _url(tmp_path / "h.sqlite3"), "session_max_age_s": 90})
    with open_store(settings.store) as store:
        assert store.session_max_age_s == 90
    with pytest.raises(ValueError, match=r"session_max_age_s.*ENCORE_STORE__SESSION_MAX_AGE_S"):
        open_store(_url(tmp_path / "h.sqlite3"), session_max_age_s=0)


_V1_SCHEMA = [  # the tables as Encore wrote them before sessions were keyed by user
    "CREATE TABLE encore_schema_version (version INTEGER NOT NULL)",
    "INSERT INTO encore_schema_version (version) VALUES (1)",
    "CREATE TABLE encore_events (id {id_column}, user_id TEXT NOT NULL, item_id TEXT NOT NULL,"
    " kind TEXT NOT NULL, ts BIGINT NOT NULL, session_id TEXT)",
    "CREATE INDEX encore_events_user ON encore_events (user_id, ts, id)",
    "CREATE TABLE encore_sessions (session_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
    " state TEXT NOT NULL, updated_at BIGINT NOT NULL)",
]


def test_a_store_of_schema_version_1_opens_and_keeps_its_data(store_url: str):
    clock = FakeClock()
    id_column = ("INTEGER PRIMARY KEY" if store_url.startswith("sqlite:")
                 else "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
    ts = int(clock.now) - 10
    _raw_execute(store_url, [*(x.format(id_column=id_column) for x in _V1_SCHEMA),
                             "INSERT INTO encore_events (user_id, item_id, kind, ts) "
                             "VALUES ('u1', 'a', 'like', 5)",
                             "INSERT INTO encore_sessions VALUES "
                             f"('s1', 'u1', '{{\"turn\": 4}}', {ts})"])
    with open_store(store_url, clock=clock) as store:
        assert [e.item_id for e in store.events("u1")] == ["a"]
        assert store.load_session("s1", "u1") == {"turn": 4}
        assert store.load_session("s1", "u2") is None
        store.save_session("s1", "u2", {"turn": 1})  # the old key would have replaced u1's
        assert store.load_session("s1", "u1") == {"turn": 4}
    assert _raw_execute(store_url, ["SELECT version FROM encore_schema_version"]) == [
        (SCHEMA_VERSION,)]
    with open_store(store_url, clock=clock) as store:  # opening again changes nothing
        assert store.load_session("s1", "u1") == {"turn": 4}


def test_postgres_round_trip(postgres_url: str):
    import uuid

    user, session = f"test-{uuid.uuid4().hex}", f"s-{uuid.uuid4().hex}"
    with open_store(postgres_url) as s:
        s.add_event(user, "b", "like", timestamp=2)
        s.add_event(user, "a", "seen", timestamp=1, session_id=session)
        s.add_event(user, "b", "dislike", timestamp=2)
        assert [(e.item_id, e.kind.value) for e in s.events(user)] == [
            ("a", "seen"), ("b", "like"), ("b", "dislike")]
        assert [e.item_id for e in s.events(user, limit=1)] == ["b"]
        assert user in s.users()
        s.save_session(session, user, {"turn": 1})
        s.save_session(session, user, {"turn": 2})
        assert s.load_session(session, user) == {"turn": 2}
        s.delete_session(session, user)
        assert s.load_session(session, user) is None
    with open_store(postgres_url) as s:  # reopening finds the schema in place
        assert len(s.events(user)) == 3


def test_postgres_threads_writing_at_once_all_land(postgres_url: str):
    import uuid

    prefix = f"test-{uuid.uuid4().hex}"
    with open_store(postgres_url) as s:
        def write(t: int) -> None:
            for i in range(25):
                s.add_event(f"{prefix}-{t}", f"item-{i}", "seen", timestamp=i)

        workers = [threading.Thread(target=write, args=(t,)) for t in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        for t in range(4):
            assert [e.item_id for e in s.events(f"{prefix}-{t}")] == [f"item-{i}"
                                                                     for i in range(25)]


def test_postgres_errors_never_show_the_password(postgres_url: str):
    from urllib.parse import urlsplit

    parts = urlsplit(postgres_url)
    host = f"{parts.hostname}:{parts.port or 5432}"
    for url in (f"postgresql://{parts.username}:planted-pw-1@{host}/nodb",  # wrong password
                f"postgresql://u:planted pw 2@{host}/x",  # libpq quotes the bad part
                f"postgresql://u:planted-pw-3@{parts.hostname}:notaport/x"):
        with pytest.raises(StoreError) as info:
            open_store(url)
        text = str(info.value)
        assert "planted" not in text and "cannot connect to Postgres" in text
