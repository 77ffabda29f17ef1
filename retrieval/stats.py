"""Statistics of an interaction log that the ranker's features read, computed once at
build time and saved with the bundle: popularity overall and in a recent window, and the
collaborative signals: item-kNN neighbours (a sparse top-k table built in blocks,
:mod:`retrieval.collaborative.neighbours`, at every catalog size), EASE's dense item x
item weights (up to ``dense_limit`` items, where they fit in memory and win) and, where
EASE does not fit, ALS item factors (:mod:`retrieval.collaborative.factors`).

Only positive feedback counts: dislikes and skips are left out, and so are ratings below
``min_rating`` when it is set (by default every rating counts, the convention of the
evaluation protocols).

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.interactions import Interactions
    >>> from retrieval.models import Interaction, Item
    >>> cat = Catalog([Item(id=i, title=i, media_type="movie") for i in "abc"])
    >>> log = Interactions.from_records([Interaction(user_id=u, item_id=i, timestamp=t)
    ...     for u, i, t in [("1", "a", 10), ("1", "b", 20), ("2", "a", 30), ("2", "b", 40)]])
    >>> stats = InteractionStats.build(log, cat, recent_days=1)
    >>> stats.popularity(stats.rows(["a", "c"])).tolist()
    [2.0, 0.0]
    >>> stats.recent_popularity(stats.rows(["a", "b"]), now=35).tolist()
    [2.0, 1.0]
    >>> bool(stats.pair_weights("knn", stats.rows(["a"]), stats.rows(["b"]))[0, 0] > 0)
    True
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retrieval.collaborative.factors import FactorSettings
from retrieval.errors import DataError
from retrieval.io import atomic_dir

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.collaborative.factors import ItemFactors
    from retrieval.collaborative.neighbours import NeighbourTable
    from retrieval.interactions import Interactions
    from retrieval.parallel import MapBlocks

__all__ = ["STATS_FORMAT", "FactorSettings", "InteractionStats", "positive_log", "sequence_order",
           "unordered_rows"]

STATS_FORMAT = "encore-stats/2"
_STATS_FORMAT_1 = "encore-stats/1"  # dense item-kNN in arrays.npz, no ALS: still read
NEGATIVE_EVENTS = ("dislike", "skip")
# A dense item x item float32 matrix above this many items would need gigabytes: EASE is
# then left out and its features read as missing (item-kNN and ALS are sparse, kept).
DEFAULT_DENSE_LIMIT = 16_000
# Up to this many rows the item-kNN table is also held dense in memory (64 MB at most):
# ml-100k's features read it in 0.1 ms per query against 0.6 ms from the table.
SCORE_BLOCK = 1 << 25
"""Dense collaborative scores held at once by :meth:`InteractionStats.collaborative_top`
(floats: 128 MiB), so a block of queries over a large catalog stays bounded."""
DENSE_KNN_ROWS = 4_096
_TS_BITS = 33  # timestamps up to 2242; the item row lives above them in one int64 key


def positive_log(log: Interactions, min_rating: float | None = None) -> Interactions:
    """The positive feedback of ``log``: no dislikes or skips, no ratings below
    ``min_rating`` (when given)."""
    from retrieval.interactions import Interactions

    df = log.df
    event = df["event"].astype(str)
    keep = ~event.isin(NEGATIVE_EVENTS).to_numpy()
    if min_rating is not None:
        keep &= ~((event == "rating") & (df["value"] < min_rating)).to_numpy()
    if keep.all():
        return log
    return Interactions(df[keep].reset_index(drop=True))


def sequence_order(df: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """Row order of a log by user, then time, simultaneous interactions by item id
    (numerically when every id is a whole number), the convention ``eval.protocols`` uses
    by default, so that "the last item" means the same thing everywhere.

    Interactions without a timestamp have no order to keep: they come before the user's
    timed ones (an undated past, as :meth:`History.from_interactions` has it) in a seeded
    pseudo-random order, a hash of (user, item, ``seed``), never by item id or file row.
    A user none of whose interactions has a timestamp is therefore in random order, and
    "the last N" of it is a random pick (see :func:`unordered_rows`). A log whose every
    interaction has a timestamp is ordered exactly as before.

    Example:
        >>> df = pd.DataFrame({"user_id": ["u"] * 3, "item_id": ["3", "1", "2"],
        ...                    "timestamp": pd.array([5, 5, None], dtype="Int64")})
        >>> df["item_id"].iloc[sequence_order(df)].tolist()
        ['2', '1', '3']
    """
    items = df["item_id"].astype(str)
    numeric = pd.to_numeric(items, errors="coerce")
    if numeric.notna().all():
        item_key = numeric.to_numpy(dtype=np.float64)
    else:
        item_key = pd.Categorical(items).codes.astype(np.float64)
    ts_col = df["timestamp"].astype("float64")
    timed = ts_col.notna().to_numpy()
    ts = ts_col.fillna(-1.0).to_numpy()
    users = df["user_id"].astype(str).to_numpy()
    user_key = pd.Categorical(users).codes
    shuffle = np.zeros(len(df), dtype=np.uint64)
    if not timed.all():
        # Untimed rows: a seeded hash instead of the item id, so that no id order (nor the
        # file's) reads as recency; timed rows keep 0 here and their item-id tie-break.
        item_key = np.where(timed, item_key, 0.0)
        shuffle[~timed] = _row_hash(users[~timed], items.to_numpy()[~timed], seed)
    return np.lexsort((item_key, shuffle, ts, timed, user_key))


def unordered_rows(df: pd.DataFrame) -> np.ndarray:
    """Per row: whether its user has no timestamp on any interaction (an unordered
    history: the ranker's recent-item features are missing for it, and its held-out items
    are picked at random). A user with at least one timestamp counts as ordered.

    Example:
        >>> df = pd.DataFrame({"user_id": ["u", "u", "v"], "item_id": ["a", "b", "a"],
        ...                    "timestamp": pd.array([None, 7, None], dtype="Int64")})
        >>> unordered_rows(df).tolist()
        [False, False, True]
    """
    timed = df["timestamp"].notna().to_numpy()
    if timed.all():
        return np.zeros(len(df), dtype=bool)
    users = pd.Categorical(df["user_id"].astype(str)).codes
    has_time = np.bincount(users[timed], minlength=int(users.max()) + 1 if len(users) else 0)
    return has_time[users] == 0


def _row_hash(users: np.ndarray, items: np.ndarray, seed: int) -> np.ndarray:
    """A seeded hash of (user, item), the protocols' ``random`` tie-break."""
    key = f"encore{seed:010d}"[-16:].rjust(16, "0")
    pairs = np.char.add(np.char.add(users.astype(str), "\x1f"), items.astype(str))
    return pd.util.hash_array(pairs.astype(object), hash_key=key, categorize=False)


