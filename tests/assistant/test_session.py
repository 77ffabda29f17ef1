"""Multi-turn sessions: real conversations through the real rules parser on the demo catalog.

The lists "shown" between turns are picked by hand from the demo catalog (retrieval is not
part of these tests); every expected bound is written as the formula of the rule.
"""

from __future__ import annotations

import doctest
import json
import math
import statistics

import pytest

import assistant.session as session_module
from assistant.merge_rules import length_bound
from assistant.parsers import make_parser
from assistant.parsers.rules import is_reset, topical_words
from assistant.session import (
    MAX_SHOWN,
    FollowUp,
    Merged,
    Session,
    merge,
    record,
    relax,
)
from retrieval.demo import load_demo_catalog
from retrieval.request import InputIssue, Intent, Request, Topic

FILMS = ["mv-interstellar-2014", "mv-the-martian-2015", "mv-dune-2021", "mv-contact-1997"]
SHORTER_FILMS = ["mv-moon-2009", "mv-ex-machina-2014", "mv-gravity-2013"]
PODCASTS = ["pc-startalk-radio-2009", "pc-the-infinite-monkey-cage-2009", "pc-wolf-359-2014"]
PODCASTS_2 = ["pc-science-vs-2015", "pc-radiolab-2002", "pc-nasas-curious-universe-2020"]


@pytest.fixture(scope="module")
def catalog():
    return load_demo_catalog()


@pytest.fixture(scope="module")
def parser(catalog):
    return make_parser("rules", catalog)


@pytest.fixture
def talk(catalog, parser):
    """say(message, shown=()) -> Merged: parse with the session's context, merge, record."""
    session = Session(session_id="s1", user_id="u1")

    def say(message: str, shown: list[str] | tuple[str, ...] = ()) -> Merged:
        request = parser.parse(message, session.context())
        merged = merge(session, request, catalog)
        record(session, list(shown), merged)
        return merged

    say.session = session  # type: ignore[attr-defined]
    return say


def _durations(catalog, ids):
    return [catalog[i].duration_min for i in ids]


def test_demo_ids_exist(catalog):
    for i in [*FILMS, *SHORTER_FILMS, *PODCASTS, *PODCASTS_2]:
        assert i in catalog, i


def test_arrival_conversation(talk, catalog):
    m = talk("something like Arrival but lighter, no horror", FILMS)
    assert m.request.intent is Intent.similar
    assert m.request.like_ids == ["mv-arrival-2016"]
    assert m.request.exclude_genres == ["horror"]
    assert "dark" in m.request.exclude_tags and m.request.moods == ["light"]
    assert m.carried == [] and m.exclude_ids == []

    m = talk("shorter", SHORTER_FILMS)
    expected = length_bound(statistics.median(_durations(catalog, FILMS)), shorter=True)
    assert m.request.max_minutes == expected
    assert expected < min(_durations(catalog, FILMS))  # all four were longer than that
    assert m.request.intent is Intent.similar  # a refinement keeps the intent
    assert m.request.like_ids == ["mv-arrival-2016"] and m.request.moods == ["light"]
    assert m.request.exclude_genres == ["horror"]
    assert {"query", "titles", "moods", "exclude_genres"} <= set(m.carried)
    assert "max_minutes" not in m.carried  # set this turn, not inherited
    # a refinement answers the refined request: what was shown may come back if it fits
    assert m.followup is FollowUp.refine and m.exclude_ids == []

    m = talk("only podcasts now", PODCASTS)
    assert m.request.media_types == ["podcast"]
    assert m.request.max_minutes is None  # film minutes say nothing about podcast episodes
    assert any("length limit" in n for n in m.notes)
    assert m.request.like_ids == ["mv-arrival-2016"] and m.request.exclude_genres == ["horror"]
    assert m.request.intent is Intent.similar
    assert m.followup is FollowUp.refine and m.exclude_ids == []
    before = m.request

    m = talk("not the second one", PODCASTS_2)
    assert m.rejected_ids == [PODCASTS[1]]
    assert m.request.intent is Intent.similar  # re-run the previous request without it
    same = {"query", "media_types", "genres", "tags", "moods", "titles", "exclude_genres",
            "exclude_tags", "max_minutes", "year_min", "year_max"}
    assert m.request.model_dump(include=same) == before.model_dump(include=same)
    assert PODCASTS[1] in m.request.exclude_ids and PODCASTS[1] in m.exclude_ids
    assert "media_types" in m.carried
    # replaced in place: the last list again, the rejected one swapped for one not shown yet
    assert m.followup is FollowUp.swap and m.in_place == PODCASTS
    assert set(FILMS + SHORTER_FILMS + PODCASTS) <= set(m.exclude_ids)
    assert talk.session.rejected_ids == [PODCASTS[1]]

    m = talk("more like the first one", ["pc-the-habitat-2018"])
    assert m.reference_ids == [PODCASTS_2[0]]
    assert m.request.intent is Intent.similar
    assert m.request.like_ids == [PODCASTS_2[0]]  # the new topic replaces Arrival...
    assert m.request.moods == [] and m.request.tags == []  # ...and "lighter" with it
    assert "dark" not in m.request.exclude_tags  # a mood's exclusions go with the mood
    assert m.request.exclude_genres == ["horror"]  # what was ruled out stays ruled out
    assert m.request.media_types == ["podcast"] and "media_types" in m.carried
    assert PODCASTS[1] in m.request.exclude_ids  # still rejected
    assert "Science Vs" in m.request.query
    assert set(FILMS + SHORTER_FILMS + PODCASTS + PODCASTS_2) <= set(m.exclude_ids)
    assert talk.session.turn == 5 and talk.session.last_ids == ["pc-the-habitat-2018"]


