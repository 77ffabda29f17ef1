"""The cards stage: ranked picks -> :class:`~assistant.reply.Recommendation` cards with the
grounds an explanation may cite.

Example:
    >>> from retrieval.demo import load_demo_catalog
    >>> from retrieval.diversify import RankedItem
    >>> from retrieval.request import Request
    >>> cat = load_demo_catalog()
    >>> ranked = [RankedItem(item_id="mv-arrival-2016", rank=1, score=0.9)]
    >>> card = make_cards(ranked, Request(genres=["science fiction"]), cat)[0]
    >>> card.title, card.rank, card.grounds.matched_genres
    ('Arrival', 1, ['science fiction'])
    >>> details_cards([card])[0].explanation == card.description
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.reply import Recommendation

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.diversify import RankedItem
    from retrieval.request import Request

__all__ = ["details_cards", "make_cards"]


def make_cards(ranked: Sequence[RankedItem], request: Request, catalog: Catalog,
               source: str = "") -> list[Recommendation]:
    """One card per pick, in order (``rank`` is the 1-based position shown).

    Args:
        ranked: The picks.
        request: The request they answer (for the grounds: matched genres, constraints).
        catalog: Where the items' facts come from.
        source: The candidate source to credit ('similar', 'playlist'...; empty: the
            ranker's own evidence).
    """
    from assistant.explain import grounds_for

    out = []
    for pos, r in enumerate(ranked, 1):
        item = catalog[r.item_id]
        grounds = grounds_for(item, request, r, catalog, source=source or None)
        out.append(Recommendation(
            item_id=item.id, title=item.title, media_type=item.media_type.value,
            year=item.year, duration_min=item.duration_min, genres=list(item.genres),
            tags=list(item.tags), creators=list(item.creators),
            description=item.description, rank=pos,
            score=None if r.score != r.score else float(r.score), grounds=grounds))
    return out


def details_cards(cards: list[Recommendation]) -> list[Recommendation]:
    """A details answer: the first card, its description as its explanation."""
    return [cards[0].model_copy(update={"explanation": cards[0].description})] if cards else []
