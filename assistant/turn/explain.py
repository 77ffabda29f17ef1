"""The explain stage: one reason per card, from its grounds, by the configured explainer.

:func:`explain_cards` answers at once (the one-shot API and the agents' tools);
:func:`explain_stream` fills a reply's cards as the explainer writes, and records in the
reply's metadata which explainer answered, its sentence counts and any fallback.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.explain import Explainer
    from assistant.reply import Recommendation, Reply
    from retrieval.catalog import Catalog
    from retrieval.request import Request

__all__ = ["explain_cards", "explain_stream"]


def explain_cards(explainer: Explainer, catalog: Catalog, cards: Sequence[Recommendation],
                  request: Request) -> list[Recommendation]:
    """``cards`` with their explanations written."""
    if not cards:
        return []
    picks = [(catalog[c.item_id], c.grounds) for c in cards]
    texts = explainer.explain(picks, request).texts
    return _with_texts(cards, texts)


def explain_stream(explainer: Explainer, catalog: Catalog, reply: Reply,
                   cards: list[Recommendation], request: Request,
                   llm_model: str | None = None) -> Iterator[Reply]:
    """Fill ``reply``'s cards as ``explainer`` writes, yielding ``reply`` after each piece;
    on return ``reply`` holds the final texts and ``reply.meta`` the explainer's counts.

    Args:
        llm_model: Recorded as ``meta.llm_model`` when the LLM explainer answered.
    """
    picks = [(catalog[c.item_id], c.grounds) for c in cards]
    texts = [""] * len(cards)
    meta = reply.meta
    meta.explainer = explainer.name
    final = None
    for event in explainer.stream(picks, request):
        if event.kind == "delta":
            texts[event.index] += event.text
        elif event.kind == "final":
            texts[event.index] = event.text
        elif event.kind == "done":
            final = event.result
            continue
        reply.recommendations = _with_texts(cards, texts)
        yield reply
    if final is not None:
        texts = list(final.texts)
        meta.explanation_sentences = final.sentences
        meta.replaced_sentences = final.replaced
        if final.fallback is not None:
            meta.fallbacks.append(final.fallback)
            meta.explainer = final.fallback.used
        elif explainer.name == "llm":
            meta.llm_model = llm_model
    reply.recommendations = _with_texts(cards, texts)


def _with_texts(cards: Sequence[Recommendation], texts: Sequence[str]) -> list[Recommendation]:
    return [c.model_copy(update={"explanation": t}) for c, t in zip(cards, texts, strict=True)]
