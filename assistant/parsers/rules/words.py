"""Step 6, words: media types, genres, tags, moods, languages and relative words ("shorter",
"newer") from the lexicon (:mod:`~assistant.parsers.rules.lexicon`), longest phrase first, with
their negation scopes (:mod:`~assistant.parsers.rules.negation`).

After "about", "on" or "regarding" a word is the subject, not a kind of item: "a podcast about
films" wants the film genre (when the catalog has it), not films; "what about podcasts?" and
"how about a series" ask for the kind of item.
"""

from __future__ import annotations

from assistant.parsers.rules.lexicon import Lexicon
from assistant.parsers.rules.negation import negate_scopes
from assistant.parsers.rules.state import TOKEN, Hit, State, Token

__all__ = ["read_words"]

_TOPIC_BEFORE = frozenset({"about", "on", "regarding"})


def read_words(st: State, lexicon: Lexicon) -> tuple[list[Token], list[Hit]]:
    """The tokens of what is left of the message, and the lexicon's matches among them
    (negated ones marked)."""
    tokens: list[Token] = [(m.group(0), m.start(), m.end(), m.lastgroup or "p")
                           for m in TOKEN.finditer(st.work)]
    # lexicon matches, longest first, over runs of words (punctuation and gaps break them)
    hits: list[Hit] = []
    i = 0
    while i < len(tokens):
        found = _match_at(tokens, i, lexicon) if tokens[i][3] == "w" else None
        if found is None:
            i += 1
            continue
        hits.append(found)
        i = found.end
    negate_scopes(st, tokens, hits)
    return tokens, hits


def _match_at(tokens: list[Token], i: int, lexicon: Lexicon) -> Hit | None:
    """The longest lexicon phrase starting at token ``i``, or None."""
    for n in range(lexicon.max_phrase, 0, -1):
        span = tokens[i:i + n]
        if len(span) < n or any(t[3] != "w" for t in span):
            continue
        key = " ".join(t[0] for t in span)
        senses = lexicon.get(key)
        if senses is None:
            continue
        prev = tokens[i - 1][0] if i > 0 and tokens[i - 1][3] == "w" else ""
        nxt = tokens[i + n][0] if i + n < len(tokens) else ""
        if key == "show" and nxt in ("me", "us", "you", "them"):
            continue
        prev2 = tokens[i - 2][0] if i > 1 and tokens[i - 2][3] == "w" else ""
        if prev in _TOPIC_BEFORE and not (prev == "about" and prev2 in ("what", "how")):
            senses = lexicon.literal.get(key) or tuple(
                s for s in senses if not s.startswith(("media:", "weakmedia:")))
            if not senses:
                continue
        return Hit(i, i + n, senses)
    return None
