"""The ReDial replay: loader and its errors, turn split, mention replacement, test points,
title mapping, recall over pairs (all and novel, values written as formulas), the systems
and the ``encore eval --dialogues`` command on the demo bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.dialogues.mapping import TitleMatcher, map_mentions, title_key
from eval.dialogues.metrics import ScoredPoint, pair_count, recall_at, recall_table
from eval.dialogues.redial import (
    load_redial,
    replace_mentions,
    split_turns,
)
from eval.dialogues.redial import (
    test_points as points_of,
)
from eval.dialogues.run import prepare_replays, select_half
from retrieval.catalog import Catalog
from retrieval.errors import DataError
from retrieval.models import Item

SEEKER, RECOMMENDER = 1, 2


def _msg(worker: int, text: str) -> dict:
    return {"senderWorkerId": worker, "text": text, "messageId": 0, "timeOffset": 0}


def _dialogue(cid: str, messages: list[tuple[int, str]], mentions: dict[str, str]) -> dict:
    return {"conversationId": cid, "initiatorWorkerId": SEEKER,
            "respondentWorkerId": RECOMMENDER, "movieMentions": mentions,
            "messages": [_msg(w, t) for w, t in messages],
            "initiatorQuestions": {}, "respondentQuestions": {}}


MENTIONS = {"10": "Arrival (2016)", "11": "Interstellar  (2014)", "12": "Alien (1979)",
            "13": "Blade Runner (1982)", "14": "Nowhere To Be Found (1999)"}
DIALOGUES = [
    # turns: S, S | R (mentions 10) | S (mentions 11) | R (mentions 11 again and 12)
    _dialogue("20002", [(SEEKER, "hi"), (SEEKER, "I want sci-fi"),
                        (RECOMMENDER, "have you seen @10 ?"),
                        (SEEKER, "yes! I loved @11"),
                        (RECOMMENDER, "then @11 fans like @12"), (RECOMMENDER, "bye")],
              {k: MENTIONS[k] for k in ("10", "11", "12")}),
    # the recommender opens with a mention: no context, no test point; then one with an
    # unmappable movie
    _dialogue("20001", [(RECOMMENDER, "try @13"), (SEEKER, "seen it, another?"),
                        (RECOMMENDER, "@14 maybe")], {k: MENTIONS[k] for k in ("13", "14")}),
    # no recommender mention at all
    _dialogue("3", [(SEEKER, "hello"), (RECOMMENDER, "hi, what do you like?")], {}),
]


@pytest.fixture()
def redial_file(tmp_path: Path) -> Path:
    path = tmp_path / "dialogues.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in DIALOGUES) + "\n\n", encoding="utf-8")
    return path


@pytest.fixture()
def catalog() -> Catalog:
    rows = [("a", "Arrival", 2016), ("i", "Interstellar", 2014), ("al", "Alien", 1979),
            ("al2", "Alien", 2030), ("b", "Blade Runner", 1982),
            ("us", "The Usual Suspects", 1995)]
    return Catalog([Item(id=i, title=t, media_type="movie", year=y) for i, t, y in rows])


# -- loader ------------------------------------------------------------------------------------


def test_loader_reads_the_dialogues_and_skips_blank_lines(redial_file: Path) -> None:
    ds = load_redial(redial_file)
    assert [d.conversationId for d in ds] == ["20002", "20001", "3"]
    assert ds[0].movieMentions["11"] == "Interstellar  (2014)"


@pytest.mark.parametrize(("line", "field", "problem"), [
    ("{not json", None, "not valid JSON"),
    ("[1, 2]", None, "expected a JSON object"),
    (json.dumps({k: v for k, v in DIALOGUES[0].items() if k != "messages"}), "messages",
     "missing"),
    (json.dumps({**DIALOGUES[0], "messages": [{"senderWorkerId": "x", "text": "hi"}]}),
     "messages.0.senderWorkerId", "integer"),
    (json.dumps({**DIALOGUES[0], "respondentWorkerId": SEEKER}), "respondentWorkerId",
     "same worker"),
])
def test_loader_errors_name_file_line_field_and_fix(tmp_path: Path, line: str,
                                                    field: str | None, problem: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(DIALOGUES[2]) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_redial(path)
    assert err.value.line == 2 and err.value.field == field
    assert problem in str(err.value) and str(path) in str(err.value) and "Fix:" in str(err.value)


def test_loader_refuses_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_redial(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="no dialogue"):
        load_redial(tmp_path / "empty.jsonl")


# -- turns and test points ------------------------------------------------------------------------


def test_consecutive_messages_of_one_worker_form_one_turn(redial_file: Path) -> None:
    turns = split_turns(load_redial(redial_file)[0])
    assert [t.role for t in turns] == ["seeker", "recommender", "seeker", "recommender"]
    assert turns[0].text == "hi\nI want sci-fi"
    assert turns[3].raw == "then @11 fans like @12\nbye" and turns[3].mentions == ["11", "12"]


def test_mentions_are_replaced_by_the_movie_names() -> None:
    assert replace_mentions("yes! I loved @11", MENTIONS) == "yes! I loved Interstellar (2014)"
    assert replace_mentions("@99 and @10", MENTIONS) == "@99 and Arrival (2016)"


def test_test_points_are_recommender_turns_with_a_mention_and_their_context(
        redial_file: Path) -> None:
    ds = load_redial(redial_file)
    first = points_of(ds[0])
    assert [(p.turn, p.targets, p.earlier) for p in first] == [
        (1, ["10"], []), (3, ["11", "12"], ["10", "11"])]
    assert [t.text for t in first[1].context] == [
        "hi\nI want sci-fi", "have you seen Arrival (2016) ?", "yes! I loved Interstellar (2014)"]
    # An opening recommender turn has no context: only the later one is a test point.
    assert [(p.turn, p.targets) for p in points_of(ds[1])] == [(2, ["14"])]
    assert points_of(ds[2]) == []


def test_halves_split_by_conversation_id(redial_file: Path) -> None:
    ds = load_redial(redial_file)
    assert [d.conversationId for d in select_half(ds, "first")] == ["3", "20001"]
    assert [d.conversationId for d in select_half(ds, "second")] == ["20002"]


# -- mapping ---------------------------------------------------------------------------------------


def test_titles_map_by_normalised_title_and_year(catalog: Catalog) -> None:
    m = TitleMatcher(catalog)
    assert m.match("Interstellar  (2014)") == "i"
    assert m.match("Usual Suspects, The (1995)") == "us"   # MovieLens' own spelling
    assert m.match("usual suspects (1996)") == "us"        # a year off
    assert m.match("Alien (1979)") == "al" and m.match("Alien (2030)") == "al2"
    assert m.match("Alien (1990)") is None                 # a title of another year
    assert m.match("Nowhere To Be Found (1999)") is None
    assert title_key("The Usual  Suspects!") == "usual suspects"
    mapped = map_mentions(MENTIONS, m)
    assert mapped == {"10": "a", "11": "i", "12": "al", "13": "b"}


def test_replays_carry_catalog_ids_and_mapping_counts(redial_file: Path,
                                                      catalog: Catalog) -> None:
    replays, counts = prepare_replays(load_redial(redial_file), catalog)
    assert [r.targets for r in replays] == [["a"], ["i", "al"], [None]]
    assert replays[1].earlier == ["a", "i"]
    assert replays[1].turn_items == [[], ["a"], ["i"]]
    assert counts["pairs"] == 4 and counts["novel pairs"] == 3
    assert counts["share of pairs mapped"] == 3 / 4
    assert counts["share of movies mapped"] == 4 / 5


# -- metrics ---------------------------------------------------------------------------------------


def test_recall_over_pairs_written_as_formulas() -> None:
    points = [ScoredPoint(["a"], [], ["x", "a", "y"]),
              ScoredPoint(["i", "al"], ["a", "i"], ["i", "z", "al"]),
              ScoredPoint([None], ["b"], ["b", "c"])]
    # 4 pairs; hits at 1: "i"; at 2: "a", "i"; at 3: "a", "i", "al". The unmapped pair is a miss.
    assert recall_at(points, 1) == pytest.approx(1 / 4)
    assert recall_at(points, 2) == pytest.approx(2 / 4)
    assert recall_at(points, 3) == pytest.approx(3 / 4)
    # Novel: "i" was named before, so 3 pairs; earlier movies leave the lists first:
    # ["x", "a", "y"], ["z", "al"], ["c"].
    assert pair_count(points, novel=True) == 3
    assert recall_at(points, 1, novel=True) == pytest.approx(0 / 3)
    assert recall_at(points, 2, novel=True) == pytest.approx(2 / 3)
    table = recall_table(points, ks=(1, 3))
    assert table == {"recall@1": 1 / 4, "recall@3": 3 / 4, "novel recall@1": 0.0,
                     "novel recall@3": 2 / 3}


def test_recall_limits() -> None:
    perfect = [ScoredPoint(["a", "b"], [], ["b", "a"])]
    assert recall_at(perfect, 2) == 1.0 and recall_at([ScoredPoint(["a"], [], ["b"])], 1) == 0.0
    assert recall_at([], 10) == 0.0
    with pytest.raises(ValueError, match="at least 1"):
        recall_at(perfect, 0)


# -- systems and the command on the demo bundle ------------------------------------------------

DEMO_MENTIONS = {"1": "Arrival (2016)", "2": "Interstellar (2014)", "3": "The Martian (2015)",
                 "4": "Blade Runner (1982)"}
DEMO_DIALOGUES = [
    _dialogue("1", [(SEEKER, "I loved Arrival (2016) and want more sci-fi"),
                    (RECOMMENDER, "try @2"), (SEEKER, "seen it, loved it"),
                    (RECOMMENDER, "then @3 or @4")], DEMO_MENTIONS),
    _dialogue("2", [(SEEKER, "something scary please"), (RECOMMENDER, "@4 ?")],
              {"4": DEMO_MENTIONS["4"]}),
]


@pytest.fixture()
def demo_dialogues(tmp_path: Path) -> Path:
    path = tmp_path / "demo_dialogues.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in DEMO_DIALOGUES) + "\n", encoding="utf-8")
    return path


def test_systems_rank_the_same_points(demo_bundle_path: Path, demo_dialogues: Path) -> None:
    from eval.dialogues.systems import EncoreDialogue, EncoreDialogueConfig, make_dialogue_system
    from retrieval.bundle import Bundle

    bundle = Bundle.load(demo_bundle_path, verify=False)
    replays, counts = prepare_replays(load_redial(demo_dialogues), bundle.catalog)
    assert counts["share of pairs mapped"] == 1.0 and len(replays) == 3
    for name in ("popularity", "minilm", "encore"):
        lists = make_dialogue_system(name, bundle).rank(replays, 10)
        assert len(lists) == 3 and all(len(x) == 10 and len(set(x)) == 10 for x in lists)
    encore = EncoreDialogue(bundle, EncoreDialogueConfig(recommender_titles=False, mentioned=0))
    req = encore.request(replays[0])
    assert req.like_ids == ["mv-arrival-2016"]      # "Arrival (2016)", by name and year
    lists = encore.rank(replays[:1], 10)
    assert "mv-arrival-2016" not in lists[0]        # a liked title never comes back
    with pytest.raises(ValueError, match="valid: encore, popularity, minilm"):
        make_dialogue_system("gpt", bundle)


def test_encore_dialogue_settings(demo_bundle_path: Path, demo_dialogues: Path) -> None:
    """The titles named earlier lead the list (most recent first) without changing a novel
    figure; a soft year range filters nothing; candidates and MMR reach the pipeline."""
    from eval.dialogues.systems import EncoreDialogue, EncoreDialogueConfig
    from retrieval.bundle import Bundle
    from retrieval.request import Request

    bundle = Bundle.load(demo_bundle_path, verify=False)
    replays, _ = prepare_replays(load_redial(demo_dialogues), bundle.catalog)
    # replays[1]: dialogue "1" after "try @2" (Interstellar), targets @3 and @4
    config = EncoreDialogueConfig(min_ratings=0, mentioned=2, candidates=50, mmr_lambda=1.0)
    encore = EncoreDialogue(bundle, config)
    assert encore.pipeline.generator.n == 50 and encore.pipeline.reranker.mmr_lambda == 1.0
    lead = encore.rank(replays, 10)
    plain = EncoreDialogue(bundle, EncoreDialogueConfig(min_ratings=0, mentioned=0,
                                                        candidates=50, mmr_lambda=1.0),
                           pipeline=encore.pipeline).rank(replays, 10)
    interstellar = replays[1].turn_items[1][0]
    assert lead[1][0] == interstellar and interstellar not in plain[1]
    assert all(len(x) == 10 and len(set(x)) == 10 for x in lead)
    earlier = [ScoredPoint(r.targets, r.earlier, x) for r, x in zip(replays, lead, strict=True)]
    before = [ScoredPoint(r.targets, r.earlier, x) for r, x in zip(replays, plain, strict=True)]
    assert recall_at(earlier, 9, novel=True) == recall_at(before, 9, novel=True)
    asked = Request(year_min=2015, year_max=2016)
    hard = encore.filter(asked).mask
    assert 0 < hard.sum() < len(hard)
    soft = EncoreDialogue(bundle, EncoreDialogueConfig(min_ratings=0, years="soft"),
                          pipeline=encore.pipeline)
    assert soft.filter(asked).mask.all()


def test_eval_dialogues_command(demo_bundle_path: Path, demo_dialogues: Path,
                                tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from assistant.commands.eval import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands, so "eval" stays a subcommand
    args = ["eval", "--dialogues", str(demo_dialogues), "--bundle", str(demo_bundle_path),
            "--systems", "popularity,minilm", "--no-progress"]
    got = CliRunner().invoke(app, [*args, "--json", "--out", str(tmp_path / "out")])
    assert got.exit_code == 0, got.output
    result = json.loads(got.stdout)
    assert set(result["metrics"]) == {"popularity", "minilm"}
    assert set(result["metrics"]["minilm"]) == {"recall@1", "recall@10", "recall@50",
                                                "novel recall@1", "novel recall@10",
                                                "novel recall@50"}
    assert result["counts"]["pairs"] == 4
    assert (tmp_path / "out" / "dialogues.json").is_file()
    table = CliRunner().invoke(app, [*args, "--novel"])
    assert table.exit_code == 0 and "novel recall@10" in table.output
    missing = CliRunner().invoke(app, ["eval", "--dialogues", str(demo_dialogues)])
    assert missing.exit_code == 2 and "--bundle" in missing.output
