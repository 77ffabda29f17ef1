"""End to end in headless Chromium: like and dislike cards, open "Your history" (desktop and
phone), see them newest first, remove one, and find it gone from the history store and
its card's button no longer pressed; "show me my history" typed in the chat answers with the
history."""

from __future__ import annotations

import pytest

from tests.ui.test_browser import PHONE, _ask, _press, browser, open_page  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_history_view_lists_and_removes(browser, served_page: str, assistant,  # noqa: F811
                                        viewport) -> None:
    page = open_page(browser, served_page, viewport)
    page.click("#new-user")
    page.wait_for_function("document.querySelector('#user-picker input').value.startsWith('new-')")
    user = page.input_value("#user-picker input")
    ids = _ask(page, "a dark crime series", turn=1)
    _press(page, "like", ids[0])
    page.wait_for_selector(f'#chat button.fb-like.pressed[value="{ids[0]}"]')
    _press(page, "dislike", ids[1])
    page.wait_for_selector(f'#chat button.fb-dislike.pressed[value="{ids[1]}"]')

    page.get_by_role("tab", name="Your history").click()
    page.wait_for_selector('#history-view .encore-history[data-items="2"]')
    rows = page.eval_on_selector_all("#history-view li",
                                     "els => els.map(e => [e.dataset.itemId, e.dataset.kind])")
    assert rows == [[ids[1], "dislike"], [ids[0], "like"]]  # newest first
    assert "disliked" in page.inner_text("#history-view li >> nth=0")
    page.click(f'#history-view button[name="encore-forget"][value="{ids[0]}"]')
    page.wait_for_selector('#history-view .encore-history[data-items="1"]')
    assert [e.item_id for e in assistant.store.events(user)] == [ids[1]]
    page.screenshot(path=f"artifacts/history-{'phone' if viewport else 'desktop'}.png")
    page.get_by_role("tab", name="Chat").click()
    assert page.locator(f'#chat button.fb-like.pressed[value="{ids[0]}"]').count() == 0
    assert page.locator(f'#chat button.fb-dislike.pressed[value="{ids[1]}"]').count() == 1
    page.close()
