"""Step 4, language check: a message that is not English keeps only its titles.

The parser reads English; guessing genres or durations from words it does not know would
set constraints the person did not ask for. Such a message gets the issue
``unsupported_language``, its titles and its text for the encoder.
"""

from __future__ import annotations

import re

from assistant.parsers.rules.lexicon import Lexicon
from assistant.parsers.rules.state import State, token_key

__all__ = ["is_foreign"]

_ENGLISH = frozenset(
    "a an the and or but not no i me my we you it is are was be to of in on for with about "
    "like something anything some any want need would could can please show give find "
    "recommend what which who how that this those these more less than from under over only "
    "just really very good great new old now tonight today film films movie movies shows "
    "series song songs music album albums podcast podcasts book books watch listen play let's "
    "lets i'm i'd i've don't love loved hate kids minutes hours hour long short funny scary "
    "similar same tell know get have has had do does did so too all one two three year years "
    "maybe else other another again thanks hi hello hey ok okay yes".split())
_FOREIGN = frozenset(
    "el los las una unos unas película películas pelicula peliculas quiero algo como para por "
    "que del años año música musica canción canciones dame recomienda recomiéndame libro "
    "sobre muy pero je veux une des les avec du est pas chanson musique quelque chose comme "
    "sur dans moi voudrais recommande ans années ich möchte einen eine der das und mit nicht "
    "ein filme etwas wie über für bitte gerne lieder sehen hören jahre voglio della di che "
    "qualcosa gli canzoni anni vorrei eu quero um uma filmes você anos músicas não och jag "
    "vill en ett med och inte het een niet ik wil zijn voor".split())


def is_foreign(st: State, lexicon: Lexicon) -> bool:
    """Whether the message is mostly in another script, or has more common words of other
    languages than of English (at least two)."""
    letters = [c for c in st.work if c.isalpha()]
    if not letters:
        return False
    if sum(ord(c) > 0x24F for c in letters) * 2 > len(letters):
        return True
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", st.work)
    foreign = sum(w in _FOREIGN for w in words)
    english = sum(w in _ENGLISH or token_key(w) in lexicon for w in words)
    return foreign >= 2 and foreign > english
