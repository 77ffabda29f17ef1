"""The FAISS implementation of :class:`~retrieval.index.VectorIndex` (see the package
docstring of :mod:`retrieval.index` for how each factory removes and filters)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.errors import DataError
from retrieval.index import persistence
from retrieval.index._faiss import Results as _Results
from retrieval.index._faiss import (
    _check_factory_string,
    _check_ids,
    _empty,
    _faiss,
    _faiss_message,
    _few,
    check_vectors,
)
from retrieval.index.filtering import FILTER_STRATEGIES, AllowList, FilteredSearch, FilterStrategy
from retrieval.index.protocol import (
    DEFAULT_EF_CONSTRUCTION,
    DEFAULT_EF_SEARCH,
    DEFAULT_NPROBE,
    choose_factory,
)

__all__ = ["FaissIndex"]


class FaissIndex(FilteredSearch):
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
        self.read_only = False
        """True for an index loaded memory-mapped (``load(mmap=True)``): search only."""
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
        if self.read_only:  # a mapped file is never written, not even by an empty remove
            self._removes_natively = False
            return
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
        self._check_writable("add")
        ids = _check_ids(ids, "add")
        if not ids:
            return
        x = check_vectors(self.dim, vecs, "add", n_rows=len(ids), ids=ids)
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

    def _check_writable(self, what: str) -> None:
        if self.read_only:
            raise ValueError(f"cannot {what}: this index was loaded memory-mapped (read-only). "
                             "Fix: load it with FaissIndex.load(path) (mmap=False) to change it")

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
        self._check_writable("remove")
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
        self._check_writable("compact")
        factory = self._factory
        if not self._tombstones or factory is None:  # tombstones exist only once built
            return
        keep = np.array(sorted(self._key.values()), dtype="int64")
        vecs = (self._index.reconstruct_batch(keep) if len(keep)
                else np.empty((0, self.dim), dtype="float32"))
        old = self._index
        try:
            self._build(factory)
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
        q = check_vectors(self.dim, vecs, "search")
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

    # -- persistence -----------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the index folder atomically: ``index.faiss``, ``ids.json``, ``manifest.json``.

        The folder is built under a temporary name and swapped in whole, so a save that
        fails half-way leaves the previous index at ``path`` loadable.
        """
        persistence.save_index(self, path)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        ef_search: int | None = None,
        filter_strategy: FilterStrategy = "auto",
        use_gpu: bool | None = None,
        mmap: bool = False,
        verify: bool = True,
    ) -> FaissIndex:
        """Load a folder written by :meth:`save`, checking its manifest and checksums.

        ``mmap=True`` maps the FAISS file read-only, so processes serving the same index
        share its pages (the index is then search-only); ``verify=False`` checks the files'
        sizes but not their checksums, for a caller that has checked them already.

        Raises:
            DataError: a missing folder or file, a manifest of another format or version,
                a checksum mismatch (corrupt or truncated file) or inconsistent contents.
        """
        return persistence.load_index(cls, path, ef_search=ef_search,
                                      filter_strategy=filter_strategy, use_gpu=use_gpu,
                                      mmap=mmap, verify=verify)
