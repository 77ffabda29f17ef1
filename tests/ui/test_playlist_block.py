"""The page's playlist block: the whole playlist numbered in play order with each length and
the total, close matches labelled, every catalog string escaped, and its M3U and JSON
downloads; on the real Assistant over the demo bundle (SYNTHETIC interactions)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from assistant.reply import PlaylistEntry, PlaylistReply
from assistant.ui import N_CARDS, AssistantLoader, ChatPage, build_app
from assistant.ui.playlist import drop, move, playlist_files, render_playlist


def _sample() -> PlaylistReply:
    return PlaylistReply(
        title="Encore: <rock>, 10 min", summary="Only 2 tracks here match rock & roll:",
        target_minutes=10, total_minutes=8.17, within_tolerance=False,
        items=[PlaylistEntry(position=1, item_id="tr-a", title="<script>x</script>",
                             creators=["The <b>Band</b>"], duration_min=3.87),
               PlaylistEntry(position=2, item_id="tr-b", title="Punk Song", creators=["P"],
                             duration_min=4.3, match="close",
                             note="close match: punk, not rock")])


def test_block_is_numbered_with_lengths_total_and_labels() -> None:
    html = render_playlist(_sample())
    for raw in ("<script>", "<b>Band", "<rock>"):
        assert raw not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "rock &amp; roll" in html
    positions = re.findall(r'data-position="(\d+)"', html)
    assert positions == ["1", "2"]
    assert re.findall(r'class="len">([^<]+)<', html) == ["3:52", "4:18"]
    assert 'class="total">Total: 8:10 of 10:00 asked for (2 items)' in html
    assert '<li class="close" data-item-id="tr-b"' in html
    assert "close match: punk, not rock" in html
    assert 'data-within="false"' in html and render_playlist(None) == ""
    assert render_playlist(_sample().model_copy(update={"items": []})) == ""


def test_files_are_m3u_and_json(tmp_path: Path) -> None:
    m3u, js = playlist_files(_sample(), tmp_path)
    assert m3u.suffix == ".m3u" and js.suffix == ".json" and m3u.parent == tmp_path
    lines = m3u.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and lines[2] == "#EXTINF:232,The <b>Band</b> - <script>x</script>"
    assert lines[3] == "encore:item/tr-a"
    assert [e["id"] for e in json.loads(js.read_text(encoding="utf-8"))["items"]] == \
        ["tr-a", "tr-b"]


def test_page_has_the_block_and_its_buttons(assistant) -> None:
    app = build_app(assistant)
    ids = {getattr(b, "elem_id", None) for b in app.blocks.values()}
    assert {"playlist-block", "playlist-m3u", "playlist-json"} <= ids


def test_a_playlist_turn_shows_the_whole_playlist_in_its_answer(assistant) -> None:
    page = ChatPage(AssistantLoader(assistant))
    frames = list(page.respond("a 45-minute playlist of pop", [], assistant.new_user_id(),
                               None))
    last = frames[-1]
    pl = last.playlist
    assert pl is not None and len(pl.items) > N_CARDS  # the whole playlist, not ten cards
    html = last.messages[-1]["content"]
    assert len(re.findall(r'data-position="\d+"', html)) == len(pl.items)
    assert 'class="total">Total: ' in html and "of 45:00 asked for" in html
    assert "encore-card" not in html and "under <b>Playlist</b>" in html
    m3u, js = (Path(p) for p in playlist_files(pl))
    assert m3u.read_text(encoding="utf-8").startswith("#EXTM3U\n")
    assert len(json.loads(js.read_text(encoding="utf-8"))["items"]) == len(pl.items)
    other = list(page.respond("a dark crime series", [], assistant.new_user_id(), None))[-1]
    assert other.playlist is None


def test_reorder_and_remove_renumber_retotal_and_export_in_the_new_order() -> None:
    pl = _sample()
    down = move(pl, 1, 1)
    assert down.ids == ["tr-b", "tr-a"] and [e.position for e in down.items] == [1, 2]
    assert move(pl, 1, -1) is pl and move(pl, 2, 1) is pl  # off either end: unchanged
    assert down.to_m3u().splitlines()[3] == "encore:item/tr-b"
    assert [e["id"] for e in json.loads(down.to_json())["items"]] == ["tr-b", "tr-a"]
    shorter = drop(pl, 1)
    assert shorter.ids == ["tr-b"] and shorter.items[0].position == 1
    assert shorter.total_minutes == 4.3 and not shorter.within_tolerance
    assert drop(pl, 5) is pl
    html = render_playlist(down, editable=True)
    assert 'name="encore-up" value="2"' in html and 'name="encore-up" value="1"' not in html
    assert 'name="encore-down" value="1"' in html and 'name="encore-remove" value="2"' in html
    assert "Total: 8:10 of 10:00" in html


def test_the_page_edits_the_playlist_it_holds() -> None:
    pl = _sample()
    assert ChatPage.edit_playlist(pl, "down", 1).ids == ["tr-b", "tr-a"]
    assert ChatPage.edit_playlist(pl, "up", 2).ids == ["tr-b", "tr-a"]
    assert ChatPage.edit_playlist(pl, "remove", 2).ids == ["tr-a"]
    assert ChatPage.edit_playlist(None, "up", 1) is None
