"""The checks of one turn: each reads a :class:`TurnView` and returns an :class:`Outcome`,
or ``None`` when it does not apply to the turn.

- ``constraints``: every shown item satisfies the hard constraints; a playlist lasts its
  target within the tolerance when the catalog allows it.
- ``match``: matches / min(shown, available) is 1, where available counts the catalog
  items that satisfy the whole request (so a short list showing every match scores 1).
- ``order``: items that match the request come before close matches.
- ``explanations``: a history title cited to explain a pick shares a genre or theme and a
  media family with it; no internal names (slot names, source names, raw scores) and no
  "a album" in the reply or the explanations.
- ``meaning``: what the follow-up means for the previous list (shorter, the Nth replaced,
  the type kept...), or that an unreadable message is said to be unreadable.
- ``honest``: the reply never claims more items than it shows.

Example:
    >>> from retrieval.models import Item
    >>> jazz = Item(id="a", title="Kind of Blue", media_type="album", genres=["jazz"])
    >>> rock = Item(id="b", title="Abbey Road", media_type="album", genres=["rock"])
    >>> view = TurnView(expect=Expect(want=[["jazz"]]), shown=[rock, jazz], catalog=[jazz, rock])
    >>> check_order(view).reasons
    ['Kind of Blue (#2, a match) comes after Abbey Road (#1, a close match)']
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import mean, median
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from eval.conversations.facts import (
    available,
    family,
    matches,
    playlist_feasible,
    related,
    violations,
)
from eval.conversations.suite import Expect, Relation
from retrieval.request import Request

if TYPE_CHECKING:
    from retrieval.models import Item

__all__ = ["CHECKS", "Outcome", "TurnView", "check_constraints", "check_explanations",
           "check_honest", "check_match", "check_meaning", "check_order"]


class Outcome(BaseModel):
    """One check's verdict on one turn."""

    passed: bool
    reasons: list[str] = Field(default_factory=list)
    """Why it failed (empty when it passed)."""
    score: float | None = None
    """The check's figure when it has one (the request match)."""


