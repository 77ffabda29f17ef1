"""Hard filters (``allowed=``): the :class:`AllowList` and the three ways to serve one.

``gather`` scores the allowed vectors exactly, ``selector`` passes an id bitmap
(``IDSelectorBitmap``) to FAISS, ``overfetch`` searches deeper without the filter and keeps
the allowed hits; ``auto`` picks by allow-list size as measured in ``benchmarks/README.md``
(see the package docstring of :mod:`retrieval.index`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from retrieval.index._faiss import Results as _Results
from retrieval.index._faiss import _faiss, _to_gpu

if TYPE_CHECKING:
    from retrieval.index.faiss_index import FaissIndex

OVERFETCH_FACTOR = 1.5
"""``overfetch`` asks FAISS for ``1.5 * k * n / m`` neighbours (and doubles until enough)."""

HNSW_GATHER_WORK = 10.0
"""An HNSW search of depth ``f`` scores about this many vectors per unit of depth; ``auto``
gathers when the allow-list is smaller than that (fitted on 100k vectors, see
``benchmarks/README.md``)."""

FLAT_GATHER_SHARE = 0.05
"""Exhaustive indexes gather allow-lists below this share of the catalog…"""

FLAT_OVERFETCH_SHARE = 0.25
"""…use the FAISS selector up to this share, and over-fetch above it."""

FilterStrategy = Literal["auto", "gather", "selector", "overfetch"]
FILTER_STRATEGIES = ("auto", "gather", "selector", "overfetch")


class AllowList(Collection[str]):
    """A hard filter already converted to one :class:`FaissIndex`'s FAISS ids (made by
    :meth:`FaissIndex.allow_list`). It reads as an immutable collection of catalog ids;
    the index it was made for skips the id lookups (O(allowed) in Python otherwise)."""

    __slots__ = ("_index", "_version", "keys")

    def __init__(self, index: FaissIndex, keys: np.ndarray, version: int) -> None:
        self._index = index
        self._version = version
        self.keys = keys
        keys.setflags(write=False)

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[str]:
        names = self._index._names
        return (n for n in (names[k] for k in self.keys.tolist()) if n is not None)

    def __contains__(self, item: object) -> bool:
        key = self._index._key.get(item) if isinstance(item, str) else None
        if key is None:
            return False
        pos = int(np.searchsorted(self.keys, key))
        return pos < len(self.keys) and int(self.keys[pos]) == key

    def __repr__(self) -> str:
        return f"AllowList({len(self.keys)} items)"



class FilteredSearch:
    """The search strategies of :class:`~retrieval.index.FaissIndex` (a mixin: it reads the
    index's state and is never used alone)."""

    ef_search: int
    nprobe: int
    filter_strategy: FilterStrategy
    use_gpu: bool | None
    _index: Any
    _gpu: Any
    _gpu_failed: bool
    _ivf: bool
    _is_hnsw: bool
    _names: list[str | None]
    _key: dict[str, int]
    _tombstones: set[int]
    _tomb_selector: Any
    _version: int
    _allowed_cache: tuple[Collection[str], int, np.ndarray, dict[str, Any]] | None

    def _pick_strategy(self, n_allowed: int, k: int) -> str:
        """Which way to serve an allow-list of ``n_allowed`` items (measured choices)."""
        can_gather = self._can_gather()
        if self.filter_strategy != "auto":
            if self.filter_strategy == "gather" and not can_gather:
                return "selector"
            return self.filter_strategy
        total = int(self._index.ntotal)
        if self._is_hnsw:
            # HNSW with a selector loses recall behind selective filters (it cannot reach
            # the allowed nodes), so: exact gather while it is cheaper than the over-fetch
            # search, over-fetch (recall close to the unfiltered search) after that.
            depth = self._overfetch_depth(k, n_allowed, total)
            return "gather" if can_gather and n_allowed <= HNSW_GATHER_WORK * depth else "overfetch"
        share = n_allowed / max(total, 1)
        if share < FLAT_GATHER_SHARE and can_gather:
            return "gather"
        return "selector" if share < FLAT_OVERFETCH_SHARE else "overfetch"

    @staticmethod
    def _overfetch_depth(k: int, n_allowed: int, total: int) -> int:
        return min(total, max(2 * k, math.ceil(OVERFETCH_FACTOR * k * total / n_allowed)))

    def _can_gather(self) -> bool:
        faiss = _faiss()

        if self._ivf:
            ivf = faiss.extract_index_ivf(self._index)
            return ivf.direct_map.type == faiss.DirectMap.Hashtable
        return isinstance(faiss.downcast_index(self._index), faiss.IndexIDMap2)


    def _allowed_keys(self, allowed: Collection[str]) -> np.ndarray:
        if isinstance(allowed, AllowList) and allowed._index is self \
                and allowed._version == self._version:
            cache = self._allowed_cache
            if cache is None or cache[0] is not allowed:  # so the selector is made once
                self._allowed_cache = (allowed, self._version, allowed.keys, {})
            return allowed.keys
        if isinstance(allowed, str | bytes):
            raise TypeError(
                "allowed must be a collection of catalog ids (a set or list), not one string; "
                f"got {allowed!r}. Fix: wrap it, allowed={{{allowed!r}}}"
            )
        cache = self._allowed_cache
        if cache is not None and cache[0] is allowed and cache[1] == self._version:
            return cache[2]
        key = self._key
        keys = np.array([key[a] for a in allowed if a in key], dtype="int64")
        if not isinstance(allowed, set | frozenset):
            keys = np.unique(keys)  # a list may repeat an id; a set cannot
        if isinstance(allowed, frozenset):
            # an immutable allow-list reused across calls is converted once
            self._allowed_cache = (allowed, self._version, keys, {})
        return keys

    def _allowed_selector(self, keys: np.ndarray) -> Any:
        cache = self._allowed_cache
        if cache is not None and cache[2] is keys:
            if "sel" not in cache[3]:
                cache[3]["sel"] = self._selector_of(keys)
            return cache[3]["sel"]
        return self._selector_of(keys)

    def _selector_of(self, keys: np.ndarray) -> Any:
        """A FAISS selector letting ``keys`` through: a bitmap over the index's ids (one bit
        per id: made in about a millisecond for a million ids, where ``IDSelectorBatch``
        hashes every allowed id, 13% of a turn on a million items), or a batch when the ids
        are sparse (a bitmap would be larger than the hash set)."""
        faiss = _faiss()

        if len(keys) == 0:
            return faiss.IDSelectorBatch(keys)
        top = int(keys.max()) + 1
        if top > 64 * len(keys) or int(keys.min()) < 0:
            return faiss.IDSelectorBatch(keys)
        mask = np.zeros(top, dtype=bool)
        mask[keys] = True
        # bit i of the bitmap is bit (i & 7) of byte (i >> 3), as FAISS reads it; the
        # Python wrapper keeps the array alive with the selector
        return faiss.IDSelectorBitmap(np.packbits(mask, bitorder="little"))

    def _tombstone_selector(self) -> Any:
        faiss = _faiss()

        if not self._tombstones:
            return None
        if self._tomb_selector is None:
            batch = faiss.IDSelectorBatch(np.fromiter(self._tombstones, dtype="int64"))
            self._tomb_selector = (faiss.IDSelectorNot(batch), batch)  # keep batch alive
        return self._tomb_selector[0]

    def _faiss_search(self, q: np.ndarray, k: int, sel: Any = None) -> tuple[Any, Any]:
        faiss = _faiss()

        if self._is_hnsw:
            # FAISS does not raise efSearch to k by itself, and recall collapses when k > efSearch
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(self.ef_search, k))
            return self._index.search(q, k, params=params)
        if sel is None:
            return self._search_replica().search(q, k)
        if self._ivf:
            params = faiss.SearchParametersIVF(sel=sel, nprobe=self.nprobe)
        else:
            params = faiss.SearchParameters(sel=sel)
        return self._index.search(q, k, params=params)

    def _search_gather(self, q: np.ndarray, k: int, keys: np.ndarray) -> _Results:
        faiss = _faiss()

        vecs = np.ascontiguousarray(self._index.reconstruct_batch(keys), dtype="float32")
        # faiss.knn rather than numpy: no BLAS thread start-up for one query
        scores, pos = faiss.knn(q, vecs, k, metric=faiss.METRIC_INNER_PRODUCT)
        return self._rows(np.where(pos >= 0, keys[np.maximum(pos, 0)], -1), scores, k)

    def _search_overfetch(self, q: np.ndarray, k: int, keys: np.ndarray) -> _Results:
        total = int(self._index.ntotal)
        fetch = self._overfetch_depth(k, len(keys), total)
        sel = self._tombstone_selector()
        while True:
            scores, got = self._faiss_search(q, fetch, sel)
            ok = np.isin(got, keys)
            if fetch >= total or bool((ok.sum(axis=1) >= k).all()):
                break
            fetch = min(total, fetch * 2)
        ids_out, scores_out = [], []
        for row_keys, row_scores, row_ok in zip(got, scores, ok, strict=True):
            row_keys, row_scores = row_keys[row_ok][:k], row_scores[row_ok][:k]
            ids_out.append([self._names[i] for i in row_keys.tolist()])
            scores_out.append(np.ascontiguousarray(row_scores, dtype="float32"))
        return ids_out, scores_out

    def _rows(self, keys: np.ndarray, scores: np.ndarray, k: int) -> _Results:
        names = self._names
        ids_out, scores_out = [], []
        for row_keys, row_scores in zip(keys, scores, strict=True):
            valid = row_keys >= 0
            ids_out.append([names[i] for i in row_keys[valid][:k].tolist()])
            scores_out.append(np.ascontiguousarray(row_scores[valid][:k], dtype="float32"))
        return ids_out, scores_out

    # -- GPU -------------------------------------------------------------------------

    def _search_replica(self) -> Any:
        """The index that unfiltered searches run on: a GPU copy when one is available."""
        if self.use_gpu is False or self._gpu_failed:
            return self._index
        if self._gpu is None:
            self._gpu = _to_gpu(self._index, required=self.use_gpu is True)
            if self._gpu is None:
                self._gpu_failed = True
                return self._index
        return self._gpu
