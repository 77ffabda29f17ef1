"""What every step of the rules parser shares: the working copy of a message and its findings.

Each step reads :attr:`State.work` (the message in lower case, same length as the text) and
masks what it used with :data:`MASK` (:meth:`State.consume`), so that later steps do not read
it twice. Character offsets are therefore the same in ``text`` and ``work``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from retrieval.request import InputIssue, TitleRef

if TYPE_CHECKING:
    from assistant.parsers.vocabulary import TitleMatcher

__all__ = ["MASK", "NUMBER_WORDS", "TOKEN", "Hit", "State", "lower_same_length", "number",
           "round_minutes", "token_key"]

MASK = "\x00"  # replaces consumed characters in the working copy

NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
                "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
                "eighteen": 18, "nineteen": 19, "twenty": 20, "twenty-five": 25, "thirty": 30,
                "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
                "dozen": 12, "a dozen": 12, "a couple of": 2, "couple of": 2, "a couple": 2,
                "a few": 3}
"""Number words the parser reads as numbers ("five Korean thrillers", "a couple of hours")."""

TOKEN = re.compile(r"(?P<gap>\x00+)|(?P<w>[^\W_](?:[\w&'+.-]*[^\W_])?)|(?P<p>[^\w\s])")
"""A token of the working copy: a masked gap, a word, or a punctuation mark."""

Token = tuple[str, int, int, str]
"""(text, start, end, kind) of one :data:`TOKEN` match; kind is ``gap``, ``w`` or ``p``."""


@dataclass
class Hit:
    """One lexicon match: its token span and what it means."""

    start: int
    end: int
    senses: tuple[str, ...]
    negated: bool = False


@dataclass
class State:
    """Everything found in one message."""

    text: str
    work: str
    issues: list[InputIssue] = field(default_factory=list)
    titles: list[TitleRef] = field(default_factory=list)
    title_cues: set[str] = field(default_factory=set)
    quoted: bool = False
    ref_positions: list[int] = field(default_factory=list)
    excl_positions: list[int] = field(default_factory=list)
    ref_similar: bool = False
    year_min: int | None = None
    year_max: int | None = None
    min_minutes: float | None = None
    max_minutes: float | None = None
    playlist_minutes: float | None = None
    count: int | None = None
    negated_spans: list[tuple[int, int]] = field(default_factory=list)
    title_spans: list[tuple[int, str]] = field(default_factory=list)  # (start, text) of each title
    # "more like that", "loved it": (start, end, positions, negated, feedback), resolved once the
    # titles are known ("Parasite was amazing, more like that": "that" is Parasite)
    anaphora: list[tuple[int, int, list[int], bool, bool]] = field(default_factory=list)
    matcher: TitleMatcher | None = None  # the catalog's titles ("Cocoon (1985)": by year)

    def consume(self, start: int, end: int) -> None:
        self.work = self.work[:start] + MASK * (end - start) + self.work[end:]


def lower_same_length(text: str) -> str:
    """``text`` in lower case, keeping every character's offset."""
    if text.isascii():
        return text.lower()
    return "".join(lc if len(lc := c.lower()) == 1 else c for c in text)


def number(word: str) -> float | None:
    """A number written in digits or words ("2", "1.5", "five", "a couple of"), or None."""
    word = " ".join(word.split())
    if word in NUMBER_WORDS:
        return float(NUMBER_WORDS[word])
    try:
        return float(word.replace(",", "."))
    except ValueError:
        return None


def token_key(phrase: str) -> str:
    """The lexicon key of ``phrase``: its words, lower case, one space apart."""
    return " ".join(m.group("w") for m in TOKEN.finditer(phrase.lower()) if m.group("w"))


def round_minutes(value: float | None) -> int | None:
    """Minutes rounded to a whole number within the Request's range (1 to 100,000)."""
    if value is None:
        return None
    return max(1, min(100_000, int(value + 0.5)))
