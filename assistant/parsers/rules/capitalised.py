"""Titles no cue points at: runs of capitalised words that are a catalog title.

"Anything like Arrival" has a cue; "Arrival, but lighter" has only the capital letter. A run
that starts with a word that is usually not a title's ("My", "This", "How") counts only when
it is a title as a whole ("This American Life"); a capitalised word no cue points at stays a
word when it is an occasion ("creepy podcasts for Halloween").
"""

from __future__ import annotations

import re

from assistant.parsers.rules.lexicon import Lexicon
from assistant.parsers.rules.state import MASK, State, token_key
from assistant.parsers.rules.title_patterns import (
    CAP_CONNECT,
    CAP_STOP,
    FAN_AFTER,
    OCCASION_BEFORE,
    TITLE_VERBS,
)
from assistant.parsers.rules.title_record import add_title, role_before, year_after
from assistant.parsers.vocabulary import OCCASION_WORDS, TitleMatch, TitleMatcher

__all__ = ["capitalised_titles"]

_Words = list[tuple[int, int, str]]  # (start, end, text) of each word of the message
_YEAR_WORD = re.compile(r"\(?(?:1[89]\d\d|20\d\d)\)?[.,;:!?]*")
_PUNCT = "\"'()[].,;:!?*"


def capitalised_titles(st: State, matcher: TitleMatcher, lexicon: Lexicon) -> None:
    """Find and record the titles among the runs of capitalised words (the first six runs)."""
    words = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\S+", st.text)]
    for run in _runs(st, words)[:6]:
        _run_title(st, matcher, lexicon, words, run)


def _runs(st: State, words: _Words) -> list[list[int]]:
    """Runs of capitalised words (joined by "of", "the"...), broken by punctuation and masks."""
    runs: list[list[int]] = []
    current: list[int] = []
    for i, (s, e, w) in enumerate(words):
        if MASK in st.work[s:e]:
            if current:
                runs.append(current)
            current = []
            continue
        bare = w.strip("\"'()[]")
        is_cap = bool(bare) and (bare[0].isupper() or (bare[0].isdigit() and bool(current)))
        if is_cap or (current and bare in CAP_CONNECT):
            current.append(i)
        elif current:
            runs.append(current)
            current = []
        if current and _YEAR_WORD.fullmatch(w):  # "Fargo (1996) and Pulp Fiction (1994)"
            runs.append(current)
            current = []
            continue
        if current and re.search(r"[,;!?]$|(?<![A-Z])\.$", w) and not re.fullmatch(
                r"(?:[A-Z]\.)+|(?:Dr|Mr|Mrs|Ms|St|Vol|Sgt)\.", bare):
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _run_title(st: State, matcher: TitleMatcher, lexicon: Lexicon, words: _Words,
               run: list[int]) -> None:
    """Record the title one run of capitalised words is (or starts with), if any."""
    while run and (words[run[-1]][2].strip("\"'()[].,;:!?") in CAP_CONNECT
                   or _YEAR_WORD.fullmatch(words[run[-1]][2])):
        run = run[:-1]
    if not run:
        return
    if _dated_run(st, matcher, words, run):
        return
    whole = _whole_title_run(st, matcher, words, run)
    if whole is not None:  # "This American Life", "My Favorite Murder", "I Love Lucy"
        start, end, match = whole
        role = role_before(st.work[max(0, start - 40):start])
        add_title(st, st.text[start:end], match, role, start, end, cue=None)
        return
    while run:
        i = run[0]
        first = words[i][2].strip("\"'()[].,;:!?").lower()
        sentence_start = i == 0 or re.search(r"[.!?]$", words[i - 1][2]) is not None
        if first in CAP_STOP or (len(run) == 1 and token_key(first) in lexicon) or (
                sentence_start and token_key(first) in lexicon):
            run = run[1:]
            continue
        break
    if not run:
        return
    found = _match_run(st, matcher, words, run)
    if found is None:
        return
    start, end, title = found
    if title is None or _occasion(st, start, end):
        return
    role = role_before(st.work[max(0, start - 40):start])
    add_title(st, st.text[start:end], title, role, start, end, cue=None)


