"""Step 4, language check: a message that is not English keeps only its titles.

The parser reads English; guessing genres or durations from words it does not know would
set constraints the person did not ask for. Such a message gets the issue
``unsupported_language`` (the turn then answers that it reads English only and that an LLM
backend reads more languages), its titles and its text for the encoder.

How: the short-word method of language identification (Grefenstette, "Comparing two
language identification schemes", JADT 1995; Ingle's function-word profiles): every
language's text is dense in a few function words (articles, pronouns, prepositions,
auxiliaries) that another language rarely uses. The message's words not taken by a title
are counted against English and seven other languages' function words; the message is not
English when another language has at least two of its words and more than English has (or
when most of its letters are of another script). Words shared with English ("a", "in",
"no", "die", "son") count for English only, so English chat with a name in it ("De
Niro", "La La Land") stays English.

Example:
    >>> language_of("je cherche une série policière"), language_of("any French films?")
    ('fr', 'en')
"""

from __future__ import annotations

import re

from assistant.parsers.rules.state import State

__all__ = ["FUNCTION_WORDS", "is_foreign", "language_of"]

_ENGLISH = frozenset(
    "a an the and or but not no nor i me my mine we us our you your he him his she her it its "
    "they them their this that these those is are was were be been being am do does did have "
    "has had having will would shall should can could may might must to of in on at by for "
    "with about from into over under than then so if as what which who whom whose when where "
    "why how all any some something anything nothing more most less very just really also too "
    "please thanks thank hi hello hey yes yeah ok okay i'm i'd i've i'll don't doesn't didn't "
    "isn't aren't wasn't can't won't it's that's there here there's let's like want need love "
    "liked loved watch watched seen see good great".split())

# words of other languages that are English words too: they count for no language
_SHARED = frozenset("die also war hat man son sin con come per ver sale bin fast gift rat mist "
                    "arm art pen pour plus tag dame ante dove pie red elf".split())

FUNCTION_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split()) - _ENGLISH - _SHARED for lang, words in {
        "fr": "je j'ai tu il elle nous vous ils elles les une des du au aux et est sont suis "
              "pas ne n'est c'est qu'il que qui quoi pour avec dans sur cette ces mon ma mes "
              "ton ta tes sa ses moi toi veux voudrais cherche aimerais quelque chose comme "
              "peux pouvez très bien aussi mais où avoir été série séries chanson chansons "
              "musique livre drôle policière policier s'il plaît merci bonjour salut "
              "recommande recommander donne-moi regarder écouter ce soir",
        "de": "ich du er sie es wir ihr der die das den dem des ein eine einen einem einer "
              "und oder aber nicht kein keine mit für auf ist sind bin habe hast hat möchte "
              "suche gerne bitte etwas wie auch noch sehr gut lustig lustigen lustige filme "
              "lieder musik hören sehen danke hallo jetzt mir mich mein meine zu im vom zum "
              "zur über empfiehl empfehlen",
        "es": "yo tú él ella nosotros el los las una unos unas del al y pero sí es son soy "
              "estoy quiero busco algo como para por con sin que qué muy bien también "
              "película películas pelicula peliculas canción canciones música libro gracias "
              "hola dame recomiéndame recomienda me gusta gustaría divertida divertido ver "
              "esta noche serie",
        "it": "io tu lui lei noi voi il lo gli le uno una di del della dei delle è sono non "
              "che per con su ma anche molto bene voglio vorrei cerco qualcosa come canzoni "
              "musica libro grazie ciao stasera vedere da un",
        "pt": "eu você ele ela nós os as um uma uns umas do da dos das é são não que para "
              "com por mas também muito bem quero gostaria procuro algo como filme filmes "
              "série música livro obrigado obrigada olá assistir",
        "nl": "ik jij hij zij wij het een de en maar niet geen met voor op ben wil zoek iets "
              "zoals ook heel goed graag bedankt hallo kijken luisteren",
        "sv": "jag du han hon vi ni det en ett och eller men inte med för på är vill söker "
              "något som också mycket bra tack hej titta lyssna",
    }.items()
}
"""The function words counted for each language (those shared with English left out)."""

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)?")


def language_of(text: str) -> str:
    """The language ``text`` is most likely in by its function words: an ISO 639-1 code,
    ``"en"`` when no other language has at least two words and more than English."""
    words = [w.replace("’", "'") for w in _WORD.findall(text.lower())]
    english = sum(w in _ENGLISH for w in words)
    best, count = "en", 0
    for lang, vocab in FUNCTION_WORDS.items():
        n = sum(w in vocab for w in words)
        if n > count:
            best, count = lang, n
    if count >= 2 and count > english:
        return best
    return "en"


def is_foreign(st: State) -> bool:
    """Whether the message (what titles left of it) is mostly in another script, or in
    another language by its function words (:func:`language_of`)."""
    work = st.work.replace("\x00", " ")
    letters = [c for c in work if c.isalpha()]
    if not letters:
        return False
    if sum(ord(c) > 0x24F for c in letters) * 2 > len(letters):
        return True
    return language_of(work) != "en"
