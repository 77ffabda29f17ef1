"""Typos in the words the parser reads: "horor", "moveis", "sciense fiction", "somthing".

Run on the cleaned message before any other step, so that every later step reads the
corrected word. A word is corrected only when all of these hold (each guards against a
false correction on real chat text, measured on ReDial's seeker messages with
``python -m eval.experiments.redial_parse``):

- it is not a word of the vocabulary already, nor an English word (the list of
  :mod:`~assistant.parsers.rules.english`): "karma" is not "drama", "dramas" is a word;
- it has at least 5 letters (short words have too many neighbours: "docs", "pod", "fun");
- one word of the vocabulary, and only one, is within its bound of edits, counting a swap of
  two letters as one edit (optimal string alignment): 1 edit for 5 to 8 letters, 2 from 9;
- it starts with the same letter (people rarely mistype the first one);
- it is not capitalised inside a sentence nor quoted (a name or a title: "Moana").

The targets are the words of the parser's lexicon (genres, tags, moods, media words and
their forms) and a few words a request is made of ("something", "recommend").

Example:
    >>> fix = Speller(["horror", "movies", "science", "fiction", "documentary"])
    >>> fix("no horor moveis, a documentry or sciense fiction, karma")[0]
    'no horror movies, a documentary or science fiction, karma'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from assistant.parsers.rules.english import is_english

__all__ = ["REQUEST_WORDS", "Speller"]

REQUEST_WORDS = frozenset(
    "something anything recommend recommendation recommendations suggest suggestion "
    "suggestions similar another looking shorter longer older newer please maybe".split())
"""Words of requests that are not in the lexicon but are worth correcting ("somthing")."""

_WORD = re.compile(r"[A-Za-z]+")
_SENTENCE_END = re.compile(r"(?:^|[.!?:;\"])\s*$")


# contractions written without their apostrophe: "thats" is not "thais"
_CONTRACTIONS = frozenset(
    "thats dont doesnt didnt cant couldnt wouldnt shouldnt wont isnt arent wasnt werent havent "
    "hasnt hadnt youre theyre were whats hows wheres theres heres lets ive youve weve theyve "
    "youll theyll itll shes hes id youd theyd wed".split())
_SUFFIXES = ("ings", "ing", "ers", "er", "ed", "en", "es", "s", "ly", "d", "y")


def _english_form(word: str) -> bool:
    """Whether ``word`` is English: listed, a contraction without its apostrophe, or a listed
    word with an ending ("recommending", "lighten": the list holds no inflected forms the
    WordPiece vocabulary splits)."""
    if is_english(word) or word in _CONTRACTIONS:
        return True
    for suffix in _SUFFIXES:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3 and (
                is_english(stem) or is_english(stem + "e") or (
                    len(stem) > 3 and stem[-1] == stem[-2] and is_english(stem[:-1]))):
            return True
    return False


def _bound(n: int) -> int:
    """Edits allowed in a word of ``n`` letters."""
    return 0 if n < 5 else 1 if n < 9 else 2


class Speller:
    """Corrects misspelt vocabulary words in a message (see the module docstring).

    Args:
        words: The words to correct towards (lower case; phrases are split into words), or
            the lexicon (phrase -> senses): a tie between words of the same senses is none.
    """

    def __init__(self, words: Iterable[str] | Mapping[str, object]) -> None:
        # with senses, two targets that mean the same ("podcast", "podcasts") are no tie
        self._senses = dict(words) if isinstance(words, Mapping) else {}
        targets = {w for phrase in words for w in phrase.lower().split() if w.isalpha()}
        targets |= REQUEST_WORDS
        self._targets = frozenset(w for w in targets if len(w) >= 4)
        by_first: dict[str, list[str]] = {}
        for w in sorted(self._targets):
            by_first.setdefault(w[0], []).append(w)
        self._by_first = by_first

    def __call__(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """``text`` with its misspelt vocabulary words corrected, and the (typo, word) pairs."""
        out: list[str] = []
        fixed: list[tuple[str, str]] = []
        last = 0
        for m in _WORD.finditer(text):
            word = m.group(0)
            target = self.correction(word, text[:m.start()])
            if target is None:
                continue
            out.append(text[last:m.start()])
            out.append(target if word.islower() else target.capitalize())
            last = m.end()
            fixed.append((word, target))
        if not fixed:
            return text, []
        out.append(text[last:])
        return "".join(out), fixed

    def correction(self, word: str, before: str = "") -> str | None:
        """The vocabulary word ``word`` misspells, or None (``before``: the text before it,
        to tell a name or a title from a typo)."""
        low = word.lower()
        bound = _bound(len(low))
        if not bound or low in self._targets or _english_form(low):
            return None
        if word[:1].isupper() and not _SENTENCE_END.search(before):
            return None  # a capital inside a sentence: a name or a title
        if before.count('"') % 2 or (before.endswith("'") and not before[-2:-1].isalnum()):
            return None  # inside quotes
        from rapidfuzz.distance import OSA

        best: list[str] = []
        best_distance = bound + 1
        for target in self._by_first.get(low[0], ()):
            if abs(len(target) - len(low)) > bound:
                continue
            d = OSA.distance(low, target, score_cutoff=bound)
            if d > bound:
                continue
            if d < best_distance:
                best, best_distance = [target], d
            elif d == best_distance:
                best.append(target)
        if len(best) > 1 and all(t in self._senses for t in best) and len(
                {self._senses[t] for t in best}) == 1:
            best = best[:1]  # "podcats": "podcast" or "podcasts", the same word
        return best[0] if len(best) == 1 else None
