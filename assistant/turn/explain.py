"""The explain stage: one reason per card, from its grounds, by the configured explainer.

:func:`explain_cards` answers at once (the one-shot API and the agents' tools);
:func:`explain_stream` fills a reply's cards as the explainer writes, and records in the
reply's metadata which explainer answered, its sentence counts and any fallback.

Either way the LLM explainer is called only when the turn may (:meth:`Backends.explainer_for
<assistant.turn.backends.Backends.explainer_for>`: the circuit breaker is closed and the
turn's deadline not spent), with what is left of the turn's deadline, and its outcome is
reported to the breaker. What reaches a card is checked text only: the LLM explainer hands
on a sentence once it has been checked (:mod:`assistant.explain.stream`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.reply import Recommendation, Reply
    from assistant.turn.backends import Backends, LLMTurn
    from retrieval.catalog import Catalog
    from retrieval.request import Request

__all__ = ["explain_cards", "explain_stream"]


def explain_cards(backends: Backends, catalog: Catalog, cards: Sequence[Recommendation],
                  request: Request, turn: LLMTurn | None = None) -> list[Recommendation]:
    """``cards`` with their explanations written (within ``turn``, or a turn of its own)."""
    if not cards:
        return []
    turn = turn if turn is not None else backends.begin()
    explainer, skipped = backends.explainer_for(turn)
    picks = [(catalog[c.item_id], c.grounds) for c in cards]
    result = explainer.explain(picks, request, deadline=turn.deadline)
    if skipped is None and explainer is backends.llm_explainer:
        backends.record(result.fallback)
    return _with_texts(cards, result.texts)


def explain_stream(backends: Backends, catalog: Catalog, reply: Reply,
                   cards: list[Recommendation], request: Request, turn: LLMTurn,
                   llm_model: str | None = None) -> Iterator[Reply]:
    """Fill ``reply``'s cards as the explainer writes, yielding ``reply`` after each piece;
    on return ``reply`` holds the final texts and ``reply.meta`` the explainer's counts.

    Args:
        turn: The turn's deadline and breaker admission (:meth:`Backends.begin`).
        llm_model: Recorded as ``meta.llm_model`` when the LLM explainer answered.
    """
    explainer, skipped = backends.explainer_for(turn)
    picks = [(catalog[c.item_id], c.grounds) for c in cards]
    texts = [""] * len(cards)
    meta = reply.meta
    meta.explainer = explainer.name
    if skipped is not None:
        meta.fallbacks.append(skipped)
    final = None
    for event in explainer.stream(picks, request, deadline=turn.deadline):
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
        if explainer is backends.llm_explainer:
            backends.record(final.fallback)
        if final.fallback is not None:
            meta.fallbacks.append(final.fallback)
            meta.explainer = final.fallback.used
        elif explainer.name == "llm":
            meta.llm_model = llm_model
    reply.recommendations = _with_texts(cards, texts)


def _with_texts(cards: Sequence[Recommendation], texts: Sequence[str]) -> list[Recommendation]:
    return [c.model_copy(update={"explanation": t}) for c, t in zip(cards, texts, strict=True)]
