"""Titles after a cue: "like Arrival", "not like Dune", "tell me about Fleabag", "loved it".

The text after the cue, up to the end of its clause, is matched against the catalog's titles:
exact on every prefix (longest first), then fuzzy, then a capitalised word that only one
title has.
"""

from __future__ import annotations

import re

from assistant.parsers.rules.lexicon import Lexicon
from assistant.parsers.rules.state import MASK, State, token_key
from assistant.parsers.rules.title_patterns import (
    CAP_CONNECT,
    COMPARE_CUES,
    LEADING_ARTICLE,
    SKIP_FIRST,
    WEAK_CUES,
    WINDOW_STOP,
)
from assistant.parsers.rules.title_record import add_title, only_vocabulary, year_after
from assistant.parsers.vocabulary import TitleMatch, TitleMatcher
from retrieval.request import TitleRole

__all__ = ["cued_title"]

_Words = list[re.Match[str]]


def cued_title(st: State, cue: re.Match[str], matcher: TitleMatcher, lexicon: Lexicon) -> None:
    """Find and record the title the cue ``cue`` points at, if any."""
    kind = cue.lastgroup or "like"
    cue_text = " ".join(cue.group(0).split())
    start = cue.end()
    stop = WINDOW_STOP.search(st.work, start)
    end = stop.start() if stop else len(st.work)
    if MASK in st.work[start:end]:
        end = st.work.index(MASK, start)
    words = list(re.finditer(r"\S+", st.text[start:end]))[:10]
    if not words:
        return
    first = LEADING_ARTICLE.sub("", st.text[start:end]).split()
    if not first:
        return
    head = first[0].lower().strip(".,:;!?")
    original_case = any(ch.isupper() for w in words for ch in w.group(0)[:1])
    # "like My Favorite Murder", "similar to This American Life": a capitalised word that
    # usually is not a title's may start one, if the whole span then is exactly a title
    capital_skip = head in SKIP_FIRST and head != "i" and (
        first[0][:1].isupper() or len(words) >= 3)
    if capital_skip:
        whole = _exact_capitalised_span(st, matcher, start, words)
        if whole is not None:
            match, n = whole
            _add_cued(st, cue, kind, cue_text, start, words, match, n)
        return
    if head in SKIP_FIRST or (not original_case and token_key(head) in lexicon):
        return
    if head.isdigit() and len(words) == 1 and not matcher.exact(head):
        return
    weak = bool(WEAK_CUES.match(cue_text)) and kind != "like"
    best = _best_match(st, matcher, lexicon, start, words, original_case, weak)
    if best is None:
        return
    _add_cued(st, cue, kind, cue_text, start, words, *best)


def _best_match(st: State, matcher: TitleMatcher, lexicon: Lexicon, start: int, words: _Words,
                original_case: bool, weak: bool) -> tuple[TitleMatch, int] | None:
    """The title the words from ``start`` begin with, and how many words it takes."""
    # exact keys on every prefix, longest first; then fuzzy; then a unique word.
    caps = 0
    while caps < len(words) and words[caps].group(0)[:1].isupper():
        caps += 1
    if caps and year_after(st, start, start + words[caps - 1].end()) is not None:
        return None  # "like Dark Sea (2013)": the dated run is the title (see capitalised)
    for n in range(len(words), 0, -1):
        span = st.text[start:start + words[n - 1].end()]
        if only_vocabulary(span, lexicon) and (not any(ch.isupper() for ch in span) or (
                n < len(words) and "media" in lexicon.kinds(words[n].group(0)))):
            continue  # "find the album Kid A", "I like Comedy movies": words, not titles
        match = matcher.exact(span)
        if match:
            return match, n
    if original_case or not weak:
        cutoff = 88.0 if original_case else 90.0
        for n in range(min(len(words), 6), 0, -1):
            span = st.text[start:start + words[n - 1].end()]
            if len(span) < 4 or (not any(ch.isupper() for ch in span)
                                 and only_vocabulary(span, lexicon)):
                continue
            match = matcher.fuzzy(span, cutoff=cutoff)
            if match:
                return match, n
    if original_case and words[0].group(0)[:1].isupper():
        caps = 0
        while caps < len(words) and words[caps].group(0)[:1].isupper():
            caps += 1
        match = matcher.unique_word(st.text[start:start + words[caps - 1].end()])
        if match:
            return match, caps
    return None


def _exact_capitalised_span(st: State, matcher: TitleMatcher, start: int,
                            words: _Words) -> tuple[TitleMatch, int] | None:
    """The longest run of two or more capitalised words from ``start`` that is a title
    (three or more words, exactly, when none is capitalised)."""
    caps = 0
    while caps < len(words) and (words[caps].group(0)[:1].isupper() or (
            caps and words[caps].group(0).lower() in CAP_CONNECT)):
        caps += 1
    if caps == 0:  # all lower case: only a title of three words or more, exactly
        return next(((m, n) for n in range(len(words), 2, -1)
                     if (m := matcher.exact(st.text[start:start + words[n - 1].end()]))),
                    None)
    for n in range(caps, 1, -1):
        match = matcher.exact(st.text[start:start + words[n - 1].end()])
        if match:
            return match, n
    return None


def _add_cued(st: State, cue: re.Match[str], kind: str, cue_text: str, start: int,
              words: _Words, match: TitleMatch, n: int) -> None:
    end_char = start + words[n - 1].end()
    role = {"not": TitleRole.not_, "about": TitleRole.about,
            "unseen": TitleRole.about}.get(kind, TitleRole.like)
    span = st.text[start:end_char].strip(" .,:;!?")
    cue_kind = ("compare" if kind == "like" and COMPARE_CUES.match(cue_text)
                else "feedback" if kind in ("like", "not") and cue_text not in ("not",)
                and not cue_text.startswith(("except", "besides", "other", "apart", "anything",
                                             "but"))
                else kind)
    add_title(st, span, match, role, cue.start(), end_char, cue=cue_kind)
