"""The named endpoints, called with ``gradio_client`` against the page served on 127.0.0.1
(the real Assistant over the demo bundle, SYNTHETIC interactions)."""

from __future__ import annotations

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(served_page: str) -> Client:
    return Client(served_page, verbose=False, download_files=False, analytics_enabled=False,
                  httpx_kwargs={"timeout": 60})


def test_only_the_named_endpoints_are_public(client: Client) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/chat", "/recommend", "/feedback", "/history"}
    assert not api["unnamed_endpoints"]


def test_chat_keeps_the_session_across_turns(client: Client, assistant) -> None:
    user = assistant.new_user_id()
    first = client.predict("a dark crime series", user, "", api_name="/chat")
    assert first["user_id"] == user and first["turn"] == 1
    assert first["recommendations"] and first["recommendations"][0]["explanation"]
    assert first["meta"]["parser"] == "rules"
    second = client.predict("shorter episodes", user, first["session_id"], api_name="/chat")
    assert second["session_id"] == first["session_id"] and second["turn"] == 2


def test_dislike_through_the_api_changes_recommend(client: Client, assistant) -> None:
    user = assistant.new_user_id()
    before = client.predict(user, "a funny podcast", 5, api_name="/recommend")
    assert len(before) == 5 and {r["media_type"] for r in before} == {"podcast"}
    top = before[0]["item_id"]
    stored = client.predict(user, top, "dislike", "", api_name="/feedback")
    assert stored["item_id"] == top and stored["kind"] == "dislike"
    after = client.predict(user, "a funny podcast", 5, api_name="/recommend")
    assert top not in [r["item_id"] for r in after]
    history = client.predict(user, 10, api_name="/history")
    assert [(h["item_id"], h["event"], h["source"]) for h in history] == \
        [(top, "dislike", "feedback")]


def test_an_unknown_item_is_a_clear_error(client: Client, assistant) -> None:
    with pytest.raises(AppError, match="unknown item id 'mv-does-not-exist'. Fix"):
        client.predict(assistant.new_user_id(), "mv-does-not-exist", "like", "",
                       api_name="/feedback")
