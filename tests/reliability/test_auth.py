"""Issue 14, part 2 "People, not ids", and the front-end input defects of part 7.

Unit tests (no server): the accounts file, the login throttle with a fake clock, the user
each caller may act for, and the input checks of the named endpoints, over a small fake
assistant. Integration tests (``-m integration``): the page served on 127.0.0.1 with two
accounts, called through ``gradio_client`` and plain HTTP.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # --import-mode=importlib does not add it
    sys.path.insert(0, str(REPO))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from assistant.accounts import (  # noqa: E402
    AccountBook,
    AccountError,
    LoginThrottle,
    ThrottlePolicy,
)
from assistant.ui.access import Access, AccessDenied, Viewer  # noqa: E402


def cheap_hasher():
    """argon2id with tiny costs: the real algorithm, fast enough for tests."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def book(tmp_path: Path) -> AccountBook:
    b = AccountBook(tmp_path / "accounts.json", hasher=cheap_hasher())
    b.add("ann", "ann-password", user_id="demo-0001")
    b.add("root", "root-password", admin=True)
    return b


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- accounts file


def test_accounts_file_holds_argon2_hashes_only_and_is_private(book: AccountBook) -> None:
    text = book.path.read_text()
    assert "ann-password" not in text and "$argon2id$" in text
    assert stat.S_IMODE(book.path.stat().st_mode) == 0o600
    assert not [p for p in book.path.parent.iterdir() if p.name.startswith(".accounts-")]
    again = AccountBook(book.path, hasher=cheap_hasher())
    assert again.verify("ann", "ann-password").user_id == "demo-0001"
    assert again.verify("ann", "wrong-password") is None
    assert again.verify("nobody", "ann-password") is None
    assert again.get("root").admin and not again.get("ann").admin


def test_accounts_refuse_duplicates_bad_names_and_short_passwords(book: AccountBook) -> None:
    with pytest.raises(AccountError, match="exists.*--replace"):
        book.add("ann", "another-password")
    with pytest.raises(AccountError, match="invalid login name"):
        book.add("ann smith", "long-enough")
    with pytest.raises(AccountError, match="8 to 1024 characters"):
        book.add("bob", "short")
    book.add("ann", "new-password", user_id="demo-0001", replace=True)
    assert book.verify("ann", "ann-password") is None and book.verify("ann", "new-password")


def test_a_removed_account_stops_working_for_a_reader_of_the_same_file(
        book: AccountBook) -> None:
    reader = AccountBook(book.path, hasher=cheap_hasher())
    access = Access.accounts(reader)
    assert access.viewer(SimpleNamespace(username="ann")).user_id == "demo-0001"
    assert book.remove("ann")
    with pytest.raises(AccessDenied, match="no longer exists"):
        access.viewer(SimpleNamespace(username="ann"))


def test_a_broken_accounts_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text('{"format": 1, "accounts": [{"name": "x"}]}')
    with pytest.raises(AccountError, match=r"account 1 is invalid.*Fix"):
        AccountBook(path, hasher=cheap_hasher()).accounts()


# ---------------------------------------------------------------- login throttle


def _login(access: Access, name: str, password: str) -> str:
    """One sign-in through gradio's auth callable: 'ok', 'wrong' or 'refused' (HTTP 429)."""
    from fastapi import HTTPException

    try:
        return "ok" if asyncio.run(access._login(name, password)) else "wrong"
    except HTTPException as exc:
        assert exc.status_code == 429 and "try again in" in str(exc.detail)
        return "refused"


def test_200_wrong_guesses_are_refused_after_the_limit_and_cool_down_restores(
        book: AccountBook) -> None:
    clock = FakeClock()
    policy = ThrottlePolicy(free_failures=3, base_delay_s=1.0, max_failures=10, lockout_s=300)
    access = Access.accounts(book, policy=policy, clock=clock, failure_delay_s=0.0)
    checked = 0
    original = book.verify

    def counting_verify(name: str, password: str):
        nonlocal checked
        checked += 1
        return original(name, password)

    book.verify = counting_verify  # type: ignore[method-assign]
    outcomes = []
    for _ in range(200):  # as fast as possible, then with the clock moving 0.5 s per try
        outcomes.append(_login(access, "ann", "guess"))
        clock.now += 0.5
    # Back-off after 3 failures (1, 2, 4, 8... s), lock-out after 10: 200 tries over 100 s
    # check the password 10 times; the other 190 are refused without a check.
    assert outcomes.count("wrong") == checked == 10
    assert outcomes.count("refused") == 190
    assert _login(access, "ann", "ann-password") == "refused"  # locked even for the owner
    clock.now += 300
    assert _login(access, "ann", "ann-password") == "ok"
    assert _login(access, "ann", "guess") == "wrong"  # the count started again


