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
    from retrieval.models import Item
    from retrieval.request import Request

__all__ = ["details_cards", "make_cards", "match_note"]


def make_cards(ranked: Sequence[RankedItem], request: Request, catalog: Catalog,
               source: str = "", *, min_cosine: float | None = None) -> list[Recommendation]:
    """One card per pick, in order (``rank`` is the 1-based position shown).

    Args:
        ranked: The picks.
        request: The request they answer (for the grounds: matched genres, constraints).
        catalog: Where the items' facts come from.
        source: The candidate source to credit ('similar', 'playlist'...; empty: the
            ranker's own evidence).
        min_cosine: The bundle's citation threshold
            (:func:`~assistant.explain.relevance.cite_threshold`; ``None``: the floor).
    """
    from assistant.explain import grounds_for

    out = []
    for pos, r in enumerate(ranked, 1):
        item = catalog[r.item_id]
        grounds = grounds_for(item, request, r, catalog, source=source or None,
                              **({} if min_cosine is None else {"min_cosine": min_cosine}))
        out.append(Recommendation(
            item_id=item.id, title=item.title, media_type=item.media_type.value,
            year=item.year, duration_min=item.duration_min, genres=list(item.genres),
            tags=list(item.tags), creators=list(item.creators),
            description=item.description, rank=pos,
            score=None if r.score != r.score else float(r.score), grounds=grounds,
            match="close" if r.match == "close" else "exact",
            match_note=match_note(item, r.missing, request) if r.match == "close" else None))
    return out


def match_note(item: Item, missing: Sequence[str], request: Request) -> str:
    """A close match's card label: what the item is and what it lacks of the request.

    Example:
        >>> from retrieval.models import Item
        >>> from retrieval.request import Request
        >>> rock = Item(id="a", title="Revolver", media_type="album", genres=["rock", "pop"])
        >>> match_note(rock, ["jazz"], Request(genres=["jazz"]))
        'close match: rock, not jazz'
        >>> match_note(rock, ["funny"], Request(genres=["rock"], tags=["funny"]))
        'close match: not funny'
    """
    genre_words = " or ".join(request.genres)
    parts = []
    if genre_words and genre_words in missing:
        parts.append(f"{item.genres[0]}, not {genre_words}" if item.genres
                     else f"not {genre_words}")
    others = [w for w in missing if w != genre_words]
    if others:
        parts.append("not " + ", ".join(others))
    return "close match: " + "; ".join(parts)


def details_cards(cards: list[Recommendation]) -> list[Recommendation]:
    """A details answer: the first card, its description as its explanation."""
    return [cards[0].model_copy(update={"explanation": cards[0].description})] if cards else []
