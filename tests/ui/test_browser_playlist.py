"""End to end in headless Chromium: ask for a playlist, see it whole (numbered, each length,
the total), and download it as M3U and JSON. Uses Debian's ``chromium`` through
Playwright (no browser download), like test_browser.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("ENCORE_CHROMIUM", "/usr/bin/chromium"))
TIMEOUT_MS = 60_000


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


def test_playlist_block_and_downloads(browser, served_page: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1600}, accept_downloads=True)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(served_page)
    page.wait_for_selector("#encore-status .encore-status")
    page.fill("#message textarea", "a 45-minute playlist of pop")
    page.press("#message textarea", "Enter")
    page.wait_for_selector('.backend-note[data-turn="1"][data-done="true"]')
    page.wait_for_selector("#playlist-block .encore-playlist")
    positions = page.eval_on_selector_all("#playlist-block li",
                                          "els => els.map(e => e.dataset.position)")
    assert positions == [str(i) for i in range(1, len(positions) + 1)] and len(positions) > 3
    assert "asked for" in page.inner_text("#playlist-block .total")
    page.wait_for_selector("#playlist-m3u", state="visible")
    with page.expect_download() as got:
        page.click("#playlist-m3u")
    m3u = tmp_path / "p.m3u"
    got.value.save_as(str(m3u))
    lines = m3u.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and len(lines) == 2 + 2 * len(positions)
    with page.expect_download() as got:
        page.click("#playlist-json")
    js = tmp_path / "p.json"
    got.value.save_as(str(js))
    assert len(json.loads(js.read_text(encoding="utf-8"))["items"]) == len(positions)
    page.close()
