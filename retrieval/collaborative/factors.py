"""Matrix-factorisation scores: implicit-feedback ALS (Hu, Koren and Volinsky, ICDM 2008)
fitted with the ``implicit`` library on the binary positive log.

Only the item factors are kept (``float32[n_items, factors]``, saved as ``.npy`` and loaded
memory-mapped) with their Gram matrix ``YᵀY``. A user's factors are solved at turn time
from whatever history the turn has (a demo user, a new session: none of them has a
training row), with the same least squares ALS uses for its user step::

    x_u = (YᵀY + λI + (α - 1) Σ_i y_i y_iᵀ)⁻¹ α Σ_i y_i     (i over the history's items)

which is what ``implicit``'s ``recalculate_user`` computes, in a few microseconds for a
64-factor model, with no ``implicit`` import at serving time.

Example:
    >>> from scipy import sparse
    >>> x = sparse.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]],
    ...                                dtype=np.float32))
    >>> mf = fit_als(x, factors=2, iterations=10, alpha=10.0, seed=0)
    >>> u = mf.user_vectors([np.array([0])])[0]
    >>> s = mf.scores(u, np.array([1, 2]))
    >>> bool(s[0] > s[1])   # b goes with a, c does not
    True
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse

__all__ = ["FactorSettings", "ItemFactors", "build_factor_index", "fit_als"]

INDEX_NPROBE_SHARE = 16
"""The index probes one list in this many (at least one, at most 128)."""

log = logging.getLogger(__name__)


class FactorSettings(BaseModel):
    """The ALS settings of the statistics (``factors=0`` turns ALS off)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    factors: int = Field(default=64, ge=0)
    iterations: int = Field(default=15, ge=1)
    regularization: float = Field(default=10.0, ge=0)
    alpha: float = Field(default=5.0, gt=0)
    seed: int = 0
    threads: int = Field(default=1, ge=1)
    index_above: int = Field(default=100_000, ge=0)
    """Above this many items the top items of a user come from an inner-product IVF index
    over the item factors (:func:`build_factor_index`) instead of scoring every item (at 1M
    items a full scoring reads 256 MB per query)."""


