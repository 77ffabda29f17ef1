"""The vector index: FAISS by factory string, cosine similarity, string ids.

Vectors are L2-normalised on the way in, and the FAISS metric is the inner product, so
scores are cosine similarities. Catalog ids (strings) map to int64 FAISS ids that are
handed out in order and never reused; the map is saved next to the FAISS file.

How each factory removes vectors:

- ``Flat`` (and any other non-IVF index that can remove) is wrapped in ``IDMap2``, and
  ``remove`` really deletes the vectors.
- ``IVF…`` indexes carry ids themselves and remove natively. They are trained on the first
  ``add``; later items are assigned to the trained lists with no retraining.
- ``HNSW…`` cannot remove a node from its graph, so ``remove`` puts the FAISS id on a
  *tombstone* set instead. Searches exclude tombstones with a FAISS ``IDSelectorNot``, so
  a removed item never comes back, and the graph keeps routing through it (which keeps
  recall). Re-adding a removed id inserts a new vector under a new FAISS id. Tombstones
  cost memory and a little search time; :meth:`FaissIndex.compact` rebuilds the graph
  without them when many have piled up (an offline step, never done behind your back).

Hard filters (``allowed=``) are served one of three ways (``filter_strategy``):

- ``gather``: fetch the allowed vectors and score them exactly (``faiss.knn``). Exact, and
  the fastest for small allow-lists, where an HNSW graph search with a selector misses
  most allowed items (it cannot reach them through the nodes the filter rejects).
- ``selector``: an ``IDSelectorBatch`` in the FAISS search parameters.
- ``overfetch``: search ``1.5 * k * n / m`` neighbours without the filter, keep the allowed
  ones, and search deeper if fewer than ``k`` survive.

``auto`` (the default) follows the measurements on 100k 384-d vectors recorded in
``benchmarks/README.md`` ("Vector index"): for exhaustive indexes (Flat, IVF) gather below
5 % of the catalog, the selector up to 25 %, over-fetch above; for HNSW gather while that
scores fewer vectors than the over-fetch search would (about ``10 x`` its depth), over-fetch
after that, and never the selector (its recall@100 fell to 0.01-0.50 for allow-lists of
0.1-5 % of the catalog). A ``frozenset`` passed again is converted to FAISS ids only once.

Example:
    >>> import numpy as np
    >>> index = FaissIndex(dim=4)
    >>> index.add(["a", "b", "c"], np.eye(3, 4, dtype="float32"))
    >>> ids, scores = index.search(np.array([[1.0, 0.1, 0.0, 0.0]]), k=2)
    >>> ids[0]
    ['a', 'b']
    >>> index.search(np.array([[1.0, 0.1, 0.0, 0.0]]), k=5, allowed={"c"})[0]
    [['c']]
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from retrieval.errors import DataError
from retrieval.io import atomic_dir

__all__ = [
    "VectorIndex",
    "FaissIndex",
    "choose_factory",
    "FLAT_MAX_ITEMS",
    "DEFAULT_EF_SEARCH",
    "DEFAULT_EF_CONSTRUCTION",
]

FLAT_MAX_ITEMS = 50_000
"""Up to this many items the default factory is exact ``Flat``; above it ``HNSW32,Flat``."""

DEFAULT_EF_SEARCH = 128
"""HNSW search depth; searches use ``max(ef_search, k)``. Measured on 1M clustered 384-d
vectors (``benchmarks/README.md``): recall@100 0.991 at 0.83 ms p50 per single query."""

DEFAULT_EF_CONSTRUCTION = 200
"""HNSW build depth (FAISS's own default is 40). At 1M vectors, 64 gave recall@100 0.93 at
efSearch 128 and 200 gave 0.991; the price is build time (``benchmarks/README.md``)."""

DEFAULT_NPROBE = 16
"""Inverted lists visited per query by ``IVF…`` factories."""

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
_Results = tuple[list[list[str]], list[np.ndarray]]
FILTER_STRATEGIES = ("auto", "gather", "selector", "overfetch")

FORMAT = "encore-faiss-index"
FORMAT_VERSION = 1
INDEX_FILE = "index.faiss"
IDS_FILE = "ids.json"
MANIFEST_FILE = "manifest.json"
METRIC = "inner_product"

_REBUILD_FIX = "rebuild the index (`encore build`) or restore the folder from a backup"


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


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest-neighbour search over catalog items by string id.

    ``search`` returns, per query, the ids best first and their scores; a row is shorter
    than ``k`` when fewer items (or fewer allowed items) exist.
    """

    def add(self, ids: Sequence[str], vecs: Any) -> None: ...

    def remove(self, ids: Iterable[str]) -> None: ...

    def search(
        self, vecs: Any, k: int, allowed: Collection[str] | None = None
    ) -> tuple[list[list[str]], list[np.ndarray]]: ...

    def save(self, path: str | Path) -> None: ...

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex: ...


def choose_factory(n_items: int) -> str:
    """The default FAISS factory for a catalog of ``n_items``.

    Example:
        >>> choose_factory(10_000), choose_factory(200_000)
        ('Flat', 'HNSW32,Flat')
    """
    return "Flat" if n_items <= FLAT_MAX_ITEMS else "HNSW32,Flat"


class FaissIndex:
    """A :class:`VectorIndex` on FAISS: cosine similarity, string ids, add/remove in place.

    Args:
        dim: Vector dimension.
        factory: FAISS factory string (``"Flat"``, ``"HNSW32,Flat"``, ``"IVF1024,PQ48"``…),
            without ``IDMap`` (ids are handled here). ``None`` picks :func:`choose_factory`
            from the size of the first ``add``.
        ef_search: HNSW search depth (ignored by other factories).
        ef_construction: HNSW build depth (ignored by other factories).
        nprobe: Inverted lists visited by IVF factories.
        filter_strategy: How ``allowed=`` is served: ``"auto"`` (by allow-list size),
            ``"gather"``, ``"selector"`` or ``"overfetch"``.
        use_gpu: ``None`` serves unfiltered searches from a copy on the GPU when faiss-gpu
            sees one (Flat and IVF; FAISS has no GPU HNSW, so HNSW stays on the CPU);
            ``True`` requires a GPU; ``False`` never uses one. The CPU copy stays the master
            for add, remove, filtered search and save.

    Searches may run from several threads; ``add``, ``remove`` and ``compact`` need one
    writer at a time and no search meanwhile (hold a lock if threads share an index).

    Example:
        >>> import numpy as np
        >>> index = FaissIndex(dim=3, factory="Flat")
        >>> index.add(["x", "y"], np.array([[1, 0, 0], [0, 1, 0]], dtype="float32"))
        >>> index.remove(["x"])
        >>> len(index), index.search(np.array([1.0, 0.0, 0.0]), k=10)[0]
        (1, [['y']])
    """

    def __init__(
        self,
        dim: int,
        factory: str | None = None,
        *,
        ef_search: int = DEFAULT_EF_SEARCH,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        nprobe: int = DEFAULT_NPROBE,
        filter_strategy: FilterStrategy = "auto",
        use_gpu: bool | None = None,
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if filter_strategy not in FILTER_STRATEGIES:
            raise ValueError(
                f"unknown filter_strategy {filter_strategy!r}; "
                f"valid: {', '.join(FILTER_STRATEGIES)}"
            )
        for name, value in (("ef_search", ef_search), ("ef_construction", ef_construction),
                            ("nprobe", nprobe)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if factory is not None:
            _check_factory_string(factory)
        self.dim = int(dim)
        self.ef_search = int(ef_search)
        self.ef_construction = int(ef_construction)
        self.nprobe = int(nprobe)
        self.filter_strategy: FilterStrategy = filter_strategy
        self.use_gpu = use_gpu
        self._factory = factory
        self._index: Any = None  # the CPU master copy; built on first add when factory is None
        self._gpu: Any = None  # a search replica on the GPU, rebuilt lazily after a remove
        self._gpu_failed = False
        self._removes_natively = True
        self._ivf = False
        self._is_hnsw = False
        self._names: list[str | None] = []  # FAISS id -> catalog id (None once removed)
        self._key: dict[str, int] = {}  # catalog id -> FAISS id, live items only
        self._tombstones: set[int] = set()
        self._tomb_selector: Any = None
        self._version = 0  # bumped by every change, to invalidate the allow-list cache
        self._allowed_cache: tuple[Collection[str], int, np.ndarray, dict[str, Any]] | None = None
        if factory is not None:
            self._build(factory)

    # -- properties ------------------------------------------------------------------

    @property
    def factory(self) -> str | None:
        """The factory string in use (``None`` until the first add when it was not given)."""
        return self._factory

    @property
    def tombstones(self) -> int:
        """Removed HNSW vectors still held in the graph (0 for other factories)."""
        return len(self._tombstones)

    def __len__(self) -> int:
        return len(self._key)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._key

    def __repr__(self) -> str:
        return f"FaissIndex(dim={self.dim}, factory={self._factory!r}, items={len(self)})"

    # -- building --------------------------------------------------------------------

    def _build(self, factory: str) -> None:
        faiss = _faiss()

        try:
            base = faiss.index_factory(self.dim, factory, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as exc:
            raise ValueError(
                f"FAISS cannot build factory string {factory!r} for dim {self.dim}: "
                f"{_faiss_message(exc)}. Examples that work: 'Flat', 'HNSW32,Flat', "
                "'IVF1024,PQ48' (PQ's sub-quantizer count must divide the dimension)"
            ) from None
        if base.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise ValueError(
                f"factory {factory!r} does not support inner-product search in FAISS; use "
                "'Flat', 'HNSW32,Flat', 'HNSW32,SQ8' or 'IVF…,PQ…' instead"
            )
        ivf = faiss.try_extract_index_ivf(base)
        if ivf is not None:
            index = base  # IVF stores ids itself and removes natively
            ivf.nprobe = self.nprobe
            # a hashtable from id to list position lets IVF reconstruct any id (for gather)
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        else:
            index = faiss.index_factory(self.dim, "IDMap2," + factory, faiss.METRIC_INNER_PRODUCT)
        self._index = index
        self._factory = factory
        self._configure()

    def _configure(self) -> None:
        """Set search parameters and find out whether the index can remove vectors."""
        faiss = _faiss()

        hnsw = self._hnsw()
        self._is_hnsw = hnsw is not None
        if hnsw is not None:
            hnsw.hnsw.efSearch = self.ef_search
            if self._index.ntotal == 0:
                hnsw.hnsw.efConstruction = self.ef_construction
        self._ivf = faiss.try_extract_index_ivf(self._index) is not None
        try:
            self._index.remove_ids(self._id_selector(np.empty(0, dtype="int64")))
            self._removes_natively = True
        except RuntimeError:
            self._removes_natively = False

    def _id_selector(self, keys: np.ndarray) -> Any:
        """A selector over ``keys`` for ``remove_ids`` (IVF's id hashtable needs an array)."""
        faiss = _faiss()

        return faiss.IDSelectorArray(keys) if self._ivf else faiss.IDSelectorBatch(keys)

    def _inner(self) -> Any:
        faiss = _faiss()

        index = faiss.downcast_index(self._index)
        if isinstance(index, faiss.IndexIDMap):
            return faiss.downcast_index(index.index)
        return index

    def _hnsw(self) -> Any:
        faiss = _faiss()

        inner = self._inner()
        return inner if isinstance(inner, faiss.IndexHNSW) else None

    def _ensure_built(self, n_items: int) -> None:
        if self._index is None:
            self._build(choose_factory(n_items))

    # -- add / remove ----------------------------------------------------------------

    def add(self, ids: Sequence[str], vecs: Any) -> None:
        """Add items; each is searchable as soon as this returns.

        Args:
            ids: Catalog ids, unique, none already in the index.
            vecs: ``float[n, dim]``, one finite non-zero row per id (normalised here).

        Raises:
            DataError: a bad id, a duplicate, a NaN/infinite/zero row or a wrong dimension.
        """
        ids = _check_ids(ids, "add")
        if not ids:
            return
        x = self._check_vectors(vecs, "add", n_rows=len(ids), ids=ids)
        dup = [i for i, c in Counter(ids).items() if c > 1]
        if dup:
            raise DataError(
                f"{len(dup)} id(s) appear more than once in this add: {_few(dup)}",
                field="ids",
                fix="pass each catalog id once per add",
            )
        present = [i for i in ids if i in self._key]
        if present:
            raise DataError(
                f"{len(present)} id(s) are already in the index: {_few(present)}",
                field="ids",
                fix="remove them first to replace their vectors",
            )
        self._ensure_built(len(self) + len(ids))
        if not self._index.is_trained:
            self._train(x)
        start = len(self._names)
        keys = np.arange(start, start + len(ids), dtype="int64")
        self._index.add_with_ids(x, keys)
        self._names.extend(ids)
        self._version += 1
        self._key.update(zip(ids, keys.tolist(), strict=True))
        if self._gpu is not None:
            try:
                self._gpu.add_with_ids(x, keys)
            except RuntimeError:
                self._gpu = None  # re-cloned from the CPU copy at the next search

    def _train(self, x: np.ndarray) -> None:
        try:
            self._index.train(x)
        except RuntimeError as exc:
            raise ValueError(
                f"factory {self._factory!r} must be trained and the first add ({len(x)} "
                f"vectors) was not enough: {_faiss_message(exc)}. Fix: make the first add at "
                "least as large as the number of IVF lists (FAISS recommends 39 per list, and "
                "256 for 8-bit PQ), or use 'Flat' or 'HNSW32,Flat'"
            ) from None

    def remove(self, ids: Iterable[str]) -> None:
        """Remove items; they stop appearing in searches at once.

        Raises:
            DataError: an id that is not in the index, or one listed twice.
        """
        ids = _check_ids(ids, "remove")
        if not ids:
            return
        dup = [i for i, c in Counter(ids).items() if c > 1]
        if dup:
            raise DataError(f"{len(dup)} id(s) listed twice: {_few(dup)}", field="ids",
                            fix="pass each id once")
        missing = [i for i in ids if i not in self._key]
        if missing:
            raise DataError(
                f"{len(missing)} id(s) are not in the index: {_few(missing)}",
                field="ids",
                fix="remove only ids that were added (check `id in index`)",
            )
        keys = np.array([self._key.pop(i) for i in ids], dtype="int64")
        self._version += 1
        for k in keys.tolist():
            self._names[k] = None
        if self._removes_natively:
            self._index.remove_ids(self._id_selector(keys))
        else:
            self._tombstones.update(keys.tolist())
            self._tomb_selector = None
        self._gpu = None

    def compact(self) -> None:
        """Rebuild an HNSW graph without its tombstones (an explicit, offline step).

        Ids keep their FAISS ids, so saved maps stay valid; nothing to do for factories that
        remove natively.
        """
        if not self._tombstones:
            return
        keep = np.array(sorted(self._key.values()), dtype="int64")
        vecs = (self._index.reconstruct_batch(keep) if len(keep)
                else np.empty((0, self.dim), dtype="float32"))
        old = self._index
        try:
            self._build(self._factory)
            if len(keep):
                self._index.add_with_ids(np.ascontiguousarray(vecs, dtype="float32"), keep)
        except BaseException:
            self._index = old  # a failed rebuild leaves the index as it was
            self._configure()
            raise
        self._tombstones.clear()
        self._tomb_selector = None
        self._gpu = None

    # -- search ----------------------------------------------------------------------

    def search(
        self, vecs: Any, k: int, allowed: Collection[str] | None = None
    ) -> _Results:
        """The ``k`` nearest items to each query by cosine similarity.

        Args:
            vecs: ``float[nq, dim]`` queries, or one ``float[dim]`` query.
            k: How many per query; fewer come back when fewer items are allowed.
            allowed: Catalog ids a hard filter lets through (unknown ids are ignored);
                ``None`` allows everything, an empty collection allows nothing. Pass a
                ``frozenset`` to reuse one allow-list across calls: it is converted to
                FAISS ids once (until the next add or remove).

        Returns:
            ``(ids, scores)``: per query, a list of catalog ids best first and a
            ``float32`` array of their scores.
        """
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        q = self._check_vectors(vecs, "search")
        nq = len(q)
        if self._index is None or len(self) == 0:
            return _empty(nq)
        if allowed is None:
            kk = min(int(k), len(self))
            sel = self._tombstone_selector()
            scores, keys = self._faiss_search(q, kk, sel)
            return self._rows(keys, scores, kk)
        keys_allowed = self._allowed_keys(allowed)
        if len(keys_allowed) == 0:
            return _empty(nq)
        kk = min(int(k), len(keys_allowed))
        strategy = self._pick_strategy(len(keys_allowed), kk)
        if strategy == "gather":
            return self._search_gather(q, kk, keys_allowed)
        if strategy == "selector":
            sel = self._allowed_selector(keys_allowed)
            scores, keys = self._faiss_search(q, kk, sel)
            return self._rows(keys, scores, kk)
        return self._search_overfetch(q, kk, keys_allowed)

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

    def keys_of(self, ids: Sequence[str]) -> np.ndarray:
        """``int64[len(ids)]``: the FAISS id of each catalog id (``-1`` for one not in the
        index). Look the catalog up once, then make allow-lists from row masks with
        :meth:`allow_list`."""
        key = self._key
        return np.fromiter((key.get(i, -1) for i in ids), dtype=np.int64, count=len(ids))

    def allow_list(self, keys: np.ndarray) -> AllowList:
        """An allow-list of FAISS ids (from :meth:`keys_of`; ``-1`` entries are dropped)
        that :meth:`search` uses without converting a single catalog id, as long as the
        index has not changed since. It is still a collection of catalog ids, so any
        other index or code path can read it.

        Example:
            >>> import numpy as np
            >>> index = FaissIndex(dim=2)
            >>> index.add(["a", "b", "c"], np.array([[1, 0], [0, 1], [1, 1]], dtype="float32"))
            >>> rows = index.keys_of(["a", "b", "c"])
            >>> allow = index.allow_list(rows[np.array([False, True, True])])
            >>> sorted(allow), "a" in allow
            (['b', 'c'], False)
            >>> index.search(np.array([1.0, 0.0]), k=3, allowed=allow)[0]   # not "a"
            [['c', 'b']]
        """
        keys = np.asarray(keys, dtype=np.int64).ravel()
        keys = keys[keys >= 0]
        if len(keys) > 1 and not bool((keys[1:] > keys[:-1]).all()):
            keys = np.unique(keys)  # sorted and unique (rows in catalog order usually are)
        return AllowList(self, keys, self._version)

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
        faiss = _faiss()

        cache = self._allowed_cache
        if cache is not None and cache[2] is keys:
            if "sel" not in cache[3]:
                cache[3]["sel"] = faiss.IDSelectorBatch(keys)
            return cache[3]["sel"]
        return faiss.IDSelectorBatch(keys)

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

    # -- validation ------------------------------------------------------------------

    def _check_vectors(self, vecs: Any, what: str, *, n_rows: int | None = None,
                       ids: Sequence[str] | None = None) -> np.ndarray:
        try:
            x = np.asarray(vecs, dtype="float32")
        except (TypeError, ValueError) as exc:
            raise DataError(f"vectors for {what} are not numeric: {exc}", field="vecs",
                            fix="pass a float array of shape (n, dim)") from None
        if what == "search" and x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise DataError(
                f"vectors for {what} have shape {x.shape}, but this index holds "
                f"{self.dim}-dimensional vectors",
                field="vecs",
                fix=f"encode with the same model the index was built with (dim {self.dim}), "
                "or rebuild the index for the new model",
            )
        if n_rows is not None and x.shape[0] != n_rows:
            raise DataError(f"{n_rows} ids but {x.shape[0]} vectors", field="vecs",
                            fix="pass one vector per id, in the same order")
        bad = ~np.isfinite(x).all(axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise DataError(
                f"{len(rows)} vector(s) for {what} contain NaN or infinite values "
                f"({_where(rows, ids)})",
                field="vecs",
                fix="re-encode those items; check the encoder's input text and dtype",
            )
        norms = np.linalg.norm(x, axis=1)
        zero = norms < 1e-12
        if zero.any():
            rows = np.flatnonzero(zero)
            raise DataError(
                f"{len(rows)} vector(s) for {what} are all zeros and have no direction "
                f"({_where(rows, ids)})",
                field="vecs",
                fix="re-encode those items, or leave them out",
            )
        return np.ascontiguousarray(x / norms[:, None], dtype="float32")

    # -- persistence -----------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the index folder atomically: ``index.faiss``, ``ids.json``, ``manifest.json``.

        The folder is built under a temporary name and swapped in whole, so a save that
        fails half-way leaves the previous index at ``path`` loadable.
        """
        faiss = _faiss()

        self._ensure_built(len(self))
        path = Path(path)
        with atomic_dir(path) as tmp:
            faiss.write_index(self._index, str(tmp / INDEX_FILE))
            ids_doc = {
                "names": self._names,
                "tombstones": sorted(self._tombstones),
            }
            ids_text = json.dumps(ids_doc, separators=(",", ":"))
            (tmp / IDS_FILE).write_text(ids_text, encoding="utf-8")
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "factory": self._factory,
                "dim": self.dim,
                "count": len(self),
                "ntotal": int(self._index.ntotal),
                "tombstones": len(self._tombstones),
                "metric": METRIC,
                "normalized": True,
                "ef_search": self.ef_search,
                "ef_construction": self.ef_construction,
                "nprobe": self.nprobe,
                "faiss_version": faiss.__version__,
                "files": {name: _file_entry(tmp / name) for name in (INDEX_FILE, IDS_FILE)},
            }
            manifest_text = json.dumps(manifest, indent=2) + "\n"
            (tmp / MANIFEST_FILE).write_text(manifest_text, encoding="utf-8")

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        ef_search: int | None = None,
        filter_strategy: FilterStrategy = "auto",
        use_gpu: bool | None = None,
    ) -> FaissIndex:
        """Load a folder written by :meth:`save`, checking its manifest and checksums.

        Raises:
            DataError: a missing folder or file, a manifest of another format or version,
                a checksum mismatch (corrupt or truncated file) or inconsistent contents.
        """
        faiss = _faiss()

        path = Path(path)
        manifest = _read_manifest(path)
        for name in (INDEX_FILE, IDS_FILE):
            _verify_file(path / name, manifest["files"].get(name))
        try:
            index = faiss.read_index(str(path / INDEX_FILE))
        except RuntimeError as exc:
            raise DataError(f"FAISS cannot read the index: {_faiss_message(exc)}",
                            path=path / INDEX_FILE, fix=_REBUILD_FIX) from None
        if index.d != manifest["dim"] or index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise DataError(
                f"the index holds {index.d}-d vectors with metric {index.metric_type}, but the "
                f"manifest says {manifest['dim']}-d inner product",
                path=path / INDEX_FILE, fix=_REBUILD_FIX)
        names, tombstones = _read_ids(path / IDS_FILE)
        live = {n: i for i, n in enumerate(names) if n is not None}
        if (len(live) != manifest["count"] or index.ntotal != len(live) + len(tombstones)
                or any(names[t] is not None for t in tombstones)):
            raise DataError(
                f"the id map has {len(live)} live ids and {len(tombstones)} tombstones, the "
                f"FAISS file {index.ntotal} vectors and the manifest a count of "
                f"{manifest['count']}; they must agree",
                path=path / IDS_FILE, fix=_REBUILD_FIX)
        try:
            self = cls(
                manifest["dim"],
                None,
                ef_search=ef_search if ef_search is not None
                else manifest.get("ef_search", DEFAULT_EF_SEARCH),
                ef_construction=manifest.get("ef_construction", DEFAULT_EF_CONSTRUCTION),
                nprobe=manifest.get("nprobe", DEFAULT_NPROBE),
                filter_strategy=filter_strategy,
                use_gpu=use_gpu,
            )
        except ValueError as exc:
            raise DataError(f"bad manifest values: {exc}", path=path / MANIFEST_FILE,
                            fix=_REBUILD_FIX) from None
        self._factory = manifest["factory"]
        self._index = index
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is not None:
            ivf.nprobe = self.nprobe
        self._configure()
        self._names = names
        self._key = live
        self._tombstones = tombstones
        return self


# -- helpers ---------------------------------------------------------------------------


def _faiss() -> Any:
    """The faiss module, imported on first use (never at import time)."""
    try:
        import faiss
    except ImportError as exc:
        raise ImportError(
            f"the vector index needs FAISS, which did not import ({exc}). Fix: "
            "pip install faiss-cpu, or pip install 'encore-rec[gpu]' for faiss-gpu"
        ) from exc
    return faiss


def _check_factory_string(factory: Any) -> None:
    if not isinstance(factory, str) or not factory.strip():
        raise ValueError(f"factory must be a FAISS factory string such as 'Flat', got {factory!r}")
    if "IDMap" in factory:
        raise ValueError(
            f"factory {factory!r} contains IDMap; leave it out, FaissIndex maps ids itself"
        )


def _check_ids(ids: Any, what: str) -> list[str]:
    if isinstance(ids, str | bytes):
        raise TypeError(f"ids for {what} must be a list of catalog ids, not one string: {ids!r}")
    ids = list(ids)
    bad = [i for i in ids if not isinstance(i, str) or not i]
    if bad:
        raise DataError(
            f"{len(bad)} id(s) for {what} are not non-empty strings: {_few(bad)}",
            field="ids",
            fix="use the catalog's string ids (convert numbers with str())",
        )
    return ids


def _few(values: Sequence[Any], n: int = 5) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:n])
    return shown + (f" and {len(values) - n} more" if len(values) > n else "")


def _where(rows: np.ndarray, ids: Sequence[str] | None) -> str:
    rows_l = rows.tolist()
    if ids is not None:
        return "ids " + _few([ids[r] for r in rows_l])
    return "rows " + _few(rows_l)


def _empty(nq: int) -> _Results:
    return [[] for _ in range(nq)], [np.empty(0, dtype="float32") for _ in range(nq)]


def _faiss_message(exc: BaseException) -> str:
    """The useful part of a FAISS C++ exception, without the C++ signature and location."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"^Error in .*? at \S+:\d+: ", "", text)
    return re.sub(r"^Error: '.*?' failed: ", "", text)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _file_entry(path: Path) -> dict[str, Any]:
    return {"sha256": _sha256(path), "bytes": path.stat().st_size}


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise DataError("no index folder here", path=path,
                        fix="pass the folder that FaissIndex.save wrote, or build the index")
    mpath = path / MANIFEST_FILE
    if not mpath.is_file():
        raise DataError("the index folder has no manifest", path=mpath,
                        fix="this is not a saved index, or its save did not finish; "
                        + _REBUILD_FIX)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"the manifest is not valid JSON: {exc}", path=mpath,
                        fix=_REBUILD_FIX) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"not an Encore FAISS index manifest (format should be {FORMAT!r})",
                        path=mpath, fix=_REBUILD_FIX)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"index format version {manifest.get('format_version')!r}; this Encore reads "
            f"version {FORMAT_VERSION}",
            path=mpath, fix="rebuild the index with this version of Encore")
    missing = [k for k in ("factory", "dim", "count", "metric", "files") if k not in manifest]
    if missing:
        raise DataError(f"the manifest lacks {', '.join(missing)}", path=mpath, fix=_REBUILD_FIX)
    if manifest["metric"] != METRIC:
        raise DataError(f"metric {manifest['metric']!r}; Encore indexes use {METRIC!r}",
                        path=mpath, fix=_REBUILD_FIX)
    if not isinstance(manifest["files"], dict):
        raise DataError("the manifest's 'files' is not a mapping", path=mpath, fix=_REBUILD_FIX)
    return manifest


def _read_ids(path: Path) -> tuple[list[str | None], set[int]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        names, tombstones = doc["names"], doc["tombstones"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DataError(f"unreadable id map: {exc}", path=path, fix=_REBUILD_FIX) from None
    if (not isinstance(names, list) or not isinstance(tombstones, list)
            or not all(n is None or isinstance(n, str) for n in names)
            or not all(isinstance(t, int) and 0 <= t < len(names) for t in tombstones)):
        raise DataError("the id map has the wrong shape (names: strings or null, "
                        "tombstones: positions)", path=path, fix=_REBUILD_FIX)
    live = [n for n in names if n is not None]
    if len(set(live)) != len(live):
        raise DataError("the id map lists an id twice", path=path, fix=_REBUILD_FIX)
    return names, set(tombstones)


def _verify_file(path: Path, entry: Any) -> None:
    if not isinstance(entry, dict) or "sha256" not in entry:
        raise DataError("the manifest has no checksum for this file", path=path, fix=_REBUILD_FIX)
    if not path.is_file():
        raise DataError("file missing from the index folder", path=path, fix=_REBUILD_FIX)
    size = path.stat().st_size
    if "bytes" in entry and size != entry["bytes"]:
        raise DataError(
            f"the file is {size} bytes but the manifest says {entry['bytes']}: it is truncated "
            "or was replaced",
            path=path, fix=_REBUILD_FIX)
    if _sha256(path) != entry["sha256"]:
        raise DataError("checksum mismatch: the file is corrupt or was changed after saving",
                        path=path, fix=_REBUILD_FIX)


def _to_gpu(index: Any, *, required: bool = False) -> Any:
    """A copy of ``index`` on every visible GPU, or ``None`` (no GPU, or an index type
    FAISS cannot move). With ``required``, no GPU is an error instead."""
    faiss = _faiss()

    if not hasattr(faiss, "get_num_gpus") or faiss.get_num_gpus() < 1:
        if required:
            raise RuntimeError(
                "use_gpu=True but FAISS sees no GPU. Fix: pip install 'encore-rec[gpu]' "
                "(faiss-gpu) on a machine with CUDA, or pass use_gpu=None to fall back to the CPU"
            )
        return None
    try:
        return faiss.index_cpu_to_all_gpus(index)
    except (RuntimeError, AttributeError) as exc:
        if required:
            raise
        warnings.warn(
            f"keeping the FAISS index on the CPU: it cannot move to the GPU "
            f"({_faiss_message(exc)})",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