def test_duration_dropped_when_media_types_change(talk):
    talk("something like Arrival under 2 hours", FILMS)
    m = talk("a podcast about space")
    assert m.request.media_types == ["podcast"] and m.request.tags == ["space"]
    assert m.request.max_minutes is None and "max_minutes" not in m.carried
    assert m.request.like_ids == []  # a new topic


def test_years_dropped_when_a_new_topic_names_a_new_kind_of_item(talk):
    """"older" after films set years for those films; "a podcast about space" is not held
    to them, while a kept topic in another kind ("as a series instead") would be."""
    talk("sci-fi films from the 90s", FILMS)
    m = talk("a podcast about space")
    assert (m.request.year_min, m.request.year_max) == (None, None)
    assert any("dropped the earlier years (from the 1990s)" in n for n in m.notes)
    talk("sci-fi films from the 90s", FILMS)
    m = talk("something funny")  # a new topic, the same kind of item: the years stay
    assert (m.request.year_min, m.request.year_max) == (1990, 1999)


def test_a_genre_no_carried_kind_has_leaves_that_kind_behind(talk):
    """"crime dramas" after electronic tracks: no track in the catalog is a crime drama,
    so the new topic is not held to tracks (nor to their lengths); "comedy" after
    podcasts stays with podcasts, which the catalog has comedies of."""
    talk("chill electronic tracks under 6 minutes")
    m = talk("crime dramas from the 90s")
    assert m.request.media_types == [] and "media_types" not in m.carried
    assert m.request.max_minutes is None and m.request.genres == ["crime", "drama"]
    assert any("left out the earlier kind of item (tracks): there is no crime drama among "
               "them here" in n for n in m.notes)
    talk("true crime podcasts")
    m = talk("comedy")
    assert m.request.media_types == ["podcast"] and not any("left out" in n for n in m.notes)


def test_duration_inherited_when_media_types_stay(talk):
    talk("sci-fi films under 2 hours", FILMS)
    m = talk("something funny")
    assert m.request.max_minutes == 120 and "max_minutes" in m.carried
    assert m.request.media_types == ["movie"]
    assert m.request.genres == [] and m.request.tags == ["funny"]  # topic replaced whole
    m = talk("films only")  # the same media types: nothing changes
    assert m.request.max_minutes == 120 and m.request.tags == ["funny"]


def test_range_is_one_slot(talk):
    talk("90s films under 2 hours", FILMS)
    m = talk("movies released after 2015")
    assert (m.request.year_min, m.request.year_max) == (2016, None)  # not 2016..1999
    assert m.request.max_minutes == 120


def test_exclusions_accumulate_and_latest_word_wins(talk):
    talk("sci-fi films, no horror", FILMS)
    m = talk("no thrillers")
    assert m.request.exclude_genres == ["horror", "thriller"]
    assert m.request.genres == ["science fiction"]  # no new topic
    m = talk("no comedies")
    assert m.request.exclude_genres == ["horror", "thriller", "comedy"]
    m = talk("horror films then")
    assert m.request.genres == ["horror"]
    assert m.request.exclude_genres == ["thriller", "comedy"]
    assert any("no longer ruled out: horror" in n for n in m.notes)


