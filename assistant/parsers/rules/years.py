"""Step 5b, years and eras: "the 90s", "early 2000s", "after 2015", "2010 or later", "between
1995 and 2005", "2019 films", "recent" (the years of the catalog's newest tenth of items, see
:attr:`~assistant.parsers.vocabulary.Vocabulary.recent_from`; "they don't have to be recent"
sets nothing). A decade after a possessive is an age ("in her 90s"), not an era.

A negation turns a bound round ("nothing before 2000" -> from 2000). When several are said,
the narrowest range they agree on is kept; when they do not agree, the widest.
"""

from __future__ import annotations

import re

from assistant.parsers.rules.lexicon import Lexicon
from assistant.parsers.rules.negation import negation_before
from assistant.parsers.rules.state import MASK, State

__all__ = ["read_years"]

_DECADE = re.compile(
    r"(?<![\w'])(?:(?P<q>early|mid|late)[\s-]+)?(?:the\s+)?'?(?P<d>(?:1[89]|20)?\d0)'?s(?![\w])"
    r"|(?:(?P<q2>early|mid|late)[\s-]+)?(?:the\s+)?(?:nineteen[\s-]?)?(?P<w>twenties|thirties|forties|"
    r"fifties|sixties|seventies|eighties|nineties|noughties|aughts)\b")
_WORD_DECADES = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950,
                 "sixties": 1960, "seventies": 1970, "eighties": 1980, "nineties": 1990,
                 "noughties": 2000, "aughts": 2000}
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_YEAR_RANGE = re.compile(
    rf"(?:\bfrom\s+|\bbetween\s+)?(?<![\w])(?P<a>{_YEAR})"
    rf"\s*(?:-|to|and|or|through|until|till)\s*(?P<b>{_YEAR})(?![\w])")
_YEAR_CUE = re.compile(
    r"\b(?P<cue>since|after|post|newer\s+than|later\s+than|before|pre|prior\s+to|older\s+than"
    r"|earlier\s+than|until|till|released\s+in|made\s+in|from|in|of|circa|around)"
    rf"[\s-]+(?P<y>{_YEAR})(?![\w])")
_YEAR_BARE = re.compile(
    rf"(?<![\w])(?P<y>{_YEAR})(?=\s+(?:[a-z-]+\s+)?(?:films?|movies?|albums?|songs?|tracks?|shows?|"
    rf"series|podcasts?|audiobooks?|music|releases?|hits?)\b)")
_ERA_CUE = re.compile(r"(?P<cue>since|after|post|before|pre|prior\s+to|until|till|older\s+than|"
                      r"newer\s+than)[\s-]+$")
# "from 2010 onwards", "2005 or later", "2010+": open at the top; "1979 or earlier": at the bottom
_OPEN_LATER = re.compile(
    r"\s*(?:\+|(?:and|or)\s+(?:later|after|newer|beyond|up|since|onwards?|more\s+recent)\b"
    r"|onwards?\b|forwards?\b|(?:to|till|until|through)\s+(?:now|today|the\s+present|present)\b"
    r"|on\b(?=\s*(?:$|[,.;!?]|please\b|only\b|and\b|but\b)))")
_OPEN_EARLIER = re.compile(r"\s*(?:and|or)\s+(?:earlier|before|older|prior)\b")
_YEAR_OPEN = re.compile(
    r"(?:\b(?:from|since|in|starting(?:\s+(?:from|in|with))?|beginning(?:\s+(?:in|with))?"
    r"|released(?:\s+in)?|made(?:\s+in)?|recorded(?:\s+in)?|published(?:\s+in)?)[\s-]+)?"
    rf"(?<![\w])(?P<y>{_YEAR})(?![\w'])(?=(?P<later>{_OPEN_LATER.pattern})|(?P<earlier>{_OPEN_EARLIER.pattern}))")
# A negation that turns a bound round: "nothing over 2 hours" (max), "no films made before 1990"
# (min). Only these words may stand between the negation and the bound.
_RECENT = re.compile(r"(?<!more\s)\b(?:recent|latest|newest|brand[\s-]new|new\s+releases?)\b")

# a decade after a possessive is an age: "in her 90s", "my parents are in their 60s"
_AGE_BEFORE = re.compile(r"\b(?:my|your|his|her|their|our|in\s+(?:his|her|their|my|your|our))"
                         r"\s+(?:(?:early|mid|late)[\s-]+)?$")
# "they don't have to be recent", "nothing recent", "I haven't seen anything recent": no bound
_RECENT_NEGATED = re.compile(
    r"(?:\b(?:no|not|nothing|never|without)|n't|\bdont|\bdoesnt)\b[^.,;!?\x00]{0,30}$")
_Bounds = tuple[list[int], list[int]]  # the lower and upper bounds said, in the order read


def read_years(st: State, lexicon: Lexicon, recent_from: int | None) -> None:
    """Find the years and eras in ``st``, set its year range and consume them.

    Args:
        st: The message being parsed.
        lexicon: What the words between a negation and a bound may be.
        recent_from: The first year "recent" covers in this catalog
            (:attr:`~assistant.parsers.vocabulary.Vocabulary.recent_from`), or None.
    """
    bounds: _Bounds = ([], [])
    _ranges(st, bounds)
    _open_ended(st, bounds)
    _cued(st, lexicon, bounds)
    _bare(st, bounds)
    _decades(st, lexicon, bounds)
    lows, highs = bounds
    if not lows and not highs:
        m = _RECENT.search(st.work)
        if m and recent_from is not None and not _RECENT_NEGATED.search(st.work[:m.start()]):
            lows.append(recent_from)
        if m:
            st.consume(m.start(), m.end())
    year_min = max(lows) if lows else None
    year_max = min(highs) if highs else None
    if year_min is not None and year_max is not None and year_min > year_max:
        year_min, year_max = min(lows), max(highs)
    st.year_min = year_min if year_min is None else max(1800, min(2100, year_min))
    st.year_max = year_max if year_max is None else max(1800, min(2100, year_max))


