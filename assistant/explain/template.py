"""The offline explainer: one or two deterministic sentences per pick, built only from its
grounds.

The first sentence says why: the genres, themes and moods asked for that the pick has; the
liked history items it is genuinely close to (the grounds hold no others); the constraints
it meets, as asked; the ranker's signals; or for a cold start what proposed it. The second
says what the pick is (its kind, creators, year and length) and the exclusions it respects.
Wording varies with the title (a stable hash), so a list of thin picks does not read the
same line ten times.

Example:
    >>> from assistant.reply import Grounds, HistoryReason
    >>> g = Grounds(title="Arrival", year=2016, duration_min=116, media_type="movie",
    ...             creators=["Denis Villeneuve"],
    ...             matched_genres=["science fiction"], matched_tags=["slow-burn"],
    ...             history=[HistoryReason(item_id="c", title="Contact", kind="content",
    ...                                    similarity=0.8, shared=["science fiction"]),
    ...                      HistoryReason(item_id="i", title="Interstellar", kind="content",
    ...                                    similarity=0.7, shared=["science fiction"])],
    ...             constraints=["under 120 minutes", "no horror"])
    >>> template_sentence(g)
    'Science fiction and slow-burn, like Contact and Interstellar that you liked.'
    >>> template_text(g)[len(template_sentence(g)) + 1:]
    'A film by Denis Villeneuve from 2016, 116 minutes long, no horror.'
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
from assistant.explain.evidence import facts_sentence
from assistant.explain.grounds import ASKED_PHRASES, media_noun
from assistant.explain.words import capitalize, join_words, with_article
from assistant.reply import Grounds

if TYPE_CHECKING:
    from assistant.deadline import TurnDeadline
    from retrieval.request import Request

__all__ = ["TemplateExplainer", "template_sentence", "template_text"]

# Constraint phrases (assistant.explain.grounds.constraint_phrases) that the facts sentence
# does not already say: exclusions and the language. Media type, years and length are in it.
_EXTRA_CONSTRAINT_PREFIXES = ("no ", "not ", "in ")


def _choose(grounds: Grounds, options: Sequence[str]) -> str:
    return options[zlib.crc32(grounds.title.encode("utf-8")) % len(options)]


def _close_titles(grounds: Grounds, kind: str, label: str | None) -> list[str]:
    """Up to two cited titles of ``kind`` that share ``label`` with the pick (any, if None)."""
    return [h.title for h in grounds.history
            if h.kind == kind and (label is None or label in h.shared)][:2]


def _with_history(grounds: Grounds, labels: list[str]) -> str:
    """Why, when the grounds cite history: the labels asked for (or else those shared with
    the closest cited item), and the cited titles that truly share them."""
    first = grounds.history[0]
    common = [x for x in labels if any(x in h.shared for h in grounds.history)]
    if labels and not common:
        # The history shares something else with the pick ("narrative"): say so apart, so
        # that "Space, like In the Dark" never claims In the Dark is about space.
        head = f"{capitalize(join_words(labels))}, as you asked"
        if first.kind == "content" and first.shared:
            return f"{head}, and {first.shared[0]} like {first.title}, which you liked."
        if first.kind == "content":
            return f"{head}; close to {first.title}, which you liked."
        return f"{head}; people who liked {first.title} liked this too."
    head_labels = labels if common else first.shared[:2]
    key = common[0] if common else (head_labels[0] if head_labels else None)
    head = capitalize(join_words(head_labels)) or "Close to what you chose before"
    content = _close_titles(grounds, "content", key)
    if content:
        return f"{head}, like {join_words(content)} that you liked."
    collab = _close_titles(grounds, "collaborative", key)
    return f"{head}, liked by people who also liked {join_words(collab or [first.title])}."


def template_sentence(grounds: Grounds) -> str:
    """Why this pick, in one sentence, from its grounds alone (also the replacement for a
    generated sentence that fails the grounding check)."""
    labels = [*grounds.matched_genres, *grounds.matched_tags][:3]
    signals = grounds.signals
    if grounds.history:
        return _with_history(grounds, labels)
    if labels:
        head = capitalize(join_words(labels))
        other = [p for p in signals if p not in ASKED_PHRASES]
        return f"{head}, as you asked; {other[0]}." if other else f"{head}, as you asked."
    # The kind ("an album") is said by the facts sentence that follows.
    kind = with_article(media_noun(grounds.media_type)) if grounds.media_type else ""
    asked = [c for c in grounds.constraints
             if not c.startswith(_EXTRA_CONSTRAINT_PREFIXES) and c != kind]
    if asked:
        return f"{capitalize(join_words(asked[:3]))}, as you asked."
    if signals:
        return capitalize(join_words(signals[:2])) + "."
    sources = set(grounds.sources)
    if "popular" in sources:
        return _choose(grounds, ["Popular with many people.", "A popular pick.",
                                 "Widely enjoyed."])
    if "collaborative" in sources:
        return "Popular with people whose taste is like yours."
    if "dense" in sources:
        return "Close to what you asked for." if grounds.asked else "Close to your taste."
    return facts_sentence(grounds)


def template_text(grounds: Grounds) -> str:
    """The template's whole explanation: :func:`template_sentence`, then what the pick is
    (kind, creators, year, length) and the exclusions and language it meets."""
    first = template_sentence(grounds)
    second = facts_sentence(grounds)
    extra = [c for c in grounds.constraints if c.startswith(_EXTRA_CONSTRAINT_PREFIXES)]
    if extra:
        second = second[:-1] + ", " + ", ".join(extra[:3]) + "."
    return first if second == first else f"{first} {second}"


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

    def explain(self, picks: Sequence[Pick], request: Request | None = None, *,
                deadline: TurnDeadline | None = None) -> ExplainResult:
        texts = [template_text(g) for _, g in picks]
        return ExplainResult(texts=texts, sentences=sum(len(split_sentences(t)) for t in texts))

    def stream(self, picks: Sequence[Pick], request: Request | None = None, *,
               deadline: TurnDeadline | None = None) -> Iterator[ExplainEvent]:
        result = self.explain(picks, request)
        for i, text in enumerate(result.texts):
            yield ExplainEvent("delta", i, text)
        for i, text in enumerate(result.texts):
            yield ExplainEvent("final", i, text)
        yield ExplainEvent("done", -1, result=result)