@dataclass(frozen=True)
class TurnView:
    """Everything the checks read about one answered turn.

    Args:
        expect: The turn's expectations (inherited ones included).
        shown: The catalog items shown, in order.
        catalog: Every catalog item.
        lead: The reply's text above the cards.
        notice: The reply's notice (a problem handled this turn), if any.
        explanations: Each shown item's explanation, in order.
        cited: For each shown item, the history items whose titles its explanation names.
        unavailable: Ids that could not be shown: the user's history, and for a fresh
            suggestion (not a follow-up) the items shown earlier in the conversation.
        previous: The list shown by the last turn that showed one (None: no such turn).
        previous_expect: That turn's expectations.
        liked: The item the person last said they liked.
        relations: What this follow-up means (from the suite).
        unreadable: The suite says the parser cannot read this message.
        intent: The reply's intent (recommend, playlist...).
        carried: Bounds that earlier relative follow-ups implied and that still hold
            ("shorter", then "not the first one": the list is still the shorter one), as
            :func:`implied` fields (``max_minutes``...).
    """

    expect: Expect
    shown: Sequence[Item]
    catalog: Sequence[Item]
    lead: str = ""
    notice: str = ""
    explanations: Sequence[str] = ()
    cited: Sequence[Sequence[Item]] = ()
    unavailable: frozenset[str] = frozenset()
    previous: Sequence[Item] | None = None
    previous_expect: Expect | None = None
    liked: Item | None = None
    relations: Sequence[Relation] = ()
    unreadable: bool = False
    intent: str = "recommend"
    carried: Mapping[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The lead and the notice: all the reply says above the cards."""
        return "\n".join(t for t in (self.lead, self.notice) if t)


def _passed(reasons: list[str], score: float | None = None) -> Outcome:
    return Outcome(passed=not reasons, reasons=reasons, score=score)


# -- constraints ------------------------------------------------------------------------

def check_constraints(view: TurnView) -> Outcome | None:
    """Every shown item within the hard constraints; a playlist's total near its target."""
    if not view.shown or not view.expect.hard:
        return None
    reasons = [v for item in view.shown for v in violations(item, view.expect)]
    target = view.expect.playlist_minutes
    if target is not None:
        total = sum(item.duration_min or 0.0 for item in view.shown)
        tol = view.expect.playlist_tolerance
        # What the catalog allows is what answers the request: a playlist honours its genre
        # and mood, so tracks of other genres do not count towards reaching the target.
        # A playlist plays songs unless albums were asked for: judge what the catalog
        # allows among the kinds of item the playlist plays.
        kinds = {item.media_type for item in view.shown}
        pool = [it for it in available(view.catalog, view.expect) if it.media_type in kinds]
        if abs(total - target) > tol * target and playlist_feasible(pool, target, tol):
            reasons.append(f"the playlist lasts {total:.0f} min, not {target:g} "
                           f"(±{tol:.0%}), though the catalog allows it")
    return _passed(reasons)


# -- request match and order ------------------------------------------------------------

def implied(view: TurnView) -> Expect:
    """This turn's expectations with the bounds its relative follow-ups imply: "shorter"
    means a tenth below the previous list's median length and "older" before its median
    year, "newer" after it (Encore's documented rules).

    Only the count of available items uses them (the ``meaning`` check judges the moves
    themselves), so that "shorter" after sci-fi films is answered by shorter sci-fi films.
    Bounds an earlier follow-up implied (``view.carried``) hold too, unless this turn moves
    the same bound again.
    """
    from assistant.merge_rules import LONGER, SHORTER

    names = {rel.simple for rel in view.relations}
    moved = _MOVES_MINUTES if names & {"shorter", "longer"} else set()
    moved |= _MOVES_YEARS if names & {"older", "newer"} else set()
    update: dict[str, float | int] = {}
    for key, bound in view.carried.items():
        if key in moved:
            continue
        have = getattr(view.expect, key)
        update[key] = bound if have is None else (
            min(bound, have) if key in ("max_minutes", "year_max") else max(bound, have))
    exp = view.expect.model_copy(update=update)
    update = {}
    prev = view.previous or ()
    years = [it.year for it in prev if it.year]
    year = median(years) if years else None
    # Lengths follow Encore's documented rule (a tenth below / above the last list's median
    # length); the meaning check still asks that the list really got shorter or longer.
    lengths = [it.duration_min for it in prev if it.duration_min]
    mid = median(lengths) if lengths else None
    if mid is not None and "shorter" in names:
        bound = SHORTER * mid
        update["max_minutes"] = min(bound, exp.max_minutes or bound)
    if mid is not None and "longer" in names:
        bound = LONGER * mid
        update["min_minutes"] = max(bound, exp.min_minutes or bound)
    if year is not None and "older" in names:
        bound = math.ceil(year) - 1
        update["year_max"] = min(bound, exp.year_max or bound)
    if year is not None and "newer" in names:
        bound = math.floor(year) + 1
        update["year_min"] = max(bound, exp.year_min or 0)
    return exp.model_copy(update=update)


_MOVES_MINUTES = {"max_minutes", "min_minutes"}
_MOVES_YEARS = {"year_min", "year_max"}
IMPLIED_BOUNDS = ("max_minutes", "min_minutes", "year_min", "year_max")
"""The :class:`Expect` fields :func:`implied` may set."""


def match_score(view: TurnView, want: list[list[str]] | None) -> tuple[float, int, int] | None:
    """``(score, matches, available)`` of the shown list against ``want`` under this turn's
    hard constraints; None when nothing in the catalog could match.

    Available items are those within the constraints, the bounds the follow-up implies
    (:func:`implied`) and ``want``, leaving out ``view.unavailable``; shown items count as
    matches when they answer ``want`` within the stated constraints.
    """
    expect = view.expect.model_copy(update={"want": want})
    pool = available(view.catalog, implied(view).model_copy(update={"want": want}),
                     view.unavailable)
    hits = sum(matches(item, want) and not violations(item, expect) for item in view.shown)
    if not pool and not hits:
        return None
    denominator = min(len(view.shown), len(pool)) or len(pool)
    return min(1.0, hits / denominator) if denominator else 1.0, hits, len(pool)


def check_match(view: TurnView) -> Outcome | None:
    """matches / min(shown, available) is 1 (not applicable when nothing could match)."""
    if not view.expect.want or view.unreadable:
        return None
    result = match_score(view, view.expect.want)
    if result is None:
        return None
    score, hits, pool = result
    reasons = [] if score >= 1.0 else [
        f"{hits} of {len(view.shown)} shown match {_want_words(view.expect.want)}, "
        f"while {pool} catalog items do"]
    return _passed(reasons, score)


def check_order(view: TurnView) -> Outcome | None:
    """Items matching the request ranked before close matches."""
    want = view.expect.want
    if not want or not view.shown:
        return None
    flags = [matches(item, want) and not violations(item, view.expect) for item in view.shown]
    if all(flags) or not any(flags):
        return None
    first_miss = flags.index(False)
    late = [i for i in range(first_miss + 1, len(flags)) if flags[i]]
    reasons = [f"{view.shown[late[0]].title} (#{late[0] + 1}, a match) comes after "
               f"{view.shown[first_miss].title} (#{first_miss + 1}, a close match)"] if late else []
    return _passed(reasons)


def _want_words(want: list[list[str]]) -> str:
    return " and ".join("/".join(group) for group in want)


# -- explanations and words -------------------------------------------------------------

# Internal names a person must never read: the request's slot names, the candidate sources,
# raw scores.
_INTERNAL = re.compile(
    r"\b(?:" + "|".join(sorted((n for n in Request.model_fields if "_" in n), key=len,
                                reverse=True)) + r")\b"
    r"|\b(?:dense|collaborative|bm25|mmr|lightgbm)\b|\bfound\s+by\s*:|\bscores?\s*[:=]"
    r"|(?<![\d.])0\.\d{3,}\b", re.IGNORECASE)
# "a album", "a episode": an article before a vowel sound (but "a unique", "a one-hour").
_ARTICLE = re.compile(r"\b[Aa]\s+(?!(?:uni|use|usu|uto|one|once|eu|ur)[a-z]*)[aeiouAEIOU][a-z]+")


def internal_words(text: str) -> list[str]:
    """Internal names and broken articles found in ``text``.

    Example:
        >>> internal_words("I dropped: media_types. A album. Score: 0.309")
        ['media_types', 'Score:', '0.309', 'A album']
    """
    found = [m.group(0) for m in _INTERNAL.finditer(text)]
    return found + [m.group(0) for m in _ARTICLE.finditer(text)]


def check_explanations(view: TurnView) -> Outcome | None:
    """History cited only when related to the pick; no internal names anywhere."""
    reasons = [f"the reply says {w!r}" for w in internal_words(view.text)]
    for item, text, cited in zip(view.shown, view.explanations, view.cited, strict=False):
        reasons += [f"{item.title}: the explanation says {w!r}" for w in internal_words(text)]
        for other in cited:
            if not related(item, other):
                why = ("another kind of media" if family(item) != family(other)
                       else "no shared genre or theme")
                reasons.append(f"{item.title} ({item.media_type.value}) is explained by "
                               f"{other.title} ({other.media_type.value}): {why}")
    return _passed(reasons)


# -- honesty ----------------------------------------------------------------------------

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
            "twenty": 20}
