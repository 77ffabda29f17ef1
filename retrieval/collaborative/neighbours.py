"""Sparse item-to-item neighbours: each item's top-k neighbours by cosine on the binary
users x items matrix, computed in blocks of items with sparse products, so that memory is
bounded by the block and not by the catalog (a dense item x item matrix needs 4 GB at
32,000 items).

``sim(i, j) = |U_i ∩ U_j| / (sqrt(|U_i| |U_j|) + shrink)`` as in
:class:`~retrieval.collaborative.itemknn.ItemKNN`; item ``j`` keeps its ``k`` most similar
items (ties by item row), which is what ItemKNN keeps in column ``j``.

The result is a :class:`NeighbourTable`: CSR arrays (``int64`` row starts, ``int32``
neighbour rows, ``float32`` weights), saved as ``.npy`` files and loaded memory-mapped, so
a million-item table is shared by the processes that serve it and never copied.

Example:
    >>> from scipy import sparse
    >>> x = sparse.csr_matrix(np.array([[1, 1, 0], [1, 1, 1]], dtype=np.float32))
    >>> table = build_neighbours(x, k=1)
    >>> table.neighbours(2)[0].tolist()  # c's nearest item: a and b tie, a (row 0) first
    [0]
    >>> round(float(table.pair_weights(np.array([0]), np.array([1]))[0, 0]), 3)
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from retrieval.parallel import MapBlocks, serial_map

__all__ = ["DEFAULT_MAX_PAIRS", "NeighbourTable", "build_neighbours", "neighbour_block",
           "plan_blocks"]

# Co-occurrence pairs one block may produce before it is cut (each costs about 40 bytes
# while the block is sorted): about 160 MB per block at most.
DEFAULT_MAX_PAIRS = 4_000_000
DEFAULT_MAX_ITEMS = 4_096
# A block whose co-occurrences fill more than this share of its [b, n] matrix, and whose
# matrix has at most _DENSE_CELLS cells (about 200 MB while it is cut), is made dense and
# cut at each row's k-th weight before sorting: far cheaper than sorting every pair.
_DENSE_SHARE = 0.05
_DENSE_CELLS = 8_000_000
_FILES = ("indptr", "indices", "weights")


def _binary_csr(x: Any) -> sparse.csr_matrix:
    m = x if isinstance(x, sparse.csr_matrix) else sparse.csr_matrix(x)
    if not m.has_canonical_format:
        m = m.copy()
        m.sum_duplicates()
    return m


def neighbour_block(x: sparse.csr_matrix, start: int, stop: int, k: int, *,
                    shrink: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The top-``k`` neighbours of items (columns) ``start..stop`` of the binary users x
    items matrix ``x``: ``int32[stop - start, k]`` neighbour columns (``-1`` padded) and
    ``float32`` weights of the same shape, strongest first, ties by column.

    Only this block's co-occurrences are ever held (one sparse product of the block's
    columns with ``x``), so memory is bounded by the block whatever the catalog size.
    """
    x = _binary_csr(x)
    n = x.shape[1]
    start, stop = max(int(start), 0), min(int(stop), n)
    b = max(stop - start, 0)
    ids = np.full((b, max(int(k), 0)), -1, dtype=np.int32)
    weights = np.zeros(ids.shape, dtype=np.float32)
    if b == 0 or k <= 0:
        return ids, weights
    # |U_i| of every item, from the whole matrix: the same float64 arithmetic as ItemKNN's
    # diagonal, so the weights come out bit for bit the same.
    norms = np.sqrt(np.bincount(x.indices, minlength=n).astype(np.float64))
    co = sparse.csr_matrix(sparse.csr_matrix(x[:, start:stop].T) @ x)  # [b, n] counts
    if k < n - 1 and b * n <= _DENSE_CELLS and co.nnz > _DENSE_SHARE * b * n:
        rows, cols, sim = _dense_candidates(co, norms, start, k, shrink)
    else:
        rows = np.repeat(np.arange(b, dtype=np.int64), np.diff(co.indptr))
        cols = co.indices.astype(np.int64)
        sim = co.data.astype(np.float64) / (norms[start + rows] * norms[cols] + shrink + 1e-12)
    keep = (cols != start + rows) & (sim > 0)
    rows, cols, sim = rows[keep], cols[keep], sim[keep]
    order = np.lexsort((cols, -sim, rows))
    rows, cols, sim = rows[order], cols[order], sim[order]
    first = np.searchsorted(rows, np.arange(b))
    rank = np.arange(len(rows)) - first[rows]
    top = rank < k
    ids[rows[top], rank[top]] = cols[top]
    weights[rows[top], rank[top]] = sim[top].astype(np.float32)
    return ids, weights


