"""The conversation suite: the file format, every check on hand-made replies (each can pass
and fail), and the whole suite run on the test demo bundle through ``encore eval``.

The suite run asserts structure, not pass rates: the behaviour it measures is being fixed
elsewhere (issue 13), and the test bundle's tiny random encoder ranks poorly anyway.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from assistant.commands.eval import register
from eval.conversations import CHECKS, Expect, Relation, TurnView, load_suite
from eval.conversations.checks import (
    check_constraints,
    check_explanations,
    check_honest,
    check_match,
    check_meaning,
    check_order,
    claimed_counts,
    internal_words,
)
from eval.conversations.facts import available, playlist_feasible, related
from eval.conversations.runner import cited_history, resolve_user
from eval.conversations.suite import Conversation, effective_expects
from retrieval.models import Item

SUITE = Path(__file__).resolve().parents[2] / "eval" / "data" / "conversations.jsonl"
MEDIA = ("movie", "series", "music_track", "album", "podcast", "audiobook")


def item(id: str, media_type: str = "album", *, genres: tuple[str, ...] = ("jazz",),
         tags: tuple[str, ...] = (), year: int = 1960, minutes: float = 45.0) -> Item:
    return Item(id=id, title=id.replace("-", " ").title(), media_type=media_type, year=year,
                duration_min=minutes, genres=list(genres), tags=list(tags))


JAZZ = [item(f"jazz-{i}", year=1955 + 2 * i, minutes=40 + i) for i in range(4)]
ROCK = [item(f"rock-{i}", genres=("rock",), tags=("dark",), year=1970 + i) for i in range(4)]
CATALOG = [*JAZZ, *ROCK]


def view(shown: list[Item], **kw) -> TurnView:
    kw.setdefault("expect", Expect(media_types=["album"], want=[["jazz"]]))
    kw.setdefault("catalog", CATALOG)
    kw.setdefault("explanations", ["" for _ in shown])
    kw.setdefault("cited", [() for _ in shown])
    return TurnView(shown=shown, **kw)


# -- the file format --------------------------------------------------------------------

def test_suite_file_covers_the_issue() -> None:
    suite = load_suite(SUITE)
    turns = [t for conv in suite for t in conv.turns]
    assert len(suite) >= 60 and len(turns) >= 150
    expects = [e for conv in suite for e in effective_expects(conv)]
    assert set(MEDIA) <= {m for e in expects for m in e.media_types or ()}
    kinds = {k for conv in suite for t in conv.turns for k in [*conv.kinds, *t.kinds]}
    assert {"shorter", "longer", "newer", "older", "upbeat", "darker", "lighter", "not_nth",
            "like_nth", "like_that", "as_series", "only_podcasts", "playlist",
            "playlist_hour", "typo", "foreign", "conflict"} <= kinds
    assert any(t.say == "anything older?" for t in turns)
    assert {c.user for c in suite if c.user.startswith("fan:")} >= {"fan:true crime"}


def test_expectations_inherit_and_null_removes(tmp_path: Path) -> None:
    conv = Conversation.model_validate({"id": "c", "turns": [
        {"say": "jazz from the 60s", "expect": {"media_types": ["album"], "year_min": 1960,
                                                "year_max": 1969, "want": ["jazz"]}},
        {"say": "anything older?", "expect": {"year_min": None}, "follow": ["older"]},
        {"say": "now podcasts", "fresh": True, "expect": {"media_types": ["podcast"]}}]})
    first, second, third = effective_expects(conv)
    assert (second.year_min, second.year_max, second.want) == (None, 1969, [["jazz"]])
    assert third.media_types == ["podcast"] and third.want is None and third.year_max is None
    assert conv.turns[1].follow == [Relation(simple="older")]


@pytest.mark.parametrize(("line", "needle"), [
    ("not json", ":2: not JSON"),
    ('{"id": "a", "turns": []}', ":2: turns"),
    ('{"id": "a", "turns": [{"say": "x", "expect": {"max_minute": 3}}]}', "max_minute"),
    ('{"id": "a", "turns": [{"say": "x", "follow": ["sideways"]}]}', "follow"),
])
def test_bad_lines_name_the_line_and_field(tmp_path: Path, line: str, needle: str) -> None:
    path = tmp_path / "suite.jsonl"
    path.write_text("# comment\n" + line + "\n")
    with pytest.raises(ValueError, match="suite.jsonl") as err:
        load_suite(path)
    assert needle in str(err.value)


# -- facts --------------------------------------------------------------------------------

def test_related_needs_family_and_a_shared_theme() -> None:
    film = item("f", "movie", genres=("science fiction",), tags=("space", "award-winning"))
    assert related(film, item("s", "series", genres=("drama",), tags=("space",)))
    assert not related(film, item("p", "podcast", genres=("science",), tags=("space",)))
    assert not related(film, item("g", "movie", genres=("comedy",), tags=("award-winning",)))


def test_available_and_playlist_feasible() -> None:
    expect = Expect(media_types=["album"], year_max=1960, want=[["jazz"]])
    assert [it.id for it in available(CATALOG, expect, {"jazz-0"})] == ["jazz-1", "jazz-2"]
    assert playlist_feasible(JAZZ, 85, 0.05)  # 40 + 43 = 83, within 5% of 85
    assert not playlist_feasible(JAZZ, 20, 0.05)


# -- the checks, each passing and failing ---------------------------------------------------

def test_constraints() -> None:
    assert check_constraints(view(JAZZ[:2])).passed
    out = check_constraints(view([JAZZ[0], item("pod", "podcast")]))
    assert not out.passed and out.reasons == ["Pod: podcast, not album"]
    assert check_constraints(view([])) is None
    playlist = Expect(media_types=["album"], playlist_minutes=85)
    assert check_constraints(view(JAZZ[:2], expect=playlist)).passed  # 81 min, within 5%
    short = check_constraints(view(JAZZ[:1], expect=playlist))
    assert not short.passed and "lasts 40 min" in short.reasons[0]


def test_match_counts_against_what_is_available() -> None:
    assert check_match(view(JAZZ)).score == 1.0
    # A short list that shows all the jazz there is scores 1; padding after it is fine here.
    assert check_match(view([*JAZZ, ROCK[0]])).passed
    out = check_match(view([JAZZ[0], *ROCK[:3]]))
    assert not out.passed and out.score == pytest.approx(1 / 4)
    assert check_match(view([])).score == 0.0  # nothing shown while matches exist
    # What the user has seen or was shown before is not available.
    seen = frozenset(it.id for it in JAZZ[1:])
    assert check_match(view([JAZZ[0], ROCK[0]], unavailable=seen)).passed
    assert check_match(view(ROCK, expect=Expect(want=[["polka"]]))) is None


def test_match_follows_the_bounds_a_follow_up_implies() -> None:
    # "shorter" after a list averaging 41.5 min: of the jazz not seen (jazz-0, -2, -3), only
    # jazz-0 is shorter than that, and it is shown.
    shown, seen = [JAZZ[0], ROCK[0]], frozenset({"jazz-1"})
    shorter = view(shown, previous=JAZZ, relations=[Relation(simple="shorter")],
                   unavailable=seen)
    assert check_match(shorter).passed
    assert check_match(view(shown, unavailable=seen)).score == pytest.approx(1 / 2)


def test_newer_and_older_follow_the_median_year() -> None:
    # Encore's documented rule: "newer" starts after the last list's median year (not its
    # mean, which one old outlier would drag down).
    from eval.conversations.checks import implied

    prev = [item("a", year=1950), item("b", year=2001), item("c", year=2003)]
    newer = implied(view([], previous=prev, relations=[Relation(simple="newer")]))
    older = implied(view([], previous=prev, relations=[Relation(simple="older")]))
    assert (newer.year_min, older.year_max) == (2002, 2000)


def test_the_item_turned_down_is_not_available() -> None:
    # "Not the second one": the runner leaves that item out of what could match, so a list
    # that shows every other match passes. Checked through the runner's own view.
    from eval.conversations.runner import _State, _view
    from eval.conversations.suite import SuiteTurn

    class _Bot:
        catalog = {it.id: it for it in CATALOG}

        def history(self, user, limit):
            return []

    class _Reply:
        recommendations: list = []
        text = notice = ""
        intent = "recommend"

    state = _State(previous=list(JAZZ), shown_before={it.id for it in JAZZ})
    turn = SuiteTurn(say="not the second one", follow=[Relation(replaced=2)])
    got = _view(_Bot(), "u", _Reply(), Expect(), turn, state)  # type: ignore[arg-type]
    assert JAZZ[1].id in got.unavailable and JAZZ[0].id not in got.unavailable


def test_order() -> None:
    assert check_order(view([*JAZZ[:2], ROCK[0]])).passed
    out = check_order(view([JAZZ[0], ROCK[0], JAZZ[1]]))
    assert not out.passed and "#3, a match" in out.reasons[0]
    assert check_order(view(JAZZ)) is None  # nothing to order


def test_explanations() -> None:
    film = item("film", "movie", genres=("drama",))
    good = view(JAZZ[:1], explanations=["Jazz, like Blue Train that you liked."],
                cited=[[item("blue-train")]])
    assert check_explanations(good).passed
    bad = view(JAZZ[:1], explanations=["Like Film that you liked."], cited=[[film]])
    assert "another kind of media" in check_explanations(bad).reasons[0]
    words = view(JAZZ[:1], lead="I dropped: media_types.",
                 explanations=["A album. Found by: dense. Score: 0.309"])
    reasons = check_explanations(words).reasons
    assert len(reasons) == 6 and "'media_types'" in reasons[0]


def test_internal_words_and_articles() -> None:
    assert internal_words("An album, a one-hour set, a unique record, 4.5 stars") == []
    assert internal_words("collaborative, max_minutes, a episode") == [
        "collaborative", "max_minutes", "a episode"]


def test_honest() -> None:
    assert claimed_counts("Only three jazz albums here; 2 close matches follow") == [3, 2]
    assert claimed_counts("Podcasts under 40 minutes per episode from 1999") == []
    assert check_honest(view(JAZZ[:3], lead="Here are 3 albums for jazz:")).passed
    out = check_honest(view(JAZZ[:3], lead="Here are 10 albums for jazz:"))
    assert not out.passed and out.reasons == ["the reply claims 10 but shows 3"]
    assert check_honest(view(JAZZ, lead="")) is None


@pytest.mark.parametrize(("relation", "shown", "ok"), [
    ("shorter", JAZZ[:2], True), ("shorter", JAZZ[2:], False),
    ("longer", JAZZ[2:], True), ("longer", JAZZ[:2], False),
    ("newer", JAZZ[2:], True), ("older", JAZZ[2:], False),
    ("type_kept", JAZZ[:2], True), ("type_kept", [item("p", "podcast")], False),
    ("topic_kept", JAZZ[2:], True), ("topic_kept", ROCK, False),
    ("same_playlist", JAZZ[1:], True), ("same_playlist", ROCK, False),
])
def test_meaning_simple_relations(relation: str, shown: list[Item], ok: bool) -> None:
    prev = JAZZ[1:3]  # 41 and 42 min, 1957 and 1959
    out = check_meaning(view(shown, previous=prev, previous_expect=Expect(want=[["jazz"]]),
                             relations=[Relation(simple=relation)]))
    assert out is not None and out.passed is ok, out


def test_meaning_replaced_and_similar() -> None:
    prev = JAZZ[:3]
    replaced = [Relation(replaced=2)]
    swapped = [JAZZ[0], JAZZ[3], JAZZ[2]]
    assert check_meaning(view(swapped, previous=prev, relations=replaced)).passed
    kept = check_meaning(view(prev, previous=prev, relations=replaced))
    assert kept.reasons == ["Jazz 1 (#2) is still shown"]
    dropped = check_meaning(view([JAZZ[0], JAZZ[3]], previous=prev, relations=replaced))
    assert dropped.reasons == ["not kept from the previous list: Jazz 2"]
    like = [Relation(similar_to=1)]
    assert check_meaning(view(JAZZ[1:], previous=prev, relations=like)).passed
    assert not check_meaning(view(ROCK, previous=prev, relations=like)).passed
    liked = [Relation(similar_to="liked")]
    assert check_meaning(view(JAZZ[1:], previous=ROCK, liked=JAZZ[0], relations=liked)).passed
    assert not check_meaning(view(JAZZ, previous=ROCK, liked=JAZZ[0], relations=liked)).passed
    assert not check_meaning(view(JAZZ, previous=None, relations=like)).passed
    assert check_meaning(view(JAZZ)) is None


def test_meaning_unreadable() -> None:
    said = view([], unreadable=True, notice="I read English only; an LLM backend reads more.")
    assert check_meaning(said).passed
    listed = check_meaning(view(ROCK, unreadable=True, lead="Here are 4 albums:"))
    assert len(listed.reasons) == 2


def test_cited_history_skips_the_pick_and_short_words() -> None:
    pick = item("pick", "movie")
    hist = [item("up", "movie"), item("pick-two", "movie")]
    hist[0] = hist[0].model_copy(update={"title": "Up"})
    assert cited_history("Like Pick Two. Up next.", pick, hist) == [hist[1]]
    assert cited_history('Like "Up" that you liked.', pick, hist) == [hist[0]]
    assert cited_history("Like Up that you liked.", pick, hist, grounded={"up"}) == [hist[0]]
    assert cited_history("Pick, like Pick Two", pick, hist) == [hist[1]]  # not its own title


# -- the whole suite on the test demo bundle ----------------------------------------------

def test_fan_users_have_the_taste(demo_bundle_path: Path) -> None:
    from assistant.engine import Engine
    from assistant.settings import Settings
    from retrieval.bundle import Bundle

    engine = Engine.from_bundle(Bundle.load(demo_bundle_path), Settings())
    fan = resolve_user(engine, engine.catalog, "true crime")
    hist = engine.base_history(fan)
    crime = sum("true crime" in engine.catalog[i].genres for i in hist.item_ids)
    share = crime / len(hist.item_ids)
    # far above the label's share of the catalog (which falls as the catalog grows)
    base = sum("true crime" in it.genres for it in engine.catalog) / len(engine.catalog)
    assert share > 10 * base, (share, base)
    with pytest.raises(ValueError, match="no user"):
        resolve_user(engine, engine.catalog, "polka")


def test_whole_suite_runs_through_the_command(demo_bundle_path: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    app.command("other")(lambda: None)  # `eval` as a sub-command, as in `encore`
    result = CliRunner().invoke(app, ["eval", "--conversations", str(SUITE), "--bundle",
                                      str(demo_bundle_path), "--json", "--out",
                                      str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    suite = load_suite(SUITE)
    assert summary["conversations"] == len(suite)
    assert summary["turns"] == sum(len(c.turns) for c in suite)
    assert summary["errors"] == 0
    assert set(summary["checks"]) == set(CHECKS)
    for name, row in summary["checks"].items():
        assert row["applicable"] > 0, name  # every check is exercised by the suite
        assert 0.0 <= row["rate"] <= 1.0
    assert 0.0 <= summary["pass_rate"] <= 1.0
    assert len(summary["failures"]) == summary["turns"] - summary["passed"]
    assert all(f["reasons"] for f in summary["failures"])
    written = json.loads((tmp_path / "out" / "conversations.json").read_text())
    assert len(written["turn_results"]) == summary["turns"]


def test_command_needs_a_bundle(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["eval", "--conversations", str(SUITE)])
    assert result.exit_code == 2 and "--bundle" in result.output


def test_bounds_of_an_earlier_follow_up_still_hold() -> None:
    """"shorter", then "not the first one": the items still available are the shorter ones,
    unless the turn moves the same bound again."""
    from eval.conversations.checks import implied

    carried = {"max_minutes": 41.0}
    assert implied(view([], carried=carried)).max_minutes == 41.0
    assert implied(view([], carried=carried, expect=Expect(max_minutes=30))).max_minutes == 30
    longer = implied(view([], carried=carried, previous=JAZZ,
                          relations=[Relation(simple="longer")]))
    assert longer.max_minutes is None and longer.min_minutes is not None
    # of the jazz (40-43 min), only jazz-0 fits a carried bound of 40.5, and it is shown
    shown = [JAZZ[0], ROCK[0]]
    assert check_match(view(shown, carried={"max_minutes": 40.5})).passed
    assert not check_match(view(shown)).passed
