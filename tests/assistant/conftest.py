"""Fixtures for the assistant tests that need a real bundle.

``demo_bundle`` is built once per session (about ten seconds: the demo catalog with 200
SYNTHETIC users, the tiny test encoder, a quick LightGBM ranker); tests must not modify
it. ``engine`` is a fresh :class:`~assistant.engine.Engine` over it per test.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # `tests.bundles` is imported from the repository root
    sys.path.insert(0, _ROOT)



@pytest.fixture(scope="session")
def demo_bundle(demo_bundle_path: Path):
    """The session's demo bundle, loaded (shared: do not modify it)."""
    from retrieval.bundle import Bundle

    return Bundle.load(demo_bundle_path)


@pytest.fixture()
def engine(demo_bundle):
    """An :class:`~assistant.engine.Engine` over the demo bundle with default settings."""
    from assistant.engine import Engine
    from assistant.settings import Settings

    return Engine.from_bundle(demo_bundle, Settings())


# Read at import: the autouse fixture in tests/conftest.py hides ENCORE_* variables from tests.
_POSTGRES_URL = os.environ.get("ENCORE_TEST_POSTGRES_URL", "")
_REQUIRE_POSTGRES = os.environ.get("ENCORE_REQUIRE_POSTGRES", "") not in ("", "0")


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A history store several processes can share: a SQLite file, and (when
    ENCORE_TEST_POSTGRES_URL is set, as CI sets it) a Postgres schema of the test's own."""
    yield from _store_url(request.param, tmp_path)


@pytest.fixture()
def one_shared_store_url(tmp_path: Path):
    """One shared store for the tests that start servers (each run costs a minute): the
    Postgres schema when ENCORE_TEST_POSTGRES_URL is set, else a SQLite file."""
    yield from _store_url("postgres" if _POSTGRES_URL else "sqlite", tmp_path)


def _store_url(kind: str, tmp_path: Path):
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'history.sqlite3'}"
        return
    if not _POSTGRES_URL:
        if _REQUIRE_POSTGRES:
            pytest.fail("ENCORE_REQUIRE_POSTGRES is set but ENCORE_TEST_POSTGRES_URL is not")
        pytest.skip("set ENCORE_TEST_POSTGRES_URL (tests/setup/postgres.sh starts a server)")
    import psycopg

    schema = f"encore_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in _POSTGRES_URL else "?"
    yield f"{_POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(_POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
