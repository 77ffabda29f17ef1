"""The chat page without a server: rendering, and the handlers against the real Assistant
over the demo bundle (SYNTHETIC interactions)."""

from __future__ import annotations

import threading
from pathlib import Path

import gradio as gr
import pytest
import typer
from typer.testing import CliRunner

from assistant.commands.serve import port_problem, register
from assistant.errors import BundleNotReady, EncoreError
from assistant.reply import Fallback, Grounds, HistoryReason, Recommendation, TurnMeta
from assistant.ui import (
    N_CARDS,
    AssistantLoader,
    ChatPage,
    build_app,
    parse_auth,
    render_card,
    render_note,
)

# Order of ChatPage.respond's frame: text, history, session, user, recs, marks, note, cards...
HIST, SESSION, USER, RECS, MARKS, NOTE = 1, 2, 3, 4, 5, 6
VISIBLE, CARDS = 7, 7 + N_CARDS
REQUEST = "a dark crime series"


def _turn(page: ChatPage, message: str, user: str, session: str | None = None,
          history: list | None = None) -> tuple[list[tuple], tuple]:
    frames = list(page.respond(message, history or [], user, session))
    return frames, frames[-1]


# -- rendering ------------------------------------------------------------------------------

def test_card_escapes_catalog_text_and_lists_the_evidence() -> None:
    rec = Recommendation(
        item_id='x"><script>', title="<script>alert(1)</script>", media_type="podcast",
        year=2019, duration_min=42, genres=["comedy"], creators=["<b>Host</b>"],
        description='<img src=x onerror="alert(2)">', rank=3, score=0.5,
        explanation="Funny & short.",
        grounds=Grounds(matched_genres=["comedy"], constraints=["under 45 minutes"],
                        history=[HistoryReason(item_id="a", title="<i>A</i>", kind="content",
                                               similarity=0.81)], sources=["dense"],
                        evidence_text=["Matches what you asked for: comedy.",
                                       "You liked <i>A</i>, also comedy."]))
    card = render_card(rec, mark="dislike", turn=2)
    for raw in ("<script>", "<img", "<b>Host", "<i>A"):
        assert raw not in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card
    assert 'data-item-id="x&quot;&gt;&lt;script&gt;"' in card
    assert 'data-turn="2"' in card and "disliked" in card
    assert "Podcast · 2019 · 42 min · comedy" in card
    assert "Funny &amp; short." in card
    details = card[card.index("<details"):]
    for expected in ("Matches what you asked for: comedy.",
                     "You liked &lt;i&gt;A&lt;/i&gt;, also comedy."):
        assert expected in details
    # Plain words only: no candidate source names, no scores or similarities.
    for internal in ("dense", "0.500", "0.81", "Found by", "Score"):
        assert internal not in details


def test_a_close_match_says_so_on_its_card() -> None:
    base = {"item_id": "a", "title": "A", "media_type": "album", "rank": 4}
    close = render_card(Recommendation(**base, match="close",
                                       match_note="close match: rock, not <jazz>"))
    assert 'class="match-note"' in close and "close match: rock, not &lt;jazz&gt;" in close
    assert "match-note" not in render_card(Recommendation(**base))


@pytest.mark.parametrize(("minutes", "shown"), [(155, "2 h 35 min"), (120, "2 h"),
                                                 (3.5, "3:30"), (42, "42 min")])
def test_card_duration(minutes: float, shown: str) -> None:
    rec = Recommendation(item_id="x", title="X", media_type="movie", rank=1,
                         duration_min=minutes)
    assert f"Film · {shown}</p>" in render_card(rec)


def test_backend_note_names_the_llm_or_the_rules_fallback() -> None:
    llm = render_note(TurnMeta(parser="llm", explainer="llm", llm_model="tiny"), turn=4)
    assert "Answered by the LLM (tiny)" in llm and 'data-turn="4"' in llm
    fb = Fallback(stage="parser", wanted="llm", used="rules", reason="timeout")
    fell = render_note(TurnMeta(fallbacks=[fb]), done=False)
    assert "rules fallback" in fell and "from llm to rules: timeout" in fell
    assert 'data-done="false"' in fell
    assert "Answered offline (rules)" in render_note(TurnMeta())


def test_parse_auth() -> None:
    assert parse_auth("ann:pa:ss") == ("ann", "pa:ss")
    assert parse_auth(None) is None
    with pytest.raises(ValueError, match="user:password"):
        parse_auth("ann")


# -- the page and its handlers on the real Assistant ---------------------------------------

def test_app_builds_with_named_endpoints_only(assistant) -> None:
    app = build_app(assistant)
    named = set(app.get_api_info()["named_endpoints"])
    assert named == {"/chat", "/recommend", "/feedback", "/history"}
    ids = {getattr(b, "elem_id", None) for b in app.blocks.values()}
    assert {"user-picker", "new-user", "message", "card-0", f"dislike-{N_CARDS - 1}"} <= ids


