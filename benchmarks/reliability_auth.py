"""Auth: people, not ids. Starts the page on 127.0.0.1 with two accounts and attacks it.

1. Cross-user calls: each account asks ``/history``, ``/feedback``, ``/chat`` and
   ``/recommend`` for the other's user id (counted refused), and the other's history is
   checked unchanged.
2. 200 wrong passwords for one name, as fast as one client can send them (time taken, how
   many passwords were checked, how many were refused by the back-off and lock-out).
3. 200 different names from the same address (password spraying): refused by the
   per-address lock-out.
4. Bad front-end calls over plain HTTP (lone surrogates, ``k="abc"``, ``k=10**9``, empty
   and 100,000-character messages, NUL and bidi overrides): counted when the error names the
   field and the fix (never "something went wrong").

Passwords are hashed with argon2-cffi's defaults (the real cost of a sign-in). The bundle is
``--bundle`` (default ``.encore/bundle``), or a tiny test bundle built in a temporary folder.

Run (2 CPU cores; about 1 minute):
    PYTHONPATH=. .venv/bin/python benchmarks/reliability_auth.py
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import argparse  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python benchmarks/reliability_auth.py` from the repo root
    sys.path.insert(0, str(REPO))

PASSWORDS = {"ann": "ann-password-1", "bob": "bob-password-1"}


def _bundle(path: str | None, tmp: Path) -> Path:
    from retrieval.bundle_store import has_bundle

    if path and has_bundle(path):
        return Path(path)
    from tests.bundles import build_demo_bundle

    print("no bundle given or found: building a tiny test bundle ...", flush=True)
    return build_demo_bundle(tmp / "bundle")


def _serve(bot, book):
    from assistant.ui import launch
    from assistant.ui.access import Access

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = launch(bot, host="127.0.0.1", port=port, access=Access.accounts(book),
                 prevent_thread_lock=True)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):  # bounded: 60 s
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return app, url


class Caller:
    """One signed-in HTTP client of the named endpoints (plain JSON, so any value goes)."""

    def __init__(self, url: str, name: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=120)
        self.http.post("login", data={"username": name,
                                      "password": PASSWORDS[name]}).raise_for_status()

    def call(self, api: str, data: list) -> tuple[bool, str]:
        """(succeeded?, the error message or the data as text)."""
        r = self.http.post(f"gradio_api/call/{api}", content=json.dumps({"data": data}),
                           headers={"content-type": "application/json"})
        if r.status_code != 200:
            return False, f"HTTP {r.status_code}: {r.text[:200]}"
        text = self.http.get(f"gradio_api/call/{api}/{r.json()['event_id']}").text
        last = [line for line in text.splitlines() if line.startswith("data:")][-1]
        return "event: error" not in text, last[5:].strip()


def cross_user(ann: Caller, bob: Caller, users: dict[str, str], item: str) -> dict:
    tried = refused = 0
    before = bob.call("history", ["", 1000])[1]
    for me, other in ((ann, users["bob"]), (bob, users["ann"])):
        for api, data in (("history", [other, 5]), ("feedback", [other, item, "like", ""]),
                          ("chat", ["a dark crime series", other, ""]),
                          ("recommend", [other, "", 5])):
            tried += 1
            ok, message = me.call(api, data)
            refused += (not ok) and "is not yours" in message
    after = bob.call("history", ["", 1000])[1]
    return {"cross_user_tried": tried, "cross_user_refused": refused,
            "victim_history_unchanged": before == after}


def wrong_logins(url: str, names: list[str]) -> dict:
    codes: list[int] = []
    start = time.perf_counter()
    with httpx.Client(base_url=url, timeout=60) as http:
        for name in names:
            codes.append(http.post("login", data={"username": name,
                                                  "password": "guess-123"}).status_code)
    return {"tried": len(codes), "seconds": round(time.perf_counter() - start, 2),
            "checked": codes.count(400), "refused": codes.count(429),
            "other": len(codes) - codes.count(400) - codes.count(429)}


BAD_CALLS = [
    ("recommend", ["", "", "abc"]), ("recommend", ["", "", 10**9]), ("recommend", ["", "", -3]),
    ("recommend", ["", "", 2.5]), ("recommend", ["", "\ud800 films", 5]),
    ("chat", ["\ud83d", "", ""]), ("chat", ["", "", ""]), ("chat", ["x" * 100_000, "", ""]),
    ("chat", ["films\x00", "", ""]), ("chat", ["a \u202ethriller", "", ""]),
    ("chat", ["films", "", "s\u2066id"]), ("chat", [["films"], "", ""]),
    ("history", ["", "ten"]), ("history", ["", 10**9]), ("history", ["u" * 500, 5]),
    ("feedback", ["", "", "like", ""]), ("feedback", ["", "mv x", "like", ""]),
    ("feedback", ["", "no-such-item", "love", ""]), ("feedback", ["\udc00", "x", "like", ""]),
]


def bad_calls(caller: Caller) -> dict:
    clear = 0
    for api, data in BAD_CALLS:
        ok, message = caller.call(api, data)
        clear += (not ok) and "Fix" in message and "went wrong" not in message
        if ok or "Fix" not in message:
            print(f"  unclear: /{api} {str(data)[:60]!r} -> {message[:120]}", flush=True)
    return {"bad_calls_tried": len(BAD_CALLS), "bad_calls_clear": clear}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default=".encore/bundle")
    parser.add_argument("--guesses", type=int, default=200)
    args = parser.parse_args(argv)
    from assistant.accounts import AccountBook
    from assistant.core import Assistant
    from assistant.settings import Settings
    from assistant.store import open_store

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bundle = _bundle(args.bundle, tmp)
        bot = Assistant.from_bundle(bundle, Settings(),
                                    store=open_store(f"sqlite:///{tmp / 'h.sqlite3'}"))
        known = bot.users(2)
        users = {"ann": known[0], "bob": known[1]}
        book = AccountBook(tmp / "accounts.json")
        for name, password in PASSWORDS.items():
            book.add(name, password, user_id=users[name])
        app, url = _serve(bot, book)
        try:
            ann, bob = Caller(url, "ann"), Caller(url, "bob")
            item = bot.recommend(users["ann"], None, k=1)[0].item_id
            result = cross_user(ann, bob, users, item)
            result.update(bad_calls(ann))
            guess = wrong_logins(url, ["ann"] * args.guesses)
            spray = wrong_logins(url, [f"user{i}" for i in range(args.guesses)])
            after_ok = httpx.post(url + "login", data={"username": "bob",
                                                       "password": PASSWORDS["bob"]})
        finally:
            app.close()
            bot.close()
    result.update({"wrong_logins": guess["tried"], "wrong_logins_s": guess["seconds"],
                   "passwords_checked": guess["checked"], "refused_by_throttle": guess["refused"],
                   "spray_names": spray["tried"], "spray_checked": spray["checked"],
                   "spray_refused": spray["refused"],
                   "right_password_from_locked_address": after_ok.status_code})
    print(f"{'check':38s} figure")
    print(f"{'cross-user calls refused':38s} {result['cross_user_refused']}/"
          f"{result['cross_user_tried']} (victim history unchanged: "
          f"{result['victim_history_unchanged']})")
    print(f"{'wrong passwords for one name':38s} {guess['tried']} in {guess['seconds']} s: "
          f"{guess['checked']} checked, {guess['refused']} refused (HTTP 429)")
    print(f"{'names sprayed from one address':38s} {spray['tried']} in {spray['seconds']} s: "
          f"{spray['checked']} checked, {spray['refused']} refused")
    print(f"{'right password, address locked':38s} HTTP {after_ok.status_code}")
    print(f"{'bad front-end calls with a clear error':38s} {result['bad_calls_clear']}/"
          f"{result['bad_calls_tried']}")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