def test_shown_ids_are_excluded_except_what_details_are_about(talk):
    talk("sci-fi films", FILMS)
    m = talk("tell me about the second one", [FILMS[1]])
    assert m.request.intent is Intent.details and m.reference_ids == [FILMS[1]]
    assert FILMS[1] not in m.exclude_ids and FILMS[0] in m.exclude_ids
    assert talk.session.last_ids == FILMS  # "the third one" still means the list's third
    assert talk.session.focus_id == FILMS[1]
    m = talk("not that one")  # "that one" is the one just talked about
    assert m.rejected_ids == [FILMS[1]]
    assert m.request.intent is Intent.recommend and m.request.genres == ["science fiction"]
    m = talk("more like the first one")  # the seed of a similar request stays excluded
    assert m.request.like_ids == [FILMS[0]] and FILMS[0] in m.exclude_ids


def test_chitchat_and_feedback_keep_the_topic(talk):
    first = talk("90s sci-fi films under 2 hours", FILMS)
    m = talk("thanks!")
    assert m.request.intent is Intent.chitchat
    keep = {"query", "genres", "media_types", "year_min", "year_max", "max_minutes"}
    assert m.request.model_dump(include=keep) == first.request.model_dump(include=keep)
    assert talk.session.last_ids == FILMS  # nothing shown: the list stays
    m = talk("I loved the second one")
    assert m.request.intent is Intent.feedback and m.reference_ids == [FILMS[1]]
    assert m.request.genres == ["science fiction"]
    m = talk("shorter")  # after feedback, a refinement without like-titles is a recommend
    assert m.request.intent is Intent.recommend
    assert m.request.genres == ["science fiction"]


def test_relative_slots_use_the_last_list(talk, catalog):
    talk("sci-fi films", FILMS)
    m = talk("longer")
    median = statistics.median(_durations(catalog, FILMS))
    assert m.request.min_minutes == length_bound(median, shorter=False)
    m = talk("newer", FILMS)
    years = [catalog[i].year for i in FILMS]
    assert m.request.year_min == math.floor(statistics.median(years)) + 1
    m = talk("older stuff")
    assert m.request.year_max == math.ceil(statistics.median(years)) - 1
    assert m.request.year_min is None  # going older lifts the inherited lower bound


def test_relative_duration_only_counts_items_of_the_media_types_in_force(talk, catalog):
    talk("sci-fi", [*FILMS, *PODCASTS])
    m = talk("show me shorter podcasts")
    assert m.request.max_minutes == length_bound(
        statistics.median(_durations(catalog, PODCASTS)), shorter=True)
    talk2_session = Session(session_id="s2", user_id="u1", last_ids=FILMS,
                            last_request=Request(genres=["science fiction"]))
    m = merge(talk2_session, Request(media_types=["podcast"], relative_duration="shorter"),
              catalog)
    assert m.request.max_minutes is None
    assert any("no podcasts with a length" in n for n in m.notes)


def test_relative_without_a_last_list_is_a_note(talk):
    m = talk("shorter")
    assert m.request.max_minutes is None and any("'shorter' ignored" in n for n in m.notes)


def test_explicit_bound_wins_over_relative_word(talk):
    talk("sci-fi films", FILMS)
    m = talk("newer ones from 2000 onwards")
    assert m.request.year_min == 2000 and any("'newer' ignored" in n for n in m.notes)


def test_positions_beyond_the_last_list_give_a_note(talk):
    talk("sci-fi films", FILMS)
    m = talk("the ninth one")
    assert m.reference_ids == [] and any("number 9" in n and "4 items" in n for n in m.notes)
    m = talk("not the ninth one")
    assert m.rejected_ids == [] and any("rejection of number 9" in n for n in m.notes)
    assert m.request.genres == ["science fiction"]


def test_positions_with_no_list_at_all(catalog):
    m = merge(Session(session_id="s", user_id="u"), Request(reference_positions=[2]), catalog)
    assert m.reference_ids == [] and any("not been shown yet" in n for n in m.notes)


@pytest.mark.parametrize("message", [
    "start over", "ok, let's start again with podcasts", "something completely different",
    "Forget everything I said", "reset", "from scratch please", "change the topic"])
def test_is_reset(message, parser):
    assert is_reset(message)
    request = parser.parse(message)
    if message == "Forget everything I said":
        # the clean-up drops it as text addressed to the system ("forget ... everything"),
        # before the reset is read: nothing is left, and nothing changes
        assert request.issues == [InputIssue.instructions_ignored]
        assert request.topic is Topic.refine
    else:
        assert request.topic is Topic.reset  # what the merge reads


@pytest.mark.parametrize("message", [
    "not that one", "something different from Arrival", "the last one", "shorter", "", None,
    "start with the second one"])
def test_is_not_reset(message, parser):
    assert not is_reset(message)
    assert parser.parse(message).topic is not Topic.reset


