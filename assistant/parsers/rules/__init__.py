"""The offline request parser: deterministic rules over the catalog's own vocabulary.

What it reads, in this order (each step consumes the text it used, so later steps do not
read it twice):

1. **Clean-up**: at most ``max_chars`` characters are read (issue ``truncated``); control
   and invisible characters are removed (``control_characters``); clauses addressed to the
   system ("ignore previous instructions...", "every user's history", "you are DAN now")
   are dropped (``instructions_ignored``). Misspelt words of the vocabulary are corrected
   ("horor", "moveis", "sciense fiction", "somthing"; :mod:`~.spelling`), never common
   English words, names or titles.
2. **References to the last list**: "the second one" -> ``reference_positions=[2]``, "more
   like that" -> the item in focus, "not that one" -> ``exclude_positions`` (and
   ``exclude_ids`` when the context has the last list). Coordinated references share one
   verb ("drop the first and the last" -> exclude 1 and -1). "That" and "it" after a title
   named in the same message point at the title, not at the list ("Parasite was amazing,
   more like that").
3. **Titles**: quoted text, text after cues ("like", "loved", "tell me about", "not like",
   "is ... on here", "with the vibe of"), the subject of an opinion ("Dune was amazing"),
   and capitalised spans, matched against the catalog's titles (exact, then rapidfuzz). An
   opinion right after a title makes it feedback ("X was awful" -> role not). A capitalised
   word no cue points at stays a word when it is an occasion ("creepy podcasts for
   Halloween").
4. **Language check**: a message that is not English keeps only its titles
   (``unsupported_language``); nothing else is guessed from it.
5. **Amounts**: durations ("under 2 hours" -> max 120; "a 40-minute drive" -> max 40;
   "about an hour" -> 45-75; "a 2-hour playlist" -> ``playlist_minutes=120``), years and
   eras ("the 90s", "early 2000s", "after 2015", "2010 or later", "recent" = the catalog's
   newest five years) and counts ("five Korean thrillers", "top 10"). A negation turns a
   bound round ("nothing over 2 hours" -> max 120, "nothing before 2000" -> from 2000). In a
   playlist request a length not said of the songs is the playlist's ("a 45-minute workout
   playlist" -> ``playlist_minutes=45``).
6. **Words**: media types, genres, tags, moods and languages from
   :mod:`assistant.parsers.vocabulary` and the catalog's labels, with negation scopes ("no
   horror", "nothing scary", "not a podcast"). A mood adds its tags and rules out its
   opposites ("lighter" -> light, feel-good, funny; not dark, bleak, scary). Only labels
   the catalog has are used.
7. **Intent**, from cue phrases and what was found.
8. **Topic**: whether the message starts over ("start over", "something completely
   different"), names a new subject, or only refines the previous request ("shorter", "only
   podcasts now"); the session merge reads this instead of the text
   (:class:`~retrieval.request.Topic`). The words that start over leave the query.

Durations mean what ``Item.duration_min`` means: for series and podcasts, one episode.

One module per step: ``clean``, ``references``, ``titles`` (with ``cued_titles``,
``capitalised``, ``title_record`` and ``title_patterns``), ``language``, ``durations``,
``years``, ``counts``, ``words`` (with ``lexicon`` and ``negation``), ``intents``, ``topic``
and ``assemble``; ``state`` is what they share, ``parser`` runs them in order.

Example:
    >>> from retrieval.demo import load_demo_catalog
    >>> parser = RulesParser(load_demo_catalog())
    >>> r = parser.parse("something like Arrival but lighter, no horror")
    >>> r.intent.value, r.like_ids, r.exclude_genres, r.moods
    ('similar', ['mv-arrival-2016'], ['horror'], [<Mood.light: 'light'>])
"""

from __future__ import annotations

from assistant.parsers.rules.parser import DEFAULT_MAX_CHARS, RulesParser
from assistant.parsers.rules.topic import is_reset, topical_words

__all__ = ["DEFAULT_MAX_CHARS", "RulesParser", "is_reset", "topical_words"]
