"""The evidence view in plain words: why a pick was chosen, as short sentences a person reads
under "Why this pick", never a candidate source's name ("dense", "collaborative") or a score.

The raw details (similarities, cosines, sources, uncited history) stay in the
:class:`~assistant.reply.Grounds` for developers; :func:`evidence_sentences` is what the
page shows.

Example:
    >>> from assistant.reply import Grounds, HistoryReason
    >>> g = Grounds(title="Time Out", year=1959, duration_min=38, media_type="album",
    ...             creators=["The Dave Brubeck Quartet"], matched_genres=["jazz"],
    ...             constraints=["an album", "from 1955 to 1965", "under 45 minutes"],
    ...             history=[HistoryReason(item_id="kob", title="Kind of Blue", kind="content",
    ...                                    similarity=0.71, cosine=0.71,
    ...                                    shared=["jazz", "cool jazz"])],
    ...             signals=["popular with people whose taste is like yours"],
    ...             sources=["dense", "collaborative"], asked=True)
    >>> for line in evidence_sentences(g): print(line)
    Matches what you asked for: jazz, an album, from 1955 to 1965 and under 45 minutes.
    You liked Kind of Blue, also jazz and cool jazz.
    Popular with people whose taste is like yours.
    An album by The Dave Brubeck Quartet from 1959, 38 minutes long.
"""

from __future__ import annotations

from assistant.explain.grounds import ASKED_PHRASES, media_noun
from assistant.explain.words import capitalize, facts_phrase, join_words
from assistant.reply import Grounds

__all__ = ["SOURCE_SENTENCES", "evidence_sentences", "facts_sentence"]

SOURCE_SENTENCES: dict[str, str] = {
    "popular": "Popular with many people.",
    "collaborative": "Popular with people whose taste is like yours.",
    "similar": "Close to the title you named.",
}
"""Candidate source -> its plain sentence; sources not listed ("dense", "playlist") say
nothing a person needs (the request match already says it)."""

_PER_EPISODE = ("series", "podcast")


def facts_sentence(grounds: Grounds) -> str:
    """What the pick is: "A podcast by Sarah Koenig from 2014, with 45-minute episodes."."""
    noun = media_noun(grounds.media_type) if grounds.media_type else "pick"
    return capitalize(facts_phrase(noun, year=grounds.year, duration_min=grounds.duration_min,
                                   creators=grounds.creators,
                                   per_episode=grounds.media_type in _PER_EPISODE)) + "."


def _history_sentence(title: str, kind: str, shared: list[str]) -> str:
    also = join_words(shared[:2])
    if kind == "content":
        return f"You liked {title}, also {also}." if also else f"You liked {title}."
    return (f"People who liked {title} liked this too; both are {also}." if also
            else f"People who liked {title} liked this too.")


def evidence_sentences(grounds: Grounds) -> list[str]:
    """Why this pick, in plain sentences: the request match, the liked history items it is
    genuinely close to, the ranker's signals in words, how it was found (in words), and what
    it is. Each sentence once."""
    out: list[str] = []
    matched = [*grounds.matched_genres, *grounds.matched_tags, *grounds.constraints]
    if matched:
        out.append(f"Matches what you asked for: {join_words(matched)}.")
    for h in grounds.history:
        out.append(_history_sentence(h.title, h.kind, h.shared))
    for phrase in grounds.signals:
        if matched and phrase in ASKED_PHRASES:
            continue  # the match sentence says it better
        out.append(capitalize(phrase) + ".")
    for source in grounds.sources:
        sentence = SOURCE_SENTENCES.get(source)
        if sentence is None and source.startswith("trending"):
            sentence = "Among the most played lately."
        if sentence is not None:
            out.append(sentence)
    if not out and "dense" in grounds.sources:
        out.append("Close to what you asked for." if grounds.asked else "Close to your taste.")
    if grounds.title or grounds.media_type:
        out.append(facts_sentence(grounds))
    return list(dict.fromkeys(out))
