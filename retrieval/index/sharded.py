"""Building a :class:`~retrieval.index.FaissIndex` in shards, then merging them.

The layout follows the size of the catalog (:func:`sharded_factory`): exact ``Flat`` up to
:data:`~retrieval.index.FLAT_MAX_ITEMS` items, an inverted file (``IVF{nlist},Flat``)
above it. An index is built in three steps:

1. :func:`trained_template`: an empty index of the factory, trained once (IVF: the coarse
   quantiser, k-means on the vectors; FAISS samples them with its fixed seed, exactly as
   an index built in one go does), serialised so that every shard starts from the same
   quantiser.
2. :func:`build_shard`: one block of rows added to a copy of the template under their
   global FAISS ids (the row numbers), serialised. Shards are independent: they run in
   parallel (Ray tasks, :mod:`retrieval.distributed`) and each can be saved as soon as it
   is done, so an interrupted build keeps them.
3. :func:`merge_shards`: the shards appended to the template in block order
   (``merge_from``), which leaves every inverted list in the order one ``add`` of all the
   rows would have: the same search results as an index built in one go (exactly for
   Flat; the same lists for IVF trained on the same vectors).

HNSW graphs cannot be merged from parts: :func:`can_shard` is False for them, and the
caller builds them in one go (FAISS adds to an HNSW graph with all the cores of the
machine).

Example:
    >>> import numpy as np
    >>> from retrieval.parallel import blocks
    >>> x = np.eye(6, 4, dtype="float32") + 0.1
    >>> ids = list("abcdef")
    >>> tmpl = trained_template(4, "Flat", x)
    >>> parts = [build_shard(tmpl, x[a:b], a) for a, b in blocks(6, 4)]
    >>> index = merge_shards(4, "Flat", tmpl, parts, ids)
    >>> len(index), index.search(x[1], k=1)[0]
    (6, [['b']])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from retrieval.index._faiss import _faiss
from retrieval.index.protocol import FLAT_MAX_ITEMS

if TYPE_CHECKING:
    from retrieval.index.faiss_index import FaissIndex

__all__ = ["build_shard", "can_shard", "merge_shards", "sharded_factory", "trained_template"]


def sharded_factory(n_items: int) -> str:
    """The factory of a sharded build of ``n_items``: ``Flat`` up to ``FLAT_MAX_ITEMS``,
    else an IVF with about ``4 sqrt(n)`` lists (a power of two; FAISS's guide: 4-16
    sqrt(n) lists, at least 39 training vectors per list).

    Example:
        >>> sharded_factory(10_000), sharded_factory(1_000_000)
        ('Flat', 'IVF4096,Flat')
    """
    if n_items <= FLAT_MAX_ITEMS:
        return "Flat"
    nlist = 2 ** round(math.log2(4 * math.sqrt(n_items)))
    return f"IVF{min(nlist, n_items // 39)},Flat"


def can_shard(factory: str) -> bool:
    """Whether an index of ``factory`` can be built in shards and merged (Flat and IVF
    layouts; not HNSW, whose graph has no merge)."""
    first = factory.replace(" ", "").split(",")[0].upper()
    return first == "FLAT" or first.startswith("IVF")


def _raw_factory(factory: str) -> str:
    """The FAISS factory string as :class:`FaissIndex` builds it (non-IVF layouts carry
    their ids in an ``IDMap2``)."""
    return factory if factory.upper().startswith("IVF") else "IDMap2," + factory


def trained_template(dim: int, factory: str, vectors: np.ndarray) -> np.ndarray:
    """An empty index of ``factory``, trained on ``vectors`` when it needs training,
    serialised (``uint8``); the start of every shard and of the merge.

    Args:
        dim: Vector dimension.
        factory: A factory :func:`can_shard` accepts.
        vectors: ``float32[n, dim]``, L2-normalised (the rows the index will hold, or a
            sample of them; an index built in one go trains on all the rows it first adds).
    """
    faiss = _faiss()
    if not can_shard(factory):
        raise ValueError(f"factory {factory!r} cannot be built in shards (HNSW has no merge); "
                         "build it in one go")
    index = faiss.index_factory(dim, _raw_factory(factory), faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        index.train(np.ascontiguousarray(vectors, dtype=np.float32))
    return faiss.serialize_index(index)


def build_shard(template: np.ndarray, vectors: np.ndarray, start: int) -> np.ndarray:
    """One shard: ``vectors`` (L2-normalised rows ``start..``) added to a copy of the
    ``template`` under their row numbers as FAISS ids, serialised (``uint8``)."""
    faiss = _faiss()
    index = faiss.deserialize_index(template)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    index.add_with_ids(x, np.arange(start, start + len(x), dtype=np.int64))
    return faiss.serialize_index(index)


def merge_shards(dim: int, factory: str, template: np.ndarray, shards: Sequence[np.ndarray],
                 ids: Sequence[str]) -> FaissIndex:
    """The :class:`FaissIndex` of ``ids`` (one per row, in row order) from its shards,
    merged in the order given (block order).

    Raises:
        ValueError: the shards do not hold exactly one vector per id.
    """
    from retrieval.index.faiss_index import FaissIndex

    faiss = _faiss()
    merged = faiss.deserialize_index(template)
    for blob in shards:
        merged.merge_from(faiss.deserialize_index(blob), 0)
    if merged.ntotal != len(ids):
        raise ValueError(f"the shards hold {merged.ntotal} vectors for {len(ids)} ids")
    ivf = faiss.try_extract_index_ivf(merged)
    if ivf is not None:  # as FaissIndex builds it: ids can be looked up (gather, remove)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    out = FaissIndex(dim, factory)
    if ivf is not None:
        ivf.nprobe = out.nprobe
    out._index = merged
    out._configure()
    out._names = list(ids)
    out._key = {name: i for i, name in enumerate(ids)}
    return out
