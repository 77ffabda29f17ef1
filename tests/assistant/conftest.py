"""Fixtures for the assistant tests that need a real bundle.

``demo_bundle`` is built once per session (about ten seconds: the demo catalog with 200
SYNTHETIC users, the tiny test encoder, a quick LightGBM ranker); tests must not modify
it. ``engine`` is a fresh :class:`~assistant.engine.Engine` over it per test.
"""

from __future__ import annotations

import sys
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