def test_a_client_address_that_sprays_names_is_locked_out(book: AccountBook) -> None:
    from assistant.ui import access as access_module

    clock = FakeClock()
    policy = ThrottlePolicy(free_failures=3, max_failures=4, lockout_s=60, address_factor=5)
    access = Access.accounts(book, policy=policy, clock=clock, failure_delay_s=0.0)
    token = access_module._CLIENT.set("203.0.113.9")
    try:
        outcomes = []
        for i in range(40):
            outcomes.append(_login(access, f"name{i}", "guess"))
            clock.now += 0.01
        assert outcomes[:15] == ["wrong"] * 15  # 3 x 5 free failures for one address
        assert outcomes.count("wrong") < 25 and outcomes[-1] == "refused"
    finally:
        access_module._CLIENT.reset(token)
    assert _login(access, "root", "root-password") == "ok"  # another address is not locked


def test_parallel_guesses_on_one_name_wait_for_each_other() -> None:
    throttle = LoginThrottle(ThrottlePolicy(), clock=FakeClock())
    assert throttle.begin(["user:ann", "addr:a"]) == 0.0
    assert throttle.begin(["user:ann", "addr:b"]) > 0  # same name, still being checked
    assert throttle.begin(["user:bob", "addr:a"]) == 0.0
    throttle.failed(["user:ann", "addr:a"])
    assert throttle.begin(["user:ann", "addr:b"]) == 0.0


# ---------------------------------------------------------------- who acts for whom


