"""Signed in, in headless Chromium: a person who is not an admin sees only their own user
(no user picker), and their likes go into their own history; an admin sees the picker.
The page is served with two accounts (argon2 hashes with tiny costs) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.conftest import free_port, wait_until_serving
from tests.ui.test_browser import TIMEOUT_MS, _ask, _press, browser  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def signed_in_page(assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from argon2 import PasswordHasher

    from assistant.accounts import AccountBook
    from assistant.ui import launch
    from assistant.ui.access import Access

    path = tmp_path_factory.mktemp("accounts") / "accounts.json"
    book = AccountBook(path, hasher=PasswordHasher(time_cost=1, memory_cost=1024,
                                                   parallelism=1))
    book.add("ann", "ann-password", user_id="browser-ann")
    book.add("root", "root-password", admin=True)
    port = free_port()
    app = launch(assistant, host="127.0.0.1", port=port, access=Access.accounts(book),
                 prevent_thread_lock=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url)
        yield url
    finally:
        app.close()


def _sign_in(browser, url: str, name: str, password: str):  # noqa: F811
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.fill("input[type=text]", name)
    page.fill("input[type=password]", password)
    page.click("button:has-text('Login')")
    page.wait_for_selector("#encore-status .encore-access")
    return page


def test_a_person_sees_only_their_own_user(browser, signed_in_page: str,  # noqa: F811
                                           assistant) -> None:
    page = _sign_in(browser, signed_in_page, "ann", "ann-password")
    page.wait_for_selector("#encore-status .encore-status")
    assert "Signed in as ann (user browser-ann)" in page.inner_text("#encore-status")
    assert not page.is_visible("#user-picker") and not page.is_visible("#new-user")
    cards = _ask(page, "a dark crime series", turn=1)
    _press(page, "like", cards[0])
    page.wait_for_selector(f'.encore-feedback[data-item-id="{cards[0]}"][data-kind="like"]')
    assert [(e.user_id, e.item_id) for e in assistant.store.events("browser-ann")] == \
        [("browser-ann", cards[0])]
    page.close()


def test_an_admin_sees_the_user_picker(browser, signed_in_page: str) -> None:  # noqa: F811
    page = _sign_in(browser, signed_in_page, "root", "root-password")
    page.wait_for_selector("#encore-status .encore-status")
    assert "admin" in page.inner_text("#encore-status")
    assert page.is_visible("#user-picker")
    page.close()


def test_a_wrong_password_does_not_open_the_page(browser, signed_in_page: str  # noqa: F811
                                                 ) -> None:
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(signed_in_page)
    page.fill("input[type=text]", "ann")
    page.fill("input[type=password]", "not-her-password")
    page.click("button:has-text('Login')")
    page.wait_for_timeout(1500)
    assert not page.query_selector("#encore-status")
    page.close()


def test_sign_out_ends_the_session(browser, signed_in_page: str) -> None:  # noqa: F811
    page = _sign_in(browser, signed_in_page, "ann", "ann-password")
    page.click("#encore-status a.sign-out")
    page.wait_for_selector("input[type=password]")
    page.close()
