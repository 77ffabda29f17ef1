"""Which words are common English: to tell a word from a title, a typo or another language.

The list is ``english_words.txt`` beside this module: the whole lower-case words of the
BERT-base-uncased WordPiece vocabulary (21,719 words), in its order, which follows their
frequency in English Wikipedia and BookCorpus. It is read once, when first needed (not at
import). Chat words (``lol``, ``nope``, ``goodbye``) are added by hand: they are common in
conversation but rare in Wikipedia.

Example:
    >>> is_common("well"), is_common("lebowski"), is_common("nope"), is_english("karma")
    (True, False, True, True)
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

__all__ = ["CHAT_WORDS", "COMMON_RANK", "english_rank", "is_common", "is_english"]

COMMON_RANK = 5000
"""Words ranked above this (0 = most frequent) are "common": a capitalised one at the start
of a sentence, or one in lower case, is not taken for a title on its own. 5,000 keeps "well",
"good", "life", "drive", "frozen" (4,903) and leaves "batman" (5,964), "halloween" and the
rarer words of titles ("lebowski", "zootopia") titles."""

CHAT_WORDS = frozenset(
    "lol lmao rofl haha hahaha hehe omg wow ok okay k kk yes yeah yep yup yea ya nope nah no "
    "hi hello hey hiya howdy bye goodbye cya thanks thank thx ty cool awesome great nice "
    "sure whatever hmm hm um uh oh ah ooh aw aww gotcha agreed absolutely definitely perfect "
    "indeed exactly another touche alright fine good sounds sweet neat right true totally "
    "welcome please pls plz".split())
"""Words of conversation that are never a title on their own (unless quoted or dated)."""


@lru_cache(maxsize=1)
def _ranks() -> dict[str, int]:
    text = resources.files(__package__).joinpath("english_words.txt").read_text("utf-8")
    words = [w for w in text.split("\n") if w and not w.startswith("#")]
    return {w: i for i, w in enumerate(words)}


def english_rank(word: str) -> int | None:
    """The frequency rank of ``word`` (lower case; 0 is "the"), or None when not listed."""
    return _ranks().get(word)


def is_english(word: str) -> bool:
    """Whether ``word`` (lower case) is a listed English word or a chat word."""
    return word in CHAT_WORDS or word in _ranks()


def is_common(word: str) -> bool:
    """Whether ``word`` (lower case) is among the :data:`COMMON_RANK` most frequent English
    words, or a chat word."""
    if word in CHAT_WORDS:
        return True
    rank = _ranks().get(word)
    return rank is not None and rank < COMMON_RANK