def _dated_run(st: State, matcher: TitleMatcher, words: _Words, run: list[int]) -> bool:
    """A run written with a year after it ("It (2017)", "Avengers: Infinity War (2018)") is a
    title as a whole, whatever its first word: recorded (unresolved when the catalog lacks it,
    so that "War" is not read as a genre) and consumed. Whether it was."""
    start, end = words[run[0]][0], words[run[-1]][1]
    span = st.text[start:end].rstrip(".,:;!?")
    end = start + len(span)
    dated = year_after(st, start, end)
    if dated is None or not span.strip(_PUNCT):
        return False
    first = span.split()[0].strip(_PUNCT).lower()
    match = matcher.exact(span, dated[0])
    if match is None and len(run) > 1 and (first in CAP_STOP or run[0] == 0):
        # "Saw Black Panther (2018)": the title may start after the first word
        inner = words[run[1]][0]
        match = matcher.exact(st.text[inner:end], dated[0])
        if match is not None:
            start = inner
    if match is None:
        match = matcher.fuzzy(span, 92, dated[0]) if len(span) >= 5 else None
    if match is None and first in CAP_STOP and len(run) == 1:
        return False
    role = role_before(st.work[max(0, start - 40):start])
    add_title(st, st.text[start:end], match, role, start, end, cue=None)
    return True


def _match_run(st: State, matcher: TitleMatcher, words: _Words,
               run: list[int]) -> tuple[int, int, TitleMatch | None]:
    """The title a run starts with (exact, longest first; then fuzzy), and its span."""
    start = words[run[0]][0]
    match: TitleMatch | None = None
    end = start
    for n in range(len(run), 0, -1):
        end = words[run[n - 1]][1]
        span = st.text[start:end].rstrip(".,:;!?")
        match = matcher.exact(span)
        if match:
            end = start + len(span)
            break
    first_of_sentence = run[0] == 0 or re.search(r"[.!?]$", words[run[0] - 1][2])
    if match is None and len(run) > 1 and first_of_sentence:
        # "Saw Barbie.", "Watched Dune last night": a sentence's first word is
        # capitalised whatever it is; the title may start after it
        span = st.text[words[run[1]][0]:words[run[-1]][1]].rstrip(".,:;!?")
        match = matcher.exact(span)
        if match:
            start = words[run[1]][0]
            end = start + len(span)
    if match is None:
        end = words[run[-1]][1]
        span = st.text[start:end].rstrip(".,:;!?")
        if len(span) >= 5:
            match = matcher.fuzzy(span, cutoff=90)
            end = start + len(span)
    return start, end, match


def _whole_title_run(st: State, matcher: TitleMatcher, words: _Words,
                     run: list[int]) -> tuple[int, int, TitleMatch] | None:
    """A run of two or more capitalised words that starts with a word that is usually not
    a title's ("My", "This", "How") and is, as a whole, exactly a title."""
    if len(run) < 2 or words[run[0]][2].strip("\"'()[].,;:!?").lower() not in CAP_STOP:
        return None
    start = words[run[0]][0]
    for n in range(len(run), 1, -1):
        span = st.text[start:words[run[n - 1]][1]].rstrip(".,:;!?")
        match = matcher.exact(span)
        if match:
            return start, start + len(span), match
    return None


def _occasion(st: State, start: int, end: int) -> bool:
    """Whether a capitalised one-word span no cue pointed at is an occasion, not a title:
    a holiday or season ("songs for Halloween"), or a word after "for", "on", "at"...
    ("music for a Renaissance fair"). A message that is nothing but the word keeps it."""
    span = st.text[start:end].strip(" \"'.,:;!?")
    if " " in span or st.text.strip(" \"'.,:;!?") == span:
        return False
    after = st.work[end:end + 30]
    if FAN_AFTER.match(after):
        return False  # "a show for Bluey fans"
    previous = re.findall(r"[\w']+", st.work[max(0, start - 30):start])
    while previous and previous[-1] in ("a", "an", "the", "my", "our", "this", "next"):
        previous.pop()
    if previous and (previous[-1] in TITLE_VERBS or previous[-2:-1] == ["mood"]):
        return False  # "I watched Halloween", "about Halloween", "in the mood for Jaws"
    return span.lower() in OCCASION_WORDS or (
        bool(previous) and previous[-1] in OCCASION_BEFORE)
