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

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from retrieval.features import ItemTable
    from retrieval.index import VectorIndex
    from retrieval.request import Request

__all__ = ["MIN_FIELD_SHARE", "ConstraintMasks", "FilterBuilder", "StatedMatch", "TurnFilter",
           "Wanted", "wanted_groups"]

_MASK_CACHE = 64  # constraint sets remembered (masks and allow-lists)
_MAX_WANTED = 30  # wanted groups tracked per request (bits of an int64)

MIN_FIELD_SHARE = 0.1
"""A year, duration or language constraint is applied only when at least this share of the
items it concerns have the field; below it the catalog cannot judge it (the constraint is
reported as unchecked instead of emptying the list)."""


@dataclass(frozen=True)
class Wanted:
    """One thing a request says it wants, met by an item with any of its labels.

    Attributes:
        words: How to name it to a person ("jazz", "funny", "time travel").
        kind: ``genre`` (the request's genres, any of them), ``mood`` (any tag of the mood)
            or ``theme`` (one wanted tag).
        genres: Genre labels that meet it.
        tags: Tag labels that meet it.
    """

    words: str
    kind: str
    genres: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def wanted_groups(request: Request | None,
                  mood_tags: Mapping[str, Sequence[str]] | None = None) -> list[Wanted]:
    """What a request wants beyond its hard constraints, as groups an item must each meet to
    satisfy everything stated: its genres (any one of them: "comedy or drama", and a
    synonym's several genres), each mood (any of its tags), each other tag.

    Example:
        >>> from retrieval.request import Request
        >>> req = Request(genres=["comedy"], tags=["light", "funny", "heist"], moods=["light"])
        >>> [(g.words, g.genres + g.tags) for g in wanted_groups(
        ...     req, {"light": ["light", "feel-good", "funny"]})]
        [('comedy', ('comedy',)), ('light', ('light', 'funny')), ('heist', ('heist',))]
    """
    if request is None:
        return []
    out: list[Wanted] = []
    if request.genres and request.all_genres:  # a romantic comedy: each genre is wanted
        out += [Wanted(g, "genre", genres=(g,)) for g in request.genres]
    elif request.genres:
        out.append(Wanted(" or ".join(request.genres), "genre", genres=tuple(request.genres)))
    tags = list(request.tags)
    claimed: set[str] = set()
    for mood in request.moods:
        own = [t for t in (mood_tags or {}).get(mood.value, (mood.value,)) if t in tags]
        if own:
            out.append(Wanted(mood.value, "mood", tags=tuple(own)))
            claimed.update(own)
    out += [Wanted(t, "theme", tags=(t,)) for t in tags if t not in claimed]
    return out[:_MAX_WANTED]


