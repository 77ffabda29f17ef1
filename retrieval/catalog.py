"""The catalog: every item Encore can recommend, indexed by id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from retrieval.errors import DataError
from retrieval.models import Item

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Catalog"]


class Catalog:
    """An ordered, id-indexed collection of :class:`Item`.

    Example:
        >>> cat = Catalog([Item(id="a", title="Arrival", media_type="movie", genres=["drama"])])
        >>> len(cat), cat["a"].title, "b" in cat
        (1, 'Arrival', False)
    """

    def __init__(self, items: Iterable[Item]) -> None:
        self._items: list[Item] = []
        self._pos: dict[str, int] = {}
        self._genre_media: dict[str, frozenset[str]] | None = None
        for item in items:
            self.add(item)

    def add(self, item: Item) -> None:
        """Append one item; a second item with the same id is an error."""
        if item.id in self._pos:
            raise DataError(
                f"duplicate item id {item.id!r}",
                field="id",
                fix="give every catalog item its own id",
            )
        self._pos[item.id] = len(self._items)
        self._items.append(item)
        self._genre_media = None

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._pos

    def __getitem__(self, item_id: str) -> Item:
        try:
            return self._items[self._pos[item_id]]
        except KeyError:
            raise KeyError(f"no item with id {item_id!r} in the catalog") from None

    def get(self, item_id: str) -> Item | None:
        pos = self._pos.get(item_id)
        return None if pos is None else self._items[pos]

    @property
    def ids(self) -> list[str]:
        return [it.id for it in self._items]

    def position(self, item_id: str) -> int:
        """Row of ``item_id`` in catalog order (the order of :attr:`ids`)."""
        return self._pos[item_id]

    def genre_counts(self) -> Counter[str]:
        return Counter(g for it in self._items for g in it.genres)

    def media_of_genre(self, genre: str) -> frozenset[str]:
        """The media types (values) of the items that carry ``genre``: one pass over the
        catalog on first use, kept until the next :meth:`add`.

        Example:
            >>> Catalog([Item(id="a", title="A", media_type="movie", genres=["crime"])]
            ...         ).media_of_genre("crime")
            frozenset({'movie'})
        """
        if self._genre_media is None:
            index: dict[str, set[str]] = {}
            for it in self._items:
                for g in it.genres:
                    index.setdefault(g, set()).add(it.media_type.value)
            self._genre_media = {g: frozenset(m) for g, m in index.items()}
        return self._genre_media.get(genre, frozenset())

    def tag_counts(self) -> Counter[str]:
        return Counter(t for it in self._items for t in it.tags)

    def media_type_counts(self) -> Counter[str]:
        return Counter(it.media_type.value for it in self._items)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([it.model_dump(mode="json") for it in self._items])

    def __repr__(self) -> str:
        return f"Catalog({len(self)} items)"