def _collaborative_catalog(pos_log: Interactions, catalog: Catalog, dense_limit: int
                           ) -> tuple[Catalog, bool]:
    """The catalog whose items are the statistics' rows: all of it, or, when it is larger
    than ``dense_limit``, only the items ever consumed (86k MovieLens titles, 9.7k of them
    rated). The rows of the others would be all zeros (no popularity, no co-occurrence, no
    factors), so leaving them out changes no value; EASE then fits when the consumed items
    are at most ``dense_limit``."""
    from retrieval.catalog import Catalog as _Catalog

    if len(catalog) <= dense_limit or not len(pos_log):
        return catalog, False
    consumed = set(pos_log.df["item_id"].astype(str).unique())
    if len(consumed) == len(catalog):
        return catalog, False
    return _Catalog([it for it in catalog if it.id in consumed]), True


def _fit_collaborative(pos_log: Interactions, catalog: Catalog, x: Any, *, ease_l2: float,
                       knn_neighbours: int, dense_limit: int, mf: FactorSettings,
                       mf_with_ease: bool, map_blocks: MapBlocks[Any] | None
                       ) -> tuple[np.ndarray | None, NeighbourTable | None, ItemFactors | None]:
    """EASE (where it fits), the item-kNN table and the ALS factors (where EASE does not
    fit, or with ``mf_with_ease``) of the positives ``x``."""
    if not len(pos_log):
        return None, None, None
    ease = knn = factors = None
    if len(catalog) <= dense_limit:
        from retrieval.collaborative.ease import EASE

        model = EASE(l2=ease_l2)
        model.fit(pos_log, catalog)
        ease = model.weights
    if knn_neighbours:
        from retrieval.collaborative.neighbours import build_neighbours

        knn = build_neighbours(x, knn_neighbours, map_blocks=map_blocks)
    if mf.factors and (ease is None or mf_with_ease):
        from retrieval.collaborative.factors import fit_als

        factors = fit_als(x, factors=mf.factors, iterations=mf.iterations,
                          regularization=mf.regularization, alpha=mf.alpha, seed=mf.seed,
                          threads=mf.threads, index_above=mf.index_above)
    return ease, knn, factors