@dataclass(frozen=True)
class StatedMatch:
    """Which wanted groups each catalog row meets (bit ``j`` of :attr:`bits` for group ``j``).

    Attributes:
        wanted: The groups (:func:`wanted_groups`), in request order.
        bits: ``int64[n_items]`` bit sets of the groups each row meets.
    """

    wanted: tuple[Wanted, ...]
    bits: np.ndarray

    @property
    def full(self) -> int:
        """The bit set of an item that meets every group."""
        return (1 << len(self.wanted)) - 1

    @functools.cached_property
    def met(self) -> np.ndarray:
        """``int16[n_items]``: how many groups each row meets (:meth:`count` of
        :attr:`bits`, computed once per match: the match is cached per request)."""
        out = self.count(self.bits)
        out.setflags(write=False)
        return out

    def count(self, bits: np.ndarray) -> np.ndarray:
        """``int16``: how many groups each bit set meets."""
        bits = np.asarray(bits, dtype=np.int64)
        return sum(((bits >> j) & 1 for j in range(len(self.wanted))),
                   np.zeros(bits.shape, dtype=np.int64)).astype(np.int16)

    def tier(self, bits: np.ndarray) -> np.ndarray:
        """``int16``: each bit set's rank among matches: twice the groups it meets, plus one
        when it meets a genre group. Of two items that each lack one thing asked for, the
        one of the kind asked for comes first ("interview podcasts about business": a
        business podcast without interviews before an interview podcast on health)."""
        bits = np.asarray(bits, dtype=np.int64)
        genre = np.zeros(bits.shape, dtype=bool)
        for j, g in enumerate(self.wanted):
            if g.kind == "genre":
                genre |= ((bits >> j) & 1).astype(bool)
        return (2 * self.count(bits) + genre).astype(np.int16)

    @property
    def exact(self) -> np.ndarray:
        """``bool[n_items]``: rows that meet every group."""
        return self.bits == self.full

    def missing(self, bits: int) -> list[Wanted]:
        """The groups a bit set does not meet."""
        return [g for j, g in enumerate(self.wanted) if not (int(bits) >> j) & 1]


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
        stated: Which of the request's wanted genres, tags and moods each row has
            (:class:`StatedMatch`); ``None`` when the request states none.
        unchecked: Hard constraints the catalog cannot judge (it has no durations, no
            languages...): they were not applied, and the reply says so.
    """

    mask: np.ndarray
    allowed: Collection[str] | None = None
    excluded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    excluded_ids: frozenset[str] = frozenset()
    stated: StatedMatch | None = None
    unchecked: tuple[str, ...] = ()

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
        mood_tags: Mood -> the tags that express it (the parser's vocabulary), so that a
            mood is met by any of its tags (:func:`wanted_groups`).
        min_share: A year, duration or language constraint is applied only when at least
            this share of the rows of the requested media types have the field.

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

    def __init__(self, items: ItemTable, *, mood_tags: Mapping[str, Sequence[str]] | None = None,
                 min_share: float = MIN_FIELD_SHARE) -> None:
        from scipy import sparse

        self.items = items
        self.mood_tags = dict(mood_tags or {})
        self.min_share = float(min_share)
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
        self._genres = sparse.csc_matrix(items.genres, copy=True)
        self._tags = sparse.csc_matrix(items.tags, copy=True)
        for m in (self._genres, self._tags):
            m.eliminate_zeros()  # a stored zero is not a label (:meth:`labelled`)
        self._media_masks: dict[tuple[int, ...], np.ndarray] = {}

    @staticmethod
    def key(request: Request | None) -> str:
        """The cache key of a request's hard constraints (``exclude_ids`` left out: they are
        exclusions, applied per call)."""
        if request is None:
            return ""
        hc = request.hard_constraints()
        hc.pop("exclude_ids", None)
        return json.dumps(hc, sort_keys=True) if hc else ""

    def labelled(self, labels: Collection[str], *, genres: bool = True, tags: bool = True
                 ) -> np.ndarray:
        """``bool[n]``: the rows whose genres (``genres``) or tags (``tags``) hold any of
        ``labels``, read from the CSC columns of those labels (work in the labelled rows,
        not the catalog: a million rows cost what their labels cost)."""
        out = np.zeros(self.n, dtype=bool)
        for on, matrix, vocab in ((genres, self._genres, self.items.genre_vocab),
                                  (tags, self._tags, self.items.tag_vocab)):
            if on:
                for c in {vocab[x] for x in labels if x in vocab}:
                    out[matrix.indices[matrix.indptr[c]:matrix.indptr[c + 1]]] = True
        return out

    def mask(self, request: Request | None) -> np.ndarray:
        """``bool[n_items]``: rows that break none of the request's hard constraints except
        ``exclude_ids`` (which the caller applies) and those the catalog cannot judge
        (:meth:`evaluate`)."""
        return self.evaluate(request)[0]

    def evaluate(self, request: Request | None) -> tuple[np.ndarray, tuple[str, ...]]:
        """The mask of :meth:`mask`, and the constraints left out because the catalog cannot
        judge them: ``"year"``, ``"duration"`` or ``"language"`` when fewer than
        ``min_share`` of the rows of the requested media types have that field (a
        MovieLens catalog has no durations: "under an hour" must not empty every list)."""
        ok = np.ones(self.n, dtype=bool)
        if request is None:
            return ok, ()
        for wanted, media in ((True, request.media_types), (False, request.exclude_media_types)):
            if media:
                codes = [self.media_codes[m.value] for m in media if m.value in self.media_codes]
                has = self._media_mask(codes)
                ok &= has if wanted else ~has
        if request.exclude_genres:
            ok &= ~self.labelled(request.exclude_genres, tags=False)
        if request.exclude_tags:
            ok &= ~self.labelled(request.exclude_tags, genres=False)
        scope = ok.copy()  # the rows whose fields say whether the catalog can judge the rest
        unchecked: list[str] = []
        for name, lo, hi, values in (
                ("year", request.year_min, request.year_max, self.year),
                ("duration", request.min_minutes, request.max_minutes, self.duration)):
            if lo is None and hi is None:
                continue
            known = np.isfinite(values)
            if not self._judges(known, scope):
                unchecked.append(name)
                continue
            with np.errstate(invalid="ignore"):
                ok &= known
                if lo is not None:
                    ok &= values >= lo
                if hi is not None:
                    ok &= values <= hi
        if request.language is not None:
            if not self._judges(self.language >= 0, scope):
                unchecked.append("language")
            else:
                ok &= self.language == self.language_codes.get(request.language, -2)
        return ok, tuple(unchecked)

    def _media_mask(self, codes: Sequence[int]) -> np.ndarray:
        """``bool[n]``: rows of any of the media ``codes`` (read-only; kept per set of codes,
        of which a catalog has a handful)."""
        key = tuple(sorted(set(codes)))
        got = self._media_masks.get(key)
        if got is None:
            got = np.isin(self.media, key)
            got.setflags(write=False)
            self._media_masks[key] = got
        return got

    def _judges(self, known: np.ndarray, scope: np.ndarray) -> bool:
        """Whether enough rows in ``scope`` have the field to filter on it."""
        n = int(np.count_nonzero(scope))
        return n > 0 and int(np.count_nonzero(known & scope)) >= self.min_share * n

    def stated(self, request: Request | None) -> StatedMatch | None:
        """Which of the request's wanted groups (:func:`wanted_groups`) each row has;
        ``None`` when it states no genre, tag or mood the catalog knows."""
        groups = [g for g in wanted_groups(request, self.mood_tags)
                  if any(x in self.items.genre_vocab for x in g.genres)
                  or any(x in self.items.tag_vocab for x in g.tags)]
        if not groups:
            return None
        bits = np.zeros(self.n, dtype=np.int64)
        for j, g in enumerate(groups):
            # A label counts wherever the catalog put it: "history" is a genre of The Crown
            # and a tag of Cosmos, and either answers "a history series".
            bits |= self.labelled([*g.genres, *g.tags]).astype(np.int64) << j
        return StatedMatch(tuple(groups), bits)


class FilterBuilder:
    """Makes each call's :class:`TurnFilter`, caching masks, allow-lists and stated matches
    per request (thread-safe).

    Args:
        items: The catalog side (:class:`~retrieval.features.ItemTable`).
        index: The vector index the allow-lists are for; a FAISS index gets allow-lists in
            its own ids, converted from the mask without looking a catalog id up.
        mood_tags: Mood -> its tags (see :class:`ConstraintMasks`).
    """

    def __init__(self, items: ItemTable, index: VectorIndex | None = None, *,
                 mood_tags: Mapping[str, Sequence[str]] | None = None) -> None:
        from retrieval.index import FaissIndex

        self.items = items
        self.masks = ConstraintMasks(items, mood_tags=mood_tags)
        self.index = index
        self._row_keys = (index.keys_of(items.ids) if isinstance(index, FaissIndex) else None)
        # an index built in catalog order (every bundle's) has FAISS id = row
        self._keys_are_rows = self._row_keys is not None and bool(
            (self._row_keys == np.arange(len(self._row_keys))).all())
        self._cache: OrderedDict[str, tuple[np.ndarray, Collection[str] | None,
                                            tuple[str, ...]]] = OrderedDict()
        self._stated: OrderedDict[str, StatedMatch | None] = OrderedDict()
        self._lock = threading.Lock()

    def allow_list(self, mask: np.ndarray) -> Collection[str]:
        """The rows of ``mask`` as an allow-list for the index: its own
        :class:`~retrieval.index.AllowList` for a FAISS index (FAISS ids taken from the mask,
        no id lookups), else a frozenset of catalog ids."""
        if self._row_keys is None:
            ids = self.items.ids
            return frozenset(ids[r] for r in np.flatnonzero(mask))
        rows = np.flatnonzero(mask)
        keys = rows if self._keys_are_rows else self._row_keys[rows]
        return self.index.allow_list(keys)  # type: ignore[union-attr]

    def clear(self) -> None:
        """Forget the cached masks, allow-lists and stated matches."""
        with self._lock:
            self._cache.clear()
            self._stated.clear()

    def constraint(self, request: Request | None) -> tuple[np.ndarray, Collection[str] | None]:
        """The cached mask of a constraint set and its allow-list (``None``: everything)."""
        mask, allowed, _ = self._constraint(request)
        return mask, allowed

    def unchecked(self, request: Request | None) -> tuple[str, ...]:
        """The request's constraints the catalog cannot judge (``"year"``, ``"duration"``,
        ``"language"``): they are not applied."""
        return self._constraint(request)[2]

    def _constraint(self, request: Request | None
                    ) -> tuple[np.ndarray, Collection[str] | None, tuple[str, ...]]:
        key = ConstraintMasks.key(request)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        mask, unchecked = self.masks.evaluate(request) if key else \
            (np.ones(len(self.items), dtype=bool), ())
        mask.setflags(write=False)
        allowed: Collection[str] | None
        if mask.all():
            allowed = None
        else:
            allowed = self.allow_list(mask)
        with self._lock:
            self._cache[key] = (mask, allowed, unchecked)
            while len(self._cache) > _MASK_CACHE:
                self._cache.popitem(last=False)
        return mask, allowed, unchecked

    def stated(self, request: Request | None) -> StatedMatch | None:
        """The cached :meth:`ConstraintMasks.stated` of a request's genres, tags and moods."""
        if request is None or not (request.genres or request.tags):
            return None
        key = json.dumps([request.genres, request.all_genres, request.tags,
                          [m.value for m in request.moods]])
        with self._lock:
            if key in self._stated:
                self._stated.move_to_end(key)
                return self._stated[key]
        got = self.masks.stated(request)
        if got is not None:
            got.bits.setflags(write=False)
        with self._lock:
            self._stated[key] = got
            while len(self._stated) > _MASK_CACHE:
                self._stated.popitem(last=False)
        return got

    def build(self, request: Request | None = None, *, exclude: Collection[str] = ()
              ) -> TurnFilter:
        """The filter of one call: the request's hard constraints, and as exclusions its
        ``exclude_ids``, the titles it rejects (``not_ids``) and ``exclude``; which wanted
        genres, tags and moods each row has. Ids not in the catalog are ignored."""
        mask, allowed, unchecked = self._constraint(request)
        stated = self.stated(request)
        ids = list(exclude)
        if request is not None:
            ids += list(request.exclude_ids) + list(request.not_ids)
        if not ids:
            return TurnFilter(mask, allowed, stated=stated, unchecked=unchecked)
        rows = self.items.rows(list(dict.fromkeys(str(i) for i in ids)), strict=False)
        rows = np.unique(rows[rows >= 0])
        return TurnFilter(mask, allowed, rows, frozenset(self.items.ids[r] for r in rows),
                          stated=stated, unchecked=unchecked)
