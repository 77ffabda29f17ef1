"""Step 5a, durations: "under 2 hours" -> max 120; "a 40-minute drive" -> max 40; "about an
hour" -> 45-75; "between 20 and 40 minutes"; "a 2-hour playlist" -> ``playlist_minutes=120``.

A negation turns a bound round ("nothing over 2 hours" -> max 120). In a playlist request a
length not said of the songs is the playlist's ("a 45-minute workout playlist" ->
``playlist_minutes=45``). Durations mean what ``Item.duration_min`` means: for series and
podcasts, one episode.
"""

from __future__ import annotations

import re

from assistant.parsers.rules.intents import PLAYLIST
from assistant.parsers.rules.lexicon import Lexicon
from assistant.parsers.rules.negation import negation_before
from assistant.parsers.rules.state import MASK, State, number

__all__ = ["read_durations"]

_NUM = (r"(?:\d+(?:[.,]\d+)?|a\s+couple\s+of|couple\s+of|an?|one|two|three|four|five|six|seven|"
        r"eight|nine|ten|eleven|twelve|fifteen|twenty-five|twenty|thirty|forty-five|forty|fifty|"
        r"sixty|ninety)")
_UNIT = r"(?P<unit>hours?|hrs?|h|minutes?|mins?|min|m)(?![a-z])"
_DURATION = re.compile(
    rf"(?<![\w.])(?:(?P<halfhour>half\s+an?\s+hour|half-hour|half\s+hour)"
    rf"|(?:between\s+)?(?:(?P<lo>{_NUM})\s*(?:-|to|and)\s*)?(?P<num>{_NUM})(?P<half>\s+and\s+a\s+half)?"
    rf"\s*-?\s*{_UNIT}(?:\s*(?:and\s+)?(?P<extra>\d{{1,2}})\s*(?:minutes?|mins?|m)?(?![\w]))?"
    rf"(?P<half2>\s+and\s+a\s+half)?)")
_PRE_MAX = re.compile(
    r"(?:under|below|less\s+than|fewer\s+than|at\s+most|max(?:imum)?(?:\s+of)?|up\s+to"
    r"|no\s+more\s+than|not\s+more\s+than|no\s+longer\s+than|not\s+longer\s+than"
    r"|shorter\s+than|within|not\s+over|<)\s*$")
_PRE_MIN = re.compile(r"(?:over|above|more\s+than|at\s+least|min(?:imum)?(?:\s+of)?|longer\s+than|"
                      r"no\s+less\s+than|no\s+shorter\s+than|not\s+under|>)\s*$")
_PRE_APPROX = re.compile(r"(?:around|about|roughly|approximately|approx\.?|circa|close\s+to|"
                         r"something\s+like|~|nearly|almost)\s*$")
_PRE_PLAYLIST = re.compile(
    r"(?:playlist|mix|mixtape)\s+(?:of|for|lasting|that\s+lasts|around|about)?\s*$")
_POST_MAX = re.compile(
    r"^\s*(?:max(?:imum)?|tops|or\s+less|or\s+under|or\s+shorter|at\s+(?:the\s+)?most)\b")
_POST_MIN = re.compile(r"^\s*(?:or\s+more|or\s+longer|min(?:imum)?|at\s+least|plus\b|\+)")
_POST_APPROX = re.compile(r"^\s*(?:or\s+so\b|-?ish\b)")
_POST_ACTIVITY = re.compile(
    r"^\s*(?:-\s*)?(?:long\s+)?(?:car\s+|train\s+|bus\s+|plane\s+|morning\s+|daily\s+)?"
    r"(?:drive|driving|commute|walk|run|jog|ride|flight|trip|journey|workout|break|lunch|bath"
    r"|session|wait|layover|nap|shift)\b")
_POST_PLAYLIST = re.compile(
    r"^\s*(?:-\s*)?(?:long\s+)?(?:(?:[a-z'-]+\s+){0,2}(?:playlist|mix|mixtape)|set)\b"
    r"|^\s+of\s+(?!the\b)")
# a length said of each item of a playlist ("songs under 5 minutes", "5 minutes each")
_ITEM_BEFORE = re.compile(
    r"\b(?:songs?|tracks?|tunes?|pieces?|episodes?|ones)\s+(?:(?:that|which)(?:'s|\s+(?:are|is|run|last))"
    r"\s+)?(?:\w+\s+){0,2}$")
_POST_ITEM = re.compile(
    r"^\s*(?:-\s*)?(?:long\s+)?(?:each|apiece|per\s+(?:song|track|piece|episode)|a\s+(?:song|track|piece))\b")
_POST_MEDIA = re.compile(
    r"^\s*(?:-\s*)?(?:long\s+)?(?:[a-z-]+\s+)?(?:podcasts?|episodes?|films?|movies?|shows?"
    r"|series|albums?|audiobooks?|songs?|tracks?|documentar(?:y|ies)|docs?)\b")
_ABBREVIATED = frozenset({"h", "m"})
# what shows a length is not an item's: "two hours ago", "3 hours later", "2 hours away"
_NOT_ABOUT_ITEM = re.compile(r"^\s*(?:ago|later|earlier|before|after|away|late|early|behind|"
                             r"from\s+(?:here|now|home)|each\s+way|of\s+(?:my|our|your|the|sleep|"
                             r"driving|traffic|work|homework))\b")
_POST_TRAIL = re.compile(
    r"^\s*(?:long\b|in\s+length\b|(?:an|per|a|each)\s+episode\b|each\b|a\s+pop\b)")


