"""End to end in headless Chromium, on a 1280x800 desktop and a 390x844 phone: type a
request and see the answer's cards inside the chat (the first ones in view, the input
reachable), dislike one and see the next answer change and say so, keep earlier turns'
cards, undo a like, survive a reload, and find internals only behind "details".

Saves screenshots: ``docs/screenshot.png`` and ``docs/screenshot-phone.png`` (the README's)
when run on a real bundle (``ENCORE_UI_BUNDLE``, see conftest.py), else
``artifacts/screenshot-test-bundle.png`` and ``artifacts/screenshot-phone-test-bundle.png``
(the tiny test bundle's picks are arbitrary, so they never replace the README's).

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
REAL = bool(os.environ.get("ENCORE_UI_BUNDLE"))
SCREENSHOT = REPO / "docs" / "screenshot.png" if REAL else \
    REPO / "artifacts" / "screenshot-test-bundle.png"
PHONE_SCREENSHOT = REPO / "docs" / "screenshot-phone.png" if REAL else \
    REPO / "artifacts" / "screenshot-phone-test-bundle.png"
TIMEOUT_MS = 60_000
REQUEST = "a dark crime series"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Words of the pipeline's insides that the main view never shows.
INTERNAL = ("dense", "Score", "lightgbm", "ranker:", "parser:", " ms")


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


def open_page(browser, url: str, viewport: dict | None = None):
    page = browser.new_page(viewport=viewport or DESKTOP, accept_downloads=True)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#encore-status .encore-status")  # the assistant is ready
    return page


def _card_ids(page, turn: int) -> list[str]:
    """Item ids of the cards of the answers of turn ``turn``, in order (the chat keeps a
    card's Like button's value; it drops data-* attributes)."""
    return page.eval_on_selector_all(f"#chat .encore-reply.turn-{turn} .fb-like",
                                     "els => els.map(e => e.value)")


def _ask(page, text: str, turn: int) -> list[str]:
    page.fill("#message textarea", text)
    page.press("#message textarea", "Enter")
    page.wait_for_selector(f'.backend-note[data-turn="{turn}"][data-done="true"]')
    page.wait_for_selector(f"#chat .encore-reply.turn-{turn} .encore-card")
    page.wait_for_timeout(300)  # the page's script scrolls the answer into view
    return _newest_ids(page)


def _newest_ids(page) -> list[str]:
    return page.evaluate("""() => {
        const r = [...document.querySelectorAll('#chat .encore-reply')].pop();
        return r ? [...r.querySelectorAll('.fb-like')].map(e => e.value) : []; }""")


def _press(page, kind: str, item_id: str) -> None:
    """Click Like or Dislike on the newest card of ``item_id``."""
    page.locator(f'#chat button[name="encore-{kind}"][value="{item_id}"]').last.click()


def _in_view(page, selector: str) -> bool:
    """Whether the element is wholly inside the window, without scrolling the page."""
    box = page.locator(selector).first.bounding_box()
    vp = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= vp["height"] \
        and box["x"] >= 0 and box["x"] + box["width"] <= vp["width"]


def _shot(page, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    page.screenshot(path=str(tmp))
    os.replace(tmp, path)


def test_cards_in_the_chat_dislike_changes_the_next_answer(browser, served_page: str) -> None:
    started = time.monotonic()
    page = open_page(browser, served_page)
    assert "synthetic" in page.inner_text("#encore-status")
    assert page.input_value("#user-picker input")  # a demo user is picked
    assert _in_view(page, "#message textarea")

    first = _ask(page, REQUEST, turn=1)
    assert len(first) >= 3
    assert page.evaluate("window.scrollY") == 0  # the page itself did not scroll
    for selector in ("#chat .encore-reply.turn-1 .encore-card", "#message textarea"):
        assert _in_view(page, selector), selector  # the first card and the input, at once
    second_card = page.locator("#chat .encore-reply.turn-1 .encore-card").nth(1)
    assert second_card.bounding_box()["y"] + 60 < page.viewport_size["height"]
    main = page.inner_text("#encore-root")
    assert not [w for w in INTERNAL if w in main], main  # internals only behind "details"
    page.click("#backend-note details summary")
    assert "parser: rules" in page.inner_text("#backend-note")
    page.locator("#chat .encore-card details summary").first.click()  # "Why this pick"
    assert page.locator("#chat .encore-card details li").first.is_visible()

    _press(page, "dislike", first[1])
    page.wait_for_selector(f'.encore-feedback[data-item-id="{first[1]}"][data-kind="dislike"]')
    page.wait_for_selector(f'#chat button.fb-dislike.pressed[value="{first[1]}"]')
    title = page.locator(f'#chat button.fb-dislike[value="{first[1]}"]').first.evaluate(
        "b => b.closest('.encore-card').querySelector('.title').textContent")

    # A new conversation, so the answer is not "more of the same" (which never repeats
    # picks): the same request for the same user, where only the dislike changed.
    page.click("#new-chat")
    page.wait_for_selector("#chat .encore-card", state="detached")
    again = _ask(page, REQUEST, turn=1)
    assert first[1] not in again
    assert len(set(first) & set(again)) >= 3
    assert f"Updated after your dislike of {title}." in page.inner_text(
        "#chat .encore-reply.turn-1")
    # A second turn: the first answer keeps its cards, the newest starts in view.
    _ask(page, "something lighter", turn=2)
    assert page.locator("#chat .encore-reply.turn-1 .encore-card").count() == len(again)
    assert _in_view(page, "#chat .encore-reply.turn-2 .encore-card")
    page.wait_for_timeout(300)
    _shot(page, SCREENSHOT)
    page.close()
    print(f"browser test: {time.monotonic() - started:.1f} s; screenshot {SCREENSHOT}")


def test_a_like_pressed_again_is_undone(browser, served_page: str, assistant) -> None:
    page = open_page(browser, served_page)
    page.click("#new-user")
    page.wait_for_function("document.querySelector('#user-picker input').value.startsWith('new-')")
    user = page.input_value("#user-picker input")
    ids = _ask(page, REQUEST, turn=1)
    _press(page, "like", ids[0])
    page.wait_for_selector(f'#chat button.fb-like.pressed[value="{ids[0]}"]')
    assert [e.item_id for e in assistant.store.events(user)] == [ids[0]]
    assert page.inner_text(f'#chat button.fb-like[value="{ids[0]}"]') == "Liked"
    _press(page, "like", ids[0])
    page.wait_for_selector('.encore-feedback[data-kind="undone"]')
    assert page.locator("#chat button.pressed").count() == 0
    assert assistant.store.events(user) == []
    page.close()


def test_a_reload_restores_the_conversation(browser, served_page: str) -> None:
    page = open_page(browser, served_page)
    page.click("#new-user")
    page.wait_for_function("document.querySelector('#user-picker input').value.startsWith('new-')")
    user = page.input_value("#user-picker input")
    first = _ask(page, REQUEST, turn=1)
    _press(page, "dislike", first[0])
    page.wait_for_selector(f'#chat button.fb-dislike.pressed[value="{first[0]}"]')
    second = _ask(page, "something funnier", turn=2)
    page.reload()
    page.wait_for_selector("#chat .encore-reply.turn-2 .encore-card")
    assert page.input_value("#user-picker input") == user
    assert _card_ids(page, 1)[:len(first)] == first and _newest_ids(page) == second
    assert page.locator(f'#chat button.fb-dislike.pressed[value="{first[0]}"]').count() >= 1
    # The restored conversation goes on where it was: the turn after is the third.
    _ask(page, "more like the first one", turn=3)
    page.close()


def test_phone_layout(browser, served_page: str) -> None:
    page = open_page(browser, served_page, PHONE)
    assert _in_view(page, "#message textarea")  # the input on the first screen
    _ask(page, REQUEST, turn=1)
    assert _in_view(page, "#message textarea")
    assert _in_view(page, "#chat .encore-reply.turn-1 .encore-card")
    assert page.evaluate("document.documentElement.scrollHeight") <= PHONE["height"] + 400
    heights = page.eval_on_selector_all("#chat .encore-card",
                                        "els => els.map(e => e.getBoundingClientRect().height)")
    assert max(heights) < 260, heights  # compact cards, no full-width stacked buttons
    widths = page.eval_on_selector_all("#chat .encore-card .fb",
                                       "els => els.map(e => e.getBoundingClientRect().width)")
    assert max(widths) < PHONE["width"] / 2
    main = page.inner_text("#encore-root")
    assert not [w for w in INTERNAL if w in main]
    _shot(page, PHONE_SCREENSHOT)
    page.close()
