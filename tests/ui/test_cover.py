"""Covers: a catalog's optional ``image_url`` goes through the loaders to the card; without
one the card draws its own tile (media icon, initials, a colour by first genre)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.reply import Recommendation
from assistant.ui.cover import cover_tile, genre_hue
from assistant.ui.transcript import Entry, render_messages
from retrieval.loaders.catalog import load_catalog
from retrieval.models import Item


def test_the_loader_passes_image_url_through(tmp_path: Path) -> None:
    rows = [{"id": "mv-a", "title": "A", "media_type": "movie",
             "image_url": "https://img.example.org/a.jpg"},
            {"id": "mv-b", "title": "B", "media_type": "movie"}]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    catalog = load_catalog(path)
    assert catalog["mv-a"].image_url == "https://img.example.org/a.jpg"
    assert catalog["mv-b"].image_url is None
    with pytest.raises(ValidationError, match="image_url must be an http"):
        Item(id="x", title="X", media_type="movie", image_url="javascript:alert(1)")


def test_a_card_shows_the_catalog_image_or_a_generated_tile() -> None:
    recs = [Recommendation(item_id="mv-a", title="A", media_type="movie", rank=1),
            Recommendation(item_id="mv-b", title="B", media_type="movie", rank=2,
                           genres=["crime"])]
    entry = Entry(role="assistant", text="Two:", turn=1, recs=recs)
    images = {"mv-a": "https://img.example.org/a.jpg"}
    html = render_messages([entry], {}, images.get)[0]["content"]
    assert html.count("<img") == 1 and 'src="https://img.example.org/a.jpg"' in html
    assert html.count("cover-generated") == 1
    assert f"hsl({genre_hue('crime')}," in html


def test_the_tile_colour_follows_the_first_genre_and_escapes_the_title() -> None:
    assert genre_hue("jazz") == genre_hue("Jazz") != genre_hue("rock")
    a = cover_tile("<b>X</b>", "podcast", ["comedy", "news"])
    b = cover_tile("Y", "album", ["comedy"])
    assert "<b>X" not in a and "&lt;b&gt;X&lt;/b&gt;" in a
    hue = genre_hue("comedy")
    assert f"hsl({hue},55%,42%)" in a and f"hsl({hue},55%,42%)" in b
    assert a.split("<path d=")[1] != b.split("<path d=")[1]  # the media type's own icon