def _dense_candidates(co: sparse.csr_matrix, norms: np.ndarray, start: int, k: int,
                      shrink: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A dense-ish block's entries that can be among each row's top ``k``: those at or
    above the row's k-th largest weight (ties included, so the final pick by weight and
    column is the one the sparse path makes). Sorting only these is far cheaper than
    sorting every co-occurrence of a block of popular items."""
    b = co.shape[0]
    # The same float64 expression as the sparse path, element by element.
    sim = co.toarray().astype(np.float64) / (np.outer(norms[start:start + b], norms)
                                             + shrink + 1e-12)
    sim[np.arange(b), start + np.arange(b)] = 0.0  # an item is not its own neighbour
    kth = -np.partition(-sim, k - 1, axis=1)[:, k - 1]
    rows, cols = np.nonzero((sim >= kth[:, None]) & (sim > 0))
    return rows.astype(np.int64), cols.astype(np.int64), sim[rows, cols]


def plan_blocks(x: sparse.csr_matrix, *, max_pairs: int = DEFAULT_MAX_PAIRS,
                max_items: int = DEFAULT_MAX_ITEMS) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` item blocks whose co-occurrence pairs (at most
    ``sum over the block's users of their history lengths``) stay under ``max_pairs``, and
    at most ``max_items`` items each; an item whose own pairs exceed the bound gets a block
    of its own."""
    x = _binary_csr(x)
    n = x.shape[1]
    lengths = np.diff(x.indptr).astype(np.float64)
    cost = np.bincount(x.indices, weights=np.repeat(lengths, np.diff(x.indptr)), minlength=n)
    cum = np.cumsum(np.maximum(cost, 1.0))
    blocks: list[tuple[int, int]] = []
    start = 0
    while start < n:
        base = cum[start - 1] if start else 0.0
        stop = int(np.searchsorted(cum, base + max_pairs, side="right"))
        stop = min(max(stop, start + 1), start + max(int(max_items), 1), n)
        blocks.append((start, stop))
        start = stop
    return blocks


def build_neighbours(x: sparse.csr_matrix, k: int, *, shrink: float = 0.0,
                     max_pairs: int = DEFAULT_MAX_PAIRS, max_items: int = DEFAULT_MAX_ITEMS,
                     map_blocks: MapBlocks[Any] | None = None) -> NeighbourTable:
    """Every item's top-``k`` neighbours (:func:`neighbour_block` over
    :func:`plan_blocks`), as one :class:`NeighbourTable`.

    Args:
        x: The binary users x items matrix (CSR).
        k: Neighbours kept per item.
        shrink: Added to the cosine's denominator.
        max_pairs, max_items: The size of a block (see :func:`plan_blocks`).
        map_blocks: Maps the block function over the blocks (``None``: a serial loop here;
            the Ray engine passes its own). Any mapper gives the same table.
    """
    if int(k) < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if float(shrink) < 0:
        raise ValueError(f"shrink must be non-negative, got {shrink}")
    x = _binary_csr(x)
    blocks = plan_blocks(x, max_pairs=max_pairs, max_items=max_items)
    fn = partial(_block, x, k=int(k), shrink=float(shrink))
    parts = (map_blocks or serial_map)(fn, blocks)
    return NeighbourTable.from_blocks(parts, n=x.shape[1], k=int(k))


def _block(x: sparse.csr_matrix, start: int, stop: int, *, k: int, shrink: float
           ) -> tuple[np.ndarray, np.ndarray]:
    return neighbour_block(x, start, stop, k, shrink=shrink)


