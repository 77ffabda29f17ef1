"""Fixtures of the chat page's tests: a real demo bundle, a real Assistant over it (with its
own SQLite history store), and, for the integration and browser tests, the page served on a
free loopback port.

The bundle is the demo data set (synthetic interactions) with the tiny test encoder, built
once per session by :func:`tests.bundles.build_demo_bundle` (about 10 s on one core).
``ENCORE_UI_BUNDLE=PATH`` runs the page's tests on another bundle instead, e.g. the real
demo bundle of ``encore demo --no-launch`` (that is how the README's screenshot is taken).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # --import-mode=importlib does not add it
    sys.path.insert(0, str(REPO))

# Gradio reports usage and checks its version online unless told not to; tests are offline.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

SERVER_START_TIMEOUT_S = 60.0
# Read at import: every test runs with the ENCORE_* variables cleared (tests/conftest.py).
UI_BUNDLE = os.environ.get("ENCORE_UI_BUNDLE")


@pytest.fixture(scope="session")
def demo_bundle(request: pytest.FixtureRequest) -> Path:
    """The session's demo bundle (see tests/conftest.py), or ``ENCORE_UI_BUNDLE``."""
    if UI_BUNDLE:
        path = Path(UI_BUNDLE).resolve()
        from retrieval.bundle_store import has_bundle

        if not has_bundle(path):
            pytest.fail(f"ENCORE_UI_BUNDLE={UI_BUNDLE}: no bundle there (no manifest.json). "
                        "Fix: build one with `encore demo --no-launch`")
        return path
    return request.getfixturevalue("demo_bundle_path")


@pytest.fixture(scope="session")
def assistant(demo_bundle: Path, tmp_path_factory: pytest.TempPathFactory):
    """The real Assistant over the demo bundle, with a fresh SQLite history store.

    Tests share it (loading takes seconds); each test uses its own new user ids so that
    feedback given in one test does not change another's answers.
    """
    from assistant.core import Assistant
    from assistant.settings import Settings

    store = tmp_path_factory.mktemp("ui-store") / "history.sqlite3"
    settings = Settings(bundle_dir=demo_bundle, store={"url": f"sqlite:///{store}"})
    bot = Assistant.from_bundle(demo_bundle, settings)
    yield bot
    bot.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, timeout_s: float = SERVER_START_TIMEOUT_S) -> None:
    """Poll ``url`` until it answers 200, for at most ``timeout_s`` seconds."""
    import httpx

    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s (last error: {last})")


@pytest.fixture(scope="module")
def served_page(assistant) -> Iterator[str]:
    """The chat page served on 127.0.0.1 at a free port; yields its URL."""
    from assistant.ui import launch

    port = free_port()
    app = launch(assistant, host="127.0.0.1", port=port, prevent_thread_lock=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url)
        yield url
    finally:
        app.close()
