"""Follow-up phrases: what a person says about the list they were just shown.

- **Too much of something** (before the durations and years are read): "too long", "a bit
  long", "not so long" -> shorter; "too short" -> longer; "too old", "too dated" -> newer;
  "too new", "too recent", "too modern" -> older (:func:`read_too`). "not too long" and
  "nothing too long" say what is fine, not what to change, and are left alone.
- **A playlist's new length** (after the words are read): when the previous request was a
  playlist, a length said of no kind of item ("make it an hour", "90 minutes instead") is
  the playlist's length, not the items' (:func:`retarget_playlist`).

Example:
    >>> from assistant.parsers.rules.state import State
    >>> st = State(text="too long", work="too long")
    >>> [h.senses for h in read_too(st)]
    [('reldur:shorter',)]
"""

from __future__ import annotations

import re

from assistant.parsers.rules.state import Hit, State
from retrieval.request import Intent, ParseContext

__all__ = ["read_too", "retarget_playlist"]

_TOO = re.compile(
    r"(?<!\bnot\s)(?<!\bnothing\s)(?<!\bnone\s)"
    r"\b(?:(?:way\s+|far\s+|much\s+|a\s+bit\s+|a\s+little\s+|kind\s+of\s+|kinda\s+)?too"
    r"|a\s+(?:bit|little|tad)|kinda|rather|not\s+so)"
    r"\s+(?P<w>long|lengthy|short|old|dated|old-fashioned|new|recent|modern)\b"
    r"(?!\s+(?:podcasts?|films?|movies?|series|shows?|songs?|tracks?|albums?|books?|"
    r"audiobooks?|episodes?|ones?|stuff))")
_SENSE = {"long": "reldur:shorter", "lengthy": "reldur:shorter", "short": "reldur:longer",
          "old": "relyear:newer", "dated": "relyear:newer", "old-fashioned": "relyear:newer",
          "new": "relyear:older", "recent": "relyear:older", "modern": "relyear:older"}


def read_too(st: State) -> list[Hit]:
    """The "too long" kind of phrases in ``st``, consumed, as hits with a relative sense."""
    hits = []
    for m in list(_TOO.finditer(st.work)):
        hits.append(Hit(m.start(), m.end(), (_SENSE[m.group("w")],)))
        st.consume(m.start(), m.end())
    return hits


def retarget_playlist(st: State, hits: list[Hit], context: ParseContext | None) -> None:
    """After a playlist, a length said of no kind of item is the playlist's new length."""
    previous = context.previous if context is not None else None
    if previous is None or previous.intent is not Intent.playlist:
        return
    if st.playlist_minutes is not None or (st.min_minutes is None and st.max_minutes is None):
        return
    if any(s.startswith(("media:", "weakmedia:")) for h in hits if not h.negated
           for s in h.senses):
        return  # "songs under 4 minutes": the length of the songs
    low, high = st.min_minutes, st.max_minutes
    st.playlist_minutes = (low + high) / 2 if low is not None and high is not None else (
        high if high is not None else low)
    st.min_minutes = st.max_minutes = None
