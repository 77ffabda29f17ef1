"""Small pieces of English the explanations are built from: "a" or "an" by sound, lists
joined "A, B and C", plurals, and the one-phrase summary of an item's facts.

Example:
    >>> with_article("album"), with_article("hour-long podcast"), with_article("one-hour film")
    ('an album', 'an hour-long podcast', 'a one-hour film')
    >>> join_words(["jazz", "the 1960s", "under 45 minutes"])
    'jazz, the 1960s and under 45 minutes'
    >>> facts_phrase("album", year=1959, duration_min=45.8, creators=["Miles Davis"])
    'an album by Miles Davis from 1959, 46 minutes long'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["article", "capitalize", "facts_phrase", "join_words", "minutes_words", "plural",
           "with_article"]

# Words spelt with a vowel but said with a consonant ("a one-hour film", "a unique", "a
# European"), and words spelt with a consonant but said with a vowel ("an hour", "an honest").
_VOWEL_LETTER_CONSONANT_SOUND = re.compile(
    r"^(one\b|once\b|uni(?!n|mp)|use|usu|ura|ure|uro|uti|eu|ewe|ubiq|ufo|uk\b|u\.?s\b)")
_CONSONANT_LETTER_VOWEL_SOUND = re.compile(r"^(hour|honest|honou?r|heir|herb\b)")
# Letters whose names start with a vowel sound, for initialisms ("an R&B album", "an MP3").
_VOWEL_SOUND_LETTERS = set("AEFHILMNORSX")


def article(word: str) -> str:
    """``"a"`` or ``"an"`` before ``word``, by how it is said, not how it is spelt.

    Example:
        >>> [article(w) for w in ["album", "hour", "one-hour", "unique", "8-minute", "11-minute",
        ...                       "18th-century", "1980s", "R&B", "LP", "podcast", "series"]]
        ['an', 'an', 'a', 'a', 'an', 'an', 'an', 'a', 'an', 'an', 'a', 'a']
    """
    w = word.strip().lstrip("\"'(")
    if not w:
        return "a"
    digits = re.match(r"\d[\d,]*", w)
    if digits:
        n = digits.group(0).replace(",", "")
        # Said "eight...", "eleven..." or "eighteen...": 8, 80, 800; 11, 18; 1100 and 1800
        # (read "eleven hundred", "eighteen hundred"); 11,000 and 18,000.
        return "an" if n[0] == "8" or (n[:2] in ("11", "18") and len(n) in (2, 4, 5)) else "a"
    head = re.match(r"[A-Za-z&]+", w)
    token = head.group(0) if head else w
    letters = token.replace("&", "")
    if 2 <= len(letters) <= 4 and letters.isupper():  # an initialism, said letter by letter
        return "an" if token[0] in _VOWEL_SOUND_LETTERS else "a"
    low = w.lower()
    if _VOWEL_LETTER_CONSONANT_SOUND.match(low):
        return "a"
    if _CONSONANT_LETTER_VOWEL_SOUND.match(low):
        return "an"
    return "an" if low[0] in "aeiou" else "a"


def with_article(phrase: str) -> str:
    """``phrase`` after its article: ``with_article("episode")`` is ``"an episode"``."""
    return f"{article(phrase)} {phrase}"


def join_words(words: Sequence[str], conjunction: str = "and") -> str:
    """``"A"``, ``"A and B"``, ``"A, B and C"`` (empty strings and repeats left out).

    Example:
        >>> join_words([]), join_words(["jazz"]), join_words(["jazz", "", "jazz", "soul"], "or")
        ('', 'jazz', 'jazz or soul')
    """
    items = list(dict.fromkeys(w for w in words if w))
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def capitalize(text: str) -> str:
    """The first letter in upper case, the rest as it is ("iPhone" stays inside)."""
    return text[:1].upper() + text[1:]


def plural(noun: str, n: int) -> str:
    """``noun`` for ``n`` of it: ``plural("album", 3)`` is ``"albums"``; nouns that do not
    change ("series") and "-y" nouns are handled.

    Example:
        >>> plural("album", 1), plural("album", 2), plural("series", 2), plural("story", 2)
        ('album', 'albums', 'series', 'stories')
    """
    if n == 1 or noun.endswith(("series", "species")):
        return noun
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def minutes_words(d: float) -> str:
    """A length as digits: ``"45"`` minutes (rounded), or ``"0.5"`` under a minute."""
    return f"{round(d)}" if d >= 1 else f"{d:g}"


def facts_phrase(noun: str, *, year: int | None = None, duration_min: float | None = None,
                 creators: Sequence[str] = (), per_episode: bool = False) -> str:
    """What an item is, in one phrase: its kind, up to two creators, its year, its length.

    Example:
        >>> facts_phrase("podcast", year=2014, duration_min=45, per_episode=True)
        'a podcast from 2014, with 45-minute episodes'
        >>> facts_phrase("film", creators=["Lana Wachowski", "Lilly Wachowski", "X"])
        'a film by Lana Wachowski and Lilly Wachowski'
    """
    text = with_article(noun)
    names = [c for c in creators if c][:2]
    if names:
        text += " by " + join_words(names)
    if year is not None:
        text += f" from {year}"
    if duration_min is not None and duration_min > 0:
        m = minutes_words(duration_min)
        text += (f", with {m}-minute episodes" if per_episode else
                 f", {m} minute{'' if m == '1' else 's'} long")
    return text
