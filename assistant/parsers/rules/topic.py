"""What a message does to the conversation's topic: starts over, names a new subject, or
refines the previous request (:class:`~retrieval.request.Topic`).

A topic changes only when the person names a new one:

- **Reset**: "start over", "something completely different", "forget everything I said",
  "change the topic" (:func:`is_reset`). The reset words leave the query; when nothing about
  what the person wants is left, the query is empty.
- **New**: the request sets genres, tags, moods or titles to be like, or its query has a word
  of content (:func:`topical_words`): "stories about lighthouse keepers".
- **Refine**: anything else: "shorter", "only podcasts now", "films from the 90s", "not the
  second one", "thanks!", "can you think of anything else?", "make it an hour", and a
  **mood shift**: a mood said as a comparison with nothing else topical ("darker", "something
  more upbeat", "a bit lighter please"; :func:`is_mood_shift`): the session keeps the topic
  and changes its mood. A mood said plainly ("something scary") is a new topic.

Function words, request phrasing and their common misspellings ("somthing", "pls",
"reccomend") are not topical.

Example:
    >>> from retrieval.request import Request
    >>> topic_of(Request(query="only podcasts now")), topic_of(Request(query="a podcast on Rome"))
    (<Topic.refine: 'refine'>, <Topic.new: 'new'>)
    >>> topic_of(Request(query="something more upbeat", moods=["upbeat"], tags=["upbeat"]))
    <Topic.refine: 'refine'>
    >>> strip_reset("ok, start over: a podcast about space")
    'ok, : a podcast about space'
"""

from __future__ import annotations

import re

from rapidfuzz.distance import OSA

from assistant.parsers.vocabulary import LANGUAGE_WORDS, MEDIA_WORDS, MOOD_WORDS, MOODS
from retrieval.request import Mood, Request, TitleRole, Topic

__all__ = ["is_mood_shift", "is_reset", "strip_reset", "topic_of", "topical_words"]

_RESET = re.compile(
    r"\b(?:(?:let'?s\s+)?start(?:ing)?\s+(?:all\s+)?(?:over|again|afresh|anew|fresh|from\s+scratch)"
    r"|from\s+scratch|reset|clean\s+slate|fresh\s+start|new\s+search|begin\s+again"
    r"|forget\s+(?:about\s+)?(?:everything|all\s+(?:of\s+)?(?:that|this|those)"
    r"|what\s+i\s+(?:said|asked(?:\s+for)?))"
    r"|something\s+(?:completely|totally|entirely|utterly|altogether)\s+(?:different|else)"
    r"|(?:change|switch)\s+(?:the\s+)?(?:topic|subject))\b",
    re.IGNORECASE)


def is_reset(message: str | None) -> bool:
    """True when ``message`` asks to start over.

    Example:
        >>> is_reset("ok, start over"), is_reset("something completely different")
        (True, True)
        >>> is_reset("not that one"), is_reset("something different from Arrival?")
        (False, False)
    """
    return bool(message) and _RESET.search(str(message)) is not None


def strip_reset(query: str) -> str:
    """``query`` without the words that start over; empty when nothing topical is left."""
    query = " ".join(_RESET.sub(" ", query).split())
    return query if topical_words(query) else ""


# Words that say nothing about what the person wants to watch or hear: function words, the
# words the parser reads as constraints or references, and request phrasing.
_FILLER = frozenset("""
a an the and or but nor so yet if then than that this these those it its it's there here
i i'm i'd i've me my we us our you your he she they them their his her who what what's which
how when where why is are was were be been being am do does did doing done have has had
can could would should will shall may might must let let's lets
of in on at to for from by with without about into onto over under after before since until
between around near within up down out off again also too very really quite rather just only
even still now instead anymore any some something anything nothing everything stuff things
thing one ones other others another else more most less least much many few lot lots bit
little kind sort type like similar same different not no nope yes yeah yep ok okay oh ooh
hmm well please thanks thank cheers hi hello hey maybe perhaps actually honestly basically
nah meh yeah yup uh um
give show find get got want wanted need needs needed looking look see try trying go going
recommend recommendation recommendations suggest suggestion suggestions pick picks option
options result results title titles list play put watch watching listen listening hear
good great nice best better cool fine sounds sound looks seems
shorter short longer long quicker quick newer new older old recent recently lately
minute minutes min mins hour hours hr hrs half quarter year years decade decades era max
maximum minimum least tops total roughly approximately about around exactly at
early mid late tonight today day days week weekend onwards onward later earlier
pls plz thx ty u ur k kinda sorta gimme wanna gonna lemme think thinking guess suppose mean
liked loved enjoyed hated disliked love hate enjoy dislike adore adored
make turn cut trim stretch extend shorten lengthen keep same enough whole way far tad
playlist playlists mix mixtape
don't dont didn't didnt doesn't doesnt isn't isnt wasn't wasnt aren't won't wont
can't cant couldn't wouldn't
first second third fourth fifth sixth seventh eighth ninth tenth last final top number no.
episode episodes season seasons released made came out
start over afresh anew fresh scratch reset clean slate completely totally entirely
utterly altogether change switch topic subject begin search
""".split())
_NUMBERS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve fifteen twenty "
    "thirty forty forty-five fifty sixty ninety hundred couple dozen".split())