@dataclass(frozen=True)
class ItemFactors:
    """Item factors of an ALS model and what solving a user's factors needs.

    Attributes:
        items: ``float32[n_items, factors]`` (zero rows for items nobody consumed).
        gram: ``float64[factors, factors]``: ``itemsᵀ items``.
        regularization: ALS's λ.
        alpha: Confidence of a positive (``c = α`` for a consumed item, 1 elsewhere).
    """

    items: np.ndarray
    gram: np.ndarray
    regularization: float
    alpha: float
    index: Any = field(default=None, compare=False, repr=False)
    """An inner-product FAISS index over the non-zero item rows (ids: rows), or None."""

    @property
    def factors(self) -> int:
        return int(self.items.shape[1])

    def __len__(self) -> int:
        return int(self.items.shape[0])

    def user_vectors(self, history_rows: Sequence[np.ndarray]) -> np.ndarray:
        """``float32[len(history_rows), factors]``: each history's user factors (zeros for
        an empty history); rows outside the model (``-1``) are left out."""
        f = self.factors
        out = np.zeros((len(history_rows), f), dtype=np.float32)
        base = self.gram + self.regularization * np.eye(f)
        for k, rows in enumerate(history_rows):
            r = np.unique(np.asarray(rows, dtype=np.int64))
            r = r[(r >= 0) & (r < len(self))]
            if not len(r):
                continue
            y = np.asarray(self.items[r], dtype=np.float64)
            a = base + (self.alpha - 1.0) * (y.T @ y)
            b = self.alpha * y.sum(axis=0)
            out[k] = np.linalg.solve(a, b)
        return out

    def scores(self, user: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``float32[len(rows)]``: ``user · item`` for each row (NaN for ``-1`` rows)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.full(len(rows), np.nan, dtype=np.float32)
        ok = rows >= 0
        out[ok] = np.asarray(self.items[rows[ok]]) @ np.asarray(user, dtype=np.float32)
        return out

    def top(self, users: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items of highest ``user · item`` for each row of ``users``, from the
        index: ``int64[n, k]`` rows (``-1`` past the end of what it found) and their
        ``float32[n, k]`` scores, best first.

        Raises:
            ValueError: the factors have no index (:func:`build_factor_index`).
        """
        if self.index is None:
            raise ValueError("these item factors have no index; build it with "
                             "build_factor_index (InteractionStats.build does above "
                             "FactorSettings.index_above items)")
        q = np.ascontiguousarray(users, dtype=np.float32).reshape(-1, self.factors)
        scores, rows = self.index.search(q, int(k))
        return rows.astype(np.int64, copy=False), scores.astype(np.float32, copy=False)

    def save(self, folder: Path, prefix: str = "mf") -> dict[str, int]:
        """Write ``{prefix}_items.npy`` and ``{prefix}_gram.npy`` (and the index as
        ``{prefix}_index.faiss``) into ``folder`` (the caller swaps it in atomically);
        returns each file's size in bytes."""
        sizes = {}
        for name, arr in (("items", self.items), ("gram", self.gram)):
            path = Path(folder) / f"{prefix}_{name}.npy"
            np.save(path, np.ascontiguousarray(arr))
            sizes[path.name] = path.stat().st_size
        if self.index is not None:
            import faiss

            path = Path(folder) / f"{prefix}_index.faiss"
            faiss.write_index(self.index, str(path))
            sizes[path.name] = path.stat().st_size
        return sizes

    @classmethod
    def load(cls, folder: Path, *, regularization: float, alpha: float, prefix: str = "mf",
             mmap: bool = True) -> ItemFactors:
        """Read factors written by :meth:`save`, the item factors memory-mapped."""
        items = np.load(Path(folder) / f"{prefix}_items.npy", mmap_mode="r" if mmap else None,
                        allow_pickle=False)
        gram = np.load(Path(folder) / f"{prefix}_gram.npy", allow_pickle=False)
        index = None
        path = Path(folder) / f"{prefix}_index.faiss"
        if path.is_file():
            import faiss

            flags = int(faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY) if mmap else 0
            index = faiss.read_index(str(path), flags)
            _set_nprobe(index)
        return cls(items, gram, float(regularization), float(alpha), index)


def _set_nprobe(index: Any) -> None:
    import faiss

    ivf = faiss.extract_index_ivf(index)
    ivf.nprobe = int(min(128, max(1, ivf.nlist // INDEX_NPROBE_SHARE)))


def build_factor_index(items: np.ndarray, *, seed: int = 0) -> Any:
    """An inner-product IVF index (FAISS ``IndexIVFFlat``) over the non-zero rows of
    ``items``, ids their row numbers: about sqrt(rows) lists, trained on a seeded sample
    of 64 rows per list, probed one list in :data:`INDEX_NPROBE_SHARE`; ``None`` when no
    row is non-zero."""
    import faiss

    x = np.ascontiguousarray(items, dtype=np.float32)
    rows = np.flatnonzero(np.any(x != 0, axis=1)).astype(np.int64)
    if not len(rows):
        return None
    nlist = int(max(1, min(4096, round(math.sqrt(len(rows))))))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(x.shape[1]), x.shape[1], nlist,
                               faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = int(seed)
    rng = np.random.default_rng(seed)
    sample = rows if len(rows) <= 64 * nlist else np.sort(
        rng.choice(rows, 64 * nlist, replace=False))
    index.train(x[sample])
    for start in range(0, len(rows), 262_144):  # bounded copies
        part = rows[start:start + 262_144]
        index.add_with_ids(x[part], part)
    _set_nprobe(index)
    return index


def fit_als(x: sparse.csr_matrix, *, factors: int = 64, iterations: int = 15,
            regularization: float = 10.0, alpha: float = 5.0, seed: int = 0,
            threads: int = 1, index_above: int = 100_000) -> ItemFactors:
    """Fit implicit-feedback ALS on the binary users x items matrix ``x``.

    Args:
        x: Binary ``[n_users, n_items]`` CSR matrix of positives.
        factors: Latent dimensions.
        iterations: ALS sweeps.
        regularization: λ.
        alpha: Confidence of a positive.
        seed: Seeds the initial factors: the same log and settings give the same factors.
        threads: OpenMP threads of the fit (``implicit`` would take every core otherwise;
            one thread gives the same factors on every machine).
        index_above: Build the top-items index (:func:`build_factor_index`) above this
            many items.

    Raises:
        ValueError: a bad setting.
    """
    if factors < 1 or iterations < 1 or regularization < 0 or alpha <= 0 or threads < 1:
        raise ValueError(f"need factors >= 1, iterations >= 1, regularization >= 0, alpha > 0 "
                         f"and threads >= 1; got {factors}, {iterations}, {regularization}, "
                         f"{alpha}, {threads}")
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    m = sparse.csr_matrix(x, dtype=np.float32)
    # implicit warns when BLAS runs several threads beside its own OpenMP ones.
    with threadpool_limits(1, "blas"):
        model: Any = AlternatingLeastSquares(
            factors=int(factors), regularization=float(regularization), alpha=float(alpha),
            iterations=int(iterations), num_threads=int(threads), random_state=int(seed))
        model.fit(m, show_progress=False)
    items = np.asarray(model.item_factors, dtype=np.float32).copy()
    items[np.diff(sparse.csc_matrix(m).indptr) == 0] = 0.0  # never consumed: no signal
    y = items.astype(np.float64)
    index = build_factor_index(items, seed=seed) if len(items) > index_above else None
    return ItemFactors(items, y.T @ y, float(regularization), float(alpha), index)
