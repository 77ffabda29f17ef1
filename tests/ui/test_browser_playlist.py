"""End to end in headless Chromium: ask for a playlist, see it whole in the answer
(numbered, each length, the total), then in the Playlist view move an item up, remove one,
see the numbers and the total follow, and download it as M3U and JSON in the new order.
Uses Debian's ``chromium`` through Playwright (no browser download), like test_browser.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ui.test_browser import PHONE, browser, open_page  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def _order(page) -> list[str]:
    return page.eval_on_selector_all("#playlist-block li",
                                     "els => els.map(e => e.dataset.itemId)")


def _total(page) -> str:
    return page.inner_text("#playlist-block .total")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_playlist_reorder_remove_and_export(browser, served_page: str,  # noqa: F811
                                            tmp_path: Path, viewport) -> None:
    page = open_page(browser, served_page, viewport)
    page.context.set_default_timeout(60_000)
    page.fill("#message textarea", "a 45-minute playlist of pop")
    page.press("#message textarea", "Enter")
    page.wait_for_selector('.backend-note[data-turn="1"][data-done="true"]')
    page.wait_for_selector("#chat .encore-reply.turn-1 .encore-playlist")
    in_chat = page.locator("#chat .encore-playlist li").count()
    assert in_chat > 3 and "asked for" in page.inner_text("#chat .encore-playlist .total")

    page.get_by_role("tab", name="Playlist").click()
    page.wait_for_selector("#playlist-block .encore-playlist")
    positions = page.eval_on_selector_all("#playlist-block li",
                                          "els => els.map(e => e.dataset.position)")
    assert positions == [str(i) for i in range(1, in_chat + 1)]
    before, total_before = _order(page), _total(page)
    page.click('#playlist-block button[name="encore-up"][value="3"]')
    page.wait_for_function(
        f"document.querySelector('#playlist-block li').parentElement.children[1]"
        f".dataset.itemId === {json.dumps(before[2])}")
    moved = [before[0], before[2], before[1], *before[3:]]
    assert _order(page) == moved and _total(page) == total_before  # same items, same total
    page.click('#playlist-block button[name="encore-remove"][value="1"]')
    page.wait_for_function(f"document.querySelectorAll('#playlist-block li').length === "
                           f"{len(before) - 1}")
    assert _order(page) == moved[1:] and _total(page) != total_before
    assert page.eval_on_selector_all("#playlist-block li",
                                     "els => els.map(e => e.dataset.position)") == \
        [str(i) for i in range(1, len(before))]

    page.wait_for_selector("#playlist-m3u", state="visible")
    with page.expect_download() as got:
        page.click("#playlist-m3u")
    m3u = tmp_path / "p.m3u"
    got.value.save_as(str(m3u))
    lines = m3u.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and len(lines) == 2 + 2 * (len(before) - 1)
    assert [ln.removeprefix("encore:item/") for ln in lines[3::2]] == moved[1:]
    with page.expect_download() as got:
        page.click("#playlist-json")
    js = tmp_path / "p.json"
    got.value.save_as(str(js))
    assert [e["id"] for e in json.loads(js.read_text(encoding="utf-8"))["items"]] == moved[1:]
    page.screenshot(path=str(Path(__file__).resolve().parents[2] / "artifacts" /
                             f"playlist-{'phone' if viewport else 'desktop'}.png"))
    page.close()
