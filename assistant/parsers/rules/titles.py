"""Step 3, titles: what the message names, matched against the catalog's titles.

In this order: quoted text; text after cues ("like", "loved", "tell me about", "not like",
"is ... on here", "with the vibe of"; :mod:`~assistant.parsers.rules.cued_titles`); the
subject of an opinion ("Dune was amazing"); runs of capitalised words
(:mod:`~assistant.parsers.rules.capitalised`). An opinion right after a title makes it
feedback ("X was awful" -> role not). Last, "that" and "it" found among the references are
placed: on a title named before them in the message, else on the last list.
"""

from __future__ import annotations

from assistant.parsers.rules.capitalised import capitalised_titles
from assistant.parsers.rules.cued_titles import cued_title
from assistant.parsers.rules.lexicon import Lexicon
from assistant.parsers.rules.state import MASK, State
from assistant.parsers.rules.title_patterns import OPINION_SUBJECT, QUOTED, SKIP_FIRST, TITLE_CUE
from assistant.parsers.rules.title_record import add_title, role_before
from assistant.parsers.vocabulary import TitleMatcher
from retrieval.request import TitleRole

__all__ = ["read_titles"]


def read_titles(st: State, matcher: TitleMatcher, lexicon: Lexicon) -> None:
    """Find the titles in ``st``, record them (:attr:`State.titles`) and consume them."""
    for m in QUOTED.finditer(st.text):
        group = 1 if m.group(1) is not None else 2
        span = m.group(group)
        if MASK in st.work[m.start(group):m.end(group)] or not span.strip():
            continue
        match = matcher.exact(span) or matcher.fuzzy(span, cutoff=85)
        role = role_before(st.work[max(0, m.start() - 40):m.start()])
        add_title(st, span.strip(), match, role, m.start(), m.end(), cue=None, quoted=True)
        st.quoted = True
    for m in list(TITLE_CUE.finditer(st.work)):
        if MASK in st.work[m.start():m.end()]:
            continue
        cued_title(st, m, matcher, lexicon)
    _opinion_subjects(st, matcher)
    capitalised_titles(st, matcher, lexicon)
    _resolve_anaphora(st)


def _opinion_subjects(st: State, matcher: TitleMatcher) -> None:
    """Titles in any case that are the subject of an opinion: "dune was amazing"."""
    for m in list(OPINION_SUBJECT.finditer(st.work)):
        span = m.group("span").strip()
        if not span or MASK in span or span.split()[0] in SKIP_FIRST - {"the", "a", "an"}:
            continue
        match = matcher.exact(span)
        if match is not None:
            start = m.start("span")
            add_title(st, st.text[start:start + len(span)], match, TitleRole.like,
                      start, start + len(span), cue=None)


def _resolve_anaphora(st: State) -> None:
    """Place "more like that", "loved it" on the last list, unless a title named before it
    in the message is what it points at; then its opinion goes to that title."""
    for start, end, positions, negated, feedback in st.anaphora:
        before = [text for title_start, text in st.title_spans if title_start < start]
        if not before:
            (st.excl_positions if negated else st.ref_positions).extend(positions)
            if negated:
                st.negated_spans.append((start, end))
            continue
        if not feedback:
            continue
        # "Saw Barbie. Hated it.", "Watched Dune last night, loved it"
        st.title_cues.add("feedback")
        role = TitleRole.not_ if negated else TitleRole.like
        st.titles = [t.model_copy(update={"role": role})
                     if t.text == before[-1] and t.role is not TitleRole.about else t
                     for t in st.titles]