_CONSTRAINT_WORDS = frozenset(
    w for phrase in (*MEDIA_WORDS, *LANGUAGE_WORDS) for w in re.split(r"[\s]+", phrase))
_WORD = re.compile(r"[a-z0-9][a-z0-9'.-]*")
_AMOUNT = re.compile(r"^(?:\d+(?:st|nd|rd|th|s|'s|m|h|min|mins|hr|hrs)?|'?\d\ds|\d+-\w+)$")


# Misspellings of request phrasing too far from the word for the edit-distance check.
_MISSPELT = frozenset("reccomend reccommend recomend reccomendation recomendation sugest "
                      "sugestion somethin sumthing smth sth anythin nothin thnx thanx".split())
_LONG_FILLER = tuple(w for w in _FILLER if len(w) >= 6)
_MOOD_VOCAB = frozenset(w for phrase in MOOD_WORDS for w in phrase.split())
_SHIFT_CUE = re.compile(
    r"\b(?:more|less|bit|little|slightly|somewhat|even|way|much|lot|tad|rather|bit\s+more)\b")


def _filler(word: str) -> bool:
    """A function word or request phrasing, or a misspelling of one ("somthing")."""
    if word in _FILLER or word in _MISSPELT:
        return True
    return len(word) >= 6 and any(
        abs(len(word) - len(f)) <= 1 and OSA.distance(word, f) <= 1 for f in _LONG_FILLER)


def _comparative(word: str) -> bool:
    """ "darker", "funnier", "sadder": a comparative of a mood word."""
    if not word.endswith("er") or word not in MOOD_WORDS:
        return False
    return any(base in MOOD_WORDS for base in (word[:-2], word[:-3], word[:-3] + "y"))


def _plain(word: str) -> str:
    word = word.strip(".'-")
    for suffix in ("'s", "s"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and (stem in _CONSTRAINT_WORDS or stem in _FILLER):
            return stem
    return word


def topical_words(query: str) -> list[str]:
    """The words of ``query`` that say what it is about (not how long, which kind, when...).

    A request whose query has none of them does not start a new topic.

    Example:
        >>> topical_words("only podcasts now"), topical_words("films from the 90s under 2 hours")
        ([], [])
        >>> topical_words("a long podcast about the Roman empire")
        ['roman', 'empire']
    """
    out = []
    for raw in _WORD.findall(query.lower()):
        word = _plain(raw)
        if (not word or _filler(word) or word in _NUMBERS or word in _CONSTRAINT_WORDS
                or _AMOUNT.match(word)):
            continue
        out.append(word)
    return out


def is_mood_shift(request: Request) -> bool:
    """Whether ``request`` only shifts the mood of the topic in force: it has moods said as a
    comparison ("darker", "more upbeat", "a bit lighter"), no genres, no like-titles, no tags
    but its moods' own, and no other topical word.

    Example:
        >>> is_mood_shift(Request(query="a bit darker", moods=["dark"], tags=["dark"]))
        True
        >>> is_mood_shift(Request(query="something dark", moods=["dark"], tags=["dark"]))
        False
    """
    if not request.moods or request.genres or any(
            t.role is TitleRole.like for t in request.titles):
        return False
    if not set(request.tags) <= {t for m in request.moods for t in MOODS[Mood(m)][0]}:
        return False
    words = topical_words(request.query)
    if any(w not in _MOOD_VOCAB for w in words):
        return False
    low = request.query.lower()
    return _SHIFT_CUE.search(low) is not None or any(
        _comparative(w) for w in re.findall(r"[a-z-]+", low))


def topic_of(request: Request, reset: bool = False) -> Topic:
    """What ``request`` (its query already without reset words) does to the topic.

    Args:
        request: The request parsed from the message.
        reset: The message asked to start over (:func:`is_reset`).
    """
    if reset:
        return Topic.reset
    if is_mood_shift(request):
        return Topic.refine  # the session keeps the topic and changes its mood
    named = (request.genres or request.tags or request.moods
             or any(t.role is TitleRole.like for t in request.titles))
    return Topic.new if named or topical_words(request.query) else Topic.refine
