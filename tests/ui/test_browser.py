"""End to end in headless Chromium: type a request, see cards, dislike one, ask again, and
see the answer change. Saves a screenshot: ``docs/screenshot.png`` (the one the README
shows) when run on a real bundle (``ENCORE_UI_BUNDLE``, see conftest.py), else
``artifacts/screenshot-test-bundle.png`` (the tiny test bundle's links are arbitrary, so
it never replaces the README's).

Uses Debian's ``chromium`` package through Playwright's Python package; Playwright never
downloads a browser here (``playwright install`` is not needed and not run).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("ENCORE_CHROMIUM", "/usr/bin/chromium"))
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = (REPO / "docs" / "screenshot.png" if os.environ.get("ENCORE_UI_BUNDLE")
              else REPO / "artifacts" / "screenshot-test-bundle.png")
TIMEOUT_MS = 60_000
REQUEST = "a dark crime series"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found. Fix: apt-get install chromium "
                    "(or set ENCORE_CHROMIUM to the browser binary)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), timeout=TIMEOUT_MS,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield b
        b.close()


def _card_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        ".card-slot:not(.hidden) .encore-card", "els => els.map(e => e.dataset.itemId)")


def _ask(page, text: str, turn: int) -> list[str]:
    page.fill("#message textarea", text)
    page.press("#message textarea", "Enter")
    page.wait_for_selector(f'.backend-note[data-turn="{turn}"][data-done="true"]')
    page.wait_for_selector(f'#card-0 .encore-card[data-turn="{turn}"]')
    return _card_ids(page)


def test_dislike_changes_the_next_answer(browser, served_page: str) -> None:
    started = time.monotonic()
    page = browser.new_page(viewport={"width": 1200, "height": 1500})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(served_page)
    page.wait_for_selector("#encore-status .encore-status")  # the assistant is ready
    assert "synthetic" in page.inner_text("#encore-status")
    assert page.input_value("#user-picker input")  # a demo user is picked

    first = _ask(page, REQUEST, turn=1)
    assert len(first) >= 3
    assert "parser: rules" in page.inner_text("#backend-note")
    page.click("#card-0 details summary")  # the evidence expander opens
    assert page.is_visible("#card-0 details li")

    page.click("#dislike-1")
    page.wait_for_selector(f'.encore-feedback[data-item-id="{first[1]}"][data-kind="dislike"]')
    page.wait_for_selector("#card-1 .encore-card.disliked")

    # A new conversation, so the answer is not "more of the same" (which never repeats
    # picks): the same request for the same user, where only the dislike changed.
    page.click("#new-chat")
    page.wait_for_selector("#card-0", state="hidden")
    second = _ask(page, REQUEST, turn=1)
    assert first[1] not in second
    assert len(set(first) & set(second)) >= 3
    page.click("#card-0 details summary")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    tmp = SCREENSHOT.with_suffix(".tmp.png")
    page.screenshot(path=str(tmp), full_page=True)
    os.replace(tmp, SCREENSHOT)
    page.close()
    print(f"browser test: {time.monotonic() - started:.1f} s; screenshot {SCREENSHOT}")
