"""Negation: which words a "no", "not" or "nothing" rules out.

Two kinds:

- **Scopes over words** ("no horror", "nothing scary", "not a podcast", "not in the mood for
  anything dark"): a negation cue rules out the genre, tag, mood, media or language words of
  the next few words of its clause. A media word after a genre or tag stays wanted ("no
  horror films": films is what is wanted).
- **Bounds turned round** ("nothing over 2 hours" -> at most 120 minutes, "no films made
  before 1990" -> from 1990): :func:`negation_before` finds the negation that governs a
  duration or year bound.
"""

from __future__ import annotations

import re

from assistant.parsers.rules.lexicon import Lexicon
from assistant.parsers.rules.state import Hit, State, Token

__all__ = ["negate_scopes", "negation_before"]

# A negation that turns a bound round: "nothing over 2 hours" (max), "no films made before 1990"
# (min). Only these words may stand between the negation and the bound.
_BOUND_NEGATIONS = frozenset(
    "no nothing none not never nor don't dont doesn't isn't aren't won't".split())
_BOUND_FILLERS = frozenset(
    "that that's thats which is are was were be at all really made released recorded published "
    "out came come coming running lasting anything something stuff ones one things please too "
    "much way want need i from".split())
_NEG_SINGLE = frozenset("no not without avoid avoiding skip except excluding exclude minus nothing "
                        "none never hate hated dislike disliked less nor neither don't dont "
                        "doesn't isn't aren't".split())
_NEG_VERBS = frozenset("hate hated dislike disliked".split())
_NEG_MULTI: tuple[tuple[str, ...], ...] = (
    ("not", "in", "the", "mood", "for"), ("not", "really", "into"), ("not", "into"),
    ("not", "a", "fan", "of"), ("don't", "feel", "like"), ("no", "more"), ("do", "not"),
    ("anything", "but"), ("rather", "than"), ("instead", "of"), ("other", "than"),
    ("apart", "from"), ("sick", "of"), ("tired", "of"), ("enough", "of"), ("but", "not"))
_SCOPE_STOP = frozenset("but and though although however just only please instead so because "
                        "which that i we you for".split())
_SCOPE_WORDS = 5


def negation_before(st: State, lexicon: Lexicon, pos: int) -> tuple[int, int] | None:
    """The span of a negation that governs the bound starting at ``pos`` ("nothing over 2
    hours", "no films made before 1990"), or None.

    Between the two only fillers and media, genre, tag or language words may stand, in the
    same clause. The span is empty (start == end) when a genre, tag or language stands between:
    "no horror films over 2 hours" keeps its "no" for the horror as well."""
    clause = re.split(r"[,;.!?:\x00]", st.work[max(0, pos - 50):pos])[-1]
    offset = pos - len(clause)
    words = list(re.finditer(r"[\w'-]+", clause))
    content = False
    for w in reversed(words[-6:]):
        text = w.group(0)
        if text in _BOUND_NEGATIONS:
            start = offset + w.start()
            return (start, start) if content else (start, offset + w.end())
        if text in _BOUND_FILLERS:
            continue
        kinds = lexicon.kinds(text)
        if not kinds or not kinds <= {"media", "weakmedia", "genre", "tag", "lang"}:
            return None
        content = content or bool(kinds - {"media", "weakmedia"})
    return None


def negate_scopes(st: State, tokens: list[Token], hits: list[Hit]) -> None:
    """Mark the ``hits`` inside a negation's scope as negated (and their span in
    :attr:`State.negated_spans`, so that the query leaves them out)."""
    words = [i for i, t in enumerate(tokens) if t[3] == "w"]
    covered = {j for h in hits for j in range(h.start, h.end)}
    for pos, idx in enumerate(words):
        if idx in covered:
            continue
        cue_len = _cue_length(tokens, words, pos)
        if not cue_len:
            continue
        scope_start = idx + cue_len
        scope_end = scope_start
        seen_words = 0
        while scope_end < len(tokens) and seen_words < _SCOPE_WORDS:
            text, _, _, kind = tokens[scope_end]
            if kind != "w" or (text in _SCOPE_STOP and scope_end > scope_start):
                break
            seen_words += 1
            scope_end += 1
        if _negate_hits(hits, scope_start, scope_end):
            end_char = tokens[scope_end - 1][2] if scope_end > scope_start else tokens[idx][2]
            st.negated_spans.append((tokens[idx][1], end_char))


def _cue_length(tokens: list[Token], words: list[int], pos: int) -> int:
    """Words in the negation cue starting at the ``pos``-th word (0: none)."""
    idx = words[pos]
    for multi in _NEG_MULTI:
        nxt = [tokens[j][0] for j in words[pos:pos + len(multi)]]
        if tuple(nxt) == multi and words[pos + len(multi) - 1] - idx == len(multi) - 1:
            return len(multi)
    if tokens[idx][0] not in _NEG_SINGLE:
        return 0
    if pos and tokens[idx][0] in _NEG_VERBS and tokens[words[pos - 1]][0] in _NEG_SINGLE:
        return 0  # "I don't hate horror": two negations, no refusal
    nxt = [tokens[j][0] for j in words[pos + 1:pos + 3]]
    if nxt[:1] in (["mind"], ["hate"], ["dislike"]) or nxt == ["have", "to"] or nxt == ["really",
                                                                                       "mind"]:
        return 0  # "I don't mind romance", "I don't hate horror": not a refusal
    return 1


def _negate_hits(hits: list[Hit], scope_start: int, scope_end: int) -> bool:
    """Negate the hits within the token span; whether any was."""
    content_seen = False
    negated_any = False
    for h in hits:
        if h.start < scope_start or h.end > scope_end or h.negated:
            continue
        kinds = {s.partition(":")[0] for s in h.senses}
        if kinds <= {"media", "weakmedia"} and content_seen:
            continue  # "no horror films": films is what is wanted
        if kinds & {"genre", "tag", "mood", "media", "lang"}:
            h.negated = True
            negated_any = True
        content_seen = content_seen or bool(kinds & {"genre", "tag", "mood"})
    return negated_any