_NOUNS = (r"films?|movies?|series|shows?|albums?|tracks?|songs?|podcasts?|audiobooks?|books?"
          r"|items?|picks?|suggestions?|options?|titles?|matches|recommendations?")
_CLAIM = re.compile(
    r"\b(\d{1,3}|" + "|".join(_NUMBERS) + r")\s+((?:[\w&'-]+\s+){0,3}?)(" + _NOUNS + r")\b",
    re.IGNORECASE)
_UNITS = re.compile(r"\b(?:min|mins|minutes?|hours?|h|hr|hrs|seconds?|years?|episodes?|per)\b",
                    re.IGNORECASE)


def claimed_counts(text: str) -> list[int]:
    """How many items ``text`` says it shows ("Here are 10 albums", "three jazz albums").

    Example:
        >>> claimed_counts("Here are 10 albums for jazz; 45 minutes per episode, 3 close matches")
        [10, 3]
    """
    out = []
    for m in _CLAIM.finditer(text):
        if _UNITS.search(m.group(2)):
            continue  # "45 minutes per episode" is a length, not a count
        word = m.group(1).lower()
        out.append(int(word) if word.isdigit() else _NUMBERS[word])
    return out


def check_honest(view: TurnView) -> Outcome | None:
    """The reply's lead never claims more items than it shows."""
    if not view.lead:
        return None
    shown = len(view.shown)
    reasons = [f"the reply claims {n} but shows {shown}" for n in claimed_counts(view.lead)
               if n > shown]
    return _passed(reasons)


# -- the follow-up's meaning ------------------------------------------------------------

def _mean(items: Sequence[Item], attr: str) -> float | None:
    values = [getattr(it, attr) for it in items if getattr(it, attr) is not None]
    return mean(values) if values else None


