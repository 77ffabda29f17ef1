"""Step 2, references to the last list shown.

"the second one" -> ``reference_positions=[2]``, "more like that" -> the item in focus (no
position when the focus is no longer in the last list: the session merge then starts from
it), "not that one" -> ``exclude_positions``. Coordinated references share one verb ("drop
the first and the last" -> exclude 1 and -1). "That" and "it" after a title named in the
same message point at the title, not at the list ("Parasite was amazing, more like that"):
such anaphora are kept in :attr:`State.anaphora` and placed once the titles are known
(:mod:`assistant.parsers.rules.titles`).
"""

from __future__ import annotations

import re

from assistant.parsers.rules.state import MASK, State, number
from retrieval.request import ParseContext

__all__ = ["read_references"]

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4, "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7,
             "eighth": 8, "8th": 8, "ninth": 9, "9th": 9, "tenth": 10, "10th": 10, "last": -1,
             "top": 1, "final": -1}
_REF_NOUNS = (r"ones?|films?|movies?|shows?|series|songs?|tracks?|albums?|podcasts?|books?|"
              r"audiobooks?|episodes?|picks?|options?|suggestions?|recommendations?|results?|titles?")
_ORD_ALT = "|".join(sorted(_ORDINALS, key=len, reverse=True))
_FIRST_N = re.compile(r"\bthe\s+(?:first|top)\s+(?P<n>two|three|four|five|[2-9])(?:\s+ones)?\b")
# "the second one", "the 2nd film"; "the third" alone only before the end of a clause, so
# that titles ("The Last Dance", "The Third Man") and "the first time" stay what they are.
_ORDINAL_REF = re.compile(
    rf"\b(?P<the>the\s+)?(?P<ord>{_ORD_ALT})"
    rf"(?:\s+(?P<noun>{_REF_NOUNS})\b|(?=\s*(?:$|[.,;:!?)]|(?:and|or|but|please|is|was|looks?"
    r"|sounds?|seems?|too|then|instead|again)\b)))")
_NUMBER_REF = re.compile(r"(?:\bnumber|\bno\.|#|\boption|\bpick)\s*(?P<n>\d{1,2})\b")
_ANAPHORA = re.compile(
    rf"\b(?:that|this)\s+(?:{_REF_NOUNS})\b"
    r"|\b(?:more|something|anything|stuff|others?|things|ones|some)\s+like\s+(?:that|this|it|those|these)\b"
    r"|\b(?:loved|liked|enjoyed|hated|disliked|love|hate|seen|watched|heard|about|of)\s+(?:it|that|this)\b"
    r"(?=\s*(?:$|[.!?,;]|so\b|too\b|a lot\b|very\b|please\b|but\b|more\b|much\b))"
    r"|\b(?:not|no|nope|skip|drop|remove|hide)\s+(?:it|that|this)\b(?=\s*(?:$|[.!?,;]|please\b))")
_REF_NEGATION = re.compile(
    r"\b(?:not|no|nope|skip|drop|remove|hide|ditch|lose|scrap|toss|get\s+rid\s+of|take\s+out|"
    r"cross\s+off|pass\s+on|without|except|excluding|didn'?t\s+(?:like|enjoy)|did\s+not\s+"
    r"(?:like|enjoy)|hated?|disliked?|seen|already\s+(?:seen|watched|heard))\b")
# "the first and the last", "the second and third", "#1 or #3": one verb for all of them
_COORD_GAP = re.compile(r"\s*(?:,\s*)?(?:and|or|&|nor|plus)\s+(?:also\s+)?(?:the\s+)?")
_COORD_ORDINAL = re.compile(
    rf"\s*(?:,\s*)?(?:and|or|&|nor|plus)\s+(?:also\s+)?(?:the\s+)?(?P<ord>{_ORD_ALT})"
    rf"(?:\s+(?:{_REF_NOUNS})\b|(?=\s*(?:$|[.,;:!?)]|(?:and|or|but|please|too|then|instead|again)\b)))")
