"""The rules parser's lexicon: phrase -> senses ("genre:horror", "media:movie", "mood:light"...).

Built once per catalog from the catalog's own genres and tags and from
:mod:`assistant.parsers.vocabulary` (media words, languages, synonyms, moods), with plural,
singular and hyphen/space spellings of each phrase. Only labels the catalog has are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.parsers.rules.state import token_key
from assistant.parsers.vocabulary import (
    BARE_LABELS_IGNORED,
    LANGUAGE_WORDS,
    MEDIA_WORDS,
    MOOD_WORDS,
    SYNONYMS,
    Vocabulary,
)

__all__ = ["Lexicon", "variants"]

Senses = tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    """Phrase keys (see :func:`~assistant.parsers.rules.state.token_key`) and their senses.

    Attributes:
        senses: Every phrase the parser reads as a word of the vocabulary.
        literal: The catalog's own labels (and their plural/singular forms) only: what a
            phrase means after "about" ("a podcast about films" is about the film genre).
        max_phrase: Words in the longest phrase.
    """

    senses: dict[str, Senses]
    literal: dict[str, Senses]
    max_phrase: int

    @classmethod
    def build(cls, vocab: Vocabulary) -> Lexicon:
        """The lexicon of ``vocab`` (a catalog's genres and tags)."""
        senses, literal = _build(vocab)
        return cls(senses=senses, literal=literal,
                   max_phrase=max(len(k.split()) for k in senses))

    def __contains__(self, key: object) -> bool:
        return key in self.senses

    def get(self, key: str, default: Senses | None = None) -> Senses | None:
        """The senses of the phrase key ``key``, or ``default``."""
        return self.senses.get(key, default)

    def kinds(self, word: str) -> set[str]:
        """The kinds of sense of ``word`` ("genre", "media", "lang"...); empty when unknown."""
        return {x.partition(":")[0] for x in self.senses.get(token_key(word), ())}


def _build(vocab: Vocabulary) -> tuple[dict[str, Senses], dict[str, Senses]]:
    def usable(sense: str) -> bool:
        kind, _, value = sense.partition(":")
        if kind == "genre":
            return value in vocab.genres
        if kind == "tag":
            return value in vocab.tags
        return True

    lexicon: dict[str, Senses] = {}
    literal: dict[str, Senses] = {}
    # The catalog's own labels read as themselves (a genre first when a label is both);
    # a label beats another label's plural or singular ("sports" vs "sport").
    labels = sorted((vocab.genres | vocab.tags) - BARE_LABELS_IGNORED)
    for label in labels:
        literal[token_key(label)] = (("genre:" if label in vocab.genres else "tag:") + label,)
    for label in labels:
        for form in variants(label):
            literal.setdefault(token_key(form), literal[token_key(label)])
    lexicon.update(literal)
    sources: list[dict[str, Senses]] = [
        {w: ("lang:" + code,) for w, code in LANGUAGE_WORDS.items()},
        {w + "-language": ("lang:" + c,) for w, c in LANGUAGE_WORDS.items()},
        MEDIA_WORDS,
        SYNONYMS,
        {w: ("mood:" + m.value,) for w, m in MOOD_WORDS.items()},
    ]
    for source in sources:
        for phrase, senses in source.items():
            kept = tuple(s for s in senses if usable(s))
            if not kept:
                continue
            forms = variants(phrase) if phrase.count(" ") < 2 else {phrase}
            for form in forms:
                key = token_key(form)
                if key:
                    lexicon[key] = kept
    return lexicon, literal


def variants(phrase: str) -> set[str]:
    """The phrase, its plural or singular, and its hyphen/space spellings."""
    out = {phrase}
    for p in (phrase.replace("-", " "), phrase.replace(" ", "-")):
        out.add(p)
    forms = set()
    for p in out:
        head, _, last = p.rpartition(" ")
        prefix = head + " " if head else ""
        if last.endswith("y") and len(last) > 2 and last[-2] not in "aeiou":
            forms.add(prefix + last[:-1] + "ies")
        elif last.endswith(("s", "x", "ch", "sh")):
            forms.add(prefix + last + "es")
        else:
            forms.add(prefix + last + "s")
        if last.endswith("ies") and len(last) > 4:
            forms.add(prefix + last[:-3] + "y")
        elif (last.endswith("s") and not last.endswith(("ss", "ws")) and last != "series"
              and len(last) > 3):
            forms.add(prefix + last[:-1])
    return out | forms