def test_reset_clears_topic_and_constraints_but_not_what_was_seen(talk):
    talk("90s sci-fi films under 2 hours, no horror", FILMS)
    talk("not the second one", SHORTER_FILMS)
    m = talk("start over: a podcast about space")
    assert m.reset and any("started over" in n for n in m.notes)
    assert m.carried == []
    assert m.request.exclude_genres == [] and m.request.genres == []
    assert (m.request.year_min, m.request.year_max, m.request.max_minutes) == (None, None, None)
    assert m.request.media_types == ["podcast"] and m.request.tags == ["space"]
    assert "start" not in m.request.query and "space" in m.request.query
    assert set(FILMS + SHORTER_FILMS) <= set(m.exclude_ids)
    assert FILMS[1] in talk.session.rejected_ids

    m = talk("something completely different")
    assert m.reset and m.request.query == "" and m.request.tags == []
    assert talk.session.last_ids == []


def test_merge_reads_the_topic_field_not_the_text(catalog):
    s = Session(session_id="s", user_id="u", last_ids=FILMS,
                last_request=Request(genres=["science fiction"], max_minutes=120, topic="new"))
    # words that would start over, but the parser did not say so: nothing is reset
    m = merge(s, Request(query="start over", topic="refine"), catalog)
    assert not m.reset and m.request.genres == ["science fiction"] and m.request.max_minutes == 120
    # a reset said by the parser, whatever the words
    m = merge(s, Request(query="podcasts", topic="reset"), catalog)
    assert m.reset and m.request.genres == [] and m.request.max_minutes is None
    # a subject in words only: the parser's "new" replaces the topic, "refine" keeps it
    m = merge(s, Request(query="lighthouse keepers", topic="new"), catalog)
    assert m.request.genres == [] and m.request.query == "lighthouse keepers"
    assert m.request.max_minutes == 120  # constraints are still inherited
    m = merge(s, Request(query="lighthouse keepers", topic="refine"), catalog)
    assert m.request.genres == ["science fiction"]
    # not said (a request built by hand): only genres, tags, moods or like-titles start a topic
    assert merge(s, Request(query="lighthouse keepers"), catalog).request.genres == [
        "science fiction"]
    assert merge(s, Request(genres=["drama"]), catalog).request.genres == ["drama"]


def test_merged_topic_goes_with_the_topic_slots(talk):
    assert talk("stories about lighthouse keepers", FILMS).request.topic is Topic.new
    m = talk("shorter")  # the topic is kept, and says how it was set
    assert m.request.topic is Topic.new and "lighthouse" in m.request.query
    m = talk("horror films then")
    assert any("new topic" in n for n in m.notes)  # the free-text topic counted as one
    m = talk("more like the first one", SHORTER_FILMS)
    assert m.request.topic is Topic.new and m.request.query.startswith("like ")


def test_session_reset_method(talk):
    talk("sci-fi films", FILMS)
    talk("tell me about the second one", [FILMS[1]])
    s = talk.session.reset()
    assert s.last_request is None and s.last_ids == [] and s.focus_id is None
    assert s.shown_ids == FILMS


def test_state_round_trips(talk, catalog, parser):
    talk("something like Arrival but lighter, no horror", FILMS)
    talk("not the second one", SHORTER_FILMS)
    talk("tell me about the first one", [SHORTER_FILMS[0]])
    state = json.loads(json.dumps(talk.session.to_state()))
    restored = Session.from_state(state)
    assert restored == talk.session and restored.turn == 3
    assert restored.focus_id == SHORTER_FILMS[0]
    request = parser.parse("shorter", restored.context())
    assert merge(restored, request, catalog) == merge(talk.session, request, catalog)


@pytest.mark.parametrize(("state", "field"), [
    ({"session_id": "s", "user_id": "u", "turn": -1}, "turn"),
    ({"session_id": "s", "user_id": "u", "last_request": {"max_minutes": 0}},
     "last_request.max_minutes"),
    ({"session_id": "s"}, "user_id"),
    ({"session_id": "s", "user_id": "u", "colour": "red"}, "colour"),
])
def test_from_state_names_the_bad_field(state, field):
    with pytest.raises(ValueError, match=rf"field {field}\b.*Fix:"):
        Session.from_state(state)


def test_from_state_rejects_non_dicts():
    with pytest.raises(ValueError, match="must be a dict"):
        Session.from_state("s1")  # type: ignore[arg-type]