@dataclass(frozen=True)
class NeighbourTable:
    """Each item's neighbours as CSR arrays: row ``j``'s neighbours are
    ``indices[indptr[j]:indptr[j + 1]]`` (strongest first) with ``weights`` alongside.

    Attributes:
        indptr: ``int64[n + 1]`` row starts.
        indices: ``int32`` neighbour rows.
        weights: ``float32`` cosine weights.
        k: The most neighbours a row holds.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    k: int

    def __post_init__(self) -> None:
        if self.indptr.ndim != 1 or len(self.indptr) < 1:
            raise ValueError("indptr must be a 1-d array of n + 1 row starts")
        nnz = int(self.indptr[-1])
        if self.indices.shape != (nnz,) or self.weights.shape != (nnz,):
            raise ValueError(f"indices {self.indices.shape} and weights {self.weights.shape} "
                             f"must both hold indptr[-1] = {nnz} entries")

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.indices.nbytes + self.weights.nbytes)

    @classmethod
    def from_blocks(cls, parts: Sequence[tuple[np.ndarray, np.ndarray]], *, n: int, k: int
                    ) -> NeighbourTable:
        """Join fixed-width blocks (``-1`` padded, in item order) into one table."""
        counts, indices, weights = [], [], []
        for ids, w in parts:
            mask = ids >= 0
            counts.append(mask.sum(axis=1))
            indices.append(ids[mask].astype(np.int32))
            weights.append(w[mask].astype(np.float32))
        c = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
        if len(c) != n:
            raise ValueError(f"the blocks cover {len(c)} items, expected {n}")
        indptr = np.concatenate([[0], np.cumsum(c)]).astype(np.int64)
        return cls(indptr, np.concatenate(indices) if indices else np.zeros(0, np.int32),
                   np.concatenate(weights) if weights else np.zeros(0, np.float32), int(k))

    @classmethod
    def from_dense(cls, similarity: np.ndarray) -> NeighbourTable:
        """The table of a dense ItemKNN matrix (column ``j`` holds ``j``'s neighbours), as
        statistics saved before the sparse table stored it."""
        csc = sparse.csc_matrix(np.asarray(similarity, dtype=np.float32))
        csc.eliminate_zeros()
        lengths = np.diff(csc.indptr)
        col = np.repeat(np.arange(csc.shape[1]), lengths)
        order = np.lexsort((csc.indices, -csc.data, col))
        return cls(csc.indptr.astype(np.int64), csc.indices[order].astype(np.int32),
                   csc.data[order].astype(np.float32), int(lengths.max()) if len(lengths) else 0)

    def neighbours(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Row ``row``'s neighbour rows and weights, strongest first."""
        a, b = int(self.indptr[row]), int(self.indptr[row + 1])
        return np.asarray(self.indices[a:b]), np.asarray(self.weights[a:b])

    def to_dense(self) -> np.ndarray:
        """``float32[n, n]`` with column ``j`` holding ``j``'s neighbour weights, the
        layout of ``ItemKNN.similarity`` (for tests and small catalogs)."""
        n = len(self)
        out = np.zeros((n, n), dtype=np.float32)
        col = np.repeat(np.arange(n), np.diff(self.indptr))
        out[np.asarray(self.indices), col] = self.weights
        return out

    def _gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The neighbour entries of ``rows``: (position in ``rows``, neighbour, weight)."""
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        owner = np.repeat(np.arange(len(rows)), lengths)
        offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        at = np.repeat(starts, lengths) + offsets
        return owner, np.asarray(self.indices[at]), np.asarray(self.weights[at])

    def pair_weights(self, history_rows: np.ndarray, candidate_rows: np.ndarray) -> np.ndarray:
        """``float32[len(history_rows), len(candidate_rows)]``: the weight of each history
        item among each candidate's neighbours (0 when it is not one, or a row is ``-1``),
        as ``ItemKNN.similarity[history_rows][:, candidate_rows]`` reads."""
        h = np.asarray(history_rows, dtype=np.int64)
        c = np.asarray(candidate_rows, dtype=np.int64)
        out = np.zeros((len(h), len(c)), dtype=np.float32)
        known_h = h >= 0
        ci = np.flatnonzero(c >= 0)
        if not known_h.any() or not len(ci):
            return out
        uniq = np.unique(h[known_h])
        owner, nb, w = self._gather(c[ci])
        if 8 * len(nb) >= len(self):
            # many entries: a scratch array of n int32 (position by row) answers each one
            # in one gather
            position = np.full(len(self), -1, dtype=np.int32)
            position[uniq] = np.arange(len(uniq), dtype=np.int32)
            at = position[nb]
            hit = at >= 0
        else:
            # few entries on a large catalog (one candidate's evidence on a million items):
            # a binary search each, not n ints to fill
            at = np.minimum(np.searchsorted(uniq, nb), len(uniq) - 1)
            hit = uniq[at] == nb
        small = np.zeros((len(uniq), len(c)), dtype=np.float32)
        small[at[hit], ci[owner[hit]]] = w[hit]
        out[known_h] = small[np.searchsorted(uniq, h[known_h])]
        return out

    def scores(self, history_rows: Sequence[np.ndarray]) -> np.ndarray:
        """``float32[len(history_rows), n]``: per history, the summed weights of its items'
        neighbours (an item scores from the history items whose neighbour lists hold it),
        the collaborative candidates' score when there is no EASE."""
        n = len(self)
        out = np.zeros((len(history_rows), n), dtype=np.float32)
        for k, rows in enumerate(history_rows):
            r = np.unique(np.asarray(rows, dtype=np.int64))
            r = r[(r >= 0) & (r < n)]
            if len(r):
                _, nb, w = self._gather(r)
                out[k] = np.bincount(nb, weights=w, minlength=n)
        return out

    def save(self, folder: Path, prefix: str = "knn") -> dict[str, int]:
        """Write ``{prefix}_{indptr,indices,weights}.npy`` into ``folder`` (the caller
        swaps the folder in atomically); returns each file's size in bytes."""
        sizes = {}
        for name in _FILES:
            path = Path(folder) / f"{prefix}_{name}.npy"
            np.save(path, np.ascontiguousarray(getattr(self, name)))
            sizes[path.name] = path.stat().st_size
        return sizes

    @classmethod
    def load(cls, folder: Path, k: int, prefix: str = "knn", *, mmap: bool = True
             ) -> NeighbourTable:
        """Read a table written by :meth:`save`, memory-mapped unless ``mmap`` is off."""
        mode: Any = "r" if mmap else None
        arrays = [np.load(Path(folder) / f"{prefix}_{name}.npy", mmap_mode=mode,
                          allow_pickle=False) for name in _FILES]
        return cls(arrays[0], arrays[1], arrays[2], int(k))