class InteractionStats:
    """Item statistics of one log over a fixed list of item ids.

    Build with :meth:`build`; save and load with :meth:`save` / :meth:`load` (the large
    arrays memory-mapped). Items are addressed by *stats rows* (:meth:`rows`); an id the
    log's catalog did not have (an item added later) has row ``-1`` and reads as never
    consumed.

    Attributes:
        item_ids: The ids, one per row.
        counts: Distinct users per item.
        last_timestamp: The latest timestamp of the log ("now" when none is given).
        ease: EASE's dense weights, or ``None`` (catalog above the dense limit).
        knn: The item-kNN :class:`~retrieval.collaborative.neighbours.NeighbourTable`, or
            ``None`` (turned off, or an empty log).
        mf: ALS :class:`~retrieval.collaborative.factors.ItemFactors`, or ``None``.
        params: The settings it was built with.
    """

    def __init__(
        self,
        item_ids: Sequence[str],
        counts: np.ndarray,
        event_keys: np.ndarray,
        *,
        last_timestamp: int | None,
        ease: np.ndarray | None,
        knn: NeighbourTable | np.ndarray | None,
        params: dict[str, Any],
        mf: ItemFactors | None = None,
    ) -> None:
        from retrieval.collaborative.neighbours import NeighbourTable

        self.item_ids = [str(i) for i in item_ids]
        n = len(self.item_ids)
        self._row = {i: k for k, i in enumerate(self.item_ids)}
        self.counts = np.asarray(counts, dtype=np.float32)
        self.event_keys = np.asarray(event_keys, dtype=np.int64)
        self.last_timestamp = last_timestamp
        # Row gathers (history items) must be cheap: keep the weights C-ordered (a
        # memory-mapped .npy already is, and stays mapped).
        self.ease = None if ease is None else (
            ease if isinstance(ease, np.memmap) and ease.dtype == np.float32
            else np.ascontiguousarray(ease, dtype=np.float32))
        if isinstance(knn, np.ndarray):  # a dense ItemKNN matrix (statistics of format 1)
            if knn.shape != (n, n):
                raise ValueError(f"knn weights have shape {knn.shape}, expected ({n}, {n})")
            knn = NeighbourTable.from_dense(knn)
        self.knn = knn
        # A small catalog also keeps the table as a dense matrix (the same values): a row
        # and column gather is several times faster than reading the table per query.
        self._knn_dense = (knn.to_dense() if knn is not None and n <= DENSE_KNN_ROWS
                           else None)
        self.mf = mf
        self.params = dict(params)
        if self.counts.shape != (n,):
            raise ValueError(f"counts has shape {self.counts.shape}, expected ({n},)")
        if self.ease is not None and self.ease.shape != (n, n):
            raise ValueError(f"ease weights have shape {self.ease.shape}, expected ({n}, {n})")
        for name, m in (("knn", self.knn), ("mf", self.mf)):
            if m is not None and len(m) != n:
                raise ValueError(f"{name} covers {len(m)} items, expected {n}")

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        log: Interactions,
        catalog: Catalog,
        *,
        min_rating: float | None = None,
        recent_days: float = 30.0,
        ease_l2: float = 300.0,
        knn_neighbours: int = 200,
        dense_limit: int = DEFAULT_DENSE_LIMIT,
        mf: FactorSettings | None = None,
        mf_with_ease: bool = False,
        map_blocks: MapBlocks[Any] | None = None,
    ) -> InteractionStats:
        """Count and fit everything from ``log`` (for an evaluation: its training part).

        Args:
            log: The interactions; items must be in ``catalog``.
            catalog: The items (their order is the stats' row order).
            min_rating: Ratings below it are not positive feedback (``None``: all are).
            recent_days: Width of the window of :meth:`recent_popularity`.
            ease_l2: Ridge weight of EASE (the value validated on ml-100k by ``eval``).
            knn_neighbours: Neighbours kept per item by item-kNN (0: no item-kNN).
            dense_limit: EASE is fitted only when the rows are at most this many; a larger
                catalog keeps only its consumed items as rows (the others read as never
                consumed, row ``-1``).
            mf: ALS settings (default :class:`FactorSettings`; ``factors=0``: no ALS).
            mf_with_ease: Fit ALS also where EASE is fitted (by default ALS stands in for
                EASE above the dense limit only: where EASE fits it wins).
            map_blocks: Maps the neighbour blocks (``None``: serially, here).

        Raises:
            DataError: the log names items that are not in the catalog.
            ValueError: a bad setting.
        """
        if not recent_days > 0:
            raise ValueError(f"recent_days must be positive, got {recent_days}")
        if knn_neighbours < 0:
            raise ValueError(f"knn_neighbours must be 0 (off) or positive, got {knn_neighbours}")
        from retrieval.encoding import item_positions, user_item_matrix

        mf = mf if mf is not None else FactorSettings()
        pos_log = positive_log(log, min_rating)
        catalog, rated_only = _collaborative_catalog(pos_log, catalog, dense_limit)
        ids = catalog.ids
        cols = item_positions(pos_log, catalog, what="interaction log of the ranker statistics")
        x = user_item_matrix(pos_log, pos_log.users(), catalog)
        counts = np.asarray(x.sum(axis=0), dtype=np.float32).ravel()
        ts = pos_log.df["timestamp"].astype("float64").to_numpy()
        timed = np.isfinite(ts)
        keys = np.sort((cols[timed].astype(np.int64) << _TS_BITS)
                       | np.clip(ts[timed], 0, 2**_TS_BITS - 1).astype(np.int64))
        last = int(np.max(ts[timed])) if timed.any() else None
        ease, knn, factors = _fit_collaborative(pos_log, catalog, x, ease_l2=ease_l2,
                                                knn_neighbours=knn_neighbours,
                                                dense_limit=dense_limit, mf=mf,
                                                mf_with_ease=mf_with_ease,
                                                map_blocks=map_blocks)
        params = {
            "min_rating": min_rating,
            "recent_days": float(recent_days),
            "ease_l2": float(ease_l2),
            "knn_neighbours": int(knn_neighbours),
            "dense_limit": int(dense_limit),
            "mf": mf.model_dump(),
            "mf_with_ease": bool(mf_with_ease),
            "interactions": len(pos_log),
            "users": pos_log.n_users,
            "collaborative": ease is not None or knn is not None or factors is not None,
            "ease": ease is not None,
            "rated_only": rated_only,
        }
        return cls(ids, counts, keys, last_timestamp=last, ease=ease, knn=knn, params=params,
                   mf=factors)

    # -- look-ups ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.item_ids)

    def rows(self, item_ids: Sequence[str]) -> np.ndarray:
        """``int64``: the stats row of each id, ``-1`` for ids it does not know."""
        get = self._row.get
        return np.fromiter((get(i, -1) for i in item_ids), dtype=np.int64, count=len(item_ids))

    @property
    def has_collaborative(self) -> bool:
        """Whether any collaborative signal was built (item-kNN, ALS or EASE)."""
        return self.ease is not None or self.knn is not None or self.mf is not None

    def popularity(self, rows: np.ndarray) -> np.ndarray:
        """Distinct users per item (0 for unknown rows)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(rows.shape, dtype=np.float32)
        ok = rows >= 0
        out[ok] = self.counts[rows[ok]]
        return out

    def recent_popularity(self, rows: np.ndarray, now: int | None = None) -> np.ndarray:
        """Interactions with each item in the ``recent_days`` up to ``now`` (inclusive);
        ``now`` defaults to the log's latest timestamp. Only interactions before ``now``
        count, so a feature computed at a past moment never sees that moment's future."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(rows.shape, dtype=np.float32)
        now = self.last_timestamp if now is None else int(now)
        if now is None or not len(self.event_keys):
            return out
        ok = rows >= 0
        base = rows[ok] << _TS_BITS
        lo = max(0, now - int(self.params["recent_days"] * 86_400))
        hi_key = base | min(now, 2**_TS_BITS - 1)
        lo_key = base | min(lo, 2**_TS_BITS - 1)
        out[ok] = (np.searchsorted(self.event_keys, hi_key, side="right")
                   - np.searchsorted(self.event_keys, lo_key, side="right"))
        return out

    def pair_weights(self, kind: str, history_rows: np.ndarray, candidate_rows: np.ndarray
                     ) -> np.ndarray:
        """``float32[len(history_rows), len(candidate_rows)]``: the weight from each history
        item to each candidate (``kind``: ``"ease"`` or ``"knn"``, the latter the weight of
        the history item among the candidate's neighbours); 0 for unknown rows, NaN
        everywhere when that kind was not built (EASE above the dense limit)."""
        if kind not in ("ease", "knn"):
            raise ValueError(f"unknown weight kind {kind!r}; valid: ease, knn")
        h = np.asarray(history_rows, dtype=np.int64)
        c = np.asarray(candidate_rows, dtype=np.int64)
        if kind == "knn" and self._knn_dense is None:
            if self.knn is None:
                return np.full((len(h), len(c)), np.nan, dtype=np.float32)
            return self.knn.pair_weights(h, c)
        m = self.ease if kind == "ease" else self._knn_dense
        if m is None:
            return np.full((len(h), len(c)), np.nan, dtype=np.float32)
        h_ok, c_ok = h >= 0, c >= 0
        if h_ok.all() and c_ok.all():
            return np.take(np.take(m, h, axis=0), c, axis=1)
        out = np.zeros((len(h), len(c)), dtype=np.float32)
        hi, ci = np.flatnonzero(h_ok), np.flatnonzero(c_ok)
        if len(hi) and len(ci):
            out[np.ix_(hi, ci)] = m[h[hi][:, None], c[ci][None, :]]
        return out

    def user_factors(self, history_rows: np.ndarray) -> np.ndarray | None:
        """The ALS user factors of one history (stats rows), solved now; ``None`` without
        ALS or without a known item in the history."""
        rows = np.asarray(history_rows, dtype=np.int64)
        rows = rows[rows >= 0]
        if self.mf is None or not len(rows):
            return None
        return self.mf.user_vectors([rows])[0]

    def mf_scores(self, user: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``float32[len(rows)]``: ALS scores of ``user`` (:meth:`user_factors`) for stats
        rows; NaN for unknown rows, everywhere without ALS."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.mf is None:
            return np.full(len(rows), np.nan, dtype=np.float32)
        return self.mf.scores(user, rows)

    def collaborative_scores(self, history: Any) -> np.ndarray:
        """``float32[n_users, n_items]`` scores of binary history rows (a CSR matrix in
        stats row order), the collaborative candidate source: EASE where it was built,
        else ALS (on ml-100k's validation split its Recall@200 is 0.73, EASE's 0.75, the
        item-kNN rows' 0.61), else the summed item-kNN weights of the history's
        neighbours."""
        from scipy import sparse

        h = sparse.csr_matrix(history)
        n = len(self)
        per_row = [h.indices[h.indptr[k]:h.indptr[k + 1]] for k in range(h.shape[0])]
        if self.ease is None:
            if self.mf is not None:
                users = self.mf.user_vectors(per_row)
                return np.asarray(users @ np.asarray(self.mf.items).T, dtype=np.float32)
            if self.knn is not None:
                return self.knn.scores(per_row)
            return np.zeros((h.shape[0], n), dtype=np.float32)
        if h.shape[0] > 16:
            return np.asarray(h @ self.ease, dtype=np.float32)
        # A few rows: summing weight rows beats scipy's sparse-times-dense set-up.
        out = np.zeros((h.shape[0], n), dtype=np.float32)
        for k, cols in enumerate(per_row):
            if len(cols):
                out[k] = self.ease[cols].sum(axis=0)
        return out

    def collaborative_top(self, history: Any, ks: Sequence[int]
                          ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The best :meth:`collaborative_scores` of each binary history row: for row ``i``
        its ``ks[i]`` highest (stats rows and scores, best first), in bounded memory. Above
        the ALS index's size (no EASE, ALS factors with an index) from an approximate
        inner-product search; otherwise exactly, scoring blocks of rows whose dense scores
        hold at most :data:`SCORE_BLOCK` floats."""
        from scipy import sparse

        h = sparse.csr_matrix(history)
        if self.ease is None and self.mf is not None and self.mf.index is not None:
            per_row = [h.indices[h.indptr[k]:h.indptr[k + 1]] for k in range(h.shape[0])]
            users = self.mf.user_vectors(per_row)
            rows, scores = self.mf.top(users, max(max(ks, default=1), 1))
            out = []
            for k, r, sc in zip(ks, rows, scores, strict=True):
                ok = r[:k] >= 0
                out.append((r[:k][ok], sc[:k][ok]))
            return out
        step = max(1, SCORE_BLOCK // max(len(self), 1))
        out = []
        for a in range(0, h.shape[0], step):
            scores = self.collaborative_scores(h[a:a + step])
            out.extend(_top(row, k) for row, k in zip(scores, ks[a:a + step], strict=True))
        return out

    # -- files ------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write ``stats.json``, ``arrays.npz`` (counts, event keys) and one ``.npy`` per
        large array (EASE, the item-kNN table, the ALS factors, loaded memory-mapped) into
        ``folder``, replaced whole."""
        folder = Path(folder)
        buf = io.BytesIO()
        np.savez(buf, counts=self.counts, event_keys=self.event_keys)
        data = buf.getvalue()
        with atomic_dir(folder) as tmp:
            files: dict[str, int] = {}
            if self.ease is not None:
                np.save(tmp / "ease.npy", self.ease)
                files["ease.npy"] = (tmp / "ease.npy").stat().st_size
            if self.knn is not None:
                files.update(self.knn.save(tmp))
            if self.mf is not None:
                files.update(self.mf.save(tmp))
            meta = {
                "format": STATS_FORMAT,
                "item_ids": self.item_ids,
                "last_timestamp": self.last_timestamp,
                "params": self.params,
                "arrays_sha256": hashlib.sha256(data).hexdigest(),
                "files": files,
                "knn_k": None if self.knn is None else self.knn.k,
                "mf": None if self.mf is None else {"regularization": self.mf.regularization,
                                                    "alpha": self.mf.alpha},
            }
            (tmp / "arrays.npz").write_bytes(data)
            (tmp / "stats.json").write_text(json.dumps(meta), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, mmap: bool = True) -> InteractionStats:
        """Read a folder written by :meth:`save` (the large arrays memory-mapped unless
        ``mmap`` is off), or one of the previous format (its dense item-kNN matrix becomes
        the neighbour table; it has no ALS factors, so those features read as missing).

        Raises:
            DataError: missing or damaged files, another format.
        """
        folder = Path(folder)
        fix = "rebuild the bundle (encore build) or its statistics (encore train-ranker)"
        meta_path, arrays_path = folder / "stats.json", folder / "arrays.npz"
        if not meta_path.is_file() or not arrays_path.is_file():
            raise DataError("not a ranker statistics folder (stats.json and arrays.npz are "
                            "needed)", path=folder, fix=fix)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DataError(f"stats.json is not valid JSON ({exc})", path=meta_path,
                            fix=fix) from None
        if meta.get("format") not in (STATS_FORMAT, _STATS_FORMAT_1):
            raise DataError(f"statistics in format {meta.get('format')!r}; this Encore reads "
                            f"{STATS_FORMAT!r} and {_STATS_FORMAT_1!r}", path=meta_path, fix=fix)
        data = arrays_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != meta.get("arrays_sha256"):
            raise DataError("arrays.npz does not match the checksum in stats.json (a partial "
                            "copy or a damaged file)", path=arrays_path, fix=fix)
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            got = {k: arrays[k] for k in arrays.files}
        ease, knn, mf = got.get("ease"), got.get("knn"), None
        if meta["format"] == STATS_FORMAT:
            ease, knn, mf = _load_arrays(folder, meta, mmap=mmap, fix=fix)
        return cls(meta["item_ids"], got["counts"], got["event_keys"],
                   last_timestamp=meta.get("last_timestamp"), ease=ease, knn=knn,
                   params=meta.get("params", {}), mf=mf)

    def __repr__(self) -> str:
        parts = [name for name, m in (("ease", self.ease), ("knn", self.knn), ("mf", self.mf))
                 if m is not None]
        return (f"InteractionStats({len(self)} items, {self.params.get('interactions', 0)} "
                f"interactions, collaborative={'+'.join(parts) or 'no'})")


def _top(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` highest of ``scores`` (positions and values), best first (ties: stable)."""
    q = min(k, len(scores))
    top = np.argpartition(-scores, q - 1)[:q] if q < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return top, scores[top]


def _load_arrays(folder: Path, meta: dict[str, Any], *, mmap: bool, fix: str
                 ) -> tuple[np.ndarray | None, NeighbourTable | None, ItemFactors | None]:
    """The ``.npy`` arrays of a format-2 folder, each checked against its recorded size."""
    from retrieval.collaborative.factors import ItemFactors
    from retrieval.collaborative.neighbours import NeighbourTable

    files = meta.get("files") or {}
    for name, size in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            raise DataError(f"{name} is missing or not the size stats.json records (a partial "
                            "copy or a damaged file)", path=path, fix=fix)
    mode: Any = "r" if mmap else None
    ease = (np.load(folder / "ease.npy", mmap_mode=mode, allow_pickle=False)
            if "ease.npy" in files else None)
    knn = (NeighbourTable.load(folder, int(meta["knn_k"]), mmap=mmap)
           if meta.get("knn_k") is not None else None)
    mf = (ItemFactors.load(folder, mmap=mmap, **meta["mf"]) if meta.get("mf") else None)
    return ease, knn, mf
