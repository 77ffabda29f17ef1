"""The Request schema: bounded for structured output, validated, and its helpers."""

from __future__ import annotations

import doctest
import json

import pytest
from pydantic import ValidationError

import retrieval.request as request_module
from retrieval.models import MEDIA_TYPES
from retrieval.request import (
    HARD_CONSTRAINTS,
    InputIssue,
    Intent,
    Mood,
    ParseContext,
    Request,
    TitleRef,
    TitleRole,
    Topic,
)


def test_docstring_examples() -> None:
    result = doctest.testmod(request_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_defaults_are_an_empty_recommend_request() -> None:
    r = Request()
    assert r.intent is Intent.recommend and r.query == "" and r.hard_constraints() == {}
    assert r.like_ids == r.not_ids == r.about_ids == []
    assert r.topic is None  # not said: the session merge reads the slots


def _walk(schema: dict, defs: dict, path: str = "Request"):
    """Yield (path, node) for every string, array and integer node of a JSON schema."""
    if "$ref" in schema:
        yield from _walk(defs[schema["$ref"].split("/")[-1]], defs, path)
        return
    for option in schema.get("anyOf", []):
        yield from _walk(option, defs, path)
    kind = schema.get("type")
    if kind in ("string", "array", "integer", "number"):
        yield path, schema
    if kind == "array":
        yield from _walk(schema["items"], defs, path + "[]")
    for name, sub in schema.get("properties", {}).items():
        yield from _walk(sub, defs, f"{path}.{name}")


@pytest.mark.parametrize("model", [Request, ParseContext])
def test_every_field_is_bounded_for_structured_output(model) -> None:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    unbounded = []
    for path, node in _walk(schema, defs):
        if node["type"] == "array" and "maxItems" not in node:
            unbounded.append(path + " (no maxItems)")
        if (
            node["type"] == "string"
            and "maxLength" not in node
            and "enum" not in node
            and "pattern" not in node
        ):
            unbounded.append(path + " (no maxLength)")
        if node["type"] in ("integer", "number") and (
            "maximum" not in node or "minimum" not in node
        ):
            unbounded.append(path + " (no range)")
    assert unbounded == []
    assert schema.get("additionalProperties") is False  # extra="forbid": a typo is an error


def test_schema_lists_the_closed_vocabularies() -> None:
    defs = Request.model_json_schema()["$defs"]
    assert set(defs["Intent"]["enum"]) == {
        "recommend",
        "search",
        "similar",
        "playlist",
        "trending",
        "details",
        "feedback",
        "chitchat",
        "history",
    }
    assert set(defs["MediaType"]["enum"]) == set(MEDIA_TYPES)
    assert "thought-provoking" in defs["Mood"]["enum"]
    assert set(defs["TitleRole"]["enum"]) == {"like", "not", "about"}
    assert set(defs["Topic"]["enum"]) == {"new", "refine", "reset"}


def test_topic_is_a_closed_choice_and_not_a_constraint() -> None:
    r = Request(topic="reset")
    assert r.topic is Topic.reset and r.hard_constraints() == {}
    assert Request.model_validate_json(r.model_dump_json()) == r
    with pytest.raises(ValidationError, match="topic"):
        Request(topic="restart")


def test_labels_are_normalised_and_lists_deduplicated() -> None:
    r = Request(
        genres=[" Science Fiction", "science fiction", "Horror"],
        media_types=["movie", "movie"],
        reference_positions=[2, 2, -1],
        moods=["light", "light"],
    )
    assert r.genres == ["science fiction", "horror"]
    assert (
        r.media_types == ["movie"] and r.reference_positions == [2, -1] and r.moods == [Mood.light]
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"year_min": 2000, "year_max": 1990}, r"year_min \(2000\) is after year_max \(1990\)"),
        (
            {"min_minutes": 120, "max_minutes": 90},
            r"min_minutes \(120\) is above max_minutes \(90\)",
        ),
        ({"reference_positions": [0]}, "positions are 1-based"),
        ({"language": "Korean"}, "language"),
        ({"count": 500}, "count"),
        ({"tags": ["x"] * 21}, "tags"),
        ({"intent": "shopping"}, "intent"),
        ({"media_types": ["cassette"]}, "media_types"),
        ({"genre": ["horror"]}, "genre"),
        ({"query": "x" * 501}, "query"),
    ],
)
def test_bad_values_are_errors_that_name_the_field(fields, message) -> None:
    with pytest.raises(ValidationError, match=message):
        Request(**fields)


def test_hard_constraints_and_title_roles() -> None:
    r = Request(
        media_types=["podcast"],
        exclude_tags=["scary"],
        max_minutes=40,
        exclude_ids=["a"],
        genres=["science"],
        moods=["relaxing"],
        titles=[
            TitleRef(text="Arrival", item_id="mv-arrival-2016"),
            TitleRef(text="Get Out", item_id="mv-get-out-2017", role=TitleRole.not_),
            TitleRef(text="Dune", item_id="mv-dune-2021", role="about"),
            TitleRef(text="Unknown film"),
        ],
    )
    assert r.hard_constraints() == {
        "media_types": ["podcast"],
        "exclude_tags": ["scary"],
        "max_minutes": 40,
        "exclude_ids": ["a"],
    }
    assert set(r.hard_constraints()) <= set(HARD_CONSTRAINTS)
    assert (r.like_ids, r.not_ids, r.about_ids) == (
        ["mv-arrival-2016"],
        ["mv-get-out-2017"],
        ["mv-dune-2021"],
    )


def test_json_round_trip_and_frozen() -> None:
    r = Request(
        intent="playlist",
        playlist_minutes=120,
        media_types=["music_track"],
        issues=[InputIssue.truncated],
        titles=[TitleRef(text="Kind of Blue", item_id="al-1", score=100)],
    )
    again = Request.model_validate_json(r.model_dump_json())
    assert again == r
    assert json.loads(r.model_dump_json())["intent"] == "playlist"
    with pytest.raises(ValidationError):
        r.count = 3  # type: ignore[misc]


def test_parse_context_resolves_positions() -> None:
    ctx = ParseContext(last_ids=["a", "b", "c"])
    assert (ctx.id_at(1), ctx.id_at(3), ctx.id_at(-1), ctx.id_at(4), ctx.id_at(0)) == (
        "a",
        "c",
        "c",
        None,
        None,
    )
    assert ctx.focus_position == 1
    focused = ParseContext(
        last_ids=["a", "b"], previous=Request(intent="details", reference_positions=[2])
    )
    assert focused.focus_position == 2
    assert ParseContext().id_at(-1) is None
    with pytest.raises(ValidationError, match="last_ids"):
        ParseContext(last_ids=["x"] * 101)
