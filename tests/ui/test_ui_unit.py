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
from assistant.ui.page import Frame

REQUEST = "a dark crime series"


def _turn(page: ChatPage, message: str, user: str, session: str | None = None,
          transcript: list | None = None, **kw) -> tuple[list[Frame], Frame]:
    frames = list(page.respond(message, transcript or [], user, session, **kw))
    return frames, frames[-1]


def _recs(frame: Frame) -> list[Recommendation]:
    """The newest answer's cards."""
    return frame.transcript[-1].recs


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


def test_backend_note_names_the_llm_or_the_rules_fallback_behind_a_toggle() -> None:
    llm = render_note(TurnMeta(parser="llm", explainer="llm", llm_model="tiny"), turn=4)
    assert "Answered by the LLM (tiny)" in llm and 'data-turn="4"' in llm
    assert '<details class="turn-details"><summary>details</summary>' in llm
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


def test_a_card_has_a_generated_cover_and_feedback_buttons_the_chat_keeps() -> None:
    rec = Recommendation(item_id="al-x", title="Kind of Blue", media_type="album", rank=1,
                         genres=["jazz"])
    card = render_card(rec, mark="like", turn=3, live=True)
    assert 'class="cover cover-generated"' in card and "<svg" in card and "KO" in card
    # name/value/class survive the chat's sanitizer (data-* and aria-* do not).
    assert 'class="fb fb-like pressed" name="encore-like" value="al-x"' in card
    assert 'class="fb fb-dislike" name="encore-dislike" value="al-x"' in card
    assert "encore-card liked turn-3" in card
    image = render_card(rec, image_url="https://example.org/kob.jpg")
    assert '<img src="https://example.org/kob.jpg"' in image and "cover-generated" not in image
    assert "<img" not in render_card(rec, image_url="javascript:alert(1)")


# -- the page and its handlers on the real Assistant ---------------------------------------

def test_app_builds_with_named_endpoints_only(assistant) -> None:
    app = build_app(assistant)
    named = set(app.get_api_info()["named_endpoints"])
    assert named == {"/chat", "/recommend", "/feedback", "/history"}
    ids = {getattr(b, "elem_id", None) for b in app.blocks.values()}
    assert {"user-picker", "new-user", "message", "chat", "history-view", "playlist-block",
            "encore-action-box", "encore-action-go"} <= ids