_FEEDBACK_ANAPHOR = re.compile(r"\b(?:loved|liked|enjoyed|hated|disliked|love|hate)\b")
_REF_SIMILAR = re.compile(
    r"\b(?:more|something|anything|stuff|others?|things|ones|some)(?:\s+[a-z'-]+){0,2}\s+like\b"
    r"|\bsimilar\b")

def _explicit(st: State) -> list[tuple[int, int, list[int]]]:
    """Ordinal and numbered references, with the ones coordinated after them."""
    found: list[tuple[int, int, list[int]]] = []
    for m in _FIRST_N.finditer(st.work):
        n = int(number(m.group("n")) or 0)
        found.append((m.start(), m.end(), list(range(1, n + 1))))
    for m in _ORDINAL_REF.finditer(st.work):
        if not (m.group("the") or m.group("noun")) or MASK in m.group(0):
            continue
        if m.group("ord") == "top" and not m.group("noun"):
            continue
        found.append((m.start(), m.end(), [_ORDINALS[m.group("ord")]]))
    for m in _NUMBER_REF.finditer(st.work):
        n = int(m.group("n"))
        if 1 <= n <= 100:
            found.append((m.start(), m.end(), [n]))
    chained: set[int] = set()
    for _, end, _ in list(found):
        while end not in chained and (c := _COORD_ORDINAL.match(st.work, end)):
            chained.add(end)
            found.append((c.start("ord"), c.end(), [_ORDINALS[c.group("ord")]]))
            end = c.end()
    return found


def _clause_before(st: State, start: int, end: int) -> str:
    """The words of the same clause up to ``start``, and the reference itself."""
    before = re.split(r"[,;.!?\x00]", st.work[max(0, start - 25):start])[-1]
    return before + " " + st.work[start:end]


def read_references(st: State, context: ParseContext | None) -> None:
    """Find the references to the last list in ``st`` and consume them."""
    focus = context.focus_position if context is not None else 1
    focus_elsewhere = (context is not None and context.focus_id is not None
                       and context.focus_id not in context.last_ids)
    found = _explicit(st)
    explicit = [p for _, _, positions in sorted(found) for p in positions]
    anaphora = set()
    for m in _ANAPHORA.finditer(st.work):
        # "the second one looks great, more like that": "that" is the one just named
        found.append((m.start(), m.end(), [explicit[0] if explicit else focus]))
        if not explicit:
            anaphora.add(m.start())
    taken: list[tuple[int, int]] = []
    negated = False
    for start, end, positions in sorted(found, key=lambda f: (f[0], -f[1])):
        if any(start < e and s < end for s, e in taken):
            continue
        if start in anaphora:  # placed once the titles are known (see titles._resolve_anaphora)
            taken.append((start, end))
            before = _clause_before(st, start, end)
            negated = _REF_NEGATION.search(before) is not None
            similar = not negated and _REF_SIMILAR.search(before) is not None
            st.ref_similar = st.ref_similar or similar
            feedback = _FEEDBACK_ANAPHOR.search(st.work, start, end) is not None
            if similar and focus_elsewhere:
                # "more like that" after the item in focus left the list: no position to
                # give; the session merge starts from the item in focus
                positions = []
            st.anaphora.append((start, end, positions, negated, feedback))
            st.consume(start, end)
            continue
        joined = bool(taken) and _COORD_GAP.fullmatch(st.work, taken[-1][1], start) is not None
        taken.append((start, end))
        if not joined:  # a coordinated reference shares the verb of the one before it
            before = _clause_before(st, start, end)  # the same clause only
            negated = _REF_NEGATION.search(before) is not None
        if negated:
            st.excl_positions.extend(positions)
            st.negated_spans.append((start, end))
        else:
            st.ref_positions.extend(positions)
            if _REF_SIMILAR.search(before):
                st.ref_similar = True
        st.consume(start, end)