def test_record_dedupes_caps_and_keeps_order(catalog):
    s = Session(session_id="s", user_id="u")
    m = merge(s, Request(genres=["drama"]), catalog)
    ids = [f"x{i}" for i in range(MAX_SHOWN + 20)]  # record does not look ids up
    record(s, ids[:3] + ids[:2], m)
    assert s.shown_ids == ids[:3] and s.last_ids == ids[:3]
    record(s, ids[2:MAX_SHOWN + 20], m)
    assert len(s.shown_ids) == MAX_SHOWN
    assert s.shown_ids == ids[20:MAX_SHOWN + 20]  # the oldest go first
    assert len(s.last_ids) == 100


def test_relax_drops_only_inherited_constraints(talk):
    talk("90s sci-fi films under 2 hours, no horror", FILMS)
    m = talk("in french")
    assert m.request.language == "fr"
    relaxed, dropped = relax(m)
    assert set(dropped) == {"media_types", "year_min", "year_max", "max_minutes"}
    assert relaxed.language == "fr"  # said this turn: kept
    assert relaxed.media_types == [] and relaxed.year_min is None and relaxed.max_minutes is None
    assert relaxed.genres == ["science fiction"] and relaxed.exclude_genres == ["horror"]
    only, dropped = relax(m, ["max_minutes"])
    assert dropped == ["max_minutes"] and only.media_types == ["movie"]
    with pytest.raises(ValueError, match="relaxable slots"):
        relax(m, ["genres"])


def test_relax_with_nothing_carried(catalog):
    m = merge(Session(session_id="s", user_id="u"), Request(max_minutes=90), catalog)
    relaxed, dropped = relax(m)
    assert dropped == [] and relaxed.max_minutes == 90


@pytest.mark.parametrize("message", [
    "shorter", "only podcasts now", "films from the 90s under 2 hours", "in french",
    "newer ones please", "more like the first one", "a movie under 90 minutes",
    "a 45-minute podcast", "let's try something newer", "anything a bit older?"])
def test_constraint_only_messages_have_no_topic(parser, message):
    request = parser.parse(message)
    assert topical_words(request.query) == []
    assert request.topic is Topic.refine  # the merge keeps the previous topic


@pytest.mark.parametrize(("message", "words"), [
    ("stories about lighthouse keepers", ["stories", "lighthouse", "keepers"]),
    ("a long podcast about the Roman empire", ["roman", "empire"]),
])
def test_topic_messages_have_topic_words(parser, message, words):
    request = parser.parse(message)
    assert topical_words(request.query) == words
    assert request.topic is Topic.new


def test_free_text_starts_a_new_topic(talk):
    talk("sci-fi films under 2 hours", FILMS)
    m = talk("stories about lighthouse keepers")
    assert m.request.genres == [] and "lighthouse" in m.request.query
    assert m.request.media_types == ["movie"] and m.request.max_minutes == 120


def test_docstring_examples():
    result = doctest.testmod(session_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_rejected_ids_are_excluded_even_when_forgotten_as_shown(catalog):
    # shown_ids is capped; what was turned down stays out however long the session runs
    s = Session(session_id="s", user_id="u", rejected_ids=[FILMS[0]])
    m = merge(s, Request(genres=["drama"]), catalog)
    assert m.exclude_ids == [FILMS[0]]


def test_explicit_duration_wins_over_relative_word(catalog):
    s = Session(session_id="s", user_id="u", last_ids=FILMS, last_request=Request())
    m = merge(s, Request(max_minutes=100, relative_duration="shorter"), catalog)
    assert m.request.max_minutes == 100 and any("'shorter' ignored" in n for n in m.notes)


def test_longer_lifts_the_inherited_upper_bound(talk, catalog):
    talk("sci-fi films under 2 hours", SHORTER_FILMS)
    m = talk("longer")
    assert m.request.max_minutes is None and "max_minutes" not in m.carried
    median = statistics.median(_durations(catalog, SHORTER_FILMS))
    assert m.request.min_minutes == length_bound(median, shorter=False)


def test_a_rejection_with_a_new_constraint_answers_the_whole_list_again(talk) -> None:
    """"shorter, and not the first one" is not a swap in place: the rest of the last list
    may no longer fit the new limit, so the whole list is answered again (found by hand on
    the page: the swap kept four 49-58 minute series under an "at most 43 minutes" heading)."""
    talk("sci-fi films", FILMS)
    m = talk("shorter, and not the first one", SHORTER_FILMS)
    assert m.rejected_ids == [FILMS[0]] and FILMS[0] in m.exclude_ids
    assert m.request.max_minutes is not None
    assert m.followup is FollowUp.refine and m.in_place == []
    m = talk("not the second one")  # a rejection alone still swaps in place
    assert m.followup is FollowUp.swap and m.in_place == SHORTER_FILMS