class FakeAssistant:
    """Records what the page asks of it (a unit-test fake of the Assistant)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def chat_stream(self, *a):  # marks it as an assistant for AssistantLoader
        raise AssertionError("not used")

    def new_user_id(self) -> str:
        return "new-1234"

    def history(self, user_id: str, limit: int = 50) -> list:
        self.calls.append(("history", user_id, limit))
        return []

    def feedback(self, user_id: str, item_id: str, kind, session_id=None) -> None:
        self.calls.append(("feedback", user_id, item_id, kind.value))

    def item(self, item_id: str):
        return SimpleNamespace(id=item_id, title="A title")

    def recommend(self, user_id: str, query, k: int = 10) -> list:
        self.calls.append(("recommend", user_id, query, k))
        return []

    def chat(self, session_id: str, user_id: str, message: str):
        self.calls.append(("chat", user_id, message))
        return SimpleNamespace(model_dump=lambda mode: {"user_id": user_id})


@pytest.fixture
def page():
    from assistant.ui.page import AssistantLoader, ChatPage

    return ChatPage(AssistantLoader(FakeAssistant()))


ANN = Viewer(name="ann", user_id="demo-0001")
ROOT = Viewer(name="root", user_id="root", admin=True)


def test_another_users_history_and_feedback_are_refused(page) -> None:
    import gradio as gr

    with pytest.raises(gr.Error, match="user_id 'demo-0002' is not yours.*Fix"):
        page.api_history("demo-0002", 5, viewer=ANN)
    with pytest.raises(gr.Error, match="is not yours"):
        page.api_feedback("demo-0002", "mv-x", "like", "", viewer=ANN)
    with pytest.raises(gr.Error, match="is not yours"):
        page.api_chat("hi", "demo-0002", "", viewer=ANN)
    with pytest.raises(gr.Error, match="is not yours"):
        page.api_recommend("demo-0002", "", 5, viewer=ANN)
    assert page.loader.get().calls == []  # nothing read or written
    page.api_history("", 5, viewer=ANN)
    page.api_feedback("demo-0001", "mv-x", "like", "", viewer=ANN)
    page.api_chat("hi", "", "", viewer=ANN)
    assert page.loader.get().calls == [("history", "demo-0001", 5),
                                       ("feedback", "demo-0001", "mv-x", "like"),
                                       ("chat", "demo-0001", "hi")]


def test_an_admin_and_the_open_demo_may_pick_any_user(page) -> None:
    page.api_history("demo-0002", 5, viewer=ROOT)
    page.api_history("demo-0003", 5, viewer=Viewer())
    assert [c[1] for c in page.loader.get().calls] == ["demo-0002", "demo-0003"]


def test_the_page_hides_other_users_from_a_signed_in_person(page) -> None:
    page.loader.get().users = lambda limit=50: ["demo-0001", "demo-0002"]
    page.loader.get().backend_note = lambda: "rules"
    page.loader.get().user_summary = lambda u: f"summary of {u}"
    html_, choices, user, summary, _ = page.status("demo-0002", ANN)
    assert (choices, user, summary) == (["demo-0001"], "demo-0001", "summary of demo-0001")
    assert "Signed in as ann" in html_
    assert page.new_user(ANN)[0] is None
    line, _, _ = page.feedback(0, "like", [_rec()], {}, "demo-0002", None, ANN)
    assert "is not yours" in line and page.loader.get().calls == []


def test_demo_mode_says_so_on_the_page() -> None:
    from assistant.ui.page import AssistantLoader, ChatPage

    bot = FakeAssistant()
    bot.users, bot.backend_note = (lambda limit=50: ["demo-0001"]), (lambda: "rules")
    bot.user_summary = lambda u: ""
    html_, choices, *_ = ChatPage(AssistantLoader(bot), access=Access.open(demo=True)).status(
        None, Viewer())
    assert "Demo mode: anyone can pick any demo user" in html_ and choices == ["demo-0001"]


def _rec():
    from assistant.reply import Recommendation

    return Recommendation(item_id="mv-x", title="X", media_type="movie", rank=1)


# ---------------------------------------------------------------- bad front-end calls

BAD_CALLS = [
    ("recommend", ("demo-0001", "", "abc"), "k must be a whole number from 1 to 50"),
    ("recommend", ("demo-0001", "", 10**9), "k must be from 1 to 50"),
    ("recommend", ("demo-0001", "", True), "k must be a whole number"),
    ("recommend", ("demo-0001", "\ud800 films", 5), "query contains a lone surrogate"),
    ("recommend", ("demo\u202e-1", "", 5), "user_id contains a control or bidi"),
    ("chat", ("\ud83d", "", ""), "message contains a lone surrogate"),
    ("chat", ("", "", ""), "message is empty"),
    ("chat", ("   ", "", ""), "message is empty"),
    ("chat", ("x" * 100_000, "", ""), "message is too long"),
    ("chat", ("films\x00", "", ""), "message contains a control"),
    ("chat", ("films", "", "s\u2066id"), "session_id contains a control or bidi"),
    ("chat", (["films"], "", ""), "message must be text"),
    ("history", ("demo-0001", "ten"), "limit must be a whole number"),
    ("history", ("demo-0001", -1), "limit must be from 1 to 1000"),
    ("history", ("u" * 201, 5), "user_id is too long"),
    ("feedback", ("demo-0001", "", "like", ""), "item_id is empty"),
    ("feedback", ("demo-0001", "mv-x", "love", ""), "unknown feedback kind"),
    ("feedback", ("demo-0001", "mv x", "like", ""), "item_id 'mv x' contains a space"),
]


@pytest.mark.parametrize(("endpoint", "args", "message"), BAD_CALLS,
                         ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(BAD_CALLS)])
def test_bad_front_end_calls_get_a_clear_error(page, endpoint, args, message) -> None:
    import gradio as gr

    with pytest.raises(gr.Error) as caught:
        getattr(page, f"api_{endpoint}")(*args, viewer=Viewer())
    text = str(caught.value.message)
    assert message in text and "Fix" in text and "went wrong" not in text
    assert page.loader.get().calls == []


def test_the_page_shows_no_nul_or_bidi_override_characters() -> None:
    from assistant.reply import Recommendation
    from assistant.ui.render import render_card

    rec = Recommendation(item_id="mv-x", title="Evil\u202etxt.exe\x00", media_type="movie",
                         rank=1, explanation="ok\u2067 now")
    card = render_card(rec)
    assert "\u202e" not in card and "\x00" not in card and "\u2067" not in card
    assert "Eviltxt.exe" in card


def test_a_chat_message_with_a_bidi_override_is_refused_in_the_page(page) -> None:
    frame = next(page.respond("a \u202ethriller", [], None, None, Viewer()))
    assert "control or bidi-override character (U+202E" in frame[6]


# ---------------------------------------------------------------- serving modes


def test_serve_refuses_an_open_page_on_a_public_address(tmp_path: Path) -> None:
    from assistant.commands.serve import choose_access
    from assistant.settings import UISettings

    ui = UISettings(accounts_file=tmp_path / "none.json")
    quiet = lambda msg: None  # noqa: E731
    with pytest.raises(ValueError, match="refusing to serve.*encore users add"):
        choose_access(ui, host="0.0.0.0", say=quiet)
    assert choose_access(ui, host="127.0.0.1", say=quiet).mode == "open"
    demo = choose_access(ui, host="0.0.0.0", demo_mode=True, say=quiet)
    assert demo.mode == "open" and demo.demo
    AccountBook(ui.accounts_file, hasher=cheap_hasher()).add("ann", "ann-password")
    assert choose_access(ui, host="0.0.0.0", say=quiet).mode == "accounts"
    assert choose_access(ui, host="127.0.0.1", trusted_header="X-Forwarded-User",
                         say=quiet).mode == "header"


def test_users_add_reads_the_password_from_stdin_never_argv(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    path = tmp_path / "acc.json"
    result = CliRunner().invoke(app, ["users", "add", "ann", "--user-id", "demo-0001",
                                      "--password-stdin", "--accounts", str(path)],
                                input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert "a-long-password" not in path.read_text()
    assert AccountBook(path).verify("ann", "a-long-password").user_id == "demo-0001"
    listed = CliRunner().invoke(app, ["users", "list", "--accounts", str(path)])
    assert listed.output.split() == ["ann", "demo-0001", "user"]


# ---------------------------------------------------------------- a real server (integration)


def _serve(bundle: Path, tmp: Path, access_for):
    """The page over the demo bundle on a free loopback port, with two accounts."""
    from assistant.core import Assistant
    from assistant.settings import Settings
    from assistant.ui import launch
    from tests.ui.conftest import free_port

    book = AccountBook(tmp / "accounts.json", hasher=cheap_hasher())
    book.add("ann", "ann-password", user_id="demo-0001")
    book.add("root", "root-password", admin=True)
    settings = Settings(bundle_dir=bundle, store={"url": f"sqlite:///{tmp / 'h.sqlite3'}"})
    bot = Assistant.from_bundle(bundle, settings)
    port = free_port()
    app = launch(bot, host="127.0.0.1", port=port, access=access_for(book),
                 prevent_thread_lock=True)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):  # the login page answers once the server is up (bounded: 60 s)
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return app, bot, url


def raw_call(url: str, auth: tuple[str, str], api_name: str, data: list) -> str:
    """Call a named endpoint over plain HTTP, as any client can (gradio_client cannot send
    a lone surrogate; JSON's \\ud800 escape can). Returns the event stream's text."""
    with httpx.Client(base_url=url, timeout=60) as http:
        http.post("login", data={"username": auth[0], "password": auth[1]}).raise_for_status()
        body = json.dumps({"data": data})  # ensure_ascii: a lone surrogate becomes \\ud800
        r = http.post(f"gradio_api/call/{api_name}", content=body,
                      headers={"content-type": "application/json"})
        r.raise_for_status()
        return http.get(f"gradio_api/call/{api_name}/{r.json()['event_id']}").text


@pytest.fixture(scope="module")
def signed_in_server(demo_bundle_path: Path, tmp_path_factory: pytest.TempPathFactory):
    app, bot, url = _serve(demo_bundle_path, tmp_path_factory.mktemp("auth-srv"),
                           lambda book: Access.accounts(book, failure_delay_s=0.0))
    yield url
    app.close()
    bot.close()


def _client(url: str, auth=None):
    from gradio_client import Client

    return Client(url, auth=auth, verbose=False, download_files=False,
                  analytics_enabled=False, httpx_kwargs={"timeout": 60})


@pytest.mark.integration
def test_server_refuses_another_users_history_and_feedback(signed_in_server: str) -> None:
    from gradio_client.exceptions import AppError

    ann = _client(signed_in_server, ("ann", "ann-password"))
    with pytest.raises(AppError, match="user_id 'demo-0002' is not yours"):
        ann.predict("demo-0002", 5, api_name="/history")
    with pytest.raises(AppError, match="is not yours"):
        ann.predict("demo-0002", "mv-arrival-2016", "like", "", api_name="/feedback")
    own = ann.predict("", 5, api_name="/history")
    assert own == ann.predict("demo-0001", 5, api_name="/history")
    root = _client(signed_in_server, ("root", "root-password"))
    before = root.predict("demo-0002", 50, api_name="/history")
    assert before and all(h["source"] != "feedback" for h in before)  # nothing was written


@pytest.mark.integration
def test_server_admin_may_pick_any_user_and_strangers_get_nothing(
        signed_in_server: str) -> None:
    root = _client(signed_in_server, ("root", "root-password"))
    assert root.predict("demo-0003", 3, api_name="/history")
    with pytest.raises(Exception, match="Invalid credentials|Could not login"):
        _client(signed_in_server, ("ann", "not-her-password"))
    body = {"data": ["demo-0002", 5]}
    anonymous = httpx.post(signed_in_server + "gradio_api/call/history", json=body, timeout=30)
    assert anonymous.status_code in (401, 403)


@pytest.mark.integration
def test_server_bad_calls_get_clear_errors(signed_in_server: str) -> None:
    from gradio_client.exceptions import AppError

    ann = _client(signed_in_server, ("ann", "ann-password"))
    with pytest.raises(AppError, match="k must be a whole number from 1 to 50"):
        ann.predict("", "", "abc", api_name="/recommend")
    with pytest.raises(AppError, match="k must be from 1 to 50"):
        ann.predict("", "", 10**9, api_name="/recommend")
    answer = raw_call(signed_in_server, ("ann", "ann-password"), "chat",
                      ["\ud800 thrillers", "", ""])
    assert "event: error" in answer and "message contains a lone surrogate" in answer


@pytest.mark.integration
def test_server_login_is_throttled_and_works_after_the_cool_down(
        demo_bundle_path: Path, tmp_path: Path) -> None:
    policy = ThrottlePolicy(free_failures=2, base_delay_s=0.2, max_failures=5, lockout_s=2.0)
    app, bot, url = _serve(demo_bundle_path, tmp_path,
                           lambda book: Access.accounts(book, policy=policy,
                                                        failure_delay_s=0.0))
    try:
        codes = []
        for _ in range(30):
            r = httpx.post(url + "login", data={"username": "ann", "password": "guess"},
                           timeout=30)
            codes.append(r.status_code)
        assert codes.count(400) <= 5 and codes.count(429) >= 25
        refused = httpx.post(url + "login", data={"username": "ann", "password": "guess"},
                             timeout=30)
        assert "too many failed sign-ins" in refused.text and "Retry-After" in refused.headers
        time.sleep(2.2)
        ok = httpx.post(url + "login", data={"username": "ann", "password": "ann-password"},
                        timeout=30)
        assert ok.status_code == 200
    finally:
        app.close()
        bot.close()


@pytest.mark.integration
def test_server_behind_a_proxy_trusts_only_the_enabled_header(
        demo_bundle_path: Path, tmp_path: Path) -> None:
    app, bot, url = _serve(demo_bundle_path, tmp_path,
                           lambda book: Access.trusted_header("X-Forwarded-User", book))
    try:
        def history(headers: dict, user: str) -> tuple[int, str]:
            with httpx.Client(base_url=url, timeout=60, headers=headers) as http:
                r = http.post("gradio_api/call/history", json={"data": [user, 5]})
                if r.status_code != 200:
                    return r.status_code, r.text
                return 200, http.get(f"gradio_api/call/history/{r.json()['event_id']}").text

        code, text = history({"X-Forwarded-User": "ann"}, "demo-0001")
        assert code == 200 and "event: complete" in text
        code, text = history({"X-Forwarded-User": "ann"}, "demo-0002")
        assert "event: error" in text and "is not yours" in text
        assert "event: complete" in history({"X-Forwarded-User": "root"}, "demo-0002")[1]
        assert history({}, "demo-0002")[0] == 401  # no header: nobody
        assert history({"X-Forwarded-User": "ann smith"}, "")[0] == 401  # not a login name
    finally:
        app.close()
        bot.close()


def test_encore_serve_on_a_public_address_without_sign_in_is_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app
    from tests.ui.conftest import free_port

    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "manifest.json").write_text("{}")
    env = {"ENCORE_UI__ACCOUNTS_FILE": str(tmp_path / "accounts.json")}
    result = CliRunner().invoke(app, ["serve", "--bundle", str(tmp_path / "bundle"), "--host",
                                      "0.0.0.0", "--port", str(free_port())], env=env)
    assert result.exit_code == 2
    assert "refusing to serve the page on 0.0.0.0 with no sign-in" in result.output
    assert "encore users add" in result.output and "--demo-mode" in result.output
