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


def read_counts(st: State) -> None:
    """Patterns ("top 10", "a 10-song playlist"): set the count and consume it."""
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
        if text in ("couple", "few") and i > 0 and tokens[i - 1][0] == "a":
            n = number("a " + text)
        elif text.isdigit() and len(text) <= 3:
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
        if any(j in starts or tokens[j][0] in _COUNT_NOUNS for j in following[:3]) or (
                not following and (prev in _COUNT_VERBS or prev2 in _COUNT_VERBS)):
            if following and tokens[following[0]][0] == "of":
                continue
            st.count = int(n)
            return