def _moved(view: TurnView, attr: str, down: bool, word: str) -> list[str]:
    before, now = _mean(view.previous or (), attr), _mean(view.shown, attr)
    if before is None or now is None:
        return [f"'{word}': no {attr.replace('_min', '')} to compare"]
    ok = now < before if down else now > before
    unit = " min" if attr == "duration_min" else ""
    return [] if ok else [f"'{word}': mean {now:.0f}{unit} now, {before:.0f}{unit} before"]


def _relation_reasons(view: TurnView, rel: Relation) -> list[str]:
    prev = list(view.previous or ())
    shown_ids = [it.id for it in view.shown]
    if rel.simple in ("shorter", "longer"):
        return _moved(view, "duration_min", rel.simple == "shorter", rel.simple)
    if rel.simple in ("newer", "older"):
        return _moved(view, "year", rel.simple == "older", rel.simple)
    if rel.simple == "type_kept":
        extra = sorted({it.media_type.value for it in view.shown} -
                       {it.media_type.value for it in prev})
        return [f"type not kept: {', '.join(extra)} appeared"] if extra else []
    if rel.simple == "topic_kept":
        return _topic_reasons(view)
    if rel.simple == "same_playlist":
        kept = len(set(shown_ids) & {it.id for it in prev})
        need = min(len(prev), len(shown_ids)) / 2
        return [] if shown_ids and kept >= need else [
            f"not the same playlist: {kept} of {len(prev)} items kept"]
    if rel.replaced is not None:
        return _replaced_reasons(prev, view.shown, rel.replaced)
    return _similar_reasons(view, rel)


def _topic_reasons(view: TurnView) -> list[str]:
    want = view.previous_expect.want if view.previous_expect else None
    if not want:
        return []
    result = match_score(view, want)
    if result is None:
        return []
    score, hits, pool = result
    return [] if score >= 0.5 else [
        f"topic dropped: {hits} of {len(view.shown)} shown still match {_want_words(want)}"]


def _replaced_reasons(prev: Sequence[Item], shown: Sequence[Item], position: int) -> list[str]:
    if len(prev) < position:
        return [f"'not #{position}': the previous list had {len(prev)} items"]
    gone = prev[position - 1]
    ids = {it.id for it in shown}
    reasons = [f"{gone.title} (#{position}) is still shown"] if gone.id in ids else []
    lost = [it.title for i, it in enumerate(prev) if i != position - 1 and it.id not in ids]
    if lost:
        reasons.append(f"not kept from the previous list: {', '.join(lost)}")
    return reasons


def _similar_reasons(view: TurnView, rel: Relation) -> list[str]:
    prev = list(view.previous or ())
    if rel.similar_to == "liked":
        ref = view.liked
        if ref is None:
            return ["'more like that': the suite recorded no liked item"]
    else:
        position = int(rel.similar_to or 0)
        if len(prev) < position:
            return [f"'like #{position}': the previous list had {len(prev)} items"]
        ref = prev[position - 1]
    if not view.shown:
        return [f"nothing shown like {ref.title}"]
    reasons = [f"{ref.title} itself is shown"] if any(it.id == ref.id for it in view.shown) else []
    alike = [it for it in view.shown
             if family(it) == family(ref) and set(it.genres) & set(ref.genres)]
    if 2 * len(alike) < len(view.shown):
        reasons.append(f"only {len(alike)} of {len(view.shown)} shown share a genre and a "
                       f"media family with {ref.title}")
    return reasons


def check_meaning(view: TurnView) -> Outcome | None:
    """The follow-up's stated relations to the previous list; an unreadable message said
    to be unreadable, with no list."""
    if view.unreadable:
        reasons = []
        if view.shown:
            reasons.append(f"an unreadable message got a list of {len(view.shown)}")
        if not re.search(r"\b(?:language|english)\b", view.text, re.IGNORECASE):
            reasons.append("the reply does not say the message could not be read")
        return _passed(reasons)
    if not view.relations:
        return None
    if view.previous is None:
        return _passed(["a follow-up with no list before it"])
    reasons = [r for rel in view.relations for r in _relation_reasons(view, rel)]
    return _passed(reasons)


CHECKS: dict[str, Callable[[TurnView], Outcome | None]] = {
    "constraints": check_constraints,
    "match": check_match,
    "order": check_order,
    "explanations": check_explanations,
    "meaning": check_meaning,
    "honest": check_honest,
}
"""Every check, in report order."""
