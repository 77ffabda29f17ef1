"""One filter per turn: a request's hard constraints and exclusions, computed once.

A turn's filter is a :class:`TurnFilter`: a boolean mask over catalog rows (what the hard
constraints allow), the same as an allow-list the vector index reads (``None`` when
everything is allowed), and the rows excluded by id (rejected titles, ids the person or the
caller excluded). :class:`FilterBuilder` makes it from a
:class:`~retrieval.request.Request`, evaluating the constraints on arrays precomputed over
the catalog (:class:`ConstraintMasks`: media type codes, years, durations, language codes,
genre and tag indicators) and caching the mask and allow-list per constraint set, so a
turn on a large catalog loops over no item in Python. Retrieval, candidate merging and
ranking all read the same object; :func:`retrieval.diversify.satisfies` is the per-item
reference the tests compare it with.

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.features import ItemTable
    >>> from retrieval.models import Item
    >>> from retrieval.request import Request
    >>> cat = Catalog([Item(id="a", title="A", media_type="movie", year=1990),
    ...                Item(id="b", title="B", media_type="podcast", genres=["horror"]),
    ...                Item(id="c", title="C", media_type="movie", year=1995)])
    >>> f = FilterBuilder(ItemTable(cat, None)).build(Request(media_types=["movie"]),
    ...                                                 exclude=["c"])
    >>> f.mask.tolist(), f.excluded.tolist(), f.allows(np.array([0, 1, 2])).tolist()
    ([True, False, True], [2], [True, False, False])
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from retrieval.features import ItemTable
    from retrieval.index import VectorIndex
    from retrieval.request import Request

__all__ = ["ConstraintMasks", "FilterBuilder", "TurnFilter"]

_MASK_CACHE = 64  # constraint sets remembered (masks and allow-lists)


@dataclass(frozen=True)
class TurnFilter:
    """What one call may return.

    Attributes:
        mask: ``bool[n_items]`` over catalog rows: rows the hard constraints allow
            (read-only, shared by the calls with the same constraints).
        allowed: The same as an allow-list for the vector index (catalog ids, or the index's
            own :class:`~retrieval.index.AllowList`); ``None`` when everything is allowed.
        excluded: ``int64`` rows never to return (exclusions by id), sorted, unique.
        excluded_ids: Their catalog ids (the vector search leaves them out).
    """

    mask: np.ndarray
    allowed: Collection[str] | None = None
    excluded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    excluded_ids: frozenset[str] = frozenset()

    @classmethod
    def everything(cls, n_items: int) -> TurnFilter:
        """A filter that allows every row."""
        mask = np.ones(n_items, dtype=bool)
        mask.setflags(write=False)
        return cls(mask)

    @property
    def constrained(self) -> bool:
        """Whether the hard constraints rule out any row."""
        return self.allowed is not None

    def allows(self, rows: np.ndarray) -> np.ndarray:
        """``bool[len(rows)]``: which rows pass (constraints and exclusions)."""
        rows = np.asarray(rows, dtype=np.int64)
        ok = self.mask[rows]
        if len(self.excluded):
            ok &= ~np.isin(rows, self.excluded)
        return ok

    def row_mask(self) -> np.ndarray:
        """``bool[n_items]``: :attr:`mask` with the excluded rows cleared (a new array)."""
        out = self.mask.copy()
        out[self.excluded] = False
        return out


class ConstraintMasks:
    """The hard constraints of a :class:`~retrieval.request.Request` as boolean masks over
    catalog rows, computed from arrays (no per-item Python) and equal to
    :func:`~retrieval.diversify.satisfies` item for item.

    Args:
        items: The catalog side of the features (:class:`~retrieval.features.ItemTable`):
            its media codes, years, durations and genre/tag indicators are reused.

    Example:
        >>> from retrieval.catalog import Catalog
        >>> from retrieval.features import ItemTable
        >>> from retrieval.models import Item
        >>> from retrieval.request import Request
        >>> cat = Catalog([Item(id="a", title="A", media_type="movie", year=1990),
        ...                Item(id="b", title="B", media_type="podcast", genres=["horror"])])
        >>> masks = ConstraintMasks(ItemTable(cat, None))
        >>> masks.mask(Request(exclude_genres=["horror"])).tolist()
        [True, False]
        >>> masks.mask(Request(year_min=1980)).tolist()   # an unknown year cannot satisfy it
        [True, False]
    """

    def __init__(self, items: ItemTable) -> None:
        from scipy import sparse

        self.items = items
        self.n = len(items)
        self.media = np.asarray(items.media)
        self.media_codes: dict[str, int] = dict(items.media_codes)
        self.year = np.asarray(items.year, dtype=np.float64)
        self.duration = np.asarray(items.duration, dtype=np.float64)
        langs = [None if it.language is None else it.language.lower() for it in items.items]
        vocab = sorted({x for x in langs if x is not None})
        self.language_codes = {lang: k for k, lang in enumerate(vocab)}
        self.language = np.array([-1 if x is None else self.language_codes[x] for x in langs],
                                 dtype=np.int32)
        # Column access (which rows carry an excluded label) wants CSC.
        self._genres = sparse.csc_matrix(items.genres)
        self._tags = sparse.csc_matrix(items.tags)

    @staticmethod
    def key(request: Request | None) -> str:
        """The cache key of a request's hard constraints (``exclude_ids`` left out: they are
        exclusions, applied per call)."""
        if request is None:
            return ""
        hc = request.hard_constraints()
        hc.pop("exclude_ids", None)
        return json.dumps(hc, sort_keys=True) if hc else ""

    def _labelled(self, matrix: Any, vocab: dict[str, int], labels: Sequence[str]) -> np.ndarray:
        cols = [vocab[x] for x in labels if x in vocab]
        if not cols:
            return np.zeros(self.n, dtype=bool)
        sub = matrix[:, cols]
        return np.asarray(sub.sum(axis=1)).ravel() > 0

    def mask(self, request: Request | None) -> np.ndarray:
        """``bool[n_items]``: rows that break none of the request's hard constraints except
        ``exclude_ids`` (which the caller applies)."""
        ok = np.ones(self.n, dtype=bool)
        if request is None:
            return ok
        for wanted, media in ((True, request.media_types), (False, request.exclude_media_types)):
            if media:
                codes = [self.media_codes[m.value] for m in media if m.value in self.media_codes]
                ok &= np.isin(self.media, codes) == wanted
        if request.exclude_genres:
            ok &= ~self._labelled(self._genres, self.items.genre_vocab, request.exclude_genres)
        if request.exclude_tags:
            ok &= ~self._labelled(self._tags, self.items.tag_vocab, request.exclude_tags)
        for lo, hi, values in ((request.year_min, request.year_max, self.year),
                               (request.min_minutes, request.max_minutes, self.duration)):
            if lo is None and hi is None:
                continue
            with np.errstate(invalid="ignore"):
                ok &= np.isfinite(values)
                if lo is not None:
                    ok &= values >= lo
                if hi is not None:
                    ok &= values <= hi
        if request.language is not None:
            code = self.language_codes.get(request.language, -2)
            ok &= self.language == code
        return ok


class FilterBuilder:
    """Makes each call's :class:`TurnFilter`, caching masks and allow-lists per constraint
    set (thread-safe).

    Args:
        items: The catalog side (:class:`~retrieval.features.ItemTable`).
        index: The vector index the allow-lists are for; a FAISS index gets allow-lists in
            its own ids, converted from the mask without looking a catalog id up.
    """

    def __init__(self, items: ItemTable, index: VectorIndex | None = None) -> None:
        from retrieval.index import FaissIndex

        self.items = items
        self.masks = ConstraintMasks(items)
        self.index = index
        self._row_keys = (index.keys_of(items.ids) if isinstance(index, FaissIndex) else None)
        self._cache: OrderedDict[str, tuple[np.ndarray, Collection[str] | None]] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget the cached masks and allow-lists."""
        with self._lock:
            self._cache.clear()

    def constraint(self, request: Request | None) -> tuple[np.ndarray, Collection[str] | None]:
        """The cached mask of a constraint set and its allow-list (``None``: everything)."""
        key = ConstraintMasks.key(request)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        mask = self.masks.mask(request) if key else np.ones(len(self.items), dtype=bool)
        mask.setflags(write=False)
        allowed: Collection[str] | None
        if mask.all():
            allowed = None
        elif self._row_keys is not None:  # FAISS ids straight from the mask, no id lookups
            allowed = self.index.allow_list(self._row_keys[mask])  # type: ignore[union-attr]
        else:
            ids = self.items.ids
            allowed = frozenset(ids[r] for r in np.flatnonzero(mask))
        with self._lock:
            self._cache[key] = (mask, allowed)
            while len(self._cache) > _MASK_CACHE:
                self._cache.popitem(last=False)
        return mask, allowed

    def build(self, request: Request | None = None, *, exclude: Collection[str] = ()
              ) -> TurnFilter:
        """The filter of one call: the request's hard constraints, and as exclusions its
        ``exclude_ids``, the titles it rejects (``not_ids``) and ``exclude``. Ids not in the
        catalog are ignored."""
        mask, allowed = self.constraint(request)
        ids = list(exclude)
        if request is not None:
            ids += list(request.exclude_ids) + list(request.not_ids)
        if not ids:
            return TurnFilter(mask, allowed)
        rows = self.items.rows(list(dict.fromkeys(str(i) for i in ids)), strict=False)
        rows = np.unique(rows[rows >= 0])
        return TurnFilter(mask, allowed, rows, frozenset(self.items.ids[r] for r in rows))
