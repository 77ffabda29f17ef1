"""Step 5c, counts: how many items were asked for ("five Korean thrillers", "top 10", "a
10-song playlist", "give me three").

Read twice: :func:`read_counts` before the words (patterns it consumes), and
:func:`count_from_tokens` after them (a number before a word of the vocabulary or "picks").
"""

from __future__ import annotations

import re

from assistant.parsers.rules.state import MASK, NUMBER_WORDS, Hit, State, Token, number

__all__ = ["count_from_tokens", "read_counts"]

_TOP_N = re.compile(r"\btop\s+(?P<n>\d{1,3}|ten|five|twenty|three)\b")
_N_NOUN = re.compile(
    rf"(?<![\w])(?P<n>\d{{1,3}}|{'|'.join(k for k in NUMBER_WORDS if ' ' not in k)})-"
    r"(?=(?:songs?|tracks?|films?|movies?|episodes?|albums?|podcasts?)\b)")
_COUNT_NOUNS = frozenset("recommendations recommendation suggestions suggestion picks pick ideas "
                         "options titles things more ones others".split())
_COUNT_VERBS = frozenset("give show recommend suggest list pick name".split())
# an age is not a count: "my 12 yr olds", "a 5-year-old", "kids aged 6", "ages 8 to 10"
_AGE = re.compile(
    r"(?<![\w])(?:\d{1,2}|[a-z]+(?:-[a-z]+)?)[\s-]*(?:years?|yrs?|y/?o)(?:[\s-]*olds?)?(?![\w])"
    r"|\b(?:aged?|ages)\s+\d{1,2}(?:\s*(?:-|to|and)\s*\d{1,2})?(?:\s+and\s+up)?\b"
    r"|(?<![\w])\d{1,2}\s*(?:\+|and\s+(?:up|over|older))(?=\s|$|[,.;!?])")
# "a couple more", "a few more": more of the same, not a list of two or three
_VAGUE = frozenset({"couple", "few", "several"})
# a number after these words is about items already named ("those two movies", "the last 2
# you mentioned", "all the 007 movies", "I have two movies to watch"), not about the request
_NOT_REQUESTED_AFTER = frozenset(
    "those these the all last first both my our your his her their have has had having saw seen "
    "watched are were is was of".split())


def read_counts(st: State) -> None:
    """Patterns ("top 10", "a 10-song playlist"): set the count and consume it. Ages ("my 12
    yr olds") are consumed first: they are not counts."""
    for m in list(_AGE.finditer(st.work)):
        if MASK not in m.group(0) and (m.group(0)[:1].isdigit() or m.group(0).startswith("age")
                                       or number(m.group(0).split()[0].split("-")[0])):
            st.consume(m.start(), m.end())
    for pattern in (_TOP_N, _N_NOUN):
        for m in list(pattern.finditer(st.work)):
            if MASK in m.group(0):
                continue
            n = number(m.group("n"))
            if n is not None and st.count is None:
                st.count = int(n)
                start = m.start("n") if pattern is _TOP_N else m.start()
                st.consume(start, m.end())


def count_from_tokens(st: State, tokens: list[Token], hits: list[Hit]) -> None:
    """A number ("five Korean thrillers", "give me three") before a word of the vocabulary or a
    count noun, or after a count verb (unless one was found already)."""
    if st.count is not None:
        return
    starts = {h.start for h in hits}
    for i, (text, _, _, kind) in enumerate(tokens):
        if kind != "w":
            continue
        if text in _VAGUE and i > 0 and tokens[i - 1][0] == "a":
            # "a couple of thrillers" is two; "a couple more" is more of the same
            nxt = tokens[i + 1][0] if i + 1 < len(tokens) else ""
            if nxt in ("more", "others", "else") or text not in ("couple", "few"):
                continue
            n = number("a " + text)
        elif text.isdigit() and len(text) <= 3 and not text.startswith("0"):
            n = float(text)
        elif text in NUMBER_WORDS and text not in ("a", "an"):
            n = float(NUMBER_WORDS[text])
        else:
            continue
        if n is None or n < 1:
            continue
        following = []
        for j in range(i + 1, min(i + 5, len(tokens))):
            if tokens[j][3] != "w":
                break
            following.append(j)
        prev = tokens[i - 1][0] if i > 0 and tokens[i - 1][3] == "w" else ""
        prev2 = tokens[i - 2][0] if i > 1 and tokens[i - 2][3] == "w" else ""
        if prev in _NOT_REQUESTED_AFTER or (prev == "just" and prev2 == "pick"):
            continue
        if text == "couple" and following and tokens[following[0]][0] == "of":
            following = following[1:]  # "a couple of thrillers"
        if any(j in starts or tokens[j][0] in _COUNT_NOUNS for j in following[:3]) or (
                not following and (prev in _COUNT_VERBS or prev2 in _COUNT_VERBS)):
            if following and tokens[following[0]][0] == "of":
                continue
            st.count = int(n)
            return
