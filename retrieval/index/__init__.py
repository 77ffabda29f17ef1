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
- ``selector``: an id bitmap (``IDSelectorBitmap``) in the FAISS search parameters.
- ``overfetch``: search ``1.5 * k * n / m`` neighbours without the filter, keep the allowed
  ones, and search deeper if fewer than ``k`` survive.

``auto`` (the default) follows the measurements on 100k 384-d vectors recorded in
``benchmarks/README.md`` ("Vector index"): for exhaustive indexes (Flat, IVF) gather below
5 % of the catalog, the selector up to 25 %, over-fetch above; for HNSW gather while that
scores fewer vectors than the over-fetch search would (about ``10 x`` its depth), over-fetch
after that, and never the selector (its recall@100 fell to 0.01-0.50 for allow-lists of
0.1-5 % of the catalog). A ``frozenset`` passed again is converted to FAISS ids only once.

Layout: :mod:`~retrieval.index.protocol` (the :class:`VectorIndex` seam and the default
factory), :mod:`~retrieval.index.faiss_index` (:class:`FaissIndex`),
:mod:`~retrieval.index.filtering` (allow-lists and the filter strategies) and
:mod:`~retrieval.index.persistence` (the saved folder and its manifest).

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

from retrieval.index.faiss_index import FaissIndex
from retrieval.index.filtering import (
    FILTER_STRATEGIES,
    FLAT_GATHER_SHARE,
    FLAT_OVERFETCH_SHARE,
    HNSW_GATHER_WORK,
    OVERFETCH_FACTOR,
    AllowList,
    FilterStrategy,
)
from retrieval.index.persistence import (
    FORMAT,
    FORMAT_VERSION,
    IDS_FILE,
    INDEX_FILE,
    MANIFEST_FILE,
    METRIC,
)
from retrieval.index.protocol import (
    DEFAULT_EF_CONSTRUCTION,
    DEFAULT_EF_SEARCH,
    DEFAULT_NPROBE,
    FLAT_MAX_ITEMS,
    VectorIndex,
    choose_factory,
)

__all__ = [
    "VectorIndex",
    "FaissIndex",
    "AllowList",
    "FilterStrategy",
    "choose_factory",
    "FLAT_MAX_ITEMS",
    "DEFAULT_EF_SEARCH",
    "DEFAULT_EF_CONSTRUCTION",
    "DEFAULT_NPROBE",
    "FILTER_STRATEGIES",
    "OVERFETCH_FACTOR",
    "HNSW_GATHER_WORK",
    "FLAT_GATHER_SHARE",
    "FLAT_OVERFETCH_SHARE",
    "FORMAT",
    "FORMAT_VERSION",
    "INDEX_FILE",
    "IDS_FILE",
    "MANIFEST_FILE",
    "METRIC",
]