def _ranges(st: State, bounds: _Bounds) -> None:
    """Ranges: "1995-2005", "between 1995 and 2005"."""
    for m in list(_YEAR_RANGE.finditer(st.work)):
        if MASK in m.group(0):
            continue
        a, b = sorted((int(m.group("a")), int(m.group("b"))))
        bounds[0].append(a)
        bounds[1].append(b)
        st.consume(m.start(), m.end())


def _open_ended(st: State, bounds: _Bounds) -> None:
    """Open-ended: "from 2010 onwards", "2005 or later", "2010+", "1979 or earlier"."""
    for m in list(_YEAR_OPEN.finditer(st.work)):
        if MASK in m.group(0):
            continue
        y = int(m.group("y"))
        (bounds[0] if m.group("later") is not None else bounds[1]).append(y)
        st.consume(m.start(), m.end("later") if m.group("later") is not None
                   else m.end("earlier"))


def _cued(st: State, lexicon: Lexicon, bounds: _Bounds) -> None:
    """After a cue: "after 2015", "before 1990", "released in 2019", "around 2000"."""
    lows, highs = bounds
    for m in list(_YEAR_CUE.finditer(st.work)):
        if MASK in m.group(0):
            continue
        y, cue = int(m.group("y")), " ".join(m.group("cue").split())
        bound: tuple[str, int] | None = None
        if cue in ("since",):
            bound = ("low", y)
        elif cue in ("after", "post", "newer than", "later than"):
            bound = ("low", y + 1)
        elif cue in ("before", "pre", "prior to", "older than", "earlier than"):
            bound = ("high", y - 1)
        elif cue in ("until", "till"):
            bound = ("high", y)
        elif cue in ("circa", "around"):
            lows.append(y - 2)
            highs.append(y + 2)
        else:
            lows.append(y)
            highs.append(y)
        if bound is not None:
            _add_bound(st, lexicon, bound, m.start(), bounds)
        st.consume(m.start(), m.end())


def _bare(st: State, bounds: _Bounds) -> None:
    """Bare years: "2019 films": a year right before a kind of item."""
    for m in list(_YEAR_BARE.finditer(st.work)):
        if MASK in m.group(0):
            continue
        y = int(m.group("y"))
        bounds[0].append(y)
        bounds[1].append(y)
        st.consume(m.start(), m.end())


def _decades(st: State, lexicon: Lexicon, bounds: _Bounds) -> None:
    """Decades: "the 90s", "early 2000s", "the eighties", "since the 90s", "the 80s or earlier"."""
    lows, highs = bounds
    for m in list(_DECADE.finditer(st.work)):
        if MASK in m.group(0):
            continue
        if _AGE_BEFORE.search(st.work[max(0, m.start() - 25):m.start()]):
            st.consume(m.start(), m.end())  # "she was in her 90s": an age, not an era
            continue
        if m.group("d"):
            d = m.group("d")
            # two digits: 00-20 are this century ("the 2010s" = "the 10s"), the rest the last
            decade = int(d) if len(d) == 4 else (2000 if int(d) <= 20 else 1900) + int(d)
        else:
            decade = _WORD_DECADES[m.group("w")]
        q = m.group("q") or m.group("q2")
        lo, hi = {"early": (0, 4), "mid": (3, 7), "late": (5, 9)}.get(q or "", (0, 9))
        first, last = decade + lo, decade + hi
        before = st.work[max(0, m.start() - 20):m.start()]
        cue = _ERA_CUE.search(before)
        start = m.start()
        end = m.end()
        if cue:
            start -= len(before) - cue.start()
            _add_bound(st, lexicon, _era_bound(cue.group("cue"), decade, first, last), start,
                       bounds)
        elif open_end := _OPEN_LATER.match(st.work, end):
            lows.append(first)  # "the 90s onwards"
            end = open_end.end()
        elif open_end := _OPEN_EARLIER.match(st.work, end):
            highs.append(last)  # "the 80s or earlier"
            end = open_end.end()
        else:
            lows.append(first)
            highs.append(last)
        st.consume(start, end)


def _era_bound(cue: str, decade: int, first: int, last: int) -> tuple[str, int]:
    """The one-sided bound a cue before an era sets ("since the 90s" -> from 1990)."""
    word = " ".join(cue.split())
    if word == "since":
        return "low", first
    if word in ("after", "post", "newer than"):
        return "low", decade + 10
    if word in ("until", "till"):
        return "high", last
    return "high", decade - 1


def _add_bound(st: State, lexicon: Lexicon, bound: tuple[str, int], start: int,
               bounds: _Bounds) -> None:
    """Add a one-sided year bound whose cue starts at ``start``; a negation before the cue
    turns it round ("nothing before 1990" is 1990 or later)."""
    side, year = bound
    if neg := negation_before(st, lexicon, start):
        side, year = ("high", year - 1) if side == "low" else ("low", year + 1)
        st.consume(*neg)
    (bounds[0] if side == "low" else bounds[1]).append(year)
