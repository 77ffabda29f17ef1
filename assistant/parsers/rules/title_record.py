"""How a title found in a message is recorded: its role, its cue, and what it consumes.

Shared by the steps that find titles (:mod:`~assistant.parsers.rules.titles`,
:mod:`~assistant.parsers.rules.cued_titles`, :mod:`~assistant.parsers.rules.capitalised`).
"""

from __future__ import annotations

from assistant.parsers.rules.lexicon import Lexicon
from assistant.parsers.rules.state import State, token_key
from assistant.parsers.rules.title_patterns import (
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

__all__ = ["add_title", "only_vocabulary", "role_before"]


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


def add_title(st: State, text: str, match: TitleMatch | None, role: TitleRole,
              start: int, end: int, cue: str | None) -> None:
    """Record a title found at ``start:end`` and consume it with what is said of it.

    An opinion right after it ("Parasite was amazing") makes it feedback and sets its role;
    "on here" makes it the subject of a question; "energy", "-esque" a comparison.
    """
    text = text.strip()[:200] or "?"
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