def read_durations(st: State, lexicon: Lexicon) -> None:
    """Find the durations in ``st``, set its minute bounds and consume them."""
    playlist = PLAYLIST.search(st.work) is not None
    for m in list(_DURATION.finditer(st.work)):
        if MASK in m.group(0) or not _about_the_request(st, m):
            continue
        amount = _amount(m)
        if amount is None:
            continue
        value, low = amount
        if value <= 0 or value > 100_000:
            continue
        _place(st, lexicon, m, value, low, playlist)


def _about_the_request(st: State, m: re.Match[str]) -> bool:
    """Whether a duration match says a length at all, and one of what is asked for.

    - A one-letter unit ("h", "m") follows a number in digits ("2h", "90m"); after "a", "an"
      or a number word it is a word of its own: "I am" and "Ah" are not one minute and one
      hour.
    - "a minute" or "a second" with no bound or activity after it is an idiom ("wait a
      minute", "give me a minute"), not a length.
    - A time in the past ("two hours ago", "for hours yesterday") or of something else
      ("2 hours later") is about the story or the person, not the item.
    """
    if m.group("halfhour"):
        return True
    unit = m.group("unit") or ""
    num = " ".join((m.group("num") or "").split())
    if unit in _ABBREVIATED and not num[:1].isdigit():
        return False
    after = st.work[m.end():m.end() + 40]
    if _NOT_ABOUT_ITEM.match(after):
        return False
    if num in ("a", "an", "one") and unit.startswith("min") and not m.group("half") and not (
            _PRE_MAX.search(st.work[max(0, m.start() - 30):m.start()])
            or _POST_ACTIVITY.match(after) or _POST_MEDIA.match(after)):
        return False
    return True


def _amount(m: re.Match[str]) -> tuple[float, float | None] | None:
    """The minutes a duration match says, and the low end of a range ("20 to 40 minutes")."""
    unit = 60.0 if (m.group("unit") or "").startswith("h") else 1.0
    if m.group("halfhour"):
        return 30.0, None
    num = number(m.group("num"))
    if num is None:
        return None
    if m.group("half") or m.group("half2"):
        num += 0.5
    value = num * unit + (float(m.group("extra")) if m.group("extra") else 0.0)
    low = number(m.group("lo")) if m.group("lo") else None
    return value, (low * unit if low is not None else None)


def _kind(st: State, start: int, end: int, low: float | None) -> tuple[str, str, int, int]:
    """What the duration at ``start:end`` bounds, from the words around it: kind (range,
    playlist, max, min, approx), cue (bound, activity, item or empty), and the span it takes."""
    before = st.work[max(0, start - 30):start]
    after = st.work[end:end + 40]
    consumed_start, consumed_end = start, end
    kind, cue = "max", ""
    if low is not None:
        kind = "range"
    elif (p := _PRE_PLAYLIST.search(before)) or _POST_PLAYLIST.match(after):
        kind = "playlist"
        if p:
            consumed_start = start - (len(before) - p.start())
    elif span := _cue_span(start, end, before, after, _PRE_MAX, _POST_MAX):
        kind, cue = "max", "bound"
        consumed_start, consumed_end = span
    elif span := _cue_span(start, end, before, after, _PRE_MIN, _POST_MIN):
        kind, cue = "min", "bound"
        consumed_start, consumed_end = span
    elif span := _cue_span(start, end, before, after, _PRE_APPROX, _POST_APPROX):
        kind = "approx"
        consumed_start, consumed_end = span
    elif _POST_ACTIVITY.match(after):
        kind, cue = "max", "activity"
    elif _POST_MEDIA.match(after):
        kind, cue = "approx", "item"
    return kind, cue, consumed_start, consumed_end


def _cue_span(start: int, end: int, before: str, after: str, pre: re.Pattern[str],
              post: re.Pattern[str]) -> tuple[int, int] | None:
    """The span of the duration at ``start:end`` with its cue: ``pre`` ending ``before`` it
    ("under 2 hours") or ``post`` starting ``after`` it ("2 hours max"); None without one."""
    if p := pre.search(before):
        return start - (len(before) - p.start()), end
    if q := post.match(after):
        return start, end + q.end()
    return None


def _place(st: State, lexicon: Lexicon, m: re.Match[str], value: float, low: float | None,
           playlist: bool) -> None:
    """Set the bound one duration says and consume it."""
    kind, cue, consumed_start, consumed_end = _kind(st, m.start(), m.end(), low)
    after = st.work[m.end():m.end() + 40]
    if cue == "bound" and (neg := negation_before(st, lexicon, consumed_start)):
        kind = "min" if kind == "max" else "max"  # "nothing over 2 hours": at most 2
        st.consume(*neg)
    if playlist and kind in ("max", "min", "approx") and cue != "item" and not (
            _ITEM_BEFORE.search(st.work[max(0, consumed_start - 40):consumed_start])
            or _POST_ITEM.match(after)) and (cue != "bound" or value >= 20):
        # in a playlist request a length is the playlist's ("a 45-minute workout
        # playlist", "for my 25-minute commute"), unless it is said of the songs
        kind = "playlist"
    trail = _POST_TRAIL.match(st.work[consumed_end:consumed_end + 20])
    if trail:
        consumed_end += trail.end()
    if kind == "range" and low is not None:
        lo, hi = sorted((low, value))
        st.min_minutes, st.max_minutes = lo, hi
    elif kind == "playlist":
        st.playlist_minutes = value
    elif kind == "max":
        st.max_minutes = value if st.max_minutes is None else min(st.max_minutes, value)
    elif kind == "min":
        st.min_minutes = value if st.min_minutes is None else max(st.min_minutes, value)
    else:
        st.min_minutes, st.max_minutes = value * 0.75, value * 1.25
    st.consume(consumed_start, consumed_end)