def test_status_lists_demo_users_and_labels_synthetic_data(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    html, users, selected, summary, building = page.status(None)
    assert not building
    assert users and selected == users[0]
    assert "synthetic" in html and "parser: rules" in html
    assert "synthetic demo user" in summary


def test_chat_streams_text_then_cards_then_explanations(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    user = assistant.users()[0]
    frames, last = _turn(page, REQUEST, user)
    assert len(frames) >= 3  # placeholder, text + cards, explanations...
    assert frames[0][HIST][-1]["content"] == "…" and not any(frames[0][VISIBLE:CARDS])
    recs = last[RECS]
    assert 0 < len(recs) <= N_CARDS
    assert last[VISIBLE:CARDS] == tuple(i < len(recs) for i in range(N_CARDS))
    for rec, card in zip(recs, last[CARDS:], strict=False):
        assert f'data-item-id="{rec.item_id}"' in card and 'data-turn="1"' in card
        assert rec.explanation and "<details" in card
    assert 'data-done="true"' in last[NOTE] and "parser: rules" in last[NOTE]
    assert last[SESSION] and last[USER] == user
    assert last[HIST][0] == {"role": "user", "content": REQUEST}


def test_dislike_is_stored_and_changes_the_next_answer(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    user = assistant.new_user_id()
    _, first = _turn(page, REQUEST, user)
    _, control = _turn(page, REQUEST, user)  # a new conversation, no feedback yet
    first_ids = [r.item_id for r in first[RECS]]
    assert [r.item_id for r in control[RECS]] == first_ids  # so a change below is the dislike
    disliked = first[RECS][1]
    line, marks, card = page.feedback(1, "dislike", first[RECS], first[MARKS], user,
                                      first[SESSION])
    assert "you disliked" in line and marks == {disliked.item_id: "dislike"}
    assert "encore-card disliked" in card
    events = [(h.item_id, h.event, h.source) for h in assistant.history(user)]
    assert (disliked.item_id, "dislike", "feedback") in events
    _, after = _turn(page, REQUEST, user)  # a new conversation again
    ids = [r.item_id for r in after[RECS]]
    assert disliked.item_id not in ids
    assert len(set(ids) & set(first_ids)) >= 3  # the same request, answered again


def test_like_is_stored(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    user = assistant.new_user_id()
    _, first = _turn(page, REQUEST, user)
    line, _, card = page.feedback(1, "like", first[RECS], {}, user, first[SESSION])
    assert "you liked" in line and "encore-card liked" in card
    assert [h.event for h in assistant.history(user)] == ["like"]


def test_feedback_on_an_empty_slot_is_a_message(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    line, marks, card = page.feedback(N_CARDS - 1, "dislike", [], {}, "u", None)
    assert "no longer on the page" in line and marks == {} and card == ""


def test_unknown_user_is_a_new_user_with_a_notice(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    _, last = _turn(page, REQUEST, "nobody-at-all-42")
    assert last[RECS]
    assert "new user: no history yet" in last[HIST][-1]["content"]
    assert page.user_summary("nobody-at-all-42") == "new user: no history yet"


def test_requests_while_the_bundle_builds_get_a_clear_message(assistant) -> None:
    gate = threading.Event()
    loader = AssistantLoader(lambda: gate.wait(30) and assistant)
    page = ChatPage(loader)
    try:
        _, last = _turn(page, REQUEST, "u1")
        assert str(BundleNotReady()) in last[HIST][-1]["content"]
        assert not last[RECS] and "encore-problem" in last[NOTE]
        html, _, _, _, building = page.status(None)
        assert building and "still being built" in html
        with pytest.raises(gr.Error, match="still being built"):
            page.api_recommend("u1")
    finally:
        gate.set()
    assert loader.wait(30) is assistant
    _, last = _turn(page, REQUEST, assistant.new_user_id())
    assert last[RECS]


def test_a_bundle_that_fails_to_load_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    from assistant.core import Assistant

    missing = tmp_path / "no-bundle"
    loader = AssistantLoader(lambda: Assistant.from_bundle(missing))
    with pytest.raises(EncoreError, match="could not be loaded: .*bundle folder not found"):
        loader.wait(30)
    _, last = _turn(ChatPage(loader), REQUEST, "u1")
    shown = last[HIST][-1]["content"]
    assert str(missing) in shown and "Fix" in shown and "Traceback" not in shown


def test_an_unexpected_error_hides_internals() -> None:
    def broken():
        raise RuntimeError("secret internal detail")

    loader = AssistantLoader(broken)
    with pytest.raises(EncoreError, match=r"something went wrong on the server \(RuntimeError\)"):
        loader.wait(30)
    _, last = _turn(ChatPage(loader), REQUEST, "u1")
    shown = last[HIST][-1]["content"]
    assert "RuntimeError" in shown and "secret internal detail" not in shown


def test_api_handlers_return_json_and_clear_errors(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    user = assistant.new_user_id()
    recs = page.api_recommend(user, "a funny podcast", 5)
    assert len(recs) == 5 and all(r["media_type"] == "podcast" for r in recs)
    done = page.api_feedback(user, recs[0]["item_id"], "dislike")
    assert done == {"user_id": user, "item_id": recs[0]["item_id"], "kind": "dislike",
                    "title": recs[0]["title"]}
    assert page.api_history(user)[-1]["event"] == "dislike"
    reply = page.api_chat(REQUEST, user)
    assert reply["user_id"] == user and reply["recommendations"]
    with pytest.raises(gr.Error, match="unknown item id 'mv-does-not-exist'"):
        page.api_feedback(user, "mv-does-not-exist", "like")
    with pytest.raises(gr.Error, match="unknown feedback kind 'love'"):
        page.api_feedback(user, recs[1]["item_id"], "love")
    with pytest.raises(gr.Error, match="message is empty"):
        page.api_chat("  ", user)


# -- `encore serve` --------------------------------------------------------------------------

def _serve_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    register(app)
    return app


def test_serve_refuses_a_busy_port_with_one_line(demo_bundle: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert "already in use" in port_problem("127.0.0.1", port)
        result = CliRunner().invoke(_serve_app(), ["serve", "--bundle", str(demo_bundle),
                                                   "--port", str(port)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: port {port} on 127.0.0.1 is already in use. "
                                     "Fix: stop the other server or pass --port with a free port")


def test_serve_refuses_a_missing_bundle(tmp_path: Path) -> None:
    result = CliRunner().invoke(_serve_app(), ["serve", "--bundle", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no bundle here" in result.stderr and "encore build" in result.stderr
