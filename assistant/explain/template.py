"""The offline explainer: one or two deterministic sentences per pick, built only from its
grounds.

The first sentence says why (the genres and tags asked for, the liked history items it is
close to, the ranker's signals, or for a cold start what proposed it); the second says which
constraints it meets, or else its year and length. Wording varies with the title (a stable
hash), so a list of thin picks does not read the same line ten times.

Example:
    >>> from assistant.reply import Grounds, HistoryReason
    >>> g = Grounds(title="Arrival", year=2016, duration_min=116, media_type="movie",
    ...             matched_genres=["science fiction"], matched_tags=["slow-burn"],
    ...             history=[HistoryReason(item_id="c", title="Contact", kind="content",
    ...                                    similarity=0.8),
    ...                      HistoryReason(item_id="i", title="Interstellar", kind="content",
    ...                                    similarity=0.7)],
    ...             constraints=["under 120 minutes", "no horror"])
    >>> template_sentence(g)
    'Science fiction and slow-burn, like Contact and Interstellar that you liked.'
    >>> template_text(g)[len(template_sentence(g)) + 1:]
    'Under 120 minutes, no horror.'
    >>> template_text(Grounds(title="Serial", year=2014, duration_min=45, media_type="podcast",
    ...                       sources=["popular"]))
    'Widely enjoyed. A podcast from 2014, with 45-minute episodes.'
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from assistant.explain.base import ExplainEvent, ExplainResult, Pick
from assistant.explain.check import split_sentences
from assistant.explain.grounds import media_noun
from assistant.reply import Grounds

if TYPE_CHECKING:
    from retrieval.request import Request

__all__ = ["TemplateExplainer", "template_sentence", "template_text"]

_PER_EPISODE = ("series", "podcast")


def _join(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _choose(grounds: Grounds, options: Sequence[str]) -> str:
    return options[zlib.crc32(grounds.title.encode("utf-8")) % len(options)]


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _minutes(d: float) -> str:
    return f"{round(d)}" if d >= 1 else f"{d:g}"


def template_sentence(grounds: Grounds) -> str:
    """Why this pick, in one sentence, from its grounds alone (also the replacement for a
    generated sentence that fails the grounding check)."""
    labels = [*grounds.matched_genres, *grounds.matched_tags][:3]
    content = [h.title for h in grounds.history if h.kind == "content"][:2]
    collab = [h.title for h in grounds.history if h.kind == "collaborative"][:2]
    signals = grounds.signals
    if labels:
        head = _cap(_join(labels))
        if content:
            return f"{head}, like {_join(content)} that you liked."
        if collab:
            return f"{head}, liked by people who also liked {_join(collab)}."
        if signals:
            return f"{head}, {signals[0]}."
        return f"{head}, as you asked."
    if content:
        return _choose(grounds, [f"Like {_join(content)} that you liked.",
                                 f"Close to {_join(content)}, which you liked.",
                                 f"In the spirit of {_join(content)}, which you liked."])
    if collab:
        return _choose(grounds, [f"Liked by people who also liked {_join(collab)}.",
                                 f"People who liked {_join(collab)} liked this too."])
    if signals:
        return _cap(_join(signals[:2])) + "."
    sources = set(grounds.sources)
    if "popular" in sources:
        return _choose(grounds, ["Popular with many people.", "A popular pick.",
                                 "Widely enjoyed."])
    if "collaborative" in sources:
        return "Liked by people with similar taste."
    if "dense" in sources:
        return "Close to what you asked for."
    return _facts(grounds) or _cap(_a(media_noun(grounds.media_type or "item")) + ".")


def _facts(grounds: Grounds) -> str:
    """"A podcast from 2014, with 45-minute episodes." (empty when nothing is known)."""
    if grounds.year is None and grounds.duration_min is None:
        return ""
    noun = media_noun(grounds.media_type) if grounds.media_type else "pick"
    text = _cap(_a(noun)) + (f" from {grounds.year}" if grounds.year is not None else "")
    d = grounds.duration_min
    if d is not None:
        if grounds.media_type in _PER_EPISODE:
            text += f", with {_minutes(d)}-minute episodes"
        else:
            text += f", {_minutes(d)} minutes long"
    return text + "."


def template_text(grounds: Grounds) -> str:
    """The template's whole explanation: :func:`template_sentence`, then the constraints the
    pick meets (or its year and length when no constraint was asked for)."""
    first = template_sentence(grounds)
    if grounds.constraints:
        second = _cap(", ".join(grounds.constraints[:4])) + "."
    else:
        second = _facts(grounds)
    return first if not second or second == first else f"{first} {second}"


class TemplateExplainer:
    """The offline explainer (the default): deterministic, instant, always grounded.

    Example:
        >>> from retrieval.models import Item
        >>> it = Item(id="x", title="Dune", media_type="movie", year=2021)
        >>> g = Grounds(title="Dune", year=2021, media_type="movie", matched_genres=["drama"])
        >>> TemplateExplainer().explain([(it, g)], None).texts
        ['Drama, as you asked. A film from 2021.']
    """

    name = "template"

    def explain(self, picks: Sequence[Pick], request: Request | None = None) -> ExplainResult:
        texts = [template_text(g) for _, g in picks]
        return ExplainResult(texts=texts, sentences=sum(len(split_sentences(t)) for t in texts))

    def stream(self, picks: Sequence[Pick], request: Request | None = None
               ) -> Iterator[ExplainEvent]:
        result = self.explain(picks, request)
        for i, text in enumerate(result.texts):
            yield ExplainEvent("delta", i, text)
        for i, text in enumerate(result.texts):
            yield ExplainEvent("final", i, text)
        yield ExplainEvent("done", -1, result=result)
