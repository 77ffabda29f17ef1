"""'show me my history' answers with the person's history (intent ``history``), never a
list of history films; a request based on one's history, or for history films, stays a
request. Over the demo bundle (SYNTHETIC interactions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.request import Intent


@pytest.fixture(scope="module")
def bot(demo_bundle_path: Path, tmp_path_factory: pytest.TempPathFactory):
    from assistant.core import Assistant
    from assistant.settings import Settings

    url = f"sqlite:///{tmp_path_factory.mktemp('hist') / 'h.sqlite3'}"
    with Assistant.from_bundle(demo_bundle_path,
                               Settings(bundle_dir=demo_bundle_path, store={"url": url})) as a:
        yield a


@pytest.mark.parametrize("message", ["show me my history", "Show me my history please",
                                     "what have I liked?", "my dislikes", "my history"])
def test_own_history_is_the_history_intent(bot, message: str) -> None:
    parsed = bot.services.backends.parse(message).request
    assert parsed.intent is Intent.history and parsed.genres == []
    reply = bot.chat(f"s-{abs(hash(message))}", bot.users()[0], message)
    assert reply.intent == Intent.history.value and not reply.recommendations
    assert "history" not in reply.request.genres


@pytest.mark.parametrize("message", ["history documentaries", "films for my history class"])
def test_history_as_a_genre_stays_a_request(bot, message: str) -> None:
    reply = bot.chat(f"s-{abs(hash(message))}", bot.users()[0], message)
    assert reply.intent == Intent.recommend.value and reply.recommendations


def test_the_answer_lists_the_feedback_given_and_keeps_the_last_list(bot) -> None:
    user = bot.new_user_id()
    first = bot.chat("h1", user, "a dark crime series")
    liked, disliked = first.recommendations[:2]
    bot.feedback(user, liked.item_id, "like")
    bot.feedback(user, disliked.item_id, "dislike")
    reply = bot.chat("h1", user, "show me my history")
    assert reply.text == (f"Your history here: you liked {liked.title}; you did not like "
                          f"{disliked.title}.")
    assert "10 " not in reply.text and not reply.notice
    bot.forget(user, liked.item_id)
    assert liked.title not in bot.chat("h1", user, "what have I liked?").text
    # The list shown before is still "the list": "the third one" points into it.
    about = bot.chat("h1", user, "tell me about the third one")
    assert [r.item_id for r in about.recommendations] == [first.recommendations[2].item_id]
    empty = bot.chat("h2", bot.new_user_id(), "show me my history")
    assert empty.text == "You have not liked or disliked anything here yet."
