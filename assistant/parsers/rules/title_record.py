"""How a title found in a message is recorded: its role, its cue, and what it consumes.

Shared by the steps that find titles (:mod:`~assistant.parsers.rules.titles`,
:mod:`~assistant.parsers.rules.cued_titles`, :mod:`~assistant.parsers.rules.capitalised`).
"""

from __future__ import annotations

import re

from assistant.parsers.rules.english import CHAT_WORDS, is_common
from assistant.parsers.rules.lexicon import Lexicon
from assistant.parsers.rules.state import State, token_key
from assistant.parsers.rules.title_patterns import (
    CAP_CONNECT,
    LEADING_ARTICLE,
    LIKENESS_AFTER,
    OPINION_AFTER,
    OPINION_REASON,
    PLACE_AFTER,
    ROLE_BEFORE_ABOUT,
    ROLE_BEFORE_FEEDBACK,
    ROLE_BEFORE_NOT,
    SKIP_FIRST,
)
from assistant.parsers.vocabulary import TitleMatch
from retrieval.request import TitleRef, TitleRole

__all__ = ["add_title", "looks_like_title", "only_vocabulary", "role_before", "year_after"]

# "Cocoon (1985)", "Ghostbusters 1984": the year a title is given with
_YEAR_AFTER = re.compile(
    r"\s*(?:\(\s*(?P<p>1[89]\d\d|20\d\d)\s*\)|(?P<b>1[89]\d\d|20\d\d)(?![\w']))")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]|\b(?:hi|hello|hey|ok|okay|yes|yeah|no|oh|well|so|and"
                             r"|but|lol|haha)[,!])\W*$", re.IGNORECASE)
_PUNCT = "\"'()[].,;:!?*"


def role_before(before: str) -> TitleRole:
    """How a title is meant, from the words just before it ("not like", "tell me about")."""
    if ROLE_BEFORE_NOT.search(before):
        return TitleRole.not_
    if ROLE_BEFORE_ABOUT.search(before):
        return TitleRole.about
    return TitleRole.like


def only_vocabulary(span: str, lexicon: Lexicon) -> bool:
    """Whether every word of ``span`` is a word of the vocabulary (not a title)."""
    words = [w for w in LEADING_ARTICLE.sub("", span.lower()).split() if w]
    return bool(words) and all(w in SKIP_FIRST or token_key(w) in lexicon
                               for w in words)


def year_after(st: State, start: int, end: int) -> tuple[int, int] | None:
    """The year written right after the title at ``start:end`` ("Cocoon (1985)") and where
    it ends, or None. A number that is part of the title is not its year ("Blade Runner
    2049")."""
    m = _YEAR_AFTER.match(st.text, end) if end <= len(st.text) else None
    if m is None:
        return None
    if m.group("b") and st.matcher is not None and st.matcher.exact(st.text[start:m.end()]):
        return None
    return int(m.group("p") or m.group("b")), m.end()


def looks_like_title(st: State, text: str, start: int, *, cue: str | None = None,
                     quoted: bool = False, dated: bool = False, exact: bool = True) -> bool:
    """Whether the span ``text`` found at ``start`` reads as a title in human chat text.

    Quoted and dated spans do ("Goodbye (2017)"). A span with a word that is not common
    English does ("lebowski"). A span of common words only does when it is long and exact
    (three words or more), or when its capitals say so: a capitalised word that does not
    start a sentence ("I loved Frozen", "Inside Out"), or the opening word of a sentence
    with an opinion after it ("Frozen was great"). So "to", "Cool!", "Goodbye", "Nope", "a
    bit", "Another", "Well, thanks" are words.
    """
    if quoted or dated:
        return True
    raw = [w.strip(_PUNCT) for w in text.split()]
    words = [w for w in raw if w]
    lower = [w.lower() for w in words]
    if not words or (len(words) == 1 and lower[0] in CHAT_WORDS):
        return False
    if not all(is_common(w) for w in lower if w not in CAP_CONNECT):
        return True
    if len(words) >= 3 and exact:
        return True
    opinion = bool(OPINION_AFTER.match(st.work[start + len(text):start + len(text) + 80]))
    capitals = [w for w in words if w[:1].isupper()]
    if not capitals:  # "the wire is the best show ever", not "life is good"
        return opinion and len(words) >= 2
    if not _SENTENCE_START.search(st.text[max(0, start - 12):start]):
        return True
    return len(capitals) >= 2 or cue == "feedback" or opinion


def add_title(st: State, text: str, match: TitleMatch | None, role: TitleRole,
              start: int, end: int, cue: str | None, *, quoted: bool = False) -> None:
    """Record a title found at ``start:end`` and consume it with what is said of it.

    A span that does not read as a title (:func:`looks_like_title`) is left as words. The
    year written after it picks among the titles of that name ("Ghostbusters (1984)") and is
    consumed with it. An opinion right after it ("Parasite was amazing") makes it feedback
    and sets its role; "on here" makes it the subject of a question; "energy", "-esque" a
    comparison.
    """
    text = text.strip()[:200] or "?"
    title_start = max(start, st.text.find(text, start, end + 1))
    dated = year_after(st, title_start, end)
    if match is not None and not looks_like_title(st, text, title_start, cue=cue, quoted=quoted,
                                                  dated=dated is not None,
                                                  exact=match.score >= 100):
        return
    if dated is not None:
        year, end = dated
        if match is not None and st.matcher is not None:
            match = st.matcher.exact(match.key, year) or st.matcher.fuzzy(match.key, 95, year)
    said_end = end  # what is said of the title right after it is part of the title's clause
    if cue is None and match is not None:
        after = st.work[end:end + 80]
        if opinion := OPINION_AFTER.match(after):  # "Parasite was amazing"
            role = TitleRole.not_ if opinion.group("bad") else TitleRole.like
            cue, said_end = "feedback", end + opinion.end()
        elif PLACE_AFTER.match(after):  # "do you guys have Fleabag on here?"
            role, cue = TitleRole.about, "about"
        elif LIKENESS_AFTER.match(after):  # "something with Fleabag energy"
            role, cue = TitleRole.like, "compare"
    if cue == "feedback" and (reason := OPINION_REASON.match(st.work[said_end:said_end + 60])):
        said_end += reason.end()  # "I hated Hereditary, far too scary": not a request
    if match is None:
        if len(st.titles) < 10:
            st.titles.append(TitleRef(text=text, role=role))
    else:
        for item_id in match.ids:
            if len(st.titles) < 10 and all(t.item_id != item_id for t in st.titles):
                st.titles.append(TitleRef(text=text, item_id=item_id, role=role,
                                          score=round(match.score, 1)))
    if cue:
        st.title_cues.add(cue)
    elif role is TitleRole.like and ROLE_BEFORE_FEEDBACK.search(
            st.work[max(0, start - 30):start]):
        st.title_cues.add("feedback")
    if role is TitleRole.not_:
        st.negated_spans.append((start, said_end))
    st.title_spans.append((start, text))
    st.consume(start, said_end)