def test_status_lists_demo_users_and_labels_synthetic_data(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    html, users, selected, summary, building = page.status(None)
    assert not building
    first = users[0][1] if isinstance(users[0], tuple) else users[0]  # (persona label, id)
    assert users and selected == first
    assert "synthetic" in html and "parser: rules" in html
    assert '<details class="status-details">' in html  # backend names behind a toggle
    assert "synthetic demo user" in summary


def test_the_picker_shows_a_persona_when_the_assistant_has_one(assistant) -> None:
    class WithPersona:
        def __getattr__(self, name):
            return getattr(assistant, name)

        def persona(self, user_id: str) -> str | None:
            return "crime and mystery fan" if user_id == assistant.users()[0] else None

    page = ChatPage(AssistantLoader(WithPersona()))  # type: ignore[arg-type]
    _, choices, selected, _, _ = page.status(None)
    first = assistant.users()[0]
    assert choices[0] == (f"{first} · crime and mystery fan", first) and selected == first
    assert choices[1] == assistant.users()[1]


def test_chat_streams_each_answer_with_its_own_cards(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    user = assistant.users()[0]
    frames, last = _turn(page, REQUEST, user)
    assert len(frames) >= 3  # placeholder, text + cards, explanations...
    assert frames[0].messages[-1]["content"].count("encore-card") == 0
    recs = _recs(last)
    assert 0 < len(recs) <= N_CARDS
    answer = last.messages[-1]["content"]
    assert "\n\n" not in answer  # one HTML block for the chat's markdown
    for rec in recs:
        assert f'name="encore-like" value="{rec.item_id}"' in answer and rec.explanation
    assert 'data-done="true"' in last.note and "parser: rules" in last.note
    assert last.session_id and last.user_id == user
    assert last.messages[0] == {"role": "user", "content": REQUEST}
    # A second turn: the first answer keeps its cards.
    _, second = _turn(page, "something lighter", user, last.session_id, last.transcript)
    assert len(second.messages) == 4
    first_ids = [r.item_id for r in recs]
    assert all(f'value="{i}"' in second.messages[1]["content"] for i in first_ids)
    assert "encore-reply turn-2" in second.messages[3]["content"]


def test_a_reload_restores_the_conversation_and_the_marks(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    user = assistant.new_user_id()
    _, first = _turn(page, REQUEST, user)
    liked = _recs(first)[0]
    page.toggle(liked.item_id, "like", {}, user, first.session_id)
    entries, marks = page.restore(first.session_id, user)
    assert [e.role for e in entries] == ["user", "assistant"]
    assert [r.item_id for r in entries[1].recs] == [r.item_id for r in _recs(first)]
    assert marks == {liked.item_id: "like"}
    assert page.restore(first.session_id, "someone-else")[0] == []  # keyed by user too
    assert page.restore("no-such-session", user)[0] == []


def test_dislike_is_stored_changes_the_next_answer_and_the_answer_says_so(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    user = assistant.new_user_id()
    _, first = _turn(page, REQUEST, user)
    _, control = _turn(page, REQUEST, user)  # a new conversation, no feedback yet
    first_ids = [r.item_id for r in _recs(first)]
    assert [r.item_id for r in _recs(control)] == first_ids  # so a change below is the dislike
    disliked = _recs(first)[1]
    line, marks, change = page.toggle(disliked.item_id, "dislike", {}, user, first.session_id)
    assert "you disliked" in line and marks == {disliked.item_id: "dislike"}
    assert change == f"your dislike of {disliked.title}"
    events = [(h.item_id, h.event, h.source) for h in assistant.history(user)]
    assert (disliked.item_id, "dislike", "feedback") in events
    _, after = _turn(page, REQUEST, user, marks=marks, updated=change)
    ids = [r.item_id for r in _recs(after)]
    assert disliked.item_id not in ids
    assert len(set(ids) & set(first_ids)) >= 3  # the same request, answered again
    assert f"Updated after your dislike of {disliked.title}." in after.messages[-1]["content"]


def test_a_pressed_button_undoes_its_feedback(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    user = assistant.new_user_id()
    _, first = _turn(page, REQUEST, user)
    rec = _recs(first)[0]
    line, marks, _ = page.toggle(rec.item_id, "like", {}, user, first.session_id)
    assert "you liked" in line and [h.event for h in assistant.history(user)] == ["like"]
    assert "fb-like pressed" in page.messages(first.transcript, marks)[-1]["content"]
    line, marks, change = page.toggle(rec.item_id, "like", marks, user, first.session_id)
    assert "Undone" in line and marks == {} and change is None
    assert assistant.history(user) == []
    assert "pressed" not in page.messages(first.transcript, marks)[-1]["content"]


def test_the_history_view_lists_feedback_and_removes_an_entry(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    user = assistant.new_user_id()
    _, first = _turn(page, REQUEST, user)
    a, b = _recs(first)[:2]
    page.toggle(a.item_id, "like", {}, user, None)
    page.toggle(b.item_id, "dislike", {}, user, None)
    view = page.history_view(user)
    assert 'data-items="2"' in view
    assert view.index(b.item_id) < view.index(a.item_id)  # newest first
    assert f'name="encore-forget" value="{a.item_id}"' in view
    assert "Removed" in page.forget(a.item_id, user)
    view = page.history_view(user)
    assert 'data-items="1"' in view and f'value="{a.item_id}"' not in view
    assert [h.item_id for h in assistant.history(user)] == [b.item_id]


def test_feedback_on_an_empty_slot_is_a_message(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    line, marks, card = page.feedback(N_CARDS - 1, "dislike", [], {}, "u", None)
    assert "no longer on the page" in line and marks == {} and card == ""


def test_unknown_user_is_a_new_user_with_a_notice(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    _, last = _turn(page, REQUEST, "nobody-at-all-42")
    assert _recs(last)
    assert "new user: no history yet" in last.messages[-1]["content"]
    assert page.user_summary("nobody-at-all-42") == "new user: no history yet"


def test_requests_while_the_bundle_builds_get_a_clear_message(assistant) -> None:
    gate = threading.Event()
    loader = AssistantLoader(lambda: gate.wait(30) and assistant)
    page = ChatPage(loader)
    try:
        _, last = _turn(page, REQUEST, "u1")
        assert str(BundleNotReady()) in last.messages[-1]["content"]
        assert not _recs(last) and "encore-problem" in last.note
        html, _, _, _, building = page.status(None)
        assert building and "still being built" in html
        with pytest.raises(gr.Error, match="still being built"):
            page.api_recommend("u1")
    finally:
        gate.set()
    assert loader.wait(30) is assistant
    _, last = _turn(page, REQUEST, assistant.new_user_id())
    assert _recs(last)


def test_a_bundle_that_fails_to_load_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    from assistant.core import Assistant

    missing = tmp_path / "no-bundle"
    loader = AssistantLoader(lambda: Assistant.from_bundle(missing))
    with pytest.raises(EncoreError, match="could not be loaded: .*bundle folder not found"):
        loader.wait(30)
    _, last = _turn(ChatPage(loader), REQUEST, "u1")
    shown = last.messages[-1]["content"]
    assert str(missing) in shown and "Fix" in shown and "Traceback" not in shown


def test_an_unexpected_error_hides_internals() -> None:
    def broken():
        raise RuntimeError("secret internal detail")

    loader = AssistantLoader(broken)
    with pytest.raises(EncoreError, match=r"something went wrong on the server \(RuntimeError\)"):
        loader.wait(30)
    _, last = _turn(ChatPage(loader), REQUEST, "u1")
    shown = last.messages[-1]["content"]
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


def test_the_picker_holds_every_user_so_typing_narrows_all_of_them(assistant) -> None:
    """The picker filters in the browser, over its choices only: it must hold every demo
    user (1,500), not the first 50 (typing "jazz" then found only the jazz fans among 50)."""
    many = [f"demo-{i:04d}" for i in range(1, 1501)]

    class ManyUsers:
        def __getattr__(self, name):
            return getattr(assistant, name)

        def users(self, limit: int = 50) -> list[str]:
            return many[:limit]

    page = ChatPage(AssistantLoader(ManyUsers()))  # type: ignore[arg-type]
    _, choices, _, _, _ = page.status(None)
    ids = [c[1] if isinstance(c, tuple) else c for c in choices]
    assert ids == many
